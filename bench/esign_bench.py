"""B4 signature throughput: sign + verify per second, ECDSA P-256/SHA-256 and SM2/SM3.

    python bench/esign_bench.py [--seconds 3] [--out docs/benchmarks/esign.md]

Runs one process per core (``--workers``, default 2) so the number is "on 2 cores". Each
operation is one signature over a 1 KiB canonical-JSON-sized message plus one verification
of it, through the same code the services use (``phis.apps.esign.crypto.keys``). gmssl
(pure Python) is measured for comparison when it is importable (it is not a dependency).
No Django, no database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MESSAGE = b'{"card":"2026-000123","disease":"A01.0",' + b'"x":"' + b"a" * 960 + b'"}'
TARGETS = {"ecdsa": 1000, "sm2": 200}


def _phis_loop(profile: str, seconds: float) -> int:
    from phis.apps.esign.crypto.keys import PrivateKey, verify

    key = PrivateKey.generate(profile)
    spki = key.public_der()
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        assert verify(spki, key.sign(MESSAGE), MESSAGE)
        n += 1
    return n


def _gmssl_loop(_profile: str, seconds: float) -> int:
    from gmssl import func, sm2

    priv = "00B9AB0B828FF68872F21A837FC303668428DEA11DCD1B24429D0C99E24EED83D5"
    pub = ("B9C9A6E04E9C91F7BA880429273747D7EF5DDEB0BB2FF6317EB00BEF331A83081A6994B8993F3F5D6E"
           "ADDDB81872266C87C018FB4162F5AF347B483E24620207")
    crypt = sm2.CryptSM2(public_key=pub, private_key=priv)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        sig = crypt.sign_with_sm3(MESSAGE, func.random_hex(crypt.para_len))
        assert crypt.verify_with_sm3(sig, MESSAGE)
        n += 1
    return n


def measure(loop, profile: str, workers: int, seconds: float) -> float:
    with mp.get_context("spawn").Pool(workers) as pool:
        start = time.perf_counter()
        counts = pool.starmap(loop, [(profile, seconds)] * workers)
        elapsed = time.perf_counter() - start
    return sum(counts) / max(seconds, elapsed - 0.0) if elapsed < seconds * 1.5 \
        else sum(counts) / seconds


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    from phis.apps.esign.crypto.sm2 import openssl_version

    rows = []
    for profile in ("ecdsa", "sm2"):
        single = measure(_phis_loop, profile, 1, args.seconds)
        multi = measure(_phis_loop, profile, args.workers, args.seconds)
        rows.append((profile, "phis (libcrypto / cryptography)", single, multi,
                     TARGETS[profile]))
    try:
        import gmssl  # noqa: F401

        rows.append(("sm2", "gmssl 3.2.2 (pure Python, comparison)",
                     measure(_gmssl_loop, "sm2", 1, args.seconds),
                     measure(_gmssl_loop, "sm2", args.workers, args.seconds), None))
    except ImportError:
        pass
    lines = [
        "# B4 electronic signature benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores (nproc), CPU {cpu_model()}, "
        f"Python {platform.python_version()}, {openssl_version()}",
        f"- command: `python bench/esign_bench.py --seconds {args.seconds:g} "
        f"--workers {args.workers}`",
        "- one operation = sign + verify of a 1 KiB message (SM2: SM3 with Z over the "
        "distinguishing ID 1234567812345678)",
        "",
        f"| profile | implementation | 1 core (ops/s) | {args.workers} cores (ops/s) "
        "| target | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for profile, impl, single, multi, target in rows:
        met = "" if target is None else ("yes" if multi >= target else "NO")
        lines.append(f"| {profile} | {impl} | {single:,.0f} | {multi:,.0f} | "
                     f"{target or '-'} | {met} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    failed = [r for r in rows if r[4] is not None and r[3] < r[4]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
