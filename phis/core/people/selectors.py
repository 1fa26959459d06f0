"""Reads of the person registry, always scoped to the caller (STYLE.md §7.9).

A person is visible to a user when they live in the user's subtrees or when a facility in
the user's subtrees holds records of them.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q, user_scope_paths
from phis.core.people.identifiers import (
    id_index,
    name_pinyin,
    normalise_identifier,
    normalise_phone,
    phone_index,
)
from phis.core.people.models import (
    IdType,
    Person,
    PersonFacility,
    PersonIdentifier,
    PersonStatus,
)


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
    exact = Q()
    if id_number:
        ident = normalise_identifier(id_type, id_number)
        raw = id_number.strip().upper()
        index = ident.index if hasattr(ident, "index") else id_index(id_type, raw)
        exact &= Q(pk__in=PersonIdentifier.objects.filter(number_index=index)
                   .values("person_id"))
    if phone:
        normalised = normalise_phone(phone)
        value = normalised if isinstance(normalised, str) else phone.strip()
        exact &= Q(phone_index=phone_index(value))
    if name:
        return _name_search(user=user, name=name, exact=exact, limit=limit)
    qs = person_visible_for(user=user).exclude(status=PersonStatus.MERGED).filter(exact)
    return qs.select_related("address_unit").order_by("name", "pk")[:limit]


def _name_search(*, user, name: str, exact: Q, limit: int) -> QuerySet[Person]:
    """The first ``limit`` visible persons, by (name, pk), whose name starts with ``name``
    (or whose pinyin does, for Latin input; or whose full pinyin equals that of the Chinese
    input: homophones).

    One statement: the rows whose keys are in the UNION of small parts — residents of the
    user's subtrees, one part per name condition; persons known to a facility in them —
    each part taking its own first ``limit`` in the final order. The
    first ``limit`` of a union are among the first ``limit`` of its parts, so the rows and
    their order are those of one query over ``person_visible_for``. With the ORs in one
    WHERE it took 40-80 ms at 1M persons: neither database serves an OR over two tables
    from one index, so every person with a common name city-wide was read and joined.
    Split, a county user's residents are one range of the (address_county, name) index
    (bench/person_lookup_bench.py).
    """
    text = name.strip()
    # (condition, whether the rows are wanted in name order straight from the index)
    if text.isascii():
        name_conditions = [(_prefix("name_pinyin", text.lower().replace(" ", "")), False)]
    else:
        name_conditions = [(_prefix("name", text), True),
                           (Q(name_pinyin=name_pinyin(text)), False)]
    lives_in_scope = scope_q(user, "address_unit")
    counties = _scope_counties(user)
    if counties is not None:  # implied by the scope test; lets the index take the county
        lives_in_scope &= Q(address_county__in=counties)
    known_in_scope = Q(pk__in=PersonFacility.objects.filter(scope_q(user, "org_unit"))
                       .values("person_id"))
    base = Person.objects.exclude(status=PersonStatus.MERGED).filter(exact)
    # Residents: one part per name condition, each served by its own index. Persons known
    # to a facility: one part, driven by the facility links, the name conditions a filter.
    selections = [(condition & lives_in_scope, by_index)
                  for condition, by_index in name_conditions]
    selections.append((reduce(or_, (c for c, _ in name_conditions)) & known_in_scope, False))
    parts, params = [], []
    for where, by_index in selections:
        part = base.filter(where).order_by(*_name_order(from_index=by_index)) \
            .values("pk")[:limit]
        try:
            sql, part_params = part.query.get_compiler(using=part.db).as_sql()
        except EmptyResultSet:  # a user without org units
            continue
        # Wrapped, so that each part keeps its own ORDER BY and LIMIT (SQL does not allow
        # them on the members of a UNION themselves).
        parts.append(f"SELECT * FROM ({sql}) part{len(parts)}")  # noqa: S608 (ORM SQL)
        params.extend(part_params)
    if not parts:
        return Person.objects.none()
    candidates = RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611 (ORM SQL)
    return (Person.objects.filter(pk__in=candidates).select_related("address_unit")
            .order_by(*_name_order(from_index=False))[:limit])


def _name_order(*, from_index: bool) -> tuple:
    """(name, pk), as a column or as the expression ``name || ''`` (the same order), which
    no index can give, so the database takes the matches through their most selective index
    and sorts them. PostgreSQL always gets the expression: with ORDER BY name and LIMIT it
    walks the whole name index from the start, filtering row by row, when it expects many
    matches (3-5 s for a common name over 1M persons). SQLite gets the column for a name
    prefix, read in order from the (county, name) or name index up to the limit, and the
    expression for an exact pinyin, which it would otherwise look for by walking a whole
    county in name order (350 ms at 1M persons)."""
    if from_index and connection.vendor != "postgresql":
        return ("name", "pk")
    return (Concat("name", Value("")), "pk")


def _scope_counties(user) -> list[str] | None:
    """Codes of the counties holding the user's subtrees; None when a subtree is not inside
    one county (a city-wide user), as then the county narrows nothing. Cached on the user
    object like the scope paths."""
    cached = getattr(user, "_phis_scope_counties", False)
    if cached is not False:
        return cached
    paths = user_scope_paths(user)
    ancestors = {p[: i + 1] for p in paths for i, ch in enumerate(p) if ch == "/" and i}
    county_paths = list(OrgUnit.objects.filter(level=Level.COUNTY, path__in=ancestors)
                        .values_list("path", "code"))
    codes: set[str] | None = set()
    for path in paths:
        code = next((c for county_path, c in county_paths if path.startswith(county_path)), None)
        if code is None:
            codes = None
            break
        codes.add(code)
    result = sorted(codes) if codes is not None else None
    user._phis_scope_counties = result
    return result


def person_address_county(unit: OrgUnit | None) -> str:
    """Person.address_county for an address unit: the code of the county-level division
    that holds it ("" for none)."""
    if unit is None:
        return ""
    if unit.level == Level.COUNTY:
        return unit.code
    ancestors = [unit.path[: i + 1] for i, ch in enumerate(unit.path) if ch == "/" and i]
    return OrgUnit.objects.filter(level=Level.COUNTY, path__in=ancestors) \
        .values_list("code", flat=True).first() or ""


def _prefix(field: str, text: str) -> Q:
    """``field`` starts with ``text``, through the field's index. SQLite's LIKE ignores ASCII
    case, so it cannot use a (BINARY) index; the same prefix as a range can. PostgreSQL keeps
    LIKE alone (its ``*_like`` pattern-ops index serves it; a range bound with U+10FFFF is not
    safe under every collation)."""
    q = Q(**{f"{field}__startswith": text})
    if connection.vendor == "sqlite":
        q &= Q(**{f"{field}__gte": text, f"{field}__lt": text + "\U0010ffff"})
    return q
