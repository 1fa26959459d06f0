"""Report-card ingestion through the batch API (issue 5): at least 500 cards/s on
PostgreSQL.

    .venv/bin/python bench/notifiable_ingest_bench.py                      # PostgreSQL + SQLite
    .venv/bin/python bench/notifiable_ingest_bench.py --cards 2000 --backends postgresql
    .venv/bin/python bench/notifiable_ingest_bench.py --json out.json --markdown out.md

Each backend gets a fresh database (PostgreSQL: `phis_bench_ingest`, created and dropped
here; SQLite: var/bench/ingest.sqlite3) built by the real `phis migrate` + `phis demo`
with a 20,000-person registry and no card history, so every card goes through the whole
path: JSON validation, the card rules, the MPI (most patients are registered residents,
some are new), duplicate check, card number, encryption, review item, outbox event.
Cards are POSTed to `/api/notifiable/batch` in batches (default 500) by a logged-in
hospital clerk through Django's full request stack (middleware, session auth, Ninja) in
one process. The outbox is drained afterwards and timed separately, as a production
deployment drains it in Celery workers: the in-process drain after each commit (the
embedded default, ``PHIS_TASKS_IN_PROCESS``) is switched off while the requests are timed,
else the follow-up of earlier batches (MPI linkage of every card, review items, the
signal count cells) would be billed to the ingestion. The drain's own rate is reported.
Exit code 1 when the PostgreSQL rate is under the target.

Also reported, since the machine may be shared: the CPU seconds of the measuring process
(``cpu_s``) and of its PostgreSQL backend (``db_cpu_s``, read from /proc when the server
runs on this machine): ``cards / (cpu_s + db_cpu_s)`` is the rate one idle core would give
with the application and the database taking turns; and the load average before and
after. ``--reuse`` keeps the built database as a template
(``phis_bench_ingest_tpl``) and clones it for the next run instead of building again;
``--profile FILE`` writes a cProfile of the timed requests (and FILE.drain of the drain).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VAR = ROOT / "var" / "bench"
PG_BASE = os.environ.get("PHIS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DB = os.environ.get("PHIS_BENCH_PG_DB", "phis_bench_ingest")
PG_TEMPLATE = "phis_bench_ingest_tpl"
TARGET_PER_S = 500.0
PERSONS = 20_000


def log(msg: str) -> None:
    print(f"[ingest {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def backend_env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PHIS_VAR_DIR": str(BENCH_VAR), "DJANGO_SETTINGS_MODULE": "config.settings.base",
                "PHIS_DEMO_HISTORY_YEARS": "0", "PHIS_TASKS_IN_PROCESS": "1"})
    env.pop("DATABASE_URL", None)
    env.pop("PHIS_SQLITE_PATH", None)
    if backend == "sqlite":
        env["PHIS_SQLITE_PATH"] = str(BENCH_VAR / "ingest.sqlite3")
    else:
        env["DATABASE_URL"] = f"{PG_BASE}/{PG_DB}"
    return env


def pg_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as con:
        con.execute(statement)


def pg_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as con:
        return con.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                           (name,)).fetchone() is not None


def build(backend: str, *, reuse: bool = False) -> None:
    env = backend_env(backend)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    if backend == "postgresql" and reuse and pg_exists(PG_TEMPLATE):
        log(f"{backend}: cloning the kept build {PG_TEMPLATE}")
        pg_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_sql(f"CREATE DATABASE {PG_DB} TEMPLATE {PG_TEMPLATE}")
        return
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{env['PHIS_SQLITE_PATH']}{suffix}").unlink(missing_ok=True)
    else:
        pg_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_sql(f"CREATE DATABASE {PG_DB}")
    phis = str(ROOT / ".venv" / "bin" / "phis")
    for cmd in ([phis, "migrate", "--no-input", "-v", "0"],
                [phis, "demo", "--persons", str(PERSONS), "--no-progress"]):
        log(f"{backend}: $ {' '.join(cmd[1:])}")
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if backend == "postgresql":
        subprocess.run([phis, "dbshell", "--", "-c", "VACUUM ANALYZE"], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        if reuse:
            pg_sql(f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)")
            pg_sql(f"CREATE DATABASE {PG_TEMPLATE} TEMPLATE {PG_DB}")


def measure(backend: str, cards: int, batch: int, profile: str = "",
            drain: bool = True) -> dict:
    env = backend_env(backend)
    cmd = [sys.executable, __file__, "--phase", "measure", "--cards", str(cards),
           "--batch", str(batch)]
    if not drain:
        cmd.append("--no-drain")
    if profile:
        cmd += ["--profile", str(Path(profile).resolve())]
    out = subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.PIPE,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the measuring phase (runs with the backend's environment) ----------------------------

def _cards(n: int, seed: int = 7) -> list[dict]:
    """Realistic card bodies: residents of the demo registry (their real IDs) and new
    patients with generated valid IDs, common diseases, dates within the last days."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from phis.algorithms.identity import check_character
    from phis.core.crypto.fields import decrypt_text
    from phis.core.people.models import Person, PersonIdentifier

    rng = random.Random(seed)
    residents = list(Person.objects.filter(address_unit__code__startswith="370502")
                     .values_list("pk", "name", "sex", "birth_date", "address_unit__code")
                     [:5000])
    numbers = dict(PersonIdentifier.objects.filter(
        person_id__in=[r[0] for r in residents], is_primary=True)
        .values_list("person_id", "number_encrypted"))
    diseases = [("influenza", "", ""), ("infectious-diarrhoea", "", ""), ("hfmd", "", ""),
                ("viral-hepatitis", "hepatitis-b", "2"), ("tuberculosis",
                                                          "tb-pathogen-positive", ""),
                ("syphilis", "syphilis-latent", ""), ("varicella", "", "")]
    now = timezone.localtime()
    bodies = []
    for i in range(n):
        disease, subtype, acute_chronic = diseases[i % len(diseases)]
        diagnosis = now - timedelta(hours=rng.randint(1, 20), minutes=rng.randint(0, 59))
        onset = (diagnosis - timedelta(days=rng.randint(0, 4))).date()
        if i % 5 and residents:
            pk, name, sex, birth, address = residents[rng.randrange(len(residents))]
            number = decrypt_text(numbers[pk], purpose="person.id.01") if pk in numbers else ""
        else:
            birth = (now - timedelta(days=rng.randint(20 * 365, 80 * 365))).date()
            sex = rng.choice((1, 2))
            seq = rng.randrange(0, 999)
            seq = seq - seq % 2 + (1 if sex == 1 else 0)
            first17 = f"370502{birth:%Y%m%d}{seq:03d}"
            number, name, address = first17 + check_character(first17), f"新病人{i}", \
                "370502001"
        # Full years at the diagnosis date, as the card rules count them (§2.1: a parent's
        # name up to and including 14 years).
        day = diagnosis.date()
        age = (day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
               if birth else 40)
        body = {"patient_name": name, "id_type": "01", "id_number": number, "sex": sex,
                "birth_date": birth.isoformat() if birth else None, "address_code": address,
                "address_text": "某小区1号楼", "phone": f"138{rng.randrange(10**8):08d}",
                "occupation": "09" if age > 18 else "03",
                "work_unit": "东营市某小学三年级一班" if age <= 18 else "",
                "parent_name": "家长" if age <= 14 else "",
                "disease_code": disease, "subtype_code": subtype, "acute_chronic": acute_chronic,
                "case_classification": "3", "onset_date": onset.isoformat(),
                "diagnosis_at": diagnosis.replace(tzinfo=None).isoformat(timespec="minutes"),
                "doctor_name": "李医生"}
        if age < 3:
            body["occupation"], body["work_unit"] = "02", ""
        elif age < 6:
            body["occupation"], body["work_unit"] = "01", "东营市实验幼儿园中一班"
        bodies.append(body)
    return bodies


