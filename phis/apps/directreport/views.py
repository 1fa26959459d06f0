"""A3 pages (mounted at ``/directreport/``): the three-level grid with its Excel export, the
reconciliation report with its Excel export, and the exchange operator's page (batches,
failures, import of a batch or an acknowledgement, re-send)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from phis.apps.directreport import selectors, services
from phis.apps.directreport.permissions import DirectReportPerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError, FieldError, ValidationFailed
from phis.core.orgunits.models import Level
from phis.core.orgunits.selectors import orgunit_ancestors
from phis.core.ui.components import xlsx_response
from phis.core.ui.decorators import page_requires

MAX_UPLOAD = 50 * 1024 * 1024


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _column_labels(columns) -> list[str]:
    return [en if _english() else zh for zh, en in columns]


def _grid_from_request(request):
    unit = selectors.grid_unit(user=request.user, code=request.GET.get("unit", ""))
    query = selectors.grid_query_from(
        unit=unit, date_from=request.GET.get("date_from"),
        date_to=request.GET.get("date_to"), basis=request.GET.get("basis", ""),
        disease_code=request.GET.get("disease_code", ""))
    return selectors.grid_build(user=request.user, query=query)


@login_required
@page_requires(DirectReportPerm.VIEW_GRID)
@require_GET
def grid(request):
    try:
        built = _grid_from_request(request)
    except ValidationFailed as exc:
        return render(request, "directreport/grid.html", {"error": exc, "grid": None},
                      status=422)
    except ApplicationError as exc:  # no division in the user's scope, or not theirs
        return render(request, "directreport/grid.html", {"error": exc, "grid": None},
                      status=exc.status)
    unit = built.query.unit
    roots = selectors.grid_roots(user=request.user)
    root_paths = [r.path for r in roots]
    trail = [u for u in orgunit_ancestors(unit=unit)
             if any(u.path.startswith(p) for p in root_paths)]
    query = request.GET.copy()
    query.pop("unit", None)
    return render(request, "directreport/grid.html", {
        "grid": built, "unit": unit, "trail": trail, "query": query.urlencode(),
        "columns": _column_labels(selectors.GRID_COLUMNS),
        "child_label": (_("县区") if built.child_level == Level.COUNTY else _("乡镇街道")),
        "is_leaf": built.child_level is None,
        "can_exchange": request.user.has_phis_perm(DirectReportPerm.VIEW_EXCHANGE),
        "can_operate": request.user.has_phis_perm(DirectReportPerm.OPERATE),
    })


@login_required
@page_requires(DirectReportPerm.VIEW_GRID)
@require_GET
def grid_export(request):
    try:
        built = _grid_from_request(request)
    except ApplicationError:
        return redirect(reverse("directreport:grid"))
    q = built.query
    headers = [_("区划/病种"), _("代码"), *_column_labels(selectors.GRID_COLUMNS)]
    rows = [[built.total.name, built.total.code, *selectors.grid_row_cells(built.total)]]
    rows += [[r.name, r.code, *selectors.grid_row_cells(r)] for r in built.areas]
    rows.append([])
    rows += [[r.name, r.code, *selectors.grid_row_cells(r)] for r in built.diseases]
    audit_access(object_type="directreport.grid", object_id=q.unit.code, person_id=None,
                 purpose="三级网格导出 grid export", event=AuditEventType.RECORD_EXPORTED,
                 detail={"from": q.date_from.isoformat(), "to": q.date_to.isoformat(),
                         "basis": q.basis, "disease": q.disease_code})
    return xlsx_response(
        filename=f"grid-{q.unit.code}-{q.date_from}-{q.date_to}-{q.basis}.xlsx",
        headers=headers, rows=rows, exported_by=request.user.display_name,
        title=f"{q.unit.code} {q.basis}")


def _period(request) -> tuple[date, date]:
    return selectors.period_from(date_from=request.GET.get("date_from"),
                                 date_to=request.GET.get("date_to"))


RECON_COLUMNS = (("排队", "Queued"), ("已发送", "Sent"), ("已确认", "Acknowledged"),
                 ("被拒收", "Rejected"), ("待回执", "Awaiting ack"), ("待发送", "Pending"),
                 ("重发", "Re-sent"), ("已被取代", "Superseded"))
RECON_KEYS = ("queued", "sent", "acknowledged", "rejected", "awaiting_ack", "pending",
              "resent", "superseded")


@login_required
@page_requires(DirectReportPerm.VIEW_EXCHANGE)
@require_GET
def reconciliation(request):
    try:
        date_from, date_to = _period(request)
    except ValidationFailed as exc:
        return render(request, "directreport/reconciliation.html", {"error": exc},
                      status=422)
    channel = request.GET.get("channel", "")[:32]
    report = selectors.reconciliation(user=request.user, date_from=date_from,
                                      date_to=date_to, channel=channel)
    return render(request, "directreport/reconciliation.html", {
        "report": report, "columns": _column_labels(RECON_COLUMNS), "keys": RECON_KEYS,
        "channel": channel, "channels": sorted(services.channels()),
        "query": request.GET.urlencode(),
        "can_operate": request.user.has_phis_perm(DirectReportPerm.OPERATE),
    })


@login_required
@page_requires(DirectReportPerm.VIEW_EXCHANGE)
@require_GET
def reconciliation_export(request):
    try:
        date_from, date_to = _period(request)
    except ValidationFailed:
        return redirect(reverse("directreport:reconciliation"))
    channel = request.GET.get("channel", "")[:32]
    report = selectors.reconciliation(user=request.user, date_from=date_from,
                                      date_to=date_to, channel=channel)
    headers = [_("县区"), _("代码"), *_column_labels(RECON_COLUMNS)]
    rows = [[r["name"], r["county_code"], *[r[k] for k in RECON_KEYS]]
            for r in report["rows"]]
    rows.append([_("合计"), "", *[report["total"][k] for k in RECON_KEYS]])
    rows.append([])
    rows.append([_("拒收原因"), _("代码"), _("数量")])
    rows += [[r["ack_reason_en"] if _english() and r["ack_reason_en"] else r["ack_reason"],
              r["ack_code"], r["count"]] for r in report["reasons"]]
    audit_access(object_type="directreport.reconciliation", object_id=channel or "all",
                 person_id=None, purpose="直报对账导出 reconciliation export",
                 event=AuditEventType.RECORD_EXPORTED,
                 detail={"from": date_from.isoformat(), "to": date_to.isoformat()})
    return xlsx_response(filename=f"reconciliation-{date_from}-{date_to}.xlsx",
                         headers=headers, rows=rows, exported_by=request.user.display_name,
                         title="reconciliation")


@login_required
@page_requires(DirectReportPerm.VIEW_EXCHANGE)
@require_GET
def records(request):
    try:
        date_from, date_to = _period(request)
    except ValidationFailed as exc:
        return render(request, "directreport/records.html", {"error": exc}, status=422)
    state = request.GET.get("state", "")[:16]
    qs = selectors.outbound_records(
        user=request.user, date_from=date_from, date_to=date_to,
        county_code=request.GET.get("county_code", "")[:12], state=state,
        channel=request.GET.get("channel", "")[:32],
        ack_code=request.GET.get("ack_code", "")[:40],
        resent=request.GET.get("resent") in ("1", "true"))
    from django.core.paginator import Paginator

    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "directreport/records.html", {
        "page": page, "query": query.urlencode(), "state": state,
        "can_operate": request.user.has_phis_perm(DirectReportPerm.OPERATE),
    })


@login_required
@page_requires(DirectReportPerm.OPERATE)
@require_POST
def records_requeue(request):
    ids = [int(i) for i in request.POST.getlist("record") if i.isdigit()]
    count = services.outbound_requeue(user=request.user, record_pks=ids)
    messages.success(request, _("已将 %(count)d 条记录重新排队发送。") % {"count": count})
    return redirect(request.POST.get("next") or reverse("directreport:records"))


@login_required
@page_requires(DirectReportPerm.OPERATE)
def exchange(request):
    """Batches, failures, and the operator's actions (export now, import, acknowledgement)."""
    result = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        upload = request.FILES.get("file")
        try:
            if action == "export":
                report = services.outbound_export_now()
                messages.success(request, _("已投递 %(ok)d 个批次，失败 %(failed)d 个。")
                                 % {"ok": report.delivered, "failed": report.failed})
                return redirect("directreport:exchange")
            if action in ("import", "ack"):
                if upload is None:
                    raise ValidationFailed([FieldError(
                        "file", "required", "请选择文件", "Choose a file")])
                if upload.size and upload.size > MAX_UPLOAD:
                    raise ValidationFailed([FieldError(
                        "file", "too_large", "文件过大(上限50MB)",
                        "File too large (50 MB maximum)")])
                content = upload.read()
                if action == "import":
                    batch = services.inbound_import(user=request.user, content=content,
                                                    file_name=upload.name or "",
                                                    channel_code=request.POST.get(
                                                        "channel", ""))
                    return redirect("directreport:inbound", pk=batch.pk)
                report = services.ack_process(content=content,
                                              channel_code=request.POST.get("channel", ""))
                messages.success(request, _("回执已处理：%(batch)s，%(count)d 条记录。")
                                 % {"batch": report.batch_id, "count": report.applied})
                return redirect("directreport:exchange")
        except ApplicationError as exc:
            result = exc
    return render(request, "directreport/exchange.html", {
        "error": result,
        "batches": selectors.outbound_batches()[:50],
        "failing": selectors.outbound_failing()[:50],
        "inbound": selectors.inbound_batches()[:30],
        "channels": services.channels(),
    }, status=422 if result is not None else 200)


@login_required
@page_requires(DirectReportPerm.OPERATE)
@require_GET
def inbound(request, pk: int):
    try:
        batch = selectors.inbound_batch_get(pk=pk)
    except ApplicationError:
        return render(request, "directreport/not_found.html", {}, status=404)
    return render(request, "directreport/inbound.html", {
        "batch": batch, "records": selectors.inbound_records(user=request.user, batch=batch)})


@login_required
@page_requires(DirectReportPerm.OPERATE)
@require_GET
def inbound_ack(request, pk: int):
    try:
        batch = selectors.inbound_batch_get(pk=pk)
    except ApplicationError:
        return render(request, "directreport/not_found.html", {}, status=404)
    response = HttpResponse(bytes(batch.ack_content or b""),
                            content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.ack_file_name}"'
    return response
