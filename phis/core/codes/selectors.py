"""Reads of the code systems: search for form autocompletes, look-ups, value sets for selects
and the notifiable-disease rules in force on a date.

Code lists are public inside the platform (no personal data), so nothing here is scoped.

Caching: value sets and the notifiable catalogue are cached per process, keyed by the system's
checksum. The checksums themselves are re-read at most every ``REVISION_TTL`` seconds, so a
``phis codes load`` run by another process is seen by every web worker within that time;
in the loading process the caches are cleared at once (``codes_cache_clear``).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from phis.core.codes.models import CodeSystem, Concept
from phis.core.exceptions import ApplicationError, NotFound

REVISION_TTL = 30.0
MAX_LIMIT = 100
NOTIFIABLE = "notifiable-disease"


@dataclass(frozen=True, slots=True)
class SystemInfo:
    id: int
    key: str
    checksum: str
    hierarchical: bool


_lock = threading.Lock()
_systems_state: dict[str, Any] = {"systems": None, "at": 0.0}


def _systems() -> dict[str, SystemInfo]:
    now = time.monotonic()
    systems = _systems_state["systems"]
    if systems is None or now - _systems_state["at"] > REVISION_TTL:
        systems = {s.key: SystemInfo(s.pk, s.key, s.checksum, s.hierarchical)
                   for s in CodeSystem.objects.only("id", "key", "checksum", "hierarchical")}
        with _lock:
            _systems_state.update(systems=systems, at=now)
    return systems


def _system(key: str) -> SystemInfo:
    info = _systems().get(key)
    if info is None:
        raise NotFound("代码体系", "code system")
    return info


def codes_cache_clear() -> None:
    """Forget every cached code list in this process (called after each load)."""
    with _lock:
        _systems_state.update(systems=None, at=0.0)
    _value_set_cached.cache_clear()
    _catalogue_cached.cache_clear()


# --- systems and concepts --------------------------------------------------------------

def code_system_list():
    return CodeSystem.objects.order_by("key")


def code_system_get(*, key: str) -> CodeSystem:
    system = CodeSystem.objects.filter(key=_clean(key, 40)).first()
    if system is None:
        raise NotFound("代码体系", "code system")
    return system


_ICD_UNDOTTED = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]+$")


def _clean(text: str | None, max_length: int = 100) -> str:
    """User text as a query value: stripped, bounded, without NUL (PostgreSQL rejects it)."""
    return (text or "").replace("\x00", "").strip()[:max_length]


def _code_variants(text: str) -> list[str]:
    """The ways a user types a code: as is, upper-case, ICD-10 without its dot (A010)."""
    variants = [text, text.upper()]
    upper = text.upper()
    if _ICD_UNDOTTED.match(upper):
        variants.append(f"{upper[:3]}.{upper[3:]}")
    return list(dict.fromkeys(variants))


def concept_search(*, system: str, text: str, limit: int = 20, parent: str | None = None,
                   include_inactive: bool = False) -> list[Concept]:
    """Concepts of ``system`` matching ``text`` for keyboard entry, best first: the code
    itself, code prefix (``A01``, ``a010``), Chinese name prefix, pinyin initials (``hl`` for
    霍乱), English prefix, then anything containing the text in the code, Chinese or English
    name, full pinyin or synonyms. Empty ``text`` lists the top level (or the children of
    ``parent``) in order."""
    info = _system(system)
    limit = max(1, min(int(limit), MAX_LIMIT))
    text = _clean(text)
    qs = Concept.objects.filter(system_id=info.id)
    if not include_inactive:
        qs = qs.filter(active=True)
    if parent is not None:
        qs = qs.filter(parent_code=_clean(parent, 64))
    if not text:
        if parent is None and info.hierarchical:
            qs = qs.filter(parent_code="")
        return list(qs.order_by("sort_order")[:limit])
    low = text.lower()
    variants = _code_variants(text)
    code_prefix = Q()
    for v in variants:
        code_prefix |= Q(code__startswith=v)
    rank = Case(
        When(code__in=variants, then=Value(0)),
        When(code_prefix, then=Value(1)),
        When(display_zh__startswith=text, then=Value(2)),
        When(pinyin_initials__startswith=low, then=Value(3)),
        When(display_en__istartswith=text, then=Value(4)),
        default=Value(5), output_field=IntegerField())
    qs = qs.filter(code_prefix | Q(search_text__contains=low))
    return list(qs.annotate(rank=rank).order_by("rank", "sort_order")[:limit])


def concept_get(*, system: str, code: str) -> Concept:
    """One concept by code (also found when typed lower-case or as ICD-10 without the dot)."""
    info = _system(system)
    variants = _code_variants(_clean(code, 64))
    found = {c.code: c for c in Concept.objects.filter(system_id=info.id, code__in=variants)}
    for variant in variants:
        if variant in found:
            return found[variant]
    raise NotFound("代码", "code")


def concept_children(*, concept: Concept) -> list[Concept]:
    return list(Concept.objects.filter(system_id=concept.system_id, parent_code=concept.code)
                .order_by("sort_order"))


def concept_ancestors(*, concept: Concept) -> list[Concept]:
    """Root first, without ``concept`` itself."""
    chain: list[Concept] = []
    current = concept
    while current.parent_code and len(chain) < 10:
        parent = Concept.objects.filter(system_id=concept.system_id,
                                        code=current.parent_code).first()
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain[::-1]


# --- value sets ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValueSetItem:
    code: str
    display_zh: str
    display_en: str
    parent_code: str = ""

    @property
    def display(self) -> str:
        return self.display_zh or self.display_en


@lru_cache(maxsize=64)
def _value_set_cached(system_id: int, checksum: str,
                      include_inactive: bool) -> tuple[ValueSetItem, ...]:
    qs = Concept.objects.filter(system_id=system_id)
    if not include_inactive:
        qs = qs.filter(active=True)
    return tuple(ValueSetItem(c.code, c.display_zh, c.display_en, c.parent_code)
                 for c in qs.order_by("sort_order").only(
                     "code", "display_zh", "display_en", "parent_code"))


def value_set(system: str, *, include_inactive: bool = False) -> tuple[ValueSetItem, ...]:
    """Every concept of a (small) system in order, for form selects. Cached."""
    info = _system(system)
    return _value_set_cached(info.id, info.checksum, include_inactive)


def value_set_choices(system: str, *, lang: str = "zh") -> list[tuple[str, str]]:
    """``[(code, label)]`` for a Django form field."""
    return [(i.code, i.display_zh if lang == "zh" else (i.display_en or i.display_zh))
            for i in value_set(system)]


# --- notifiable diseases ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NotifiableDiseaseRules:
    """The rules of one notifiable disease (or card sub-type) in force on ``on``."""

    code: str
    name_zh: str
    name_en: str
    disease_class: str  # "A", "B", "C" or "other"
    deadline_hours: int  # network report within this many hours of diagnosis
    managed_as_class_a: bool
    icd10_codes: tuple[str, ...]
    on: date
    parent_code: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    deadline_tag: str = "V"  # "U" when the deadline is an unconfirmed value from the data
    requires_acute_chronic: bool = False
    subtypes: tuple[str, ...] = field(default=())

    @property
    def deadline(self) -> timedelta:
        return timedelta(hours=self.deadline_hours)


@dataclass(frozen=True, slots=True)
class _Entry:
    code: str
    name_zh: str
    name_en: str
    parent_code: str
    sort_order: int
    props: dict[str, Any]
    subtypes: tuple[str, ...]


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@lru_cache(maxsize=4)
def _catalogue_cached(system_id: int, checksum: str) -> dict[str, _Entry]:
    concepts = list(Concept.objects.filter(system_id=system_id).order_by("sort_order"))
    children: dict[str, list[str]] = {}
    for c in concepts:
        if c.parent_code:
            children.setdefault(c.parent_code, []).append(c.code)
    return {c.code: _Entry(c.code, c.display_zh, c.display_en, c.parent_code, c.sort_order,
                           c.properties, tuple(children.get(c.code, ())))
            for c in concepts}


def _catalogue() -> dict[str, _Entry]:
    info = _system(NOTIFIABLE)
    return _catalogue_cached(info.id, info.checksum)


def _listed(props: dict[str, Any], on: date) -> bool:
    start, end = _d(props.get("valid_from")), _d(props.get("valid_to"))
    return (start is None or start <= on) and (end is None or on <= end)


def _rules(entry: _Entry, on: date) -> NotifiableDiseaseRules:
    from phis.core.codes.rules import deadline_hours_for

    props = entry.props
    attrs: dict[str, Any] = {"class": props["class"],
                             "managed_as_class_a": props["managed_as_class_a"],
                             "deadline_hours": props.get("deadline_hours_override"),
                             "name_zh": entry.name_zh, "name_en": entry.name_en}
    for period in props.get("periods", []):
        if _d(period["from"]) <= on <= _d(period["to"]):
            attrs.update({k: v for k, v in period.items() if k in attrs})
    # A sub-type marked managed-as-class-A (pulmonary anthrax) stays so in every period.
    managed = bool(attrs["managed_as_class_a"])
    override = attrs["deadline_hours"]
    return NotifiableDiseaseRules(
        code=entry.code, name_zh=attrs["name_zh"], name_en=attrs["name_en"],
        disease_class=attrs["class"],
        deadline_hours=int(override or deadline_hours_for(attrs["class"],
                                                          managed_as_class_a=managed)),
        managed_as_class_a=managed, icd10_codes=tuple(props.get("icd10", [])), on=on,
        parent_code=entry.parent_code, valid_from=_d(props.get("valid_from")),
        valid_to=_d(props.get("valid_to")),
        deadline_tag=props.get("deadline_tag", "V") if override else "V",
        requires_acute_chronic=bool(props.get("requires_acute_chronic", False)),
        subtypes=entry.subtypes)


def notifiable_disease_rules(code: str, *, on: date | None = None) -> NotifiableDiseaseRules:
    """Class, reporting deadline, managed-as-class-A flag and ICD-10 codes of a notifiable
    disease or card sub-type (``"anthrax-pulmonary"``) as in force on ``on`` (default: today,
    Asia/Shanghai). A case is judged by the rules on its diagnosis date. Raises a 404
    ``ApplicationError`` for an unknown code or a date on which the disease was not listed."""
    on = on or timezone.localdate()
    entry = _catalogue().get(code)
    if entry is None:
        raise NotFound("传染病病种", "notifiable disease")
    if not _listed(entry.props, on):
        raise ApplicationError(
            code="not_listed_on_date", status=404,
            message=f"{entry.name_zh}在{on.isoformat()}不在法定传染病目录内",
            message_en=f"{entry.name_en} was not on the notifiable list on {on.isoformat()}")
    return _rules(entry, on)


def notifiable_diseases(*, on: date | None = None,
                        include_subtypes: bool = False) -> list[NotifiableDiseaseRules]:
    """The catalogue in force on ``on`` (default today), in list order."""
    on = on or timezone.localdate()
    return [_rules(e, on) for e in _catalogue().values()
            if _listed(e.props, on) and (include_subtypes or not e.parent_code)]


def notifiable_disease_for_icd10(icd10_code: str, *,
                                 on: date | None = None) -> NotifiableDiseaseRules | None:
    """The notifiable disease (or sub-type) an ICD-10 code belongs to, by longest code
    prefix (``A01.0`` → typhoid; ``A15.000x001`` of the national clinical edition → pulmonary
    tuberculosis). ``None`` when the code is not notifiable on ``on``."""
    on = on or timezone.localdate()
    code = _code_variants(_clean(icd10_code, 64))[-1]  # upper-case, dotted if typed without
    best: list[tuple[int, _Entry]] = []
    for entry in _catalogue().values():
        if not _listed(entry.props, on):
            continue
        lengths = [len(p) for p in entry.props.get("icd10", []) if code.startswith(p)]
        if lengths:
            best.append((max(lengths), entry))
    if not best:
        return None
    longest = max(n for n, _ in best)
    matches = [e for n, e in best if n == longest]
    parents = {e.parent_code or e.code for e in matches}
    if len(matches) > 1 and len(parents) == 1:  # several sub-types tie: give the disease
        return _rules(_catalogue()[parents.pop()], on)
    return _rules(matches[0], on)
