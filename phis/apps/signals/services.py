"""C4 writes: count tables kept current from card events, detection configuration,
detection runs (scheduled and real time), the de-duplicated signal queue and the response
workflow (shared/domain/surveillance.md §3.1, §3.2)."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from phis.apps.notifiable.selectors import case_counts, county_cdc_of, county_reviewers
from phis.apps.signals import engine, rules, selectors
from phis.apps.signals.models import CaseCount, DetectionConfig, DetectionRun, Signal
from phis.apps.signals.rules import (
    ACTION_OUTCOME,
    BASES,
    EARS_METHODS,
    METHOD_LABELS,
    PARAMS,
    RESPONSE_ACTIONS,
    SIGNAL_WORKFLOW,
    STRING_CHOICES,
    VERIFICATION_METHODS,
    Method,
    SignalState,
)
from phis.core.codes.selectors import notifiable_disease_rules, notifiable_diseases
from phis.core.events.services import event_emit
from phis.core.exceptions import ApplicationError, Conflict, FieldError, ValidationFailed
from phis.core.notify.services import notification_send
from phis.core.workflow.services import workflow_start, workflow_transition

log = logging.getLogger(__name__)
SIGNAL_TOPIC = "signals.signal.changed"
_BULK = 5000


# --- count tables -----------------------------------------------------------------------------

Cell = tuple[str, str, str, str, date]  # basis, disease, county, township, day
_BASIS_FIELD = {"onset": "onset_date", "report": "report_date"}


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def cells_of_event(payload: dict) -> set[Cell]:
    """The count cells a ``notifiable.card.changed`` event can move: the card's cells now and
    (``previous``) before the change, on every basis."""
    cells: set[Cell] = set()
    for item in (payload, payload.get("previous") or None):
        if not isinstance(item, dict):
            continue
        disease, county = item.get("disease_code") or "", item.get("county_code") or ""
        if not disease or not county:  # outside the city: not counted by place
            continue
        township = item.get("township_code") or ""
        for basis, key in _BASIS_FIELD.items():
            day = _day(item.get(key))
            if day is not None:
                cells.add((basis, disease, county, township, day))
    return cells


def counts_recount(*, cells: set[Cell]) -> dict[Cell, int]:
    """Set each cell to the number of counted cards it holds now (idempotent: it re-counts
    from the cards instead of adding or subtracting)."""
    result = {}
    for basis, disease, county, township, day in sorted(cells):
        rows = case_counts(date_from=day, date_to=day, basis=basis, disease_codes=[disease],
                           county_code=county, township_codes=[township],
                           by=("disease_code",))
        n = sum(int(r["count"]) for r in rows)
        key = {"basis": basis, "disease_code": disease, "county_code": county,
               "township_code": township, "day": day}
        if n:
            CaseCount.objects.update_or_create(**key, defaults={"count": n})
        else:
            CaseCount.objects.filter(**key).delete()
        result[(basis, disease, county, township, day)] = n
    return result


@transaction.atomic
def counts_apply_event(*, payload: dict, now: datetime | None = None) -> dict[Cell, int]:
    """Handle one card event: re-count its cells, then the real-time fixed-threshold check
    (§3.1 "one reported case in the county → one signal, in real time")."""
    cells = cells_of_event(payload)
    counts = counts_recount(cells=cells)
    if payload.get("counted"):
        realtime_check(cells={c for c, n in counts.items() if n > 0}, now=now)
    return counts


@transaction.atomic
def counts_rebuild(*, date_from: date | None = None, date_to: date | None = None) -> int:
    """Rebuild the count tables between two dates (default: everything) from the cards: one
    grouped query per basis and bulk inserts. Returns the number of rows written."""
    lo = date_from or date(1900, 1, 1)
    hi = date_to or timezone.localdate() + timedelta(days=366)
    written = 0
    for basis in BASES:
        CaseCount.objects.filter(basis=basis, day__gte=lo, day__lte=hi).delete()
        days = [_day(r["day"]) for r in case_counts(date_from=lo, date_to=hi, basis=basis,
                                                      by=("day",)) if r["day"] is not None]
        if not days:
            continue
        # One grouped query per year keeps memory flat with ten years of history.
        start = max(lo, min(days))
        last = min(hi, max(days))
        while start <= last:
            end = min(last, date(start.year, 12, 31))
            written += _counts_insert(basis, case_counts(
                date_from=start, date_to=end, basis=basis,
                by=("disease_code", "county_code", "township_code", "day")))
            start = end + timedelta(days=1)
    return written


def _counts_insert(basis: str, rows: list[dict]) -> int:
    written = 0
    batch: list[CaseCount] = []
    for r in rows:
        if not r["county_code"] or r["day"] is None:
            continue
        batch.append(CaseCount(basis=basis, disease_code=r["disease_code"],
                               county_code=r["county_code"],
                               township_code=r["township_code"] or "",
                               day=_day(r["day"]), count=int(r["count"])))
        if len(batch) >= _BULK:
            CaseCount.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        CaseCount.objects.bulk_create(batch)
        written += len(batch)
    return written


# --- detection configuration --------------------------------------------------------------------

def detection_configs_ensure(*, on: date | None = None) -> int:
    """Create the CIDARS default configuration of every catalogue disease that has none
    (existing rows, edited by the city CDC, are kept). Returns how many were created."""
    existing = set(DetectionConfig.objects.values_list("disease_code", flat=True))
    created = 0
    for disease in notifiable_diseases(on=on):
        if disease.code in existing:
            continue
        _config_create(disease.code, disease.disease_class, disease.managed_as_class_a)
        created += 1
    return created


def _config_create(code: str, disease_class: str, managed: bool) -> DetectionConfig:
    defaults = rules.disease_default(code, disease_class=disease_class,
                                     managed_as_class_a=managed)
    config, _ = DetectionConfig.objects.get_or_create(disease_code=code, defaults=defaults)
    return config


def _config_for(code: str, on: date) -> DetectionConfig | None:
    config = DetectionConfig.objects.filter(disease_code=code).first()
    if config is None:
        info = disease_info(code, on)
        if info is None:
            return None
        config = _config_create(code, info["disease_class"], info["managed_as_class_a"])
    return config


def _coerce(method: str, key: str, spec: rules.Param, value: Any) -> Any:
    if value is None or value == "":
        if spec.nullable:
            return None
        value = spec.default
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "on", "yes"):
            return True
        if text in ("false", "0", "off", "no"):
            return False
        raise ValueError("bool")
    if spec.kind is str:
        text = str(value)
        if text not in STRING_CHOICES.get((method, key), (text,)):
            raise ValueError("choice")
        return text
    number = float(value)
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError("number")
    if spec.kind is int:
        if not number.is_integer():
            raise ValueError("integer")
        number = int(number)
    if (spec.minimum is not None and number < spec.minimum) or (
            spec.maximum is not None and number > spec.maximum):
        raise ValueError("range")
    return number


def parameters_clean(method: str, raw: dict | None, *, probe: bool = True) -> dict[str, Any]:
    """Validated parameters of ``method`` (defaults filled in); field errors name
    ``parameters.<key>``. ``probe`` also runs the method once on an empty series so that
    a combination the library refuses is refused here, at configuration time."""
    if method not in PARAMS:
        raise ValidationFailed([FieldError("method", "invalid_choice", "预警方法无效",
                                           f"Unknown method {method!r}")])
    spec = PARAMS[method]
    raw = dict(raw or {})
    errors = [FieldError(f"parameters.{k}", "unknown", f"该方法没有参数“{k}”",
                         f"{METHOD_LABELS[method][1]} has no parameter {k!r}")
              for k in raw if k not in spec]
    out: dict[str, Any] = {}
    for key, p in spec.items():
        try:
            out[key] = _coerce(method, key, p, raw.get(key, p.default))
        except (TypeError, ValueError):
            lo, hi = p.minimum, p.maximum
            bounds = f" {lo:g}–{hi:g}" if lo is not None and hi is not None else ""
            choices = STRING_CHOICES.get((method, key))
            hint = f" ({', '.join(choices)})" if choices else bounds
            errors.append(FieldError(f"parameters.{key}", "invalid", f"参数“{key}”取值无效{hint}",
                                     f"Invalid value for {key!r}{hint}"))
    if not errors and method == Method.MPM and out["year_shift"] <= out["half_window"] * \
            out["block"]:
        errors.append(FieldError("parameters.year_shift", "invalid",
                                 "年偏移天数须大于 半窗期数×期长",
                                 "year_shift must exceed half_window × block"))
    if probe and not errors and method != Method.SCAN:
        try:  # let the library refuse what it cannot compute
            engine.evaluate(method, out, np.zeros((1, engine.lookback_days(method, out) + 1)))
        except (ValueError, TypeError) as exc:
            errors.append(FieldError("parameters", "invalid", "参数组合无效",
                                     f"Invalid parameters: {exc}"))
    if errors:
        raise ValidationFailed(errors)
    return out


_CONFIG_INTS = {"min_baseline_blocks": (1, 15, "最少基线期数", "Minimum baseline blocks"),
                "suppression_days": (0, 90, "重复预警抑制天数", "Suppression days"),
                "response_hours": (1, 168, "响应时限(小时)", "Response limit (hours)")}


@transaction.atomic
def detection_config_update(*, user, disease_code: str, version: int,
                            data: dict[str, Any]) -> DetectionConfig:
    """Change one disease's configuration (city CDC). ``version`` is the one the editor saw:
    a stale one answers 409."""
    config = DetectionConfig.objects.select_for_update().filter(
        disease_code=(disease_code or "")[:48]).first()
    if config is None:
        raise ApplicationError(code="not_found", message="预警配置不存在",
                               message_en="Detection configuration not found", status=404)
    if int(version) != config.version:
        raise Conflict("该配置已被他人修改，请刷新后重试",
                       "The configuration was changed by someone else; reload it",
                       code="concurrent_update")
    errors: list[FieldError] = []
    method = str(data.get("method", config.method))
    if method not in PARAMS:
        errors.append(FieldError("method", "invalid_choice", "预警方法无效",
                                 f"Unknown method {method!r}"))
    basis = str(data.get("basis", config.basis))
    if basis not in BASES:
        errors.append(FieldError("basis", "invalid_choice", "日期口径无效",
                                 "Basis must be report or onset"))
    fallback = str(data.get("fallback_method", config.fallback_method))
    if fallback not in EARS_METHODS:
        errors.append(FieldError("fallback_method", "invalid_choice",
                                 "基线不足时只能改用EARS C1/C2/C3",
                                 "The fallback must be EARS C1, C2 or C3"))
    ints = {}
    for key, (lo, hi, zh, en) in _CONFIG_INTS.items():
        try:
            value = float(data.get(key, getattr(config, key)))
            if not value.is_integer() or not lo <= value <= hi:
                raise ValueError
            ints[key] = int(value)
        except (TypeError, ValueError):
            errors.append(FieldError(key, "invalid", f"{zh}应为{lo}–{hi}的整数",
                                     f"{en} must be a whole number {lo}–{hi}"))
    note = str(data.get("note", config.note) or "")
    if len(note) > 500:
        errors.append(FieldError("note", "too_long", "说明不超过500字",
                                 "The note has at most 500 characters"))
    if errors:
        raise ValidationFailed(errors)
    params = parameters_clean(method, data.get("parameters", config.parameters
                                               if method == config.method else None))
    realtime = bool(data.get("realtime", config.realtime)) and method == Method.FIXED
    config.method, config.parameters, config.basis = method, params, basis
    config.enabled = bool(data.get("enabled", config.enabled))
    config.realtime, config.fallback_method, config.note = realtime, fallback, note
    for key, value in ints.items():
        setattr(config, key, value)
    config.updated_by = user
    config.version += 1
    config.save()
    return config


def detection_config_reset(*, user, disease_code: str, version: int) -> DetectionConfig:
    """Back to the CIDARS default of rules.py."""
    config = selectors.config_get(disease_code=disease_code)
    info = disease_info(config.disease_code, timezone.localdate()) or {
        "disease_class": "other", "managed_as_class_a": False}
    default = rules.disease_default(config.disease_code, disease_class=info["disease_class"],
                                    managed_as_class_a=info["managed_as_class_a"])
    default.pop("source_tag")
    return detection_config_update(user=user, disease_code=disease_code, version=version,
                                   data={**default, "note": ""})


# --- detection -------------------------------------------------------------------------------

@dataclass
class RunReport:
    run_id: int | None
    on: date
    seconds: float = 0.0
    series_evaluated: int = 0
    alarms: int = 0
    signals_new: int = 0
    signals_updated: int = 0
    fallbacks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    signal_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["on"] = self.on.isoformat()
        return out


@dataclass(frozen=True)
class Alarm:
    disease_code: str
    county_code: str
    day: date
    method: str
    configured_method: str
    algorithm: str
    parameters: dict[str, Any]
    observed: float
    threshold: float | None
    expected: float | None
    statistic: float | None
    window_days: int
    township_codes: tuple[str, ...] = ()
    p_value: float | None = None


_DISEASE_CACHE: dict[tuple[str, date], dict | None] = {}


def disease_info(code: str, on: date) -> dict | None:
    key = (code, on)
    if key not in _DISEASE_CACHE:
        try:
            r = notifiable_disease_rules(code, on=on)
            _DISEASE_CACHE[key] = {"name": r.name_zh, "name_en": r.name_en,
                                   "disease_class": r.disease_class,
                                   "managed_as_class_a": r.managed_as_class_a}
        except ApplicationError:
            try:  # a disease taken off the list keeps the name it had
                r = notifiable_disease_rules(code, on=date(2025, 8, 31))
                _DISEASE_CACHE[key] = {"name": r.name_zh, "name_en": r.name_en,
                                       "disease_class": r.disease_class,
                                       "managed_as_class_a": r.managed_as_class_a}
            except ApplicationError:
                _DISEASE_CACHE[key] = None
        if len(_DISEASE_CACHE) > 2000:
            _DISEASE_CACHE.clear()
    return _DISEASE_CACHE.get(key)


def _nan(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _params_of(config: DetectionConfig, method: str | None = None) -> dict[str, Any]:
    method = method or config.method
    stored = config.parameters if method == config.method else {}
    try:
        return parameters_clean(method, {k: v for k, v in (stored or {}).items()
                                         if k in PARAMS[method]}, probe=False)
    except ValidationFailed:
        log.warning("invalid stored parameters for %s; using defaults", config.disease_code)
        return rules.default_parameters(method)


def _alarms_from(ev: engine.BatchEvaluation, rows: list[int], codes: list[str], *,
                 disease: str, on: date, configured: str, base_params: dict,
                 extra: dict | None = None) -> list[Alarm]:
    out = []
    for i, row in enumerate(rows):
        if not (ev.alarm[i, -1] and ev.defined[i, -1]) or ev.observed[i, -1] <= 0:
            continue
        out.append(Alarm(
            disease_code=disease, county_code=codes[row], day=on, method=ev.method,
            configured_method=configured, algorithm=ev.algorithm,
            parameters={**base_params, **ev.parameters, **(extra or {})},
            observed=float(ev.observed[i, -1]), threshold=_nan(float(ev.threshold[i, -1])),
            expected=_nan(float(ev.expected[i, -1])),
            statistic=_nan(float(ev.statistic[i, -1])), window_days=ev.window_days))
    return out


def _evaluate_disease(config: DetectionConfig, x: np.ndarray, codes: list[str],
                      first_covered: np.ndarray, on: date, report: RunReport) -> list[Alarm]:
    """Alarms of one disease over every county (rows of ``x``; the last column is ``on``)."""
    method, params = config.method, _params_of(config)
    n = x.shape[1]
    rows = list(range(x.shape[0]))
    alarms: list[Alarm] = []
    use = rows
    if method == Method.MPM:
        need = engine.lookback_days(method, params) + 1
        blocks = engine.mpm_baseline_blocks(first_covered - (n - need), need, params)
        use = [r for r in rows if blocks[r] >= config.min_baseline_blocks]
        short = [r for r in rows if blocks[r] < config.min_baseline_blocks]
        if short:  # §3.1: too little history for MPM → EARS
            fb = config.fallback_method
            fb_params = rules.default_parameters(fb)
            look = engine.lookback_days(fb, fb_params) + 1
            ev = engine.evaluate(fb, fb_params, x[short, n - look:])
            report.fallbacks += len(short)
            report.series_evaluated += len(short)
            for r in short:
                report.skipped.append({"disease": config.disease_code, "county": codes[r],
                                       "reason": f"mpm_baseline_{int(blocks[r])}_blocks"})
            alarms += _alarms_from(ev, short, codes, disease=config.disease_code, on=on,
                                   configured=method, base_params=fb_params,
                                   extra={"fallback_from": Method.MPM})
    if use:
        look = engine.lookback_days(method, params) + 1
        ev = engine.evaluate(method, params, x[use, n - look:])
        report.series_evaluated += len(use)
        alarms += _alarms_from(ev, use, codes, disease=config.disease_code, on=on,
                               configured=method, base_params=params)
    return alarms


def _scan_disease(config: DetectionConfig, counties: dict, on: date,
                  report: RunReport) -> list[Alarm]:
    params = _params_of(config)
    days = int(params["study_days"])
    start = on - timedelta(days=days - 1)
    rows = selectors.daily_counts(basis=config.basis, date_from=start, date_to=on,
                                  disease_codes=[config.disease_code], by_township=True)
    by_county: dict[str, list] = defaultdict(list)
    for _d, county, township, day, count in rows:
        by_county[county].append((township, day, count))
    alarms = []
    for code, unit in counties.items():
        towns = selectors.township_positions(county=unit)
        report.series_evaluated += 1
        if len(towns) < 2:
            report.skipped.append({"disease": config.disease_code, "county": code,
                                   "reason": "scan_needs_two_townships"})
            continue
        index = {t.code: i for i, t in enumerate(towns)}
        x = np.zeros((len(towns), days), dtype=np.int64)
        for township, day, count in by_county.get(code, ()):
            if township in index:
                x[index[township], (day - start).days] += count
        found = engine.scan(params, x, [t.latitude for t in towns],
                            [t.longitude for t in towns])
        if found is None:
            continue
        alarms.append(Alarm(
            disease_code=config.disease_code, county_code=code, day=on, method=Method.SCAN,
            configured_method=Method.SCAN, algorithm=found.algorithm,
            parameters={**params, **found.parameters}, observed=float(found.observed),
            threshold=None, expected=found.expected, statistic=found.llr,
            window_days=found.days, p_value=found.p_value,
            township_codes=tuple(towns[i].code for i in found.townships)))
    return alarms


def detection_run(*, on: date | None = None, diseases: list[str] | None = None,
                  trigger: str = DetectionRun.Trigger.MANUAL, user=None,
                  now: datetime | None = None) -> RunReport:
    """Evaluate every enabled disease's method over every county for the day ``on``
    (default: today, Asia/Shanghai; the scheduled task passes yesterday, the last complete
    day) and put the alarms into the signal queue. Each signal is stored in its own
    transaction, so one failing county stops no other."""
    started = time.monotonic()
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    detection_configs_ensure(on=on)
    configs = list(selectors.config_list(enabled_only=True))
    if diseases:
        wanted = set(diseases)
        configs = [c for c in configs if c.disease_code in wanted]
    counties = selectors.county_units()
    codes = sorted(counties)
    run = DetectionRun.objects.create(on=on, trigger=trigger, started_at=now, run_by=user,
                                      diseases=[c.disease_code for c in configs])
    report = RunReport(run_id=run.pk, on=on)
    alarms: list[Alarm] = []
    by_basis: dict[str, list[DetectionConfig]] = defaultdict(list)
    for config in configs:
        by_basis[config.basis].append(config)
    for basis, group in by_basis.items():
        series = [c for c in group if c.method != Method.SCAN]
        for config in (c for c in group if c.method == Method.SCAN):
            alarms += _scan_disease(config, counties, on, report)
        if not series or not codes:
            continue
        look = 0
        for c in series:
            look = max(look, engine.lookback_days(c.method, _params_of(c)),
                       engine.lookback_days(c.fallback_method,
                                            rules.default_parameters(c.fallback_method)))
        n = look + 1
        start = on - timedelta(days=look)
        mats = {c.disease_code: np.zeros((len(codes), n)) for c in series}
        pos = {code: i for i, code in enumerate(codes)}
        for disease, county, day, count in selectors.daily_counts(
                basis=basis, date_from=start, date_to=on,
                disease_codes=list(mats)):
            if county in pos:
                mats[disease][pos[county], (day - start).days] += count
        cover = selectors.coverage_start(basis=basis)
        first_covered = np.array([max(0, (cover[c] - start).days) if c in cover else n
                                  for c in codes], dtype=np.int64)
        for config in series:
            alarms += _evaluate_disease(config, mats[config.disease_code], codes,
                                        first_covered, on, report)
    report.alarms = len(alarms)
    config_by_code = {c.disease_code: c for c in configs}
    for alarm in alarms:
        try:
            outcome, signal = signal_raise(alarm=alarm, config=config_by_code[alarm.disease_code],
                                           county=counties[alarm.county_code], run=run, now=now)
        except Exception:  # one county's failure must not lose the others' signals
            log.exception("storing the signal %s/%s failed", alarm.disease_code,
                          alarm.county_code)
            continue
        if outcome == "new":
            report.signals_new += 1
        elif outcome in ("updated", "realerted"):
            report.signals_updated += 1
        if signal is not None:
            report.signal_ids.append(signal.pk)
    report.seconds = round(time.monotonic() - started, 3)
    DetectionRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), series_evaluated=report.series_evaluated,
        alarms=report.alarms, signals_new=report.signals_new,
        signals_updated=report.signals_updated, fallbacks=report.fallbacks,
        skipped=report.skipped[:500], seconds=report.seconds)
    return report


def detection_scheduled(*, now: datetime | None = None) -> RunReport | None:
    """The daily run for yesterday (the last complete day), once: the beat entry calls this
    every hour, so a stopped scheduler catches up and a second call does nothing."""
    now = now or timezone.now()
    on = timezone.localdate(now) - timedelta(days=1)
    if DetectionRun.objects.filter(on=on, trigger=DetectionRun.Trigger.SCHEDULE).exists():
        return None
    return detection_run(on=on, trigger=DetectionRun.Trigger.SCHEDULE, now=now)


def realtime_check(*, cells: set[Cell], now: datetime | None = None) -> list[Signal]:
    """Fixed-threshold diseases flagged real time: re-evaluate the county's window ending on
    the card's basis date as soon as a counted card arrives."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    raised = []
    seen = set()
    for basis, disease, county_code, _township, day in sorted(cells):
        if (basis, disease, county_code, day) in seen:
            continue
        seen.add((basis, disease, county_code, day))
        if day < today - timedelta(days=rules.REALTIME_MAX_AGE_DAYS) or day > today:
            continue
        config = _config_for(disease, day)
        if config is None or not (config.enabled and config.realtime
                                  and config.method == Method.FIXED and config.basis == basis):
            continue
        county = selectors.county_units().get(county_code)
        if county is None:
            continue
        params = _params_of(config)
        window = int(params["window"])
        x = np.zeros((1, window))
        for _d, _c, d, count in selectors.daily_counts(
                basis=basis, date_from=day - timedelta(days=window - 1), date_to=day,
                disease_codes=[disease], county_code=county_code):
            x[0, (d - day).days + window - 1] += count
        ev = engine.evaluate(Method.FIXED, params, x)
        for alarm in _alarms_from(ev, [0], [county_code], disease=disease, on=day,
                                  configured=Method.FIXED, base_params=params):
            _outcome, signal = signal_raise(alarm=alarm, config=config, county=county,
                                            run=None, now=now)
            if signal is not None:
                raised.append(signal)
    return raised


