"""Person look-up benchmark (issue 2): look-up by resident ID and scoped name search over
1,000,000 persons, on SQLite and PostgreSQL; target p95 < 20 ms.

    .venv/bin/python bench/person_lookup_bench.py                  # build both, measure
    .venv/bin/python bench/person_lookup_bench.py --reuse          # keep built databases
    .venv/bin/python bench/person_lookup_bench.py --persons 50000 --queries 200   # smoke
    .venv/bin/python bench/person_lookup_bench.py --backends sqlite --markdown out.md

The databases are built with the real demo builder (`phis migrate`, `phis demo --persons N`)
into var/bench/ (SQLite: var/bench/persons-<N>.sqlite3; PostgreSQL: database `phis_bench`,
created and dropped here) with their own PHIS_VAR_DIR (var/bench/), so the field and
blind-index keys stay the same between runs and `--reuse` works. Settings are read at import,
so every phase runs in a subprocess with its own environment.

Each query goes through `person_search` exactly as the pages and API call it (normalising,
blind index, scope, ORDER BY name LIMIT 50) and is fully fetched; the connection is warm (50
warm-up queries). The user objects are loaded once (their scope paths and counties are cached
on the object, as within one request). Cases: resident ID for a city-wide and a county user;
name prefix (Chinese, its pinyin) for the county user; the Chinese prefixes for the city-wide
user too. The plan of every statement of each case's first search is in the Markdown output.
Exit code 1 when a p95 target is missed.
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
PG_DB = "phis_bench"  # --pg-db
TARGET_P95_MS = 20.0
CITY_USER = "demo.citycdc"      # bound to 370500 (the whole city)
COUNTY_USER = "demo.reviewer"   # bound to 370502 (东营区)


def log(msg: str) -> None:
    print(f"[person_lookup {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- orchestration (no Django in this process) -------------------------------------------

def backend_env(backend: str, persons: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PHIS_VAR_DIR"] = str(BENCH_VAR)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    env.pop("DATABASE_URL", None)
    env.pop("PHIS_SQLITE_PATH", None)
    if backend == "sqlite":
        env["PHIS_SQLITE_PATH"] = str(sqlite_path(persons))
    else:
        env["DATABASE_URL"] = f"{PG_BASE}/{PG_DB}"
    return env


def sqlite_path(persons: int) -> Path:
    return BENCH_VAR / f"persons-{persons}.sqlite3"


def existing_persons(backend: str, persons: int) -> int:
    """Persons in an existing bench database; 0 when there is none."""
    try:
        if backend == "sqlite":
            import sqlite3

            path = sqlite_path(persons)
            if not path.exists():
                return 0
            con = sqlite3.connect(path)
            try:
                return con.execute("SELECT COUNT(*) FROM people_person").fetchone()[0]
            finally:
                con.close()
        import psycopg

        with psycopg.connect(f"{PG_BASE}/{PG_DB}", connect_timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM people_person").fetchone()[0]
    except Exception:  # no database, no table
        return 0


def pg_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        con.execute(f"CREATE DATABASE {PG_DB}")


def pg_drop() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def run(cmd: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    log(f"$ {' '.join(cmd)}   (load {loadavg()})")
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def build(backend: str, persons: int) -> dict:
    env = backend_env(backend, persons)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path(persons)}{suffix}").unlink(missing_ok=True)
    else:
        pg_recreate()
    phis = str(ROOT / ".venv" / "bin" / "phis")
    load = loadavg()
    t_migrate = run([phis, "migrate", "--no-input", "-v", "0"], env)
    t_demo = run([phis, "demo", "--persons", str(persons), "--no-progress"], env)
    if backend == "postgresql":  # fresh statistics, as autovacuum would give a live system
        subprocess.run([phis, "dbshell", "--", "-c", "VACUUM ANALYZE"], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    log(f"{backend}: built {persons} persons (migrate {t_migrate:.0f} s, demo {t_demo:.0f} s)")
    return {"migrate_s": round(t_migrate, 1), "demo_s": round(t_demo, 1), "load_before": load}


def measure(backend: str, persons: int, queries: int, seed: int) -> dict:
    env = backend_env(backend, persons)
    out = BENCH_VAR / f"person_lookup_{backend}.json"
    cmd = [sys.executable, __file__, "--phase", "measure", "--queries", str(queries),
           "--seed", str(seed), "--json-out", str(out)]
    log(f"{backend}: measuring ({queries} queries per case, load {loadavg()})")
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)
    return json.loads(out.read_text())


# --- measurement (runs inside Django, one backend) ---------------------------------------

def _measure_phase(queries: int, seed: int) -> dict:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()
    import random

    from django.db import connection

    from phis.algorithms.synthpop.data import SURNAMES
    from phis.core.accounts.models import User
    from phis.core.crypto.fields import decrypt_text
    from phis.core.orgunits.scoping import user_scope_paths
    from phis.core.people.identifiers import name_pinyin
    from phis.core.people.models import Person, PersonIdentifier
    from phis.core.people.selectors import person_search

    rng = random.Random(seed)
    city = User.objects.get(username=CITY_USER)
    county = User.objects.get(username=COUNTY_USER)
    county_paths = user_scope_paths(county)
    user_scope_paths(city)
    total = Person.objects.count()
    max_pk = Person.objects.order_by("-pk").values_list("pk", flat=True).first()

    def sample_ids(n: int, *, county_only: bool) -> list[str]:
        """Resident IDs of random persons (decrypted before timing)."""
        found: list[str] = []
        while len(found) < n:
            pks = [rng.randint(1, max_pk) for _ in range(4 * n)]
            qs = PersonIdentifier.objects.filter(person_id__in=pks, id_type="01")
            if county_only:
                qs = qs.filter(person__address_unit__path__startswith=county_paths[0])
            for blob in qs.values_list("number_encrypted", flat=True)[: n - len(found)]:
                found.append(decrypt_text(blob, purpose="person.id.01"))
        rng.shuffle(found)
        return found[:n]

    compound = {s for s, _ in SURNAMES if len(s) > 1}

    def sample_prefixes(n: int) -> list[str]:
        """Surname + first given character of random persons in the county user's scope."""
        out: list[str] = []
        while len(out) < n:
            pks = [rng.randint(1, max_pk) for _ in range(4 * n)]
            names = Person.objects.filter(
                pk__in=pks, address_unit__path__startswith=county_paths[0]
            ).values_list("name", flat=True)[: n - len(out)]
            for name in names:
                cut = 3 if name[:2] in compound else 2
                out.append(name[:cut])
        rng.shuffle(out)
        return out[:n]

    log(f"sampling targets ({total} persons)")
    ids_city = sample_ids(queries, county_only=False)
    ids_county = sample_ids(queries, county_only=True)
    prefixes = sample_prefixes(queries)
    pinyins = [name_pinyin(p) for p in prefixes]

    cases = [
        ("resident ID, city user", city, "id_number", ids_city),
        ("resident ID, county user", county, "id_number", ids_county),
        ("name prefix (Chinese), county user", county, "name", prefixes),
        ("name prefix (pinyin), county user", county, "name", pinyins),
        ("name prefix (Chinese), city user", city, "name", prefixes),
    ]
    results = []
    for label, user, field, values in cases:
        for v in values[:50]:  # warm the connection, the statement caches and the pages
            list(person_search(user=user, **{field: v}))
        times, cpu, hits, rows = [], [], 0, 0
        for v in values:
            t, c = time.perf_counter(), time.process_time()
            found = list(person_search(user=user, **{field: v}))
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            hits += bool(found)
            rows += len(found)
        times.sort()
        cpu.sort()

        def pct(p: float, times=times) -> float:
            return times[min(len(times) - 1, round(p / 100 * (len(times) - 1)))]

        plan = _plans(connection, lambda user=user, field=field, v=values[0]:
                      list(person_search(user=user, **{field: v})))
        results.append({
            "case": label, "queries": len(values), "p50_ms": round(pct(50), 2),
            "p95_ms": round(pct(95), 2), "p99_ms": round(pct(99), 2),
            "max_ms": round(times[-1], 2), "mean_ms": round(sum(times) / len(times), 2),
            "cpu_p50_ms": round(cpu[len(cpu) // 2], 2),
            "cpu_p95_ms": round(cpu[min(len(cpu) - 1, round(0.95 * (len(cpu) - 1)))], 2),
            "hit_rate": round(hits / len(values), 3), "rows_avg": round(rows / len(values), 1),
            "example": values[0] if field == "name" else values[0][:6] + "********" +
            values[0][-4:],
            "pass": pct(95) < TARGET_P95_MS, "plan": plan,
        })
        log(f"{label}: p50 {pct(50):.2f} p95 {pct(95):.2f} p99 {pct(99):.2f} ms")
    return {"vendor": connection.vendor, "persons": total, "db_version": _db_version(connection),
            "load_after": loadavg(), "cases": results}


def _plans(connection, search) -> str:
    """Query plan of every statement one search runs (a name search is several small
    queries, see phis/core/people/selectors.py), with its time when run again."""
    statements: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        search()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    out = []
    with connection.cursor() as cur:
        for sql, params in statements:
            if "people_person" not in sql:  # the user's scope paths and counties
                continue
            cur.execute(explain + sql, params)
            rows = cur.fetchall()
            lines = ([f"{r[0]} {r[1]} {r[-1]}" for r in rows] if connection.vendor == "sqlite"
                     else [r[0] for r in rows])
            out.append(sql[:160] + " ...\n" + "\n".join(lines))
    return "\n\n".join(out)


def _db_version(connection) -> str:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("select sqlite_version()")
            return "SQLite " + cur.fetchone()[0]
        cur.execute("show server_version")
        return "PostgreSQL " + cur.fetchone()[0]


# --- report ---------------------------------------------------------------------------------

def markdown(report: dict) -> str:
    lines = [
        "# Person look-up benchmark (1,000,000 persons)", "",
        f"- date: {report['date']}; machine: {report['machine']}",
        f"- command: `{report['command']}`",
        f"- target: p95 < {TARGET_P95_MS:.0f} ms per query through `person_search` "
        "(warm connection, results fetched); wall-clock times. 'CPU p95' is the CPU time of "
        "the client process per query (ORM + SQLite engine; for PostgreSQL the server's share "
        "is not in it): a guide to the idle-machine figure when the machine is loaded.", "",
        "| backend | case | queries | p50 (ms) | p95 (ms) | p99 (ms) | CPU p95 (ms) | hits "
        "| rows/query | p95 < 20 ms | load (before → after) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for b in report["backends"]:
        for c in b["cases"]:
            lines.append(
                f"| {b['db_version']} | {c['case']} | {c['queries']} | {c['p50_ms']} | "
                f"{c['p95_ms']} | {c['p99_ms']} | {c['cpu_p95_ms']} | {c['hit_rate']:.0%} | "
                f"{c['rows_avg']} | "
                f"{'pass' if c['pass'] else '**FAIL**'} | {b['load_before']} → "
                f"{b['load_after']} |")
    lines += ["", "Query plans (first query of each case):", ""]
    for b in report["backends"]:
        for c in b["cases"]:
            lines += [f"{b['db_version']}, {c['case']} (`{c['example']}`):", "", "```",
                      c["plan"].strip(), "```", ""]
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    global PG_DB
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--backends", default="sqlite,postgresql",
                    help="comma-separated: sqlite, postgresql")
    ap.add_argument("--reuse", action="store_true",
                    help="use the bench database if it already holds exactly --persons persons")
    ap.add_argument("--drop", action="store_true",
                    help="drop the PostgreSQL database and delete the SQLite file afterwards")
    ap.add_argument("--pg-db", default=PG_DB, help="PostgreSQL database (created and dropped)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--markdown", help="write the results as Markdown to this file")
    ap.add_argument("--json", default=str(BENCH_VAR / "person_lookup.json"))
    ap.add_argument("--phase", choices=["all", "measure"], default="all", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    PG_DB = args.pg_db
    if args.phase == "measure":
        Path(args.json_out).write_text(json.dumps(_measure_phase(args.queries, args.seed),
                                                  ensure_ascii=False, indent=1))
        return 0

    report = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
              "command": "python bench/person_lookup_bench.py " + " ".join(argv or sys.argv[1:]),
              "backends": []}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        have = existing_persons(backend, args.persons)
        if args.reuse and have == args.persons:
            log(f"{backend}: reusing the database with {have} persons")
            built = {"reused": True}
        else:
            built = build(backend, args.persons)
        load_before = loadavg()
        result = measure(backend, args.persons, args.queries, args.seed)
        report["backends"].append({"backend": backend, "build": built,
                                   "load_before": load_before, **result})
        if args.drop:
            if backend == "postgresql":
                pg_drop()
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sqlite_path(args.persons)}{suffix}").unlink(missing_ok=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    text = markdown(report)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    ok = all(c["pass"] for b in report["backends"] for c in b["cases"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
