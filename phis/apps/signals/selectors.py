"""Reads of count tables, detection configuration and signals. Signals are scoped to the
caller's org subtrees through the county they concern and their owner unit (a county CDC
sees its county, the city CDC every county)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import BooleanField, Case, Min, QuerySet, Sum, Value, When
from django.utils import timezone

from phis.apps.notifiable.selectors import COUNTED_STATUSES, CardFilter, card_list
from phis.apps.signals import engine
from phis.apps.signals.models import CaseCount, DetectionConfig, DetectionRun, Signal
from phis.apps.signals.rules import (
    PARAMS,
    TEMPORAL_METHODS,
    Method,
    Outcome,
)
from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q
from phis.core.workflow.selectors import workflow_actions_for, workflow_history

# --- count tables (not user-scoped: system jobs and the signal pages' own charts) -----------


def daily_counts(*, basis: str, date_from: date, date_to: date,
                 disease_codes: list[str] | None = None, county_code: str = "",
                 by_township: bool = False) -> list[tuple]:
    """``(disease_code, county_code, day, count)`` summed over townships, or with
    ``by_township`` ``(disease_code, county_code, township_code, day, count)``."""
    qs = CaseCount.objects.filter(basis=basis, day__gte=date_from, day__lte=date_to)
    if disease_codes is not None:
        qs = qs.filter(disease_code__in=list(disease_codes))
    if county_code:
        qs = qs.filter(county_code=county_code)
    keys = ["disease_code", "county_code"] + (["township_code"] if by_township else []) + ["day"]
    return list(qs.values_list(*keys).annotate(n=Sum("count")).order_by())


def coverage_start(*, basis: str) -> dict[str, date]:
    """First day with any counted case per county: how far back its history goes (the MPM
    baseline needs three years of it, §3.1)."""
    rows = (CaseCount.objects.filter(basis=basis).values_list("county_code")
            .annotate(first=Min("day")).order_by())
    return dict(rows)


def count_cell(*, basis: str, disease_code: str, county_code: str, township_code: str,
               day: date) -> int:
    row = CaseCount.objects.filter(basis=basis, disease_code=disease_code,
                                   county_code=county_code, township_code=township_code,
                                   day=day).values_list("count", flat=True).first()
    return int(row or 0)


def county_units() -> dict[str, OrgUnit]:
    return {u.code: u for u in OrgUnit.objects.filter(level=Level.COUNTY, is_active=True)
            .order_by("code")}


def township_positions(*, county: OrgUnit) -> list[OrgUnit]:
    """Townships of a county with a position (the scan needs centroids)."""
    return list(OrgUnit.objects.filter(level=Level.TOWNSHIP, path__startswith=county.path,
                                       latitude__isnull=False, longitude__isnull=False,
                                       is_active=True).order_by("code"))


# --- configuration ------------------------------------------------------------------------

def config_list(*, enabled_only: bool = False) -> QuerySet[DetectionConfig]:
    qs = DetectionConfig.objects.all().order_by("disease_code")
    return qs.filter(enabled=True) if enabled_only else qs


def config_get(*, disease_code: str) -> DetectionConfig:
    config = DetectionConfig.objects.filter(disease_code=(disease_code or "")[:48]).first()
    if config is None:
        raise NotFound("预警配置", "detection configuration")
    return config


def run_list(*, limit: int = 20) -> QuerySet[DetectionRun]:
    return DetectionRun.objects.order_by("-started_at", "-pk")[:limit]


# --- signals ------------------------------------------------------------------------------

def signal_visible_for(*, user) -> QuerySet[Signal]:
    return Signal.objects.filter(scope_q(user, "county", "owner_unit"))


def signal_get_visible(*, user, signal_id: int) -> Signal:
    try:
        pk = int(signal_id)
    except (TypeError, ValueError, OverflowError):
        pk = None
    signal = (signal_visible_for(user=user).select_related(
        "county", "owner_unit", "workflow", "responded_by", "verified_by", "investigated_by",
        "closed_by").filter(pk=pk).first() if pk is not None else None)
    if signal is None:
        raise NotFound("预警信号", "signal")
    return signal


@dataclass
class SignalFilter:
    state: str = "open"  # "open" | "closed" | "all" | a workflow state
    disease_code: str = ""
    county_code: str = ""
    method: str = ""
    outcome: str = ""
    overdue: bool = False
    raised_from: date | None = None
    raised_to: date | None = None


def signal_list(*, user, filters: SignalFilter | None = None,
                now: datetime | None = None) -> QuerySet[Signal]:
    """The ranked, de-duplicated queue: open signals first, overdue ones before the rest,
    then by priority (class, method, excess) and age (older first)."""
    now = now or timezone.now()
    qs = _filtered(signal_visible_for(user=user), filters or SignalFilter(), now)
    overdue = Case(When(is_open=True, workflow__due_at__lte=now, then=Value(True)),
                   default=Value(False), output_field=BooleanField())
    return qs.annotate(overdue_now=overdue).order_by(
        "-is_open", "-overdue_now", "-priority", "raised_at", "pk")


def _filtered(qs: QuerySet[Signal], f: SignalFilter, now: datetime) -> QuerySet[Signal]:
    qs = qs.select_related("county", "owner_unit", "workflow", "responded_by")
    if f.state == "open":
        qs = qs.filter(is_open=True)
    elif f.state == "closed":
        qs = qs.filter(is_open=False)
    elif f.state and f.state != "all":
        qs = qs.filter(status=f.state)
    if f.disease_code:
        qs = qs.filter(disease_code=f.disease_code)
    if f.county_code:
        qs = qs.filter(county_code=f.county_code)
    if f.method:
        qs = qs.filter(method=f.method)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.overdue:
        qs = qs.filter(is_open=True, workflow__due_at__lte=now)
    tz = timezone.get_default_timezone()
    if f.raised_from:
        qs = qs.filter(raised_at__gte=timezone.make_aware(
            datetime.combine(f.raised_from, datetime.min.time()), tz))
    if f.raised_to:
        qs = qs.filter(raised_at__lt=timezone.make_aware(
            datetime.combine(f.raised_to + timedelta(days=1), datetime.min.time()), tz))
    return qs


def signals_raised(*, date_from: date, date_to: date, county_code: str = ""
                   ) -> QuerySet[Signal]:
    """Signals raised between two local dates (inclusive), of one county or the whole city,
    oldest first. Not user-scoped: for system jobs that report on an area (the weekly
    situation report), like ``notifiable.selectors.case_counts``."""
    return _filtered(Signal.objects.all(), SignalFilter(
        state="all", county_code=county_code, raised_from=date_from, raised_to=date_to),
        timezone.now()).order_by("raised_at", "pk")


def signal_actions(*, signal: Signal, user) -> list:
    if signal.workflow_id is None:
        return []
    return workflow_actions_for(instance=signal.workflow, user=user)


def signal_history(*, signal: Signal, user):
    if signal.workflow_id is None:
        return []
    return list(workflow_history(instance_id=signal.workflow_id, user=user))


def signal_card_filter(signal: Signal) -> CardFilter:
    """The cards behind a signal: its disease, county (or the one township of a scan
    cluster), basis and observation window, counted cards only."""
    townships = list(signal.township_codes or [])
    return CardFilter(disease_code=signal.disease_code, county_code=signal.county_code,
                      township_code=townships[0] if len(townships) == 1 else "",
                      date_basis=signal.basis, date_from=signal.window_from,
                      date_to=signal.window_to, status=[str(s) for s in COUNTED_STATUSES])


def signal_cases_url(signal: Signal) -> str:
    """Drill-down link to the card list (the contract's query-string names)."""
    from urllib.parse import urlencode

    f = signal_card_filter(signal)
    query = {"disease_code": f.disease_code, "county_code": f.county_code,
             "date_basis": f.date_basis, "date_from": f.date_from.isoformat(),
             "date_to": f.date_to.isoformat()}
    if f.township_code:
        query["township_code"] = f.township_code
    return "/notifiable/cards/?" + urlencode(query)


def signal_cases(*, signal: Signal, user, limit: int = 100):
    """The user's cards behind the signal (scoped by the card module)."""
    return card_list(user=user, filters=signal_card_filter(signal))[:limit]


def signal_series(*, signal: Signal, days: int = 90) -> dict[str, Any]:
    """Daily counts of the signal's county and disease up to the signal's last day, with the
    method's observed value and threshold over the same days (the detail page's chart)."""
    end = max(signal.last_detected_on, signal.day)
    start = end - timedelta(days=days - 1)
    method = signal.method
    params = {k: signal.parameters.get(k, p.default) for k, p in PARAMS.get(method, {}).items()}
    history = 0
    if method != Method.SCAN and method in PARAMS:
        history = engine.lookback_days(method, params)
    first = start - timedelta(days=history)
    rows = daily_counts(basis=signal.basis, date_from=first, date_to=end,
                        disease_codes=[signal.disease_code], county_code=signal.county_code)
    n = (end - first).days + 1
    x = np.zeros(n)
    for _d, _c, day, count in rows:
        x[(day - first).days] += count
    dates = [start + timedelta(days=i) for i in range(days)]
    out: dict[str, Any] = {"dates": [d.isoformat() for d in dates],
                           "counts": [int(v) for v in x[-days:]],
                           "observed": [], "threshold": [], "alarm": [], "step_days": 1}
    if method == Method.SCAN or method not in PARAMS:
        return out
    points = days // 7 if method == Method.FARRINGTON else days
    try:
        ev = engine.evaluate(method, params, x[None, :], points=max(points, 1))
    except ValueError:
        return out
    step = ev.step_days
    out["step_days"] = step
    out["point_dates"] = [(end - timedelta(days=step * (ev.observed.shape[1] - 1 - i)))
                          .isoformat() for i in range(ev.observed.shape[1])]
    out["observed"] = [float(v) for v in ev.observed[0]]
    out["threshold"] = [None if np.isnan(v) else round(float(v), 3) for v in ev.threshold[0]]
    out["alarm"] = [bool(v) for v in ev.alarm[0]]
    return out


# --- indicators (§3.1 calibration) --------------------------------------------------------

def signal_indicators(*, user, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """Per county and for all visible counties (``county_code`` ""): signals, response rate,
    response within 2 h (fixed threshold) / 24 h (temporal), median response time in hours,
    suspected-event rate (suspected or confirmed events / signals)."""
    qs = signal_list(user=user, filters=SignalFilter(state="all", raised_from=date_from,
                                                     raised_to=date_to))
    rows = qs.values_list("county_code", "county__name", "method", "raised_at",
                          "responded_at", "response_hours", "outcome")
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        groups[(row[0], row[1])].append(row)
        groups[("", "")].append(row)
    return [_indicator_row(code, name, items) for (code, name), items in
            sorted(groups.items(), key=lambda kv: (kv[0][0] == "", kv[0][0]))]


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _indicator_row(code: str, name: str, items: list) -> dict[str, Any]:
    hours = []
    within = {"fixed": [0, 0], "temporal": [0, 0]}
    responded = suspected = 0
    for _c, _n, method, raised, answered, limit, outcome in items:
        kind = "temporal" if method in TEMPORAL_METHODS else "fixed"
        within[kind][1] += 1
        if answered is not None:
            responded += 1
            h = (answered - raised).total_seconds() / 3600
            hours.append(h)
            if h <= limit:
                within[kind][0] += 1
        if outcome in (Outcome.SUSPECTED_EVENT, Outcome.CONFIRMED_EVENT):
            suspected += 1
    total = len(items)
    return {
        "county_code": code, "county_name": name, "signals": total, "responded": responded,
        "response_rate": _rate(responded, total),
        "fixed_signals": within["fixed"][1],
        "fixed_within_2h_rate": _rate(*within["fixed"]),
        "temporal_signals": within["temporal"][1],
        "temporal_within_24h_rate": _rate(*within["temporal"]),
        "within_limit_rate": _rate(within["fixed"][0] + within["temporal"][0], total),
        "median_response_hours": round(statistics.median(hours), 2) if hours else None,
        "suspected_events": suspected, "suspected_event_rate": _rate(suspected, total),
    }


def open_signal_for(*, county_id: int, disease_code: str) -> Signal | None:
    return Signal.objects.filter(county_id=county_id, disease_code=disease_code,
                                 is_open=True).first()


def latest_signal_for(*, county_id: int, disease_code: str) -> Signal | None:
    return (Signal.objects.filter(county_id=county_id, disease_code=disease_code)
            .order_by("-last_detected_on", "-pk").first())