# --- the signal queue -----------------------------------------------------------------------

def _emit(signal: Signal, action: str, **extra: Any) -> None:
    event_emit(topic=SIGNAL_TOPIC, aggregate_type="signals.signal", aggregate_id=signal.pk,
               payload={"signal_id": signal.pk, "action": action, "status": signal.status,
                        "outcome": signal.outcome, "disease_code": signal.disease_code,
                        "county_code": signal.county_code, "method": signal.method,
                        "day": signal.day.isoformat(), "window_from": signal.window_from,
                        "window_to": signal.window_to, "basis": signal.basis,
                        "outbreak_ref": signal.outbreak_ref, "is_open": signal.is_open,
                        **extra})


def _notify(signal: Signal, *, realert: bool = False) -> None:
    recipients = county_reviewers(county=signal.county)
    if not recipients:
        log.warning("no county CDC reviewer to notify for %s", signal.county_code)
        return
    zh_method, en_method = METHOD_LABELS.get(signal.method, (signal.method, signal.method))
    limit = timezone.localtime(signal.response_due_at)
    threshold = "" if signal.threshold is None else f"，阈值{signal.threshold:g}"
    threshold_en = "" if signal.threshold is None else f", threshold {signal.threshold:g}"
    prefix, prefix_en = ("再次预警", "Signal again") if realert else ("预警信号", "Signal")
    notification_send(
        recipients=recipients,
        title=f"{prefix}：{signal.disease_name}（{signal.county.name}）",
        body=(f"{zh_method}：{signal.window_from:%m-%d}至{signal.window_to:%m-%d}"
              f"观察病例数{signal.observed:g}{threshold}。请于{limit:%m-%d %H:%M}前响应核实。"),
        title_en=f"{prefix_en}: {signal.disease_name_en or signal.disease_code} "
                 f"({signal.county.name_en or signal.county.name})",
        body_en=(f"{en_method}: {signal.observed:g} case(s) {signal.window_from:%Y-%m-%d}"
                 f"–{signal.window_to:%Y-%m-%d}{threshold_en}. Respond by "
                 f"{limit:%Y-%m-%d %H:%M}."),
        link=f"/signals/{signal.pk}/", level="urgent" if signal.method == Method.FIXED
        else "warning", channels=("inbox", "sms"))


