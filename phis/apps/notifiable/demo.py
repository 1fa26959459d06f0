"""The demo city's reporting history: about 100,000 report cards a year over the last five
years (ten on request), with each disease's season, age profile and reporting delays, and
injected outbreaks — so detection has baselines and the dashboards have something to show.

Cards land on residents of the demo person registry, in their township, and are reported
by a hospital of their county. History is written in bulk (the services' rules would take
an hour for half a million cards); the cards of the last days go through the services so
the review queue, clocks and signals are real.

The disease profiles are a design for a plausible synthetic city, not Dongying's figures
[U]: yearly counts scaled to 2.2 million residents with influenza dominating as in the
2023–2024 seasons, monthly seasonality from national surveillance patterns [K].
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from phis.apps.notifiable.models import (
    CardAction,
    CardEvent,
    CardSource,
    CardStatus,
    CardType,
    ReportCard,
)
from phis.core.codes.selectors import notifiable_disease_rules
from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.people.models import Person, PersonIdentifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_SEED = 20260101
BATCH = 20_000

# Age bands (years): 0-2, 3-5, 6-14, 15-24, 25-44, 45-59, 60+
BANDS = ((0, 3), (3, 6), (6, 15), (15, 25), (25, 45), (45, 60), (60, 200))


@dataclass(frozen=True)
class DiseaseProfile:
    code: str                      # catalogue code (top level)
    per_year: float                # expected cards a year in a city of 2.2 million
    months: tuple[float, ...]      # relative intensity Jan..Dec
    ages: tuple[float, ...]        # relative weight of the age bands above
    subtypes: tuple[tuple[str, float], ...] = ()
    classification: tuple[tuple[str, float], ...] = (("3", 0.7), ("2", 0.3))
    chronic_share: float | None = None   # diseases needing acute/chronic
    since: date | None = None      # first date cards occur (list changes, §1.1)
    until: date | None = None
    death_rate: float = 0.0


_FLAT = (1.0,) * 12
_CHILD = (0.05, 0.25, 0.35, 0.15, 0.08, 0.06, 0.06)
_ADULT = (0.0, 0.0, 0.02, 0.15, 0.38, 0.27, 0.18)
_OLDER = (0.0, 0.0, 0.01, 0.08, 0.22, 0.30, 0.39)
_ALL = (0.06, 0.10, 0.24, 0.12, 0.20, 0.14, 0.14)

PROFILES: tuple[DiseaseProfile, ...] = (
    DiseaseProfile("influenza", 62_000, (3.2, 2.0, 1.6, 1.1, 0.5, 0.35, 0.4, 0.4, 0.4, 0.5,
                                         1.2, 2.6), _ALL,
                   classification=(("3", 0.55), ("2", 0.45))),
    DiseaseProfile("infectious-diarrhoea", 9_000, (1.3, 0.9, 0.8, 0.8, 0.9, 1.1, 1.4, 1.4,
                                                   1.0, 0.9, 1.1, 1.4), _ALL,
                   classification=(("2", 0.8), ("3", 0.2))),
    DiseaseProfile("hfmd", 6_000, (0.2, 0.15, 0.4, 1.0, 2.6, 2.8, 1.8, 0.9, 0.7, 0.9, 0.6,
                                   0.3), (0.35, 0.50, 0.13, 0.01, 0.01, 0.0, 0.0),
                   classification=(("2", 0.75), ("3", 0.25))),
    DiseaseProfile("varicella", 3_000, (0.8, 0.5, 0.9, 1.2, 1.4, 1.3, 0.6, 0.3, 0.5, 1.0,
                                        1.6, 1.5), (0.04, 0.25, 0.50, 0.12, 0.07, 0.01, 0.01),
                   classification=(("2", 0.9), ("3", 0.1))),
    DiseaseProfile("viral-hepatitis", 3_400, _FLAT, _OLDER,
                   subtypes=(("hepatitis-b", 0.74), ("hepatitis-c", 0.17),
                             ("hepatitis-e", 0.06), ("hepatitis-a", 0.02),
                             ("hepatitis-unclassified", 0.01)),
                   classification=(("3", 0.85), ("2", 0.15)), chronic_share=0.92),
    DiseaseProfile("syphilis", 1_800, _FLAT, _ADULT,
                   subtypes=(("syphilis-latent", 0.72), ("syphilis-primary", 0.12),
                             ("syphilis-secondary", 0.12), ("syphilis-tertiary", 0.03),
                             ("syphilis-congenital", 0.01)),
                   classification=(("3", 0.9), ("2", 0.1))),
    DiseaseProfile("tuberculosis", 1_000, (0.9, 0.9, 1.2, 1.2, 1.1, 1.0, 1.0, 0.9, 0.9, 1.0,
                                           0.9, 1.0), _OLDER,
                   subtypes=(("tb-pathogen-positive", 0.55), ("tb-pathogen-negative", 0.3),
                             ("tb-no-pathogen-result", 0.12),
                             ("tb-rifampicin-resistant", 0.03)),
                   classification=(("3", 0.6), ("2", 0.4)), death_rate=0.002),
    DiseaseProfile("scarlet-fever", 900, (1.0, 0.5, 0.9, 1.3, 1.6, 1.4, 0.6, 0.2, 0.4, 0.8,
                                          1.6, 1.7), (0.02, 0.40, 0.55, 0.02, 0.01, 0.0, 0.0),
                   classification=(("2", 0.7), ("3", 0.3))),
    DiseaseProfile("mumps", 800, (0.8, 0.6, 1.0, 1.3, 1.5, 1.4, 1.1, 0.7, 0.6, 0.8, 1.1,
                                  1.1), (0.02, 0.25, 0.55, 0.10, 0.06, 0.01, 0.01),
                   classification=(("2", 0.85), ("3", 0.15))),
    DiseaseProfile("pertussis", 400, (0.6, 0.5, 0.8, 1.1, 1.4, 1.6, 1.6, 1.3, 1.0, 0.8, 0.7,
                                      0.6), (0.35, 0.20, 0.35, 0.04, 0.04, 0.01, 0.01)),
    DiseaseProfile("gonorrhoea", 300, _FLAT, _ADULT, classification=(("3", 1.0),)),
    DiseaseProfile("brucellosis", 260, (0.5, 0.6, 1.0, 1.4, 1.7, 1.7, 1.5, 1.2, 0.9, 0.6,
                                        0.5, 0.4), _ADULT),
    DiseaseProfile("dysentery", 200, (0.3, 0.3, 0.4, 0.6, 1.0, 1.5, 2.1, 2.2, 1.6, 0.9, 0.6,
                                      0.4), _ALL, subtypes=(("dysentery-bacillary", 0.97),
                                                           ("dysentery-amoebic", 0.03))),
    DiseaseProfile("hiv-aids", 120, _FLAT, _ADULT,
                   subtypes=(("hiv-aids-infected", 0.7), ("hiv-aids-patient", 0.3)),
                   classification=(("3", 1.0),), death_rate=0.02),
    DiseaseProfile("acute-haemorrhagic-conjunctivitis", 60, (0.3, 0.3, 0.3, 0.4, 0.6, 0.9,
                                                             2.0, 3.5, 2.5, 0.9, 0.3, 0.3),
                   _ALL, classification=(("2", 0.9), ("3", 0.1))),
    DiseaseProfile("sfts", 40, (0.0, 0.0, 0.2, 1.0, 2.5, 2.5, 2.4, 1.8, 1.0, 0.4, 0.1, 0.0),
                   _OLDER, death_rate=0.08),
    DiseaseProfile("hfrs", 30, (0.8, 0.4, 0.5, 0.6, 0.7, 0.5, 0.3, 0.3, 0.5, 1.6, 3.2, 2.4),
                   _ADULT, death_rate=0.01),
    DiseaseProfile("typhoid-paratyphoid", 20, (0.3, 0.3, 0.5, 0.7, 1.0, 1.4, 1.8, 1.9, 1.5,
                                               1.0, 0.5, 0.3), _ALL,
                   subtypes=(("typhoid", 0.6), ("paratyphoid", 0.4))),
    DiseaseProfile("scrub-typhus", 20, (0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 2.0, 5.0, 3.0,
                                        0.4), _OLDER),
    DiseaseProfile("rubella", 20, (0.4, 0.5, 1.2, 2.0, 2.2, 1.6, 0.8, 0.5, 0.4, 0.4, 0.4, 0.4),
                   _CHILD),
    DiseaseProfile("malaria", 6, _FLAT, _ADULT,
                   subtypes=(("malaria-falciparum", 0.6), ("malaria-vivax", 0.3),
                             ("malaria-unclassified", 0.1)), classification=(("3", 1.0),)),
    DiseaseProfile("dengue", 5, (0.1, 0.1, 0.1, 0.2, 0.4, 0.6, 1.2, 2.5, 3.2, 2.6, 0.8, 0.2),
                   _ADULT, classification=(("3", 1.0),)),
    DiseaseProfile("measles", 6, (0.5, 0.7, 1.4, 2.0, 2.0, 1.3, 0.7, 0.5, 0.5, 0.5, 0.4, 0.5),
                   _CHILD),
    DiseaseProfile("japanese-encephalitis", 2, (0.0, 0.0, 0.0, 0.0, 0.1, 0.8, 4.0, 5.5, 1.5,
                                                 0.1, 0.0, 0.0), _CHILD),
    DiseaseProfile("covid-19", 7_000, (2.0, 1.2, 0.6, 0.6, 1.8, 1.2, 0.7, 1.0, 0.8, 0.6, 0.6,
                                       0.9), _OLDER, since=date(2023, 1, 8),
                   classification=(("3", 0.9), ("5", 0.1)), death_rate=0.003),
    DiseaseProfile("genital-chlamydia", 700, _FLAT, _ADULT, classification=(("3", 1.0),)),
    DiseaseProfile("condyloma-acuminatum", 650, _FLAT, _ADULT),
    DiseaseProfile("genital-herpes", 250, _FLAT, _ADULT),
)


@dataclass(frozen=True)
class Outbreak:
    """Extra cases added on top of the background, in one township."""

    code: str
    days_before_end: int           # first onset day, counted back from the history's end
    duration: int
    cases: int
    ages: tuple[float, ...]
    township_rank: int             # which township of the county (by residents, largest first)
    subtype: str = ""
    county: str = "370502"         # 东营区, where the demo county reviewer works


OUTBREAKS: tuple[Outbreak, ...] = (
    # norovirus in a primary school, a year ago
    Outbreak("infectious-diarrhoea", 370, 6, 42, (0, 0, 0.9, 0.02, 0.08, 0, 0), 2),
    # HFMD in a kindergarten
    Outbreak("hfmd", 200, 12, 26, (0.3, 0.7, 0, 0, 0, 0, 0), 5),
    # influenza in a middle school, in season
    Outbreak("influenza", 95, 8, 65, (0, 0, 0.85, 0.1, 0.05, 0, 0), 1),
    # measles cluster two years ago
    Outbreak("measles", 740, 20, 9, (0.5, 0.3, 0.1, 0.05, 0.05, 0, 0), 2, county="370522"),
    # an imported cholera case (fixed-threshold disease)
    Outbreak("cholera", 520, 1, 1, (0, 0, 0, 0.2, 0.6, 0.2, 0), 3),
    # going on now: scarlet fever in a primary school and mumps in a middle school, so the
    # day's detection run has signals to raise
    Outbreak("scarlet-fever", 6, 6, 14, (0, 0.3, 0.7, 0, 0, 0, 0), 3),
    Outbreak("mumps", 9, 9, 16, (0, 0, 0.9, 0.1, 0, 0, 0), 1, county="370523"),
)

# occupation codes (value set ``occupation``) by age band, with weights
_OCCUPATIONS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("02", 0.85), ("01", 0.15)),
    (("01", 0.8), ("02", 0.2)),
    (("03", 1.0),),
    (("03", 0.55), ("09", 0.12), ("10", 0.08), ("07", 0.1), ("14", 0.1), ("08", 0.05)),
    (("09", 0.22), ("11", 0.25), ("14", 0.15), ("07", 0.12), ("10", 0.1), ("16", 0.06),
     ("06", 0.04), ("04", 0.03), ("08", 0.03)),
    (("11", 0.4), ("09", 0.18), ("16", 0.15), ("14", 0.1), ("07", 0.07), ("13", 0.05),
     ("10", 0.05)),
    (("15", 0.45), ("11", 0.3), ("16", 0.2), ("18", 0.05)),
)


def _history_years() -> int:
    return int(getattr(settings, "PHIS_DEMO_HISTORY_YEARS", 5))


@dataclass
class _Pools:
    """Demo residents by township and age band, and the hospitals that report for them."""

    townships: list[OrgUnit]
    weights: np.ndarray                  # share of residents per township
    by_band: list[list[np.ndarray]]      # [township][band] -> person row indexes
    everyone: list[np.ndarray]           # [township] -> person row indexes
    person_id: np.ndarray
    name: list[str]
    sex: np.ndarray
    birth: list[date]
    unit_id: np.ndarray
    county_of_unit: dict[int, str]
    township_of_unit: dict[int, str]
    reporters: dict[str, list[OrgUnit]]  # county code -> reporting facilities


def _pools(end: date) -> _Pools | None:
    rows = list(Person.objects.filter(status="active", address_unit__isnull=False)
                .order_by("pk").values_list("pk", "name", "sex", "birth_date",
                                            "address_unit_id"))
    if not rows:
        return None
    units = {u.id: u for u in OrgUnit.objects.filter(level__in=(Level.TOWNSHIP,
                                                                Level.COMMUNITY))}
    counties = {u.path: u.code for u in OrgUnit.objects.filter(level=Level.COUNTY)}
    township_of_unit: dict[int, str] = {}
    county_of_unit: dict[int, str] = {}
    by_code = {u.code: u for u in units.values() if u.level == Level.TOWNSHIP}
    for uid, unit in units.items():
        township = unit if unit.level == Level.TOWNSHIP else units[unit.parent_id]
        township_of_unit[uid] = township.code
        county_of_unit[uid] = next((code for path, code in counties.items()
                                    if unit.path.startswith(path)), "")
    person_id = np.array([r[0] for r in rows], dtype=np.int64)
    unit_id = np.array([r[4] for r in rows], dtype=np.int64)
    ages = np.array([(end - r[3]).days / 365.25 if r[3] else 40.0 for r in rows])
    band = np.digitize(ages, [b[1] for b in BANDS[:-1]])
    t_codes = sorted({township_of_unit.get(int(u), "") for u in unit_id} - {""})
    townships = [by_code[c] for c in t_codes]
    t_index = {c: i for i, c in enumerate(t_codes)}
    row_township = np.array([t_index.get(township_of_unit.get(int(u), ""), -1)
                             for u in unit_id])
    order = np.argsort(row_township, kind="stable")
    by_band: list[list[np.ndarray]] = []
    everyone: list[np.ndarray] = []
    for i in range(len(townships)):
        members = order[row_township[order] == i]
        everyone.append(members)
        by_band.append([members[band[members] == b] for b in range(len(BANDS))])
    counts = np.array([len(e) for e in everyone], dtype=float)
    reporters: dict[str, list[OrgUnit]] = {}
    facility_types = (FacilityType.HOSPITAL, FacilityType.TOWNSHIP_HEALTH_CENTRE,
                      FacilityType.COMMUNITY_HEALTH_CENTRE, FacilityType.MCH_HOSPITAL)
    for f in OrgUnit.objects.filter(level=Level.FACILITY, facility_type__in=facility_types) \
            .order_by("code"):
        county_path = next((p for p in counties if f.path.startswith(p)), None)
        if county_path:
            reporters.setdefault(counties[county_path], []).append(f)
    return _Pools(townships, counts / counts.sum(), by_band, everyone, person_id,
                  [r[1] for r in rows], np.array([r[2] for r in rows]),
                  [r[3] for r in rows], unit_id, county_of_unit, township_of_unit, reporters)


def _daily_intensity(profile: DiseaseProfile, days: list[date], scale: float) -> np.ndarray:
    """Expected cards per day: the yearly count spread by month (smoothly between month
    middles), scaled to the city's demo population."""
    months = np.array(profile.months, dtype=float)
    months = months / months.mean()
    out = np.empty(len(days))
    for i, d in enumerate(days):
        pos = (d.month - 1) + (d.day - 1) / 31.0 - 0.5   # month index, 0 = mid-January
        lo = math.floor(pos)
        frac = pos - lo
        out[i] = months[lo % 12] * (1 - frac) + months[(lo + 1) % 12] * frac
        if (profile.since and d < profile.since) or (profile.until and d > profile.until):
            out[i] = 0.0
    return out * profile.per_year / 365.25 * scale


