"""Reads of the person registry, always scoped to the caller (STYLE.md §7.9).

A person is visible to a user when they live in the user's subtrees or when a facility in
the user's subtrees holds records of them.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from phis.core.exceptions import NotFound
from phis.core.orgunits.scoping import scope_q
from phis.core.people.identifiers import (
    id_index,
    name_pinyin,
    normalise_identifier,
    normalise_phone,
    phone_index,
)
from phis.core.people.models import IdType, Person, PersonIdentifier, PersonStatus


def person_visible_for(*, user) -> QuerySet[Person]:
    in_scope = scope_q(user, "address_unit")
    facility_ids = Person.objects.filter(scope_q(user, "facility_links__org_unit")).values("pk")
    return Person.objects.filter(in_scope | Q(pk__in=facility_ids))


def person_get_visible(*, user, person_id: int, for_update: bool = False) -> Person:
    qs = person_visible_for(user=user).select_related("address_unit")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    person = qs.filter(pk=person_id).first()
    if person is None:
        raise NotFound("人员", "person")
    return person


def person_search(*, user, id_number: str = "", id_type: str = IdType.RESIDENT_ID,
                  name: str = "", phone: str = "", limit: int = 50) -> QuerySet[Person]:
    """Exact look-up by document number or phone (through the blind index), prefix search
    by name or pinyin. Merged persons are left out."""
    # ``exclude(MERGED)`` rather than ``filter(status=ACTIVE)``: same rows (two statuses), but
    # SQLite without statistics takes an equality on the indexed ``status`` for a selective
    # index and scans every active person instead of using the name index
    # (bench/person_lookup_bench.py: name search 1M persons).
    qs = person_visible_for(user=user).exclude(status=PersonStatus.MERGED)
    if id_number:
        ident = normalise_identifier(id_type, id_number)
        raw = id_number.strip().upper()
        index = ident.index if hasattr(ident, "index") else id_index(id_type, raw)
        qs = qs.filter(pk__in=PersonIdentifier.objects.filter(number_index=index)
                       .values("person_id"))
    if phone:
        normalised = normalise_phone(phone)
        value = normalised if isinstance(normalised, str) else phone.strip()
        qs = qs.filter(phone_index=phone_index(value))
    if name:
        text = name.strip()
        if text.isascii():
            qs = qs.filter(_prefix("name_pinyin", text.lower().replace(" ", "")))
        else:
            qs = qs.filter(_prefix("name", text) | Q(name_pinyin=name_pinyin(text)))
        # Sorted by ``name || ''`` (the same order): with ORDER BY name and LIMIT, PostgreSQL
        # walks the whole name index from the start, filtering row by row, when it expects
        # many matches (3-5 s for a common name over 1M persons); with an expression it
        # takes the matches through their index and sorts them.
        return qs.select_related("address_unit").order_by(
            Concat("name", Value("")), "pk")[:limit]
    return qs.select_related("address_unit").order_by("name", "pk")[:limit]


def _prefix(field: str, text: str) -> Q:
    """``field`` starts with ``text``, through the field's index. SQLite's LIKE ignores ASCII
    case, so it cannot use a (BINARY) index; the same prefix as a range can. PostgreSQL keeps
    LIKE alone (its ``*_like`` pattern-ops index serves it; a range bound with U+10FFFF is not
    safe under every collation)."""
    q = Q(**{f"{field}__startswith": text})
    if connection.vendor == "sqlite":
        q &= Q(**{f"{field}__gte": text, f"{field}__lt": text + "\U0010ffff"})
    return q