def _fold(signal: Signal, alarm: Alarm, config: DetectionConfig, now: datetime) -> str:
    """A new alarm for a county × disease with an open signal: keep one signal, record the
    day and the larger count, re-alert once the suppression window has passed."""
    days = list(signal.detection_days or [])
    iso = alarm.day.isoformat()
    new_day = iso not in days
    grew = alarm.observed > signal.observed
    if not new_day and not grew:
        return "unchanged"
    if new_day:
        days.append(iso)
        signal.detection_days = sorted(days)
    if alarm.day >= signal.last_detected_on and (grew or new_day):
        signal.last_detected_on = alarm.day
        signal.window_to = max(signal.window_to, alarm.day)
    if grew:
        signal.observed, signal.threshold = alarm.observed, alarm.threshold
        signal.expected, signal.statistic = alarm.expected, alarm.statistic
        signal.priority = _priority(signal.disease_class, signal.managed_as_class_a,
                                    signal.method, alarm.observed, alarm.threshold)
    since = signal.realerted_at or signal.raised_at
    outcome = "updated"
    if new_day and now - since >= timedelta(days=config.suppression_days):
        signal.alert_count += 1
        signal.realerted_at = now
        outcome = "realerted"
    signal.save()
    if outcome == "realerted":
        _notify(signal, realert=True)
    _emit(signal, outcome)
    return outcome


