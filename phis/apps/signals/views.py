"""C4 pages (mounted at ``/signals/``): the ranked signal queue with the response
indicators, one signal (chart, parameters, cases, response form, history) and the
per-disease detection configuration."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from phis.apps.signals import present, selectors, services
from phis.apps.signals.permissions import SignalPerm
from phis.apps.signals.rules import (
    BASIS_LABELS,
    EARS_METHODS,
    INDICATOR_DAYS,
    METHOD_LABELS,
    OUTCOME_LABELS,
    PARAMS,
    SIGNAL_WORKFLOW,
    VERIFICATION_METHODS,
)
from phis.core.exceptions import ApplicationError, PermissionDenied
from phis.core.ui.components import Row, chart_json, paged_table
from phis.core.ui.decorators import page_requires


def _en() -> bool:
    return (get_language() or "").startswith("en")


def _pick(pair: tuple[str, str]) -> str:
    return pair[1] if _en() else pair[0]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@page_requires(SignalPerm.VIEW)
def queue(request):
    g = request.GET
    filters = selectors.SignalFilter(
        state=g.get("state", "open")[:16], disease_code=g.get("disease_code", "")[:48],
        county_code=g.get("county_code", "")[:12], method=g.get("method", "")[:16],
        outcome=g.get("outcome", "")[:16], overdue=g.get("overdue") == "1")
    now = timezone.now()
    qs = selectors.signal_list(user=request.user, filters=filters, now=now)

    def to_row(s) -> Row:
        out = present.signal_out(s, now)
        threshold = "—" if s.threshold is None else f"{s.threshold:g}"
        due = timezone.localtime(out["due_at"]).strftime("%m-%d %H:%M") if out["due_at"] \
            else "—"
        if out["overdue"]:
            due = f"{due} ⚠ {_('超时')}"
        return Row(cells=[
            f"#{s.pk} {s.disease_name_en if _en() and s.disease_name_en else s.disease_name}",
            s.county.name_en if _en() and s.county.name_en else s.county.name,
            _pick(METHOD_LABELS.get(s.method, (s.method, s.method))),
            f"{s.observed:g} / {threshold}",
            f"{s.window_from:%m-%d}–{s.window_to:%m-%d}",
            timezone.localtime(s.raised_at).strftime("%Y-%m-%d %H:%M"),
            out["status_label_en"] if _en() else out["status_label"], due,
            _pick(OUTCOME_LABELS.get(s.outcome, (s.outcome, s.outcome))),
        ], url=f"/signals/{s.pk}/")

    table = paged_table(request, headers=[
        _("信号"), _("县区"), _("预警方法"), _("观察数/阈值"), _("观察期"), _("信号时间"),
        _("状态"), _("办理时限"), _("结论")], items=qs, to_row=to_row, per_page=30)
    today = timezone.localdate()
    indicators = selectors.signal_indicators(
        user=request.user, date_from=today - timedelta(days=INDICATOR_DAYS - 1), date_to=today)
    return render(request, "signals/queue.html", {
        "table": table, "filters": filters, "indicators": indicators,
        "indicator_days": INDICATOR_DAYS, "counties": selectors.county_units().values(),
        "methods": [(k, _pick(v)) for k, v in METHOD_LABELS.items()],
        "states": [(s.name, s.label_en if _en() else s.label) for s in SIGNAL_WORKFLOW.states],
        "outcomes": [(k, _pick(v)) for k, v in OUTCOME_LABELS.items() if k],
        "can_run": request.user.has_phis_perm(SignalPerm.RUN),
        "can_configure": request.user.has_phis_perm(SignalPerm.CONFIGURE),
        "today": today, "runs": selectors.run_list(limit=3),
    })


@login_required
@page_requires(SignalPerm.RUN)
@require_POST
def run(request):
    on = _date(request.POST.get("on", "")) or timezone.localdate()
    report = services.detection_run(on=on, user=request.user)
    text = _("预警运行完成：评估%(series)s个序列，新信号%(new)s个，"
             "更新%(updated)s个，用时%(seconds)s秒")
    messages.success(request, text % {
        "series": report.series_evaluated, "new": report.signals_new,
        "updated": report.signals_updated, "seconds": report.seconds})
    return redirect("signals:queue")


@login_required
@page_requires(SignalPerm.VIEW)
@require_http_methods(["GET", "POST"])
def detail(request, pk: int):
    signal = selectors.signal_get_visible(user=request.user, signal_id=pk)
    error = None
    if request.method == "POST":
        if not request.user.has_phis_perm(SignalPerm.RESPOND):
            raise PermissionDenied()
        try:
            version = int(request.POST.get("version", "0"))
        except ValueError:
            version = 0
        try:
            services.signal_act(
                user=request.user, signal_id=signal.pk, action=request.POST.get("action", ""),
                version=version,
                verification_method=request.POST.get("verification_method", ""),
                note=request.POST.get("note", ""),
                event_report_ref=request.POST.get("event_report_ref", ""))
            messages.success(request, _("已保存"))
            return redirect("signals:detail", pk=signal.pk)
        except ApplicationError as exc:
            error = exc
            signal = selectors.signal_get_visible(user=request.user, signal_id=pk)
    out = present.signal_out(signal)
    series = selectors.signal_series(signal=signal)
    cases = list(selectors.signal_cases(signal=signal, user=request.user, limit=50))
    params = sorted(signal.parameters.items())
    return render(request, "signals/detail.html", {
        "signal": signal, "out": out, "error": error,
        "chart": chart_json(present.chart_option(series, en=_en())),
        "with_charts": True, "params": params, "cases": cases,
        "actions": selectors.signal_actions(signal=signal, user=request.user),
        "history": selectors.signal_history(signal=signal, user=request.user),
        "verification_methods": [(k, _pick(v)) for k, v in VERIFICATION_METHODS.items()],
        "method_label": _pick(METHOD_LABELS.get(signal.method, (signal.method,) * 2)),
        "configured_label": _pick(METHOD_LABELS.get(signal.configured_method,
                                                    (signal.configured_method,) * 2)),
        "basis_label": _pick(BASIS_LABELS.get(signal.basis, (signal.basis,) * 2)),
        "outcome_label": _pick(OUTCOME_LABELS.get(signal.outcome, (signal.outcome,) * 2)),
        "verification_label": _pick(VERIFICATION_METHODS.get(
            signal.verification_method, (signal.verification_method,) * 2)),
        "state_labels": {s.name: (s.label_en if _en() else s.label)
                         for s in SIGNAL_WORKFLOW.states},
        "can_respond": request.user.has_phis_perm(SignalPerm.RESPOND),
    })


@login_required
@page_requires(SignalPerm.VIEW)
def configs(request):
    services.detection_configs_ensure()
    today = timezone.localdate()
    rows = []
    for c in selectors.config_list():
        info = services.disease_info(c.disease_code, today) or {}
        rows.append({"config": c, "name": (info.get("name_en") if _en() else info.get("name"))
                     or c.disease_code,
                     "method": _pick(METHOD_LABELS.get(c.method, (c.method,) * 2)),
                     "basis": _pick(BASIS_LABELS.get(c.basis, (c.basis,) * 2))})
    return render(request, "signals/configs.html", {
        "rows": rows, "can_configure": request.user.has_phis_perm(SignalPerm.CONFIGURE)})


@login_required
@page_requires(SignalPerm.CONFIGURE)
@require_http_methods(["GET", "POST"])
def config_edit(request, disease_code: str):
    config = selectors.config_get(disease_code=disease_code)
    error = None
    if request.method == "POST":
        p = request.POST
        method = p.get("method", config.method)
        data = {
            "enabled": p.get("enabled") == "on", "realtime": p.get("realtime") == "on",
            "method": method, "basis": p.get("basis", config.basis),
            "fallback_method": p.get("fallback_method", config.fallback_method),
            "min_baseline_blocks": p.get("min_baseline_blocks", ""),
            "suppression_days": p.get("suppression_days", ""),
            "response_hours": p.get("response_hours", ""), "note": p.get("note", ""),
        }
        if method == config.method:
            data["parameters"] = {k: p.get(f"param_{k}", "") for k in PARAMS.get(method, {})
                                  if f"param_{k}" in p or PARAMS[method][k].kind is bool}
            for k, spec in PARAMS.get(method, {}).items():
                if spec.kind is bool:
                    data["parameters"][k] = p.get(f"param_{k}") == "on"
        try:
            version = int(p.get("version", "0"))
            if p.get("reset") == "1":
                services.detection_config_reset(user=request.user, disease_code=disease_code,
                                                version=version)
            else:
                services.detection_config_update(user=request.user, disease_code=disease_code,
                                                 version=version, data=data)
            messages.success(request, _("已保存"))
            return redirect("signals:config_edit", disease_code=disease_code)
        except ValueError:
            error = ApplicationError(message="请求无效", message_en="Invalid request")
        except ApplicationError as exc:
            error = exc
        config.refresh_from_db()
    info = services.disease_info(config.disease_code, timezone.localdate()) or {}
    params = [{"key": k, "spec": spec, "value": config.parameters.get(k, spec.default),
               "is_bool": spec.kind is bool}
              for k, spec in PARAMS.get(config.method, {}).items()]
    return render(request, "signals/config_edit.html", {
        "config": config, "name": (info.get("name_en") if _en() else info.get("name"))
        or config.disease_code, "params": params, "error": error,
        "methods": [(k, _pick(v)) for k, v in METHOD_LABELS.items()],
        "fallbacks": [(k, _pick(METHOD_LABELS[k])) for k in EARS_METHODS],
        "bases": [(k, _pick(v)) for k, v in BASIS_LABELS.items()],
    })