_CUMULATIVE: dict[tuple, tuple[list[float], list]] = {}


def _choice(rng: np.random.Generator, options: tuple[tuple[object, float], ...]):
    """One of ``options`` (value, weight) at random by weight."""
    table = _CUMULATIVE.get(options)
    if table is None:
        total = sum(w for _, w in options)
        running, bounds = 0.0, []
        for _, w in options:
            running += w / total
            bounds.append(running)
        table = _CUMULATIVE[options] = (bounds, [v for v, _ in options])
    bounds, values = table
    return values[min(bisect.bisect_right(bounds, rng.random()), len(values) - 1)]


@dataclass
class _Case:
    code: str
    onset: date
    township: int
    ages: tuple[float, ...]
    subtype: str = ""


def _cases(rng: np.random.Generator, pools: _Pools, start: date, end: date,
           scale: float) -> list[_Case]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    cases: list[_Case] = []
    n_towns = len(pools.townships)
    for profile in PROFILES:
        lam = _daily_intensity(profile, days, scale)
        per_day = rng.poisson(lam)
        total = int(per_day.sum())
        towns = rng.choice(n_towns, size=total, p=pools.weights)
        k = 0
        for i, n in enumerate(per_day):
            for _ in range(int(n)):
                cases.append(_Case(profile.code, days[i], int(towns[k]), profile.ages))
                k += 1
    ranked = list(np.argsort(-np.array([len(e) for e in pools.everyone]), kind="stable"))
    for ob in OUTBREAKS:
        first = end - timedelta(days=ob.days_before_end)
        if first < start:
            continue
        in_county = [t for t in ranked if pools.townships[t].code.startswith(ob.county)] \
            or ranked
        town = int(in_county[ob.township_rank % len(in_county)])
        for _ in range(ob.cases):
            onset = first + timedelta(days=int(rng.integers(ob.duration)))
            if onset <= end:
                cases.append(_Case(ob.code, onset, town, ob.ages, ob.subtype))
    cases.sort(key=lambda c: (c.onset, c.code))
    return cases