def _priority(disease_class: str, managed: bool, method: str, observed: float,
              threshold: float | None) -> int:
    return rules.priority(disease_class=disease_class, managed_as_class_a=managed,
                          method=method, observed=observed, threshold=threshold)


def signal_raise(*, alarm: Alarm, config: DetectionConfig, county, run: DetectionRun | None,
                 now: datetime | None = None) -> tuple[str, Signal | None]:
    """Put one alarm into the queue: a new signal (owner: the county's CDC, response clock
    by method, reviewers notified), or folded into the county × disease's open signal.
    An alarm for a day already judged in a closed signal raises nothing. Returns
    ("new" | "updated" | "realerted" | "unchanged" | "already_closed", signal)."""
    now = now or timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                open_signal = (Signal.objects.select_for_update()
                               .select_related("county")
                               .filter(county=county, disease_code=alarm.disease_code,
                                       is_open=True).first())
                if open_signal is not None:
                    return _fold(open_signal, alarm, config, now), open_signal
                latest = selectors.latest_signal_for(county_id=county.pk,
                                                     disease_code=alarm.disease_code)
                if latest is not None and alarm.day <= latest.last_detected_on:
                    return "already_closed", None
                return "new", _create(alarm, config, county, run, now)
        except IntegrityError:  # a concurrent run opened it first: fold into theirs
            continue
    return "unchanged", None


