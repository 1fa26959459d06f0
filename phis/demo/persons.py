"""The demo person registry: synthetic residents (phis.algorithms.synthpop) stored through the
same normalisation, encryption and blind-index rules as every registered person, in bulk.

Rows are prepared (generation, encryption, blind indexes, pinyin) in worker processes and,
for a share of the batches, in this process, which inserts them with executemany: the ORM's
per-object cost and one core's crypto throughput were the limits for the issue's "200,000
persons in under a minute". An empty SQLite registry is loaded in one transaction with its
indexes built at the end (docs/benchmarks/demo_build.md).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.db import connection, connections, transaction
from django.utils import timezone
from pypinyin.constants import PHRASES_DICT

from phis.algorithms.synthpop import generate_persons
from phis.core.crypto.fields import field_provider
from phis.core.crypto.masking import mask_id_number, mask_phone
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.services import _city_config
from phis.core.people.identifiers import id_index, name_pinyin, phone_index
from phis.core.people.models import IdType, Person, PersonIdentifier

BATCH = 5000
PARALLEL_FROM = 20_000  # below this a pool costs more than it saves
# SQLite page cache while loading (KiB). The default 2 MB holds a small part of the person
# and identifier indexes, most keyed at random (name, pinyin, phone and ID hashes); with
# 256 MB inserting 200k persons took 36 % less CPU (bench/demo_build_bench.py).
SQLITE_LOAD_CACHE_KIB = 262_144


@lru_cache(maxsize=20_000)
def _char_pinyin(char: str) -> str:
    return name_pinyin(char)


def _pinyin(name: str) -> str:
    """``name_pinyin(name)``, ten times faster for bulk names: pypinyin segments a name into
    phrases of its dictionary and reads every other character on its own, so a name holding
    no dictionary phrase (99 % of the generated names) reads as its characters' pinyin put
    together; names holding a phrase go through ``name_pinyin`` itself. (Checked equal to
    ``name_pinyin`` on 429,422 distinct generated names, pypinyin 0.55.)"""
    n = len(name)
    for i in range(n - 1):
        for j in range(i + 2, n + 1):
            if name[i:j] in PHRASES_DICT:
                return name_pinyin(name)
    return "".join([_char_pinyin(c) for c in name])


@dataclass(frozen=True)
class _Plan:
    seed: int
    spec: list[tuple[str, str, str, float]]            # townships for the generator
    communities: dict[str, list[int]]                  # township code -> community ids
    township_ids: dict[str, int]
    county_of: dict[int, str]                          # unit id -> Person.address_county


def _plan(seed: int) -> _Plan:
    townships = list(OrgUnit.objects.filter(level=Level.TOWNSHIP).select_related("parent")
                     .order_by("code"))
    # Resident IDs carry GB/T 2260 codes; the two functional zones have none, so their
    # residents hold IDs of the district that hosts the zone (orgunits/data/dongying.json).
    host = {code: area.get("host_county", code)
            for code, area in _city_config()["areas"].items()}
    spec = [(t.code, t.name, host.get(t.parent.code, t.parent.code), float(t.population or 1))
            for t in townships]
    communities: dict[str, list[int]] = {}
    unit_paths = {t.id: t.path for t in townships}
    for cid, path in OrgUnit.objects.filter(level=Level.COMMUNITY).order_by("code") \
            .values_list("id", "path"):
        communities.setdefault(path.split("/")[-3], []).append(cid)
        unit_paths[cid] = path
    # The same value person_create stores (selectors.person_address_county), for every unit
    # a demo resident can live in.
    counties = list(OrgUnit.objects.filter(level=Level.COUNTY).values_list("path", "code"))
    county_of = {uid: next((code for cpath, code in counties if path.startswith(cpath)), "")
                 for uid, path in unit_paths.items()}
    return _Plan(seed, spec, communities, {t.code: t.id for t in townships}, county_of)


def _prepare(plan: _Plan, batch_no: int, size: int, first_id: int):
    """Person and identifier rows for one batch; pure computation, no database."""
    chunk = generate_persons(size, seed=plan.seed * 1000 + batch_no, townships=plan.spec,
                             start_id=first_id)
    rng = np.random.default_rng([plan.seed, batch_no])
    now = timezone.now()
    rid = IdType.RESIDENT_ID
    provider = field_provider()  # encrypt_text's provider, built once per batch, not per value

    def encrypt(text: str, purpose: str) -> bytes:  # = encrypt_text(text, purpose=purpose)
        return provider.encrypt(text.encode(), associated_data=purpose.encode())

    person_rows, ident_rows = [], []
    for i in range(size):
        pk = first_id + i
        township = str(chunk.township_code[i])
        options = plan.communities.get(township)
        unit_id = options[int(rng.integers(len(options)))] if options \
            else plan.township_ids[township]
        number, phone, name = str(chunk.id_number[i]), str(chunk.phone[i]), str(chunk.name[i])
        masked = mask_id_number(number)
        person_rows.append((
            pk, now, now, name, _pinyin(name), int(chunk.sex[i]), chunk.birth_date[i].item(),
            "", "CHN", masked,
            encrypt(phone, "person.phone") if phone else None,
            phone_index(phone) if phone else "", mask_phone(phone), unit_id,
            plan.county_of[unit_id],
            encrypt(str(chunk.address[i]), "person.address"), "active"))
        ident_rows.append((pk, rid, encrypt(number, f"person.id.{rid}"),
                           id_index(rid, number), masked, True, "demo", now))
    return person_rows, ident_rows


_WORKER_PLAN: _Plan | None = None


def _worker_init(plan: _Plan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _worker_prepare(args):
    return _prepare(_WORKER_PLAN, *args)


def persons_build(*, count: int, seed: int = 20200428,
                  progress: Callable[[int], None] | None = None,
                  workers: int | None = None) -> int:
    """Add ``count`` residents spread over the townships by population. Returns the number
    stored. Deterministic for a given seed, count and org tree."""
    plan = _plan(seed)
    start = (Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    batches = [(n, min(BATCH, count - lo), start + lo)
               for n, lo in enumerate(range(0, count, BATCH))]
    workers = workers or min(4, os.cpu_count() or 1)
    # An empty SQLite registry is loaded in one transaction with its secondary indexes
    # built at the end (see _sqlite_fresh_load); a registry that holds persons gets them
    # batch by batch, its indexes kept up as usual.
    fresh = (connection.vendor == "sqlite" and start == 1
             and not PersonIdentifier.objects.exists())
    in_memory = "memory" in str(connection.settings_dict["NAME"])  # tests' SQLite
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
    pool = None
    if count >= PARALLEL_FROM and workers > 1 and not in_memory:
        connections.close_all()  # children must not share the parent's database sockets
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_init, initargs=(plan,))
        prepared = _prepared_in_parallel(pool, plan, batches, workers)
    else:
        prepared = (_prepare(plan, *batch) for batch in batches)
    stored = 0
    try:
        with _sqlite_fresh_load() if fresh else nullcontext():
            for rows in prepared:
                stored += _insert(*rows)
                if progress:
                    progress(len(rows[0]))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    _reset_sequences()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # the connection's own size again
            cursor.execute(f"PRAGMA cache_size={int(cache_size)}")
    return stored


def _prepared_in_parallel(pool: ProcessPoolExecutor, plan: _Plan, batches: list, workers: int):
    """The batches' rows in order, prepared by the pool's workers and, for one batch in
    ``workers + 1``, by this process itself: inserting is now the smaller share (an empty
    SQLite registry is loaded without index upkeep), so this process would otherwise
    mostly wait for the workers. A bounded window of batches is queued ahead, so finished
    rows do not pile up in memory."""
    own = workers + 1
    ahead: deque = deque()
    queued = 0

    def top_up():
        nonlocal queued
        while queued < len(batches) and len(ahead) < 2 * workers + 2:
            if queued % own == own - 1:
                ahead.append(None)  # prepared here when its turn comes
            else:
                ahead.append(pool.submit(_worker_prepare, batches[queued]))
            queued += 1

    for batch in batches:
        top_up()
        future = ahead.popleft()
        yield _prepare(plan, *batch) if future is None else future.result()


@contextmanager
def _sqlite_fresh_load():
    """Load an empty SQLite registry in one transaction, the secondary indexes of the person
    and identifier tables dropped first and built again from their own stored SQL at the
    end: 100,000 persons took 2.8 CPU-s to insert, index builds included, instead of 5.1
    batch by batch (docs/benchmarks/demo_build.md), and there is no WAL checkpoint after
    every batch rewriting the index pages that the random keys (names, pinyin, phone and ID
    hashes) touch all over. DDL is transactional in SQLite: a failed
    or interrupted load leaves the empty tables with all their indexes."""
    tables = ("people_person", "people_personidentifier")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN (%s, %s) ORDER BY name", tables)
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        yield
        for _name, sql in indexes:
            cursor.execute(sql)


@transaction.atomic
def _insert(person_rows, ident_rows) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # set here: the pool's fork needs no open connection
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
        cursor.executemany(
            "INSERT INTO people_person (id, created_at, updated_at, name, name_pinyin, sex, "
            "birth_date, ethnicity, nationality, id_masked, phone_encrypted, phone_index, "
            "phone_masked, address_unit_id, address_county, address_text_encrypted, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            person_rows)
        cursor.executemany(
            "INSERT INTO people_personidentifier (person_id, id_type, number_encrypted, "
            "number_index, number_masked, is_primary, source, created_at) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s)", ident_rows)
    return len(person_rows)


def _reset_sequences() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("people_person", "people_personidentifier"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                           f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