def _pick_person(rng: np.random.Generator, pools: _Pools, town: int,
                 ages: tuple[float, ...]) -> int:
    """A resident of the township, of an age band drawn from the disease's profile."""
    options = tuple((b, w) for b, w in enumerate(ages) if w > 0 and len(pools.by_band[town][b]))
    members = pools.by_band[town][_choice(rng, options)] if options else pools.everyone[town]
    return int(members[int(rng.random() * len(members))])


def _identity_source(person_ids: set[int]) -> dict[int, tuple[bytes, str, str, str]]:
    """Primary identifier ciphertext, blind index and masked form per person."""
    out: dict[int, tuple[bytes, str, str]] = {}
    qs = PersonIdentifier.objects.filter(is_primary=True).values_list(
        "person_id", "number_encrypted", "number_index", "number_masked", "id_type")
    for pid, enc, idx, masked, id_type in qs.iterator(chunk_size=20_000):
        if pid in person_ids:
            out[pid] = (bytes(enc), idx, masked, id_type)
    return out


def _card_columns() -> list[str]:
    return [f.column for f in ReportCard._meta.concrete_fields]


def _insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    qn = connection.ops.quote_name
    sql = (f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def cards_demo_history(*, years: int | None = None, end: date | None = None,
                       seed: int = DEMO_SEED, scale: float = 1.0,
                       progress: Callable[[int], None] | None = None) -> dict:
    """Write the reporting history (idempotent: does nothing when demo cards exist).
    ``scale`` multiplies the yearly counts (tests use a small city)."""
    if ReportCard.objects.filter(source=CardSource.DEMO).exists():
        return {"cards": 0, "skipped": "history already loaded"}
    years = _history_years() if years is None else years
    end = end or timezone.localdate() - timedelta(days=1)
    start = end - timedelta(days=round(365.25 * years) - 1)
    pools = _pools(end)
    if years <= 0 or pools is None or not pools.reporters:
        return {"cards": 0, "skipped": "no residents or no reporting units"}
    rng = np.random.default_rng(seed)
    # The profiles are per 2.2 million residents; a smaller demo registry stands for the
    # whole city, so the city's numbers are kept (the "about 100,000 cards a year").
    cases = _cases(rng, pools, start, end, scale)
    chosen = [_pick_person(rng, pools, c.township, c.ages) for c in cases]
    identities = _identity_source({int(pools.person_id[i]) for i in chosen})
    columns = _card_columns()
    card_datetimes = {f.column for f in ReportCard._meta.concrete_fields
                      if f.get_internal_type() == "DateTimeField"}
    # Fields the generator does not set keep their model defaults, as the ORM would store
    # them.
    card_defaults = {f.column: f.get_db_prep_save(f.get_default(), connection)
                     for f in ReportCard._meta.concrete_fields}
    adapt = _datetime_adapter()
    now = timezone.now()
    rules_cache: dict[tuple[str, int], object] = {}
    profiles = {p.code: p for p in PROFILES}
    next_id = (ReportCard.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    seq: dict[tuple[str, date], int] = {}
    card_rows: list[tuple] = []
    event_rows: list[tuple] = []
    event_columns = [f.column for f in CardEvent._meta.concrete_fields if f.column != "id"]
    stored = 0
    awaiting_review: list[int] = []

    def flush() -> None:
        nonlocal card_rows, event_rows, stored
        with transaction.atomic():
            _insert(ReportCard._meta.db_table, columns, card_rows)
            _insert(CardEvent._meta.db_table, event_columns, event_rows)
        stored += len(card_rows)
        if progress:
            progress(len(card_rows))
        card_rows, event_rows = [], []

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # the card indexes are keyed at random
            cursor.execute("PRAGMA cache_size=-262144")
    for case, row in zip(cases, chosen, strict=True):
        # diseases that occur only as injected outbreaks (cholera) have no background profile
        profile = profiles.get(case.code) or profiles.setdefault(
            case.code, DiseaseProfile(case.code, 0.0, _FLAT, case.ages,
                                      classification=(("3", 1.0),)))
        person_pk = int(pools.person_id[row])
        unit_id = int(pools.unit_id[row])
        county = pools.county_of_unit.get(unit_id, "")
        reporters = pools.reporters.get(county) or next(iter(pools.reporters.values()))
        # most cards come from the county's hospitals, some from township centres
        unit = reporters[int(rng.integers(len(reporters)))]
        key = (case.code, case.onset.year)
        rules = rules_cache.get(key)
        if rules is None:
            rules = notifiable_disease_rules(case.code, on=case.onset)
            rules_cache[key] = rules
        subtype = case.subtype or (_choice(rng, profile.subtypes) if profile.subtypes else "")
        classification = _choice(rng, profile.classification)
        diagnosis_delay_h = float(rng.gamma(1.6, 22.0))  # onset -> diagnosis, hours
        onset_local = datetime.combine(case.onset, time(8), SHANGHAI)
        diagnosis_at = onset_local + timedelta(hours=diagnosis_delay_h,
                                               minutes=int(rng.integers(60)))
        if diagnosis_at.date() > end:
            diagnosis_at = datetime.combine(end, time(int(rng.integers(8, 18))), SHANGHAI)
        deadline = timedelta(hours=rules.deadline_hours)
        late = rng.random() < 0.015
        report_delay = (deadline * float(rng.uniform(1.05, 3.0)) if late
                        else deadline * float(rng.beta(1.2, 6.0)))
        reported_at = diagnosis_at + report_delay
        review_limit = timedelta(hours=2 if rules.deadline_hours <= 2 else 24)
        review_late = rng.random() < 0.02
        reviewed_at = reported_at + (review_limit * float(rng.uniform(1.05, 2.0)) if review_late
                                     else review_limit * float(rng.beta(1.1, 4.0)))
        if reviewed_at > now:
            # the days before "now" still wait in the review queue
            status, reviewed, reviewed_late_v = CardStatus.SUBMITTED, None, None
            awaiting_review.append(next_id)
        else:
            status, reviewed, reviewed_late_v = CardStatus.REVIEWED, reviewed_at, review_late
        birth = pools.birth[row]
        age_years = (case.onset - birth).days / 365.25 if birth else 40
        band = next(i for i, (_, upper) in enumerate(BANDS) if age_years < upper)
        occupation = _choice(rng, _OCCUPATIONS[band])
        died = profile.death_rate and rng.random() < profile.death_rate
        day_key = (unit.code, diagnosis_at.date())
        seq[day_key] = seq.get(day_key, 0) + 1
        card_number = f"{unit.code}{diagnosis_at.astimezone(SHANGHAI):%Y%m%d}" \
                      f"D{seq[day_key]:04d}"
        ident = identities.get(person_pk)
        acute_chronic = ""
        if profile.chronic_share is not None and subtype in ("hepatitis-b", "hepatitis-c"):
            acute_chronic = "2" if rng.random() < profile.chronic_share else "1"
        values = {
            "id": next_id, "created_at": reported_at, "updated_at": reviewed or reported_at,
            "created_by_id": None, "card_number": card_number, "card_type": CardType.INITIAL,
            "status": status, "version": 2 if reviewed else 1, "source": CardSource.DEMO,
            "external_id": "", "source_system": "", "person_id": person_pk,
            "patient_name": pools.name[row],
            "parent_name": (pools.name[row][0] + "某") if age_years <= 14 else "",
            "id_type": "01" if ident else "", "id_number_encrypted": ident[0] if ident else None,
            "id_number_index": ident[1] if ident else "",
            "id_number_masked": ident[2] if ident else "",
            "sex": int(pools.sex[row]), "birth_date": birth, "age_value": None, "age_unit": "",
            "work_unit": "", "phone_encrypted": None, "phone_masked": "",
            "residence_category": "1", "address_unit_id": unit_id,
            "address_text_encrypted": None, "county_code": county,
            "township_code": pools.township_of_unit.get(unit_id, ""),
            "occupation": occupation, "occupation_other": "",
            "disease_code": case.code, "subtype_code": subtype,
            "icd10_code": rules.icd10_codes[0] if rules.icd10_codes else "",
            "disease_class": rules.disease_class, "other_disease_text": "",
            "original_disease_code": "", "case_classification": classification,
            "acute_chronic": acute_chronic, "onset_date": case.onset,
            "diagnosis_at": diagnosis_at,
            "death_date": case.onset + timedelta(days=int(rng.integers(3, 40))) if died else None,
            "reporting_unit_id": unit.id, "reporting_doctor_id": None,
            "doctor_name": "演示医生", "reporting_phone": "", "filled_date":
                diagnosis_at.astimezone(SHANGHAI).date(), "remarks": "",
            "deadline_hours": rules.deadline_hours, "report_due_at": diagnosis_at + deadline,
            "reported_at": reported_at, "reported_late": bool(late),
            "review_due_at": reported_at + review_limit, "reviewed_at": reviewed,
            "reviewed_by_id": None, "reviewed_late": reviewed_late_v, "return_reason": "",
            "deleted_at": None, "deleted_by_id": None, "delete_reason": "",
            "deleted_after_review": False, "duplicate_of_id": None,
            "suspected_due_at": None, "suspected_outcome": "", "suspected_resolved_at": None,
        }
        card_rows.append(tuple((adapt(values[c]) if c in card_datetimes else values[c])
                               if c in values else card_defaults[c] for c in columns))
        event_rows.append(_event(next_id, CardAction.SUBMIT, reported_at, "",
                                 CardStatus.SUBMITTED, 1, event_columns, adapt))
        if reviewed:
            event_rows.append(_event(next_id, CardAction.REVIEW, reviewed, CardStatus.SUBMITTED,
                                     CardStatus.REVIEWED, 2, event_columns, adapt))
        next_id += 1
        if len(card_rows) >= BATCH:
            flush()
    flush()
    _reset_sequence()
    _open_review_items(awaiting_review)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size=-2000")  # SQLite's default again
    return {"cards": stored, "from": start.isoformat(), "to": end.isoformat(),
            "outbreaks": len(OUTBREAKS)}


def _open_review_items(card_ids: list[int]) -> None:
    """The cards still waiting for review get their review item (owner, clock), as if the
    hospital had just reported them."""
    from phis.apps.notifiable.services import _start_review

    for card in ReportCard.objects.filter(pk__in=card_ids).select_related(
            "address_unit", "reporting_unit"):
        with transaction.atomic():
            _start_review(card, user=None, now=card.reported_at)


def _event(card_id: int, action: str, at: datetime, from_status: str, to_status: str,
           version: int, columns: list[str], adapt: Callable) -> tuple:
    values = {"card_id": card_id, "action": action, "at": at, "by_id": None,
              "from_status": from_status, "to_status": to_status, "reason": "",
              "changes": "{}", "version": version}
    return tuple(adapt(values[c]) if c == "at" else values[c] for c in columns)


def _datetime_adapter() -> Callable[[datetime | None], object]:
    """What the ORM would send for an aware datetime: SQLite keeps naive UTC text,
    PostgreSQL takes the value itself (the ORM's own adapter is 10x slower in bulk)."""
    if connection.vendor != "sqlite":
        return lambda value: value

    def to_text(value: datetime | None) -> str | None:
        if value is None:
            return None
        return (value - value.utcoffset()).replace(tzinfo=None).isoformat(" ")
    return to_text


def _reset_sequence() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (ReportCard, CardEvent):
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                           f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