def _create(alarm: Alarm, config: DetectionConfig, county, run, now) -> Signal:
    info = disease_info(alarm.disease_code, alarm.day) or {
        "name": alarm.disease_code, "name_en": alarm.disease_code, "disease_class": "other",
        "managed_as_class_a": False}
    hours = int(config.response_hours or rules.RESPONSE_HOURS[
        Method.FIXED if alarm.method == Method.FIXED else "temporal"])
    owner = county_cdc_of(county) or county
    signal = Signal.objects.create(
        disease_code=alarm.disease_code, disease_name=info["name"][:64],
        disease_name_en=info["name_en"][:128], disease_class=info["disease_class"],
        managed_as_class_a=info["managed_as_class_a"], county=county,
        county_code=county.code, township_codes=list(alarm.township_codes),
        method=alarm.method, configured_method=alarm.configured_method,
        algorithm=alarm.algorithm[:64], parameters=alarm.parameters, basis=config.basis,
        day=alarm.day, window_from=alarm.day - timedelta(days=max(alarm.window_days, 1) - 1),
        window_to=alarm.day, observed=alarm.observed, threshold=alarm.threshold,
        expected=alarm.expected, statistic=alarm.statistic, p_value=alarm.p_value,
        priority=_priority(info["disease_class"], info["managed_as_class_a"], alarm.method,
                           alarm.observed, alarm.threshold),
        run=run, detection_days=[alarm.day.isoformat()], last_detected_on=alarm.day,
        owner_unit=owner, status=SignalState.NEW, raised_at=now, response_hours=hours,
        response_due_at=now + timedelta(hours=hours))
    instance = workflow_start(
        definition=SIGNAL_WORKFLOW.name, owner_unit=owner, subject=signal,
        subject_key=f"signal:{signal.pk}",
        title=f"{signal.disease_name} · {county.name} · {alarm.day:%Y-%m-%d}",
        data={"response_hours": hours, "method": alarm.method}, now=now)
    signal.workflow = instance
    signal.response_due_at = instance.due_at or signal.response_due_at
    signal.save(update_fields=["workflow", "response_due_at", "updated_at"])
    _notify(signal)
    _emit(signal, "raised")
    return signal


