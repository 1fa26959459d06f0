"""Signals as plain dicts for the API and the pages (both languages side by side)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from phis.apps.signals.rules import METHOD_LABELS, OUTCOME_LABELS, SIGNAL_WORKFLOW
from phis.apps.signals.selectors import signal_cases_url


def state_labels(state: str) -> tuple[str, str]:
    try:
        st = SIGNAL_WORKFLOW.state(state)
        return st.label, st.label_en
    except KeyError:
        return state, state


def signal_out(s, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    wf = s.workflow if s.workflow_id else None
    zh, en = METHOD_LABELS.get(s.method, (s.method, s.method))
    st_zh, st_en = state_labels(s.status)
    taken = (round((s.responded_at - s.raised_at).total_seconds() / 3600, 2)
             if s.responded_at else None)
    return {
        "id": s.pk, "disease_code": s.disease_code, "disease_name": s.disease_name,
        "disease_name_en": s.disease_name_en, "disease_class": s.disease_class,
        "county_code": s.county_code, "county_name": s.county.name,
        "township_codes": list(s.township_codes or []),
        "owner_unit_code": s.owner_unit.code, "method": s.method, "method_label": zh,
        "method_label_en": en, "configured_method": s.configured_method,
        "algorithm": s.algorithm, "parameters": s.parameters, "basis": s.basis, "day": s.day,
        "window_from": s.window_from, "window_to": s.window_to, "observed": s.observed,
        "threshold": s.threshold, "expected": s.expected, "statistic": s.statistic,
        "p_value": s.p_value, "priority": s.priority, "status": s.status,
        "status_label": st_zh, "status_label_en": st_en, "is_open": s.is_open,
        "outcome": s.outcome, "raised_at": s.raised_at, "response_hours": s.response_hours,
        "response_due_at": s.response_due_at, "due_at": wf.due_at if wf else None,
        "overdue": bool(wf and wf.is_overdue(now)),
        "escalated_at": wf.escalated_at if wf else None, "responded_at": s.responded_at,
        "responded_by": s.responded_by.get_username() if s.responded_by_id else None,
        "response_hours_taken": taken, "verified_at": s.verified_at,
        "verification_method": s.verification_method,
        "verification_note": s.verification_note,
        "investigation_result": s.investigation_result,
        "investigation_note": s.investigation_note, "closed_at": s.closed_at,
        "close_note": s.close_note, "outbreak_ref": s.outbreak_ref,
        "event_report_ref": s.event_report_ref, "alert_count": s.alert_count,
        "detection_days": list(s.detection_days or []), "cases_url": signal_cases_url(s),
        "version": wf.version if wf else 0,
    }


def outcome_labels(outcome: str) -> tuple[str, str]:
    return OUTCOME_LABELS.get(outcome, (outcome, outcome))


def history_out(rows) -> list[dict[str, Any]]:
    return [{"action": h.action, "from_state": h.from_state, "to_state": h.to_state,
             "by_username": h.by.get_username() if h.by_id else None, "at": h.at,
             "comment": h.comment, "data": h.data} for h in rows]


def chart_option(series: dict[str, Any], *, en: bool = False) -> dict[str, Any]:
    """ECharts option: daily counts as bars, the method's observed value and threshold as
    lines, alarms marked."""
    names = (("Daily cases", "Observed (method)", "Threshold") if en
             else ("每日病例数", "观察值", "阈值"))
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": list(names)},
        "grid": {"left": 40, "right": 20, "top": 40, "bottom": 40},
        "xAxis": {"type": "category", "data": series["dates"]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"name": names[0], "type": "bar", "data": series["counts"],
                    "itemStyle": {"color": "#9ec5fe"}}],
    }
    if series.get("observed"):
        by_date = dict(zip(series["point_dates"], zip(series["observed"], series["threshold"],
                                                      series["alarm"], strict=True),
                           strict=True))
        observed, threshold = [], []
        for d in series["dates"]:
            point = by_date.get(d)
            observed.append(None if point is None else {
                "value": point[0], **({"itemStyle": {"color": "#dc3545"}, "symbolSize": 9}
                                      if point[2] else {})})
            threshold.append(None if point is None else point[1])
        option["series"] += [
            {"name": names[1], "type": "line", "data": observed, "connectNulls": True,
             "itemStyle": {"color": "#0d6efd"}},
            {"name": names[2], "type": "line", "data": threshold, "connectNulls": True,
             "lineStyle": {"type": "dashed"}, "itemStyle": {"color": "#fd7e14"},
             "symbol": "none"},
        ]
    return option
