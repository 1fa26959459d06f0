"""C4 signals API (mounted at ``/api/signals/``): the ranked queue, one signal with its
actions and history, the response steps (409 when someone else acted first), the series
behind a signal, indicators, per-disease configuration and detection runs."""

from datetime import timedelta

from django.utils import timezone
from ninja import Query, Router, Status

from phis.apps.signals import present, selectors, services
from phis.apps.signals.permissions import SignalPerm
from phis.apps.signals.rules import INDICATOR_DAYS
from phis.apps.signals.schemas import (
    ActionIn,
    ConfigIn,
    ConfigOut,
    IndicatorOut,
    IndicatorQuery,
    RunIn,
    RunOut,
    RunRowOut,
    SeriesOut,
    SignalDetailOut,
    SignalListQuery,
    SignalOut,
    SignalPageOut,
)
from phis.core.api import requires
from phis.core.exceptions import FieldError, ValidationFailed

router = Router(tags=["C4 signals 预警信号"])


def _config_out(c) -> dict:
    info = services.disease_info(c.disease_code, timezone.localdate())
    return {"disease_code": c.disease_code, "disease_name": info["name"] if info else "",
            "enabled": c.enabled, "method": c.method, "parameters": c.parameters,
            "basis": c.basis, "realtime": c.realtime, "fallback_method": c.fallback_method,
            "min_baseline_blocks": c.min_baseline_blocks,
            "suppression_days": c.suppression_days, "response_hours": c.response_hours,
            "source_tag": c.source_tag, "note": c.note, "version": c.version,
            "updated_at": c.updated_at}


@router.get("/indicators", response=list[IndicatorOut],
            summary="Response indicators per county (response rate, 2 h / 24 h, median, "
                    "suspected-event rate)")
@requires(SignalPerm.VIEW)
def indicators_api(request, q: Query[IndicatorQuery]):
    date_to = q.date_to or timezone.localdate()
    date_from = q.date_from or date_to - timedelta(days=INDICATOR_DAYS - 1)
    if date_from > date_to:
        raise ValidationFailed([FieldError("date_from", "invalid", "开始日期不能晚于结束日期",
                                           "date_from is after date_to")])
    return selectors.signal_indicators(user=request.user, date_from=date_from,
                                       date_to=date_to)


@router.get("/configs", response=list[ConfigOut], summary="Detection configuration per disease")
@requires(SignalPerm.VIEW)
def config_list_api(request):
    services.detection_configs_ensure()
    return [_config_out(c) for c in selectors.config_list()]


@router.get("/configs/{disease_code}", response=ConfigOut, summary="One disease's configuration")
@requires(SignalPerm.VIEW)
def config_detail_api(request, disease_code: str):
    return _config_out(selectors.config_get(disease_code=disease_code))


@router.put("/configs/{disease_code}", response=ConfigOut,
            summary="Change one disease's configuration (city CDC; 409 on a stale version)")
@requires(SignalPerm.CONFIGURE)
def config_update_api(request, disease_code: str, payload: ConfigIn):
    data = {k: v for k, v in payload.dict().items() if v is not None and k != "version"}
    config = services.detection_config_update(user=request.user, disease_code=disease_code,
                                              version=payload.version, data=data)
    return _config_out(config)


@router.post("/runs", response={201: RunOut}, summary="Run detection now (city CDC)")
@requires(SignalPerm.RUN)
def run_create_api(request, payload: RunIn):
    report = services.detection_run(on=payload.on, diseases=payload.diseases or None,
                                    user=request.user)
    return Status(201, report.as_dict())


@router.get("/runs", response=list[RunRowOut], summary="Recent detection runs")
@requires(SignalPerm.VIEW)
def run_list_api(request):
    return [{"id": r.pk, "on": r.on, "trigger": r.trigger, "started_at": r.started_at,
             "finished_at": r.finished_at, "series_evaluated": r.series_evaluated,
             "alarms": r.alarms, "signals_new": r.signals_new,
             "signals_updated": r.signals_updated, "fallbacks": r.fallbacks,
             "seconds": r.seconds} for r in selectors.run_list()]


@router.get("", response=SignalPageOut,
            summary="The ranked signal queue in my jurisdiction (open, overdue first)")
@requires(SignalPerm.VIEW)
def signal_list_api(request, q: Query[SignalListQuery]):
    filters = selectors.SignalFilter(
        state=q.state, disease_code=q.disease_code, county_code=q.county_code,
        method=q.method, outcome=q.outcome, overdue=q.overdue, raised_from=q.raised_from,
        raised_to=q.raised_to)
    now = timezone.now()
    qs = selectors.signal_list(user=request.user, filters=filters, now=now)
    start = (q.page - 1) * q.page_size
    items = [present.signal_out(s, now) for s in qs[start:start + q.page_size]]
    return {"items": items, "count": qs.count(), "page": q.page, "page_size": q.page_size}


def _detail(signal, user) -> dict:
    return {**present.signal_out(signal),
            "actions": [{"action": t.action, "label": t.label, "label_en": t.label_en}
                        for t in selectors.signal_actions(signal=signal, user=user)],
            "history": present.history_out(selectors.signal_history(signal=signal, user=user))}


@router.get("/{int:signal_id}", response=SignalDetailOut,
            summary="One signal with the actions I may take and its history")
@requires(SignalPerm.VIEW)
def signal_detail_api(request, signal_id: int):
    signal = selectors.signal_get_visible(user=request.user, signal_id=signal_id)
    return _detail(signal, request.user)


@router.get("/{int:signal_id}/series", response=SeriesOut,
            summary="Daily counts with the method's observed value and threshold")
@requires(SignalPerm.VIEW)
def signal_series_api(request, signal_id: int, days: int = 90):
    signal = selectors.signal_get_visible(user=request.user, signal_id=signal_id)
    return selectors.signal_series(signal=signal, days=max(14, min(days, 366)))


@router.post("/{int:signal_id}/actions", response=SignalDetailOut,
             summary="Respond: acknowledge, verify (exclude / suspect), investigate "
                     "(confirm / refute), close")
@requires(SignalPerm.RESPOND)
def signal_action_api(request, signal_id: int, payload: ActionIn):
    signal = services.signal_act(
        user=request.user, signal_id=signal_id, action=payload.action,
        version=payload.version, verification_method=payload.verification_method,
        note=payload.note, event_report_ref=payload.event_report_ref)
    signal = selectors.signal_get_visible(user=request.user, signal_id=signal.pk)
    return _detail(signal, request.user)


__all__ = ["SignalOut", "router"]