# --- response ---------------------------------------------------------------------------------

@transaction.atomic
def signal_act(*, user, signal_id: int, action: str, version: int,
               verification_method: str = "", note: str = "", event_report_ref: str = "",
               now: datetime | None = None) -> Signal:
    """One response step on a signal (acknowledge, exclude, suspect, confirm, refute,
    close) through the workflow kernel: scope, role and state are checked there, and a
    stale ``version`` (someone else acted first) answers 409."""
    signal = selectors.signal_get_visible(user=user, signal_id=signal_id)
    errors = []
    if action not in {t.action for t in SIGNAL_WORKFLOW.transitions}:
        errors.append(FieldError("action", "invalid_choice", "操作无效",
                                 f"Unknown action {action!r}"))
    needs = rules.ACTION_NEEDS.get(action, ())
    if "verification_method" in needs and verification_method not in VERIFICATION_METHODS:
        errors.append(FieldError("verification_method", "required",
                                 "请选择核实方式（资料核实、电话核实或现场核实）",
                                 "Choose the verification method (data review, phone or "
                                 "on site)"))
    note = (note or "").replace("\x00", "").strip()
    if len(note) > 4000:
        errors.append(FieldError("note", "too_long", "意见不超过4000字",
                                 "The note has at most 4000 characters"))
    if len(event_report_ref or "") > 64:
        errors.append(FieldError("event_report_ref", "too_long", "报告编号过长",
                                 "The report number is too long"))
    if errors:
        raise ValidationFailed(errors)
    if signal.workflow_id is None:
        raise Conflict("该信号没有响应流程", "The signal has no response workflow",
                       code="no_workflow")
    instance = workflow_transition(
        instance_id=signal.workflow_id, action=action, user=user, comment=note,
        data={"verification_method": verification_method} if verification_method else {},
        expected_version=version, now=now)
    at = instance.state_entered_at
    if signal.responded_at is None and action in RESPONSE_ACTIONS:
        signal.responded_at, signal.responded_by = at, user
    if action in ("exclude", "suspect"):
        signal.verified_at, signal.verified_by = at, user
        signal.verification_method, signal.verification_note = verification_method, note
    elif action in ("confirm", "refute"):
        signal.investigated_at, signal.investigated_by = at, user
        signal.investigation_result = "outbreak" if action == "confirm" else "not_outbreak"
        signal.investigation_note = note
    elif action == "close":
        signal.closed_at, signal.closed_by, signal.close_note = at, user, note
    if action in ACTION_OUTCOME:
        signal.outcome = ACTION_OUTCOME[action]
    if event_report_ref:
        signal.event_report_ref = event_report_ref.strip()
    signal.status = instance.state
    signal.is_open = instance.is_open
    signal.save()
    _emit(signal, action, by_user_id=user.pk, version=instance.version)
    return signal


