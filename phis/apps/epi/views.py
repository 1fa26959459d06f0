"""Epi pages (mounted at ``/epi/``): the dashboard (curve, map, tables, drill-down), Excel
exports of its tables, and the kept weekly situation reports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from phis.apps.epi import charts, selectors, services
from phis.apps.epi.models import ReportTrigger
from phis.apps.epi.params import AreaScope, EpiQuery, previous_iso_week
from phis.apps.epi.permissions import EpiPerm
from phis.core.exceptions import FieldError, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.ui.components import chart_json, xlsx_response
from phis.core.ui.decorators import page_requires


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def _parse(request) -> tuple[AreaScope, EpiQuery, ValidationFailed | None]:
    """Parameters of the page; bad ones are reported and the defaults shown instead."""
    try:
        scope, query = services.epi_query_parse(user=request.user, raw=request.GET)
        return scope, query, None
    except ValidationFailed as exc:
        scope, query = services.epi_query_parse(user=request.user, raw={})
        return scope, query, exc


def _filter_choices(scope: AreaScope, lang: str) -> dict:
    all_areas = selectors.areas()
    counties = [a for a in all_areas.values()
                if a.level == Level.COUNTY and scope.allows_county(a.code)]
    return {
        "diseases": [(d.code, d.name if lang == "zh" else d.name_en)
                     for d in selectors.diseases().values()],
        "counties": [(a.code, a.name if lang == "zh" else a.name_en) for a in counties],
        "bases": [("onset", _("发病日期")), ("report", _("报告日期")), ("review", _("审核日期"))],
        "intervals": [("auto", _("自动")), ("day", _("按日")), ("week", _("按周"))],
        "stacks": [("area", _("按地区")), ("classification", _("按病例分类"))],
    }


@never_cache
@login_required
@page_requires(EpiPerm.VIEW)
@require_GET
def dashboard(request):
    lang = _lang()
    scope, query, error = _parse(request)
    curve = selectors.epi_curve(scope=scope, query=query, lang=lang)
    table = selectors.area_table(scope=scope, query=query, lang=lang)
    map_data = selectors.epi_map(scope=scope, query=query, lang=lang, table=table)
    top = selectors.top_diseases(scope=scope, query=query, lang=lang)
    params = urlencode(query.as_params())
    return render(request, "epi/dashboard.html", {
        "with_charts": True, "q": query, "raw": request.GET, "error": error,
        "scope": scope, "choices": _filter_choices(scope, lang),
        "curve_json": chart_json(charts.curve_option(curve)),
        "map_json": chart_json(charts.map_option(map_data, lang=lang)),
        "curve": curve, "table": table, "map": map_data, "top": top,
        "params": params,
        "can_export": request.user.has_phis_perm(EpiPerm.EXPORT),
    })


EXPORTS = ("areas", "diseases", "curve")


@never_cache
@login_required
@page_requires(EpiPerm.VIEW, EpiPerm.EXPORT)
@require_GET
def export(request, table: str):
    if table not in EXPORTS:
        raise Http404
    lang = _lang()
    scope, query = services.epi_query_parse(user=request.user, raw=request.GET)
    period = f"{query.date_from:%Y%m%d}-{query.date_to:%Y%m%d}"
    if table == "areas":
        data = selectors.area_table(scope=scope, query=query, lang=lang)
        headers = [_("代码"), _("地区"), _("层级"), _("病例数"), _("上期病例数"),
                   _("较上期(%)"), _("常住人口"), _("发病率(1/10万)")]
        rows = charts.table_rows_for_export(data)
        rows.append(["", _("合计"), "", data.total, data.previous_total, data.change_pct,
                     data.population, data.incidence])
    elif table == "diseases":
        found = selectors.top_diseases(scope=scope, query=query, lang=lang, limit=None)
        headers = [_("病种代码"), _("病种"), _("类别"), _("病例数"), _("上期病例数"),
                   _("较上期(%)"), _("发病率(1/10万)")]
        rows = [[d.code, d.name, d.disease_class, d.count, d.previous, d.change_pct,
                 d.incidence] for d in found]
    else:
        curve = selectors.epi_curve(scope=scope, query=query, lang=lang)
        headers = [_("时间"), _("开始日期"), _("结束日期"), *[s.name for s in curve.series],
                   _("合计")]
        rows = [[label, start, end, *[s.values[i] for s in curve.series], curve.totals[i]]
                for i, (label, start, end) in enumerate(zip(curve.labels, curve.starts,
                                                            curve.ends, strict=True))]
    services.analysis_export_record(user=request.user, table=table, query=query,
                                    rows=len(rows))
    return xlsx_response(filename=f"epi-{table}-{period}.xlsx", headers=headers, rows=rows,
                         exported_by=request.user.username, title=f"epi-{table}")


# --- weekly situation reports ----------------------------------------------------------------

@never_cache
@login_required
@page_requires(EpiPerm.VIEW_REPORTS)
@require_http_methods(["GET", "POST"])
def reports(request):
    error = None
    scopes = selectors.report_scopes_for(user=request.user)
    if request.method == "POST":
        if not request.user.has_phis_perm(EpiPerm.GENERATE_REPORT):
            raise PermissionDenied
        try:
            year, week = request.POST.get("week", "").split("-W")
            year, week = int(year), int(week)
        except ValueError:
            error = ValidationFailed([FieldError(
                "week", "invalid_week", "周应写为YYYY-Www（如2026-W05）",
                "Write the week as YYYY-Www (e.g. 2026-W05)")])
        if error is None:
            try:
                report = services.situation_report_generate(
                    scope_code=request.POST.get("scope_code", ""), iso_year=year,
                    iso_week=week, by=request.user, trigger=ReportTrigger.MANUAL)
                messages.success(request, _("周报已生成：%(name)s") % {"name": str(report)})
                return redirect("epi:reports")
            except ValidationFailed as exc:
                error = exc
    names = {a.code: (a.name if _lang() == "zh" else a.name_en)
             for a in selectors.areas().values()}
    for city in OrgUnit.objects.filter(level=Level.CITY, code__in=scopes):
        names[city.code] = city.name if _lang() == "zh" else (city.name_en or city.name)
    year, week = previous_iso_week(selectors.today())
    return render(request, "epi/reports.html", {
        "reports": selectors.situation_report_list(user=request.user)[:200],
        "scopes": [(c, names.get(c, c)) for c in scopes], "error": error,
        "default_week": request.POST.get("week") or f"{year}-W{week:02d}",
        "can_generate": request.user.has_phis_perm(EpiPerm.GENERATE_REPORT),
    })


@never_cache
@login_required
@page_requires(EpiPerm.VIEW_REPORTS)
@require_GET
def report_download(request, report_id: int):
    report, content = services.situation_report_open(user=request.user, report_id=report_id)
    response = HttpResponse(content, content_type="application/pdf")
    inline = request.GET.get("inline") == "1"
    response["Content-Disposition"] = content_disposition_header(not inline, report.filename)
    response["X-Content-SHA256"] = report.checksum
    return response