def _measure_phase(cards: int, batch: int, profile: str = "", drain: bool = True) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from phis.core.accounts.models import User
    from phis.core.events.services import outbox_drain
    from phis.core.orgunits.models import OrgUnit

    hospital = (OrgUnit.objects.filter(facility_type="hospital", code__contains="370502")
                .order_by("code").first())
    user, _ = User.objects.get_or_create(username="bench.ingest", defaults={
        "role": "hospital_clerk", "org_unit": hospital})
    bodies = _cards(cards)
    client = Client()
    client.force_login(user)
    stored = rejected = 0
    bad_rows: list[dict] = []
    # Workers drain the outbox in production; here it is drained (and timed) afterwards.
    settings.PHIS_EVENTS_DRAIN_ON_COMMIT = False
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    # A server answering requests is warm: its URLconf, routers and code lists are loaded.
    # One check request (stores nothing) and one list request load them before the clock.
    for warm in (client.post("/api/notifiable/check", bodies[0],
                             content_type="application/json"),
                 client.get("/api/notifiable/cards", {"limit": 1})):
        if warm.status_code != 200:
            raise SystemExit(f"warm-up: HTTP {warm.status_code} {warm.content[:300]!r}")
    load_before = loadavg()
    db_cpu_started = _db_cpu_seconds(connection)
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profiler is not None:
        profiler.enable()
    for i in range(0, len(bodies), batch):
        response = client.post("/api/notifiable/batch",
                               {"cards": bodies[i:i + batch], "submit": True},
                               content_type="application/json")
        if response.status_code != 200:
            raise SystemExit(f"batch {i // batch}: HTTP {response.status_code} "
                             f"{response.content[:500]!r}")
        report = response.json()
        stored += report["created"]
        rejected += report["failed"]
        bad_rows += [r for r in report["rows"] if r["errors"]][:3 - len(bad_rows)]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    db_cpu_ended = _db_cpu_seconds(connection)
    db_cpu = (db_cpu_ended - db_cpu_started) if db_cpu_started is not None \
        and db_cpu_ended is not None else None
    load_after = loadavg()
    if bad_rows:
        print(f"rejected rows (first 3): {bad_rows}", file=sys.stderr)
    if profiler is not None:
        profiler = cProfile.Profile()
        profiler.enable()
    drain_started = time.perf_counter()
    drain_cpu_started = time.process_time()
    drained = 0
    while drain:
        result = outbox_drain(limit=5000)
        drained += result.delivered
        if not result.claimed:
            break
    drain_s = time.perf_counter() - drain_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{profile}.drain")
    return {"backend": connection.vendor, "cards": cards, "batch": batch, "stored": stored,
            "rejected": rejected, "seconds": round(elapsed, 2), "cpu_s": round(cpu, 2),
            "per_s": round(stored / elapsed, 1) if elapsed else 0.0,
            "per_cpu_s": round(stored / cpu, 1) if cpu else 0.0,
            # the database server's CPU for this session (same machine): app + database
            # CPU per card is what a dedicated machine would have to spend
            "db_cpu_s": round(db_cpu, 2) if db_cpu is not None else None,
            "per_total_cpu_s": round(stored / (cpu + db_cpu), 1)
            if db_cpu is not None and cpu + db_cpu else None,
            "load_before": load_before, "load_after": load_after,
            "outbox_drain_s": round(drain_s, 2),
            "outbox_drain_cpu_s": round(time.process_time() - drain_cpu_started, 2),
            "drain_cards_per_s": round(stored / drain_s, 1) if drain and drain_s else 0.0,
            "events": drained}


