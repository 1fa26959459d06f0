"""Demo build benchmark (issue 2): wall time of `phis demo --persons N` on an empty database.
Target: the default size (200,000 persons) in under 60 s on the embedded default (SQLite).

    .venv/bin/python bench/demo_build_bench.py                      # sqlite 200k, 1M; pg 200k
    .venv/bin/python bench/demo_build_bench.py --runs sqlite:200000 --profile
    .venv/bin/python bench/demo_build_bench.py --quick              # sqlite 20k (smoke)

Each run starts from an empty, migrated database (SQLite: var/bench/demo-<N>.sqlite3;
PostgreSQL: database `phis_bench_demo`, created and dropped with psycopg) with its own
PHIS_VAR_DIR (var/bench/), and times the whole command as a user runs it (interpreter start,
imports, org tree, facilities, users, code systems, signing certificates, persons); the time
the command reports itself (after its imports) is shown too. `migrate` is not timed.
`--profile` runs the command under cProfile (parent process only; the workers that prepare the
person rows are not profiled) and writes the top of the profile to var/bench/.
Exit code 1 when the 200k SQLite target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VAR = ROOT / "var" / "bench"
PG_BASE = os.environ.get("PHIS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = "phis_bench_demo"
TARGET = ("sqlite", 200_000, 60.0)   # backend, persons, seconds
PHIS = str(ROOT / ".venv" / "bin" / "phis")


def log(msg: str) -> None:
    print(f"[demo_build {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def env_for(backend: str, persons: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PHIS_VAR_DIR"] = str(BENCH_VAR)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    env.pop("DATABASE_URL", None)
    env.pop("PHIS_SQLITE_PATH", None)
    if backend == "sqlite":
        env["PHIS_SQLITE_PATH"] = str(BENCH_VAR / f"demo-{persons}.sqlite3")
    else:
        env["DATABASE_URL"] = f"{PG_BASE}/{PG_DB}"
    return env


def reset(backend: str, persons: int, *, drop_only: bool = False) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{BENCH_VAR / f'demo-{persons}.sqlite3'}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if not drop_only:
            con.execute(f"CREATE DATABASE {PG_DB}")


def one_run(backend: str, persons: int, *, profile: bool, keep: bool) -> dict:
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    reset(backend, persons)
    env = env_for(backend, persons)
    subprocess.run([PHIS, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    cmd = [PHIS, "demo", "--persons", str(persons), "--no-progress"]
    prof_file = BENCH_VAR / f"demo_profile_{backend}_{persons}.prof"
    if profile:
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof_file), *cmd]
    load_before = loadavg()
    log(f"{backend} {persons}: $ {' '.join(cmd)}   (load {load_before})")
    t0, c0 = time.monotonic(), os.times()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        log(f"{backend} {persons}: the command failed:\n{done.stderr[-3000:]}")
        done.check_returncode()
    wall = time.monotonic() - t0
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    reported = re.search(r"Demo city ready in ([\d.]+) s", done.stdout)
    steps = re.search(r"^step times: (.+)$", done.stdout, re.MULTILINE)
    row = {
        "backend": backend, "persons": persons, "wall_s": round(wall, 1),
        "reported_s": float(reported.group(1)) if reported else None,
        "persons_per_s": round(persons / wall), "cpu_s": round(cpu, 1),
        "load_before": load_before, "load_after": loadavg(),
        "steps": steps.group(1) if steps else "",
    }
    if (backend, persons) == TARGET[:2]:
        row["target_s"] = TARGET[2]
        row["pass"] = wall < TARGET[2]
    if profile:
        import pstats

        out = prof_file.with_suffix(".txt")
        with out.open("w") as fh:
            pstats.Stats(str(prof_file), stream=fh).sort_stats("cumulative").print_stats(40)
        row["profile"] = str(out.relative_to(ROOT))
    log(f"{backend} {persons}: {wall:.1f} s wall ({persons / wall:,.0f} persons/s), "
        f"load after {row['load_after']}")
    if not keep:
        reset(backend, persons, drop_only=True)
    return row


def markdown(report: dict) -> str:
    lines = [
        "# Demo build benchmark", "",
        f"- date: {report['date']}; machine: {report['machine']}",
        f"- command: `{report['command']}`",
        "- time of `phis demo --persons N --no-progress` on an empty migrated database, "
        "whole command (wall); 'reported' is the command's own figure after its imports", "",
        "| backend | persons | wall (s) | reported (s) | persons/s | CPU of all processes (s) "
        "| target | met | load before → after |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in report["runs"]:
        target = f"< {r['target_s']:.0f} s" if "target_s" in r else "-"
        met = ("yes" if r["pass"] else "**no**") if "pass" in r else ""
        lines.append(f"| {r['backend']} | {r['persons']:,} | {r['wall_s']} | {r['reported_s']} "
                     f"| {r['persons_per_s']:,} | {r['cpu_s']} | {target} | {met} | "
                     f"{r['load_before']} → {r['load_after']} |")
    lines += ["", "Steps (wall, as the command logs them):", ""]
    lines += [f"- {r['backend']} {r['persons']:,}: {r['steps']}" for r in report["runs"]
              if r.get("steps")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="sqlite:200000,sqlite:1000000,postgresql:200000",
                    help="comma-separated backend:persons (backend: sqlite or postgresql)")
    ap.add_argument("--quick", action="store_true", help="one small SQLite run (20,000)")
    ap.add_argument("--profile", action="store_true", help="cProfile the command")
    ap.add_argument("--keep", action="store_true", help="keep the built databases")
    ap.add_argument("--markdown", help="write the results as Markdown to this file")
    ap.add_argument("--json", default=str(BENCH_VAR / "demo_build.json"))
    args = ap.parse_args(argv)
    runs = "sqlite:20000" if args.quick else args.runs
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "command": "python bench/demo_build_bench.py " + " ".join(argv or sys.argv[1:]),
        "runs": [],
    }
    for spec in runs.split(","):
        backend, _, n = spec.strip().partition(":")
        if backend not in ("sqlite", "postgresql"):
            ap.error(f"unknown backend {backend!r}")
        report["runs"].append(one_run(backend, int(n), profile=args.profile, keep=args.keep))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    text = markdown(report)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 0 if all(r.get("pass", True) for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
