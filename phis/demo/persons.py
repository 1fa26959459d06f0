"""The demo person registry: synthetic residents (phis.algorithms.synthpop) stored through the
same normalisation, encryption and blind-index rules as every registered person, in bulk."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from phis.algorithms.synthpop import generate_persons
from phis.core.crypto.fields import encrypt_text
from phis.core.crypto.masking import mask_id_number, mask_phone
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.services import _city_config
from phis.core.people.identifiers import id_index, name_pinyin, phone_index
from phis.core.people.models import IdType, Person

BATCH = 5000


@lru_cache(maxsize=200_000)
def _pinyin(name: str) -> str:
    return name_pinyin(name)


def persons_build(*, count: int, seed: int = 20200428,
                  progress: Callable[[int], None] | None = None) -> int:
    """Add ``count`` residents spread over the townships by population. Returns the number
    stored. Deterministic for a given seed and org tree."""
    townships = list(OrgUnit.objects.filter(level=Level.TOWNSHIP).select_related("parent")
                     .order_by("code"))
    # Resident IDs carry GB/T 2260 codes; the two functional zones have none, so their
    # residents hold IDs of the district that hosts the zone (orgunits/data/dongying.json).
    host = {code: area.get("host_county", code)
            for code, area in _city_config()["areas"].items()}
    spec = [(t.code, t.name, host.get(t.parent.code, t.parent.code), float(t.population or 1))
            for t in townships]
    communities: dict[str, list[OrgUnit]] = {}
    for c in OrgUnit.objects.filter(level=Level.COMMUNITY).only("id", "code", "parent_id",
                                                                 "path"):
        communities.setdefault(c.path.split("/")[-3], []).append(c)
    by_code = {t.code: t for t in townships}
    rng = np.random.default_rng(seed + 1)
    stored = 0
    start = (Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    for offset in range(0, count, 50_000):
        chunk = generate_persons(min(50_000, count - offset), seed=seed + offset,
                                 townships=spec, start_id=start + offset)
        for lo in range(0, len(chunk), BATCH):
            hi = min(lo + BATCH, len(chunk))
            stored += _store_batch(chunk, lo, hi, communities, by_code, rng,
                                   first_id=start + offset + lo)
            if progress:
                progress(hi - lo)
    _reset_sequences()
    return stored


@transaction.atomic
def _store_batch(chunk, lo, hi, communities, by_code, rng, first_id: int) -> int:
    """Insert with executemany: the ORM's per-object cost dominated (issue 2 asks for 200k
    persons in under a minute). Values go through the same helpers as person_create."""
    now = timezone.now()
    person_rows, ident_rows = [], []
    rid = IdType.RESIDENT_ID
    for k, i in enumerate(range(lo, hi)):
        pk = first_id + k
        township = str(chunk.township_code[i])
        options = communities.get(township)
        unit = options[int(rng.integers(len(options)))] if options else by_code[township]
        number = str(chunk.id_number[i])
        phone = str(chunk.phone[i])
        name = str(chunk.name[i])
        masked = mask_id_number(number)
        person_rows.append((
            pk, now, now, name, _pinyin(name), int(chunk.sex[i]), chunk.birth_date[i].item(),
            "", "CHN", masked,
            encrypt_text(phone, purpose="person.phone") if phone else None,
            phone_index(phone) if phone else "", mask_phone(phone), unit.id,
            encrypt_text(str(chunk.address[i]), purpose="person.address"), "active"))
        ident_rows.append((pk, rid, encrypt_text(number, purpose=f"person.id.{rid}"),
                           id_index(rid, number), masked, True, "demo", now))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO people_person (id, created_at, updated_at, name, name_pinyin, sex, "
            "birth_date, ethnicity, nationality, id_masked, phone_encrypted, phone_index, "
            "phone_masked, address_unit_id, address_text_encrypted, status) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", person_rows)
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