@transaction.atomic
def signal_link_outbreak(*, signal_id: int, outbreak_ref: str, user=None) -> Signal:
    """Hook for the outbreak-events app: record the outbreak opened from a signal (its
    outcome is a suspected or confirmed event). ``user`` scopes the look-up when given."""
    if user is not None:
        signal = selectors.signal_get_visible(user=user, signal_id=signal_id)
    else:
        signal = Signal.objects.filter(pk=signal_id).first()
        if signal is None:
            raise ApplicationError(code="not_found", message="预警信号不存在",
                                   message_en="Signal not found", status=404)
    ref = (outbreak_ref or "").strip()
    if not ref or len(ref) > 64:
        raise ValidationFailed([FieldError("outbreak_ref", "invalid", "请填写暴发事件编号",
                                           "Give the outbreak reference")])
    if signal.outcome not in (rules.Outcome.SUSPECTED_EVENT, rules.Outcome.CONFIRMED_EVENT):
        raise Conflict("只有核实为疑似或确认事件的信号才能关联暴发事件",
                       "Only a signal verified as a suspected or confirmed event can open an "
                       "outbreak", code="not_an_event")
    signal.outbreak_ref = ref
    signal.save(update_fields=["outbreak_ref", "updated_at"])
    _emit(signal, "outbreak_linked")
    return signal


# --- demo ---------------------------------------------------------------------------------------

def signals_demo_setup() -> dict[str, Any]:
    """Idempotent: default configuration, count tables from the demo card history (when
    empty), and yesterday's detection run so the queue has signals."""
    created = detection_configs_ensure()
    rows = counts_rebuild() if not CaseCount.objects.exists() else 0
    yesterday = timezone.localdate() - timedelta(days=1)
    report = detection_run(on=yesterday, trigger=DetectionRun.Trigger.DEMO)
    return {"configs_created": created, "count_rows": rows, "run": report.as_dict()}