def _db_cpu_seconds(connection) -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend process (when the
    server runs on this machine; None otherwise)."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def markdown(results: list[dict], load: tuple[str, str]) -> str:
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}, load {load[0]} → {load[1]}", "",
             "| backend | cards | batch | stored | rejected | s | cards/s | CPU-s app + db "
             "| cards/CPU-s app (app+db) | load (1 min) | outbox drain s (CPU-s) | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in results:
        target = ("pass" if r["per_s"] >= TARGET_PER_S else "**fail**") \
            if r["backend"] == "postgresql" else "(reported)"
        lines.append(f"| {r['backend']} | {r['cards']} | {r['batch']} | {r['stored']} | "
                     f"{r['rejected']} | {r['seconds']} | {r['per_s']} | {r['cpu_s']} + "
                     f"{r['db_cpu_s']} | {r['per_cpu_s']} ({r['per_total_cpu_s']}) | "
                     f"{r['load_before'].split()[0]} → "
                     f"{r['load_after'].split()[0]} | {r['outbox_drain_s']} "
                     f"({r['outbox_drain_cpu_s']}) | {target} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--reuse", action="store_true",
                        help=f"keep the PostgreSQL build as {PG_TEMPLATE} and clone it")
    parser.add_argument("--profile", default="", help="write a cProfile of the requests")
    parser.add_argument("--no-drain", action="store_true",
                        help="skip draining the outbox afterwards (quicker iterations)")
    parser.add_argument("--phase", choices=["measure"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase == "measure":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(_measure_phase(args.cards, args.batch, args.profile,
                                        drain=not args.no_drain)))
        return 0
    load_before = loadavg()
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        build(backend, reuse=args.reuse)
        log(f"{backend}: ingesting {args.cards} cards (load {loadavg()})")
        results.append(measure(backend, args.cards, args.batch,
                               f"{args.profile}.{backend}" if args.profile else "",
                               drain=not args.no_drain))
        log(f"{backend}: {results[-1]}")
        if backend == "postgresql" and not args.keep:
            pg_sql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    text = markdown(results, (load_before, loadavg()))
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    pg = [r for r in results if r["backend"] == "postgresql"]
    return 1 if pg and pg[0]["per_s"] < TARGET_PER_S else 0


if __name__ == "__main__":
    sys.exit(main())
