"""C4 early-warning rules as data: detection methods and their parameters, the CIDARS
defaults per disease, de-duplication, ranking and the response workflow.

Sources: shared/domain/surveillance.md §3.1 (CIDARS: fixed threshold, moving percentile,
signal response and verification) and §3.2 (EARS, CUSUM, Farrington). Values tagged [U]
are our choices or unconfirmed; they live here (and in the per-disease configuration rows
seeded from here) so that the city CDC can change them without touching the logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from phis.core.accounts.permissions import Role
from phis.core.workflow.definitions import Escalation, State, Transition, WorkflowDefinition


class Method:
    FIXED = "fixed"
    MPM = "mpm"
    EARS_C1 = "ears_c1"
    EARS_C2 = "ears_c2"
    EARS_C3 = "ears_c3"
    CUSUM = "cusum"
    FARRINGTON = "farrington"
    SCAN = "scan"


METHOD_LABELS: dict[str, tuple[str, str]] = {
    Method.FIXED: ("固定阈值法", "Fixed threshold"),
    Method.MPM: ("移动百分位数法", "Moving percentile (CIDARS)"),
    Method.EARS_C1: ("EARS C1", "EARS C1"),
    Method.EARS_C2: ("EARS C2", "EARS C2"),
    Method.EARS_C3: ("EARS C3", "EARS C3"),
    Method.CUSUM: ("累积和控制图法(CUSUM)", "CUSUM"),
    Method.FARRINGTON: ("Farrington灵活法", "Farrington flexible"),
    Method.SCAN: ("时空重排扫描统计量", "Space-time permutation scan"),
}
METHODS = tuple(METHOD_LABELS)
EARS_METHODS = (Method.EARS_C1, Method.EARS_C2, Method.EARS_C3)
# Temporal = every method but the single-case rule (response clock and indicators, §3.1).
TEMPORAL_METHODS = tuple(m for m in METHODS if m != Method.FIXED)

BASES = ("report", "onset")  # §3.1 open point: offer both; CIDARS counts reported cases
BASIS_LABELS = {"report": ("报告日期", "Report date"), "onset": ("发病日期", "Onset date")}


# --- parameters per method: (type, minimum, maximum, default) --------------------------------

@dataclass(frozen=True)
class Param:
    kind: type
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    nullable: bool = False


PARAMS: dict[str, dict[str, Param]] = {
    # §3.1 "one reported case in the county → one signal"; k cases within `window` days.
    Method.FIXED: {"k": Param(int, 1, 1000, 1), "window": Param(int, 1, 90, 1)},
    # §3.1 MPM table: 7-day block, 3 baseline years, ±2 blocks, P50, `>`.
    Method.MPM: {
        "percentile": Param(float, 0, 100, 50.0),
        "block": Param(int, 1, 28, 7),
        "baseline_years": Param(int, 1, 5, 3),
        "half_window": Param(int, 0, 4, 2),
        "year_shift": Param(int, 350, 371, 364),  # [U] 52 weeks keeps the weekday
        "min_cases": Param(float, 0, 1000, 1.0),  # [U] minimum count for rare diseases
        "strict": Param(bool, default=True),  # True: `>` (§3.1 "超过"); False: `>=`
    },
    # §3.2 EARS on daily counts; min_sigma floor [U] (a flat baseline otherwise alarms on 1).
    Method.EARS_C1: {"baseline": Param(int, 3, 28, 7), "alpha": Param(float, 1e-6, 0.5, 0.001),
                     "min_sigma": Param(float, 0, 10, 0.5)},
    Method.EARS_C2: {"baseline": Param(int, 3, 28, 7), "alpha": Param(float, 1e-6, 0.5, 0.001),
                     "min_sigma": Param(float, 0, 10, 0.5)},
    Method.EARS_C3: {"baseline": Param(int, 3, 28, 7), "alpha": Param(float, 1e-6, 0.5, 0.025),
                     "min_sigma": Param(float, 0, 10, 0.5)},
    # §3.2 CUSUM (R algo.cusum defaults k=1.04, h=2.26); in-control mean from the
    # `baseline_days` before the last `run_days` days, which are accumulated [U].
    Method.CUSUM: {"k": Param(float, 0, 10, 1.04), "h": Param(float, 0.01, 50, 2.26),
                   "trans": Param(str, default="standard"),
                   "baseline_days": Param(int, 28, 1100, 364),
                   "run_days": Param(int, 1, 90, 28)},
    # §3.2 farringtonFlexible defaults on weekly counts (7-day blocks ending on the run day).
    Method.FARRINGTON: {"b": Param(int, 1, 10, 5), "w": Param(int, 0, 10, 3),
                        "alpha": Param(float, 1e-6, 0.5, 0.05),
                        "reweight": Param(bool, default=True),
                        "weights_threshold": Param(float, 0.5, 10, 2.58),
                        "trend": Param(bool, default=True),
                        "no_periods": Param(int, 1, 20, 1),
                        "past_weeks_not_included": Param(int, 0, 52, None, nullable=True),
                        "threshold_method": Param(str, default="delta")},
    # §3.1 spatio-temporal model: prospective space-time permutation scan over the county's
    # townships; typical SaTScan values [U].
    Method.SCAN: {"study_days": Param(int, 14, 730, 90),
                  "max_duration": Param(int, 1, 30, 7),
                  "max_spatial_fraction": Param(float, 0.05, 1, 0.5),
                  "max_radius_km": Param(float, 0, 200, None, nullable=True),
                  "min_cases": Param(int, 2, 1000, 3),
                  "replications": Param(int, 99, 9999, 999),
                  "alpha": Param(float, 1e-4, 0.2, 0.05)},
}
STRING_CHOICES = {
    ("cusum", "trans"): ("standard", "rossi", "anscombe", "anscombe2nd", "none"),
    ("farrington", "threshold_method"): ("delta", "nbPlugin", "muan"),
}


def default_parameters(method: str) -> dict[str, Any]:
    return {k: p.default for k, p in PARAMS[method].items()}


# --- CIDARS defaults per disease (§3.1) -------------------------------------------------------

# Fixed threshold (single case, real time): class A and the designated diseases. §3.1 [V]:
# plague, cholera, SARS, poliomyelitis, human HPAI, pulmonary anthrax, unexplained pneumonia;
# added later [U]: human H7N9, diphtheria, filariasis. The novel-influenza-subtype entry
# replaces HPAI/H7N9 from 2025-09-01 (catalogue). Pulmonary anthrax is a card sub-type while
# the count tables are per disease, so all anthrax cards trigger the rule [U].
FIXED_THRESHOLD_DISEASES: dict[str, str] = {
    "plague": "V", "cholera": "V", "sars": "V", "poliomyelitis": "V", "hpai": "V",
    "anthrax": "U", "unexplained-pneumonia": "V", "novel-influenza-subtype": "U",
    "h7n9": "U", "diphtheria": "U", "filariasis": "U",
}
# Chronic or long-incubation diseases are not in the CIDARS temporal list [U]: their rows
# exist (the city CDC can switch them on) but start disabled.
TEMPORAL_DISABLED: frozenset[str] = frozenset({
    "hiv-aids", "viral-hepatitis", "tuberculosis", "syphilis", "gonorrhoea", "leprosy",
    "echinococcosis", "schistosomiasis", "genital-chlamydia", "condyloma-acuminatum",
    "genital-herpes", "clonorchiasis",
})
# Below this many baseline blocks (of 3 × 5 = 15) MPM is not run; EARS is (§3.1).
MIN_BASELINE_BLOCKS = 15
FALLBACK_METHOD = Method.EARS_C2  # [U] which EARS variant to fall back to
DEFAULT_BASIS = "report"  # [U] CIDARS counts reported cases; "onset" offered per disease


def disease_default(code: str, *, disease_class: str, managed_as_class_a: bool
                    ) -> dict[str, Any]:
    """The CIDARS default configuration of one disease."""
    fixed = (code in FIXED_THRESHOLD_DISEASES or disease_class == "A" or managed_as_class_a)
    method = Method.FIXED if fixed else Method.MPM
    return {
        "method": method,
        "parameters": default_parameters(method),
        "basis": DEFAULT_BASIS,
        "enabled": fixed or code not in TEMPORAL_DISABLED,
        "realtime": fixed,
        "fallback_method": FALLBACK_METHOD,
        "min_baseline_blocks": MIN_BASELINE_BLOCKS,
        "suppression_days": SUPPRESSION_DAYS,
        "response_hours": RESPONSE_HOURS[method if fixed else "temporal"],
        "source_tag": FIXED_THRESHOLD_DISEASES.get(code, "V" if fixed else "K"),
    }


# --- de-duplication, real time -----------------------------------------------------------------

# §3.1 open point [U]: one open signal per county × disease; while it is open a new alarm
# folds into it, and re-alerts its owners only when the signal is older than this.
SUPPRESSION_DAYS = 7
# The real-time fixed-threshold check ignores cards whose basis date is older than this
# (a late import of old cases is no early warning; the daily run still counts them) [U].
REALTIME_MAX_AGE_DAYS = 7


# --- response (§3.1 "Signal response and verification") -------------------------------------

# Response clocks [V indicators]: within 2 h for fixed-threshold signals, 24 h for temporal.
RESPONSE_HOURS = {Method.FIXED: 2, "temporal": 24}
VERIFY_HOURS = 24  # [U] from acknowledgement to the verification judgement
INVESTIGATE_HOURS = 72  # [U] field investigation of a suspected event
CLOSE_HOURS = 72  # [U] from the judgement to closing the signal


class SignalState:
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    EXCLUDED = "excluded"
    SUSPECTED = "suspected"
    OUTBREAK = "outbreak"
    NOT_OUTBREAK = "not_outbreak"
    CLOSED = "closed"


class Outcome:
    PENDING = ""
    EXCLUDED = "excluded"
    SUSPECTED_EVENT = "suspected_event"
    CONFIRMED_EVENT = "confirmed_event"


OUTCOME_LABELS = {
    Outcome.PENDING: ("待核实", "Pending"),
    Outcome.EXCLUDED: ("排除", "Excluded"),
    Outcome.SUSPECTED_EVENT: ("疑似事件", "Suspected event"),
    Outcome.CONFIRMED_EVENT: ("确认事件", "Confirmed event"),
}
VERIFICATION_METHODS = {
    "data_review": ("资料核实", "Data review"),
    "phone": ("电话核实", "Phone"),
    "on_site": ("现场核实", "On site"),
}
# action -> (outcome after it, or None to keep)
ACTION_OUTCOME = {"exclude": Outcome.EXCLUDED, "suspect": Outcome.SUSPECTED_EVENT,
                  "confirm": Outcome.CONFIRMED_EVENT}
RESPONSE_ACTIONS = ("acknowledge", "exclude", "suspect")  # the first of these is the response

_RESPONDERS = (Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC)
RESPOND_PERM = "signals.respond_signal"


def _response_deadline(instance, entered_at):
    return timedelta(hours=int(instance.data.get("response_hours")
                               or RESPONSE_HOURS["temporal"]))


SIGNAL_WORKFLOW = WorkflowDefinition(
    name="signals.signal_response", label="预警信号响应", label_en="Signal response",
    initial=SignalState.NEW,
    states=(
        State(SignalState.NEW, "待响应", "New", deadline=_response_deadline),
        State(SignalState.ACKNOWLEDGED, "已响应", "Acknowledged",
              deadline=timedelta(hours=VERIFY_HOURS)),
        State(SignalState.EXCLUDED, "已排除", "Excluded", deadline=timedelta(hours=CLOSE_HOURS)),
        State(SignalState.SUSPECTED, "疑似事件", "Suspected event",
              deadline=timedelta(hours=INVESTIGATE_HOURS)),
        State(SignalState.OUTBREAK, "确认暴发", "Outbreak confirmed",
              deadline=timedelta(hours=CLOSE_HOURS)),
        State(SignalState.NOT_OUTBREAK, "调查排除暴发", "Not an outbreak",
              deadline=timedelta(hours=CLOSE_HOURS)),
        State(SignalState.CLOSED, "已关闭", "Closed", final=True),
    ),
    transitions=(
        Transition("acknowledge", (SignalState.NEW,), SignalState.ACKNOWLEDGED,
                   "响应", "Acknowledge", roles=_RESPONDERS, perms=(RESPOND_PERM,)),
        # Verification may come straight after the signal (the response is then the verdict).
        Transition("exclude", (SignalState.NEW, SignalState.ACKNOWLEDGED), SignalState.EXCLUDED,
                   "核实排除", "Verify: excluded", roles=_RESPONDERS, perms=(RESPOND_PERM,)),
        Transition("suspect", (SignalState.NEW, SignalState.ACKNOWLEDGED),
                   SignalState.SUSPECTED, "核实为疑似事件", "Verify: suspected event",
                   roles=_RESPONDERS, perms=(RESPOND_PERM,)),
        Transition("confirm", (SignalState.SUSPECTED,), SignalState.OUTBREAK,
                   "现场调查确认暴发", "Investigated: outbreak", roles=_RESPONDERS,
                   perms=(RESPOND_PERM,)),
        Transition("refute", (SignalState.SUSPECTED,), SignalState.NOT_OUTBREAK,
                   "现场调查排除暴发", "Investigated: not an outbreak", roles=_RESPONDERS,
                   perms=(RESPOND_PERM,)),
        Transition("close", (SignalState.EXCLUDED, SignalState.OUTBREAK,
                             SignalState.NOT_OUTBREAK), SignalState.CLOSED,
                   "关闭", "Close", roles=_RESPONDERS, perms=(RESPOND_PERM,)),
    ),
    # Overdue signals go to the city CDC (and the owner).
    escalation=Escalation(roles=(Role.CITY_CDC,), at="city", channels=("inbox", "sms")),
    link="/signals/{instance.subject_id}/",
)
# Which fields an action needs (checked by the service before the transition).
ACTION_NEEDS = {
    "exclude": ("verification_method",),
    "suspect": ("verification_method",),
}


# --- ranking of the queue -------------------------------------------------------------------

CLASS_WEIGHT = {"A": 400, "B": 200, "C": 100, "other": 50}
MANAGED_AS_A_WEIGHT = 400
METHOD_WEIGHT = {Method.FIXED: 300, Method.SCAN: 150, Method.MPM: 100,
                 Method.FARRINGTON: 100, Method.CUSUM: 80, Method.EARS_C1: 60,
                 Method.EARS_C2: 60, Method.EARS_C3: 60}
EXCESS_WEIGHT = 50  # per unit of log2(observed / threshold), capped
EXCESS_CAP = 200


def priority(*, disease_class: str, managed_as_class_a: bool, method: str,
             observed: float, threshold: float | None) -> int:
    """Rank of a signal in the queue (higher first): class, method, excess. Age breaks ties
    in the queue ordering (older first) and overdue signals come before everything."""
    import math

    score = MANAGED_AS_A_WEIGHT if managed_as_class_a else CLASS_WEIGHT.get(disease_class, 50)
    score += METHOD_WEIGHT.get(method, 50)
    base = max(float(threshold or 0.0), 0.5)
    if observed > 0:
        score += int(min(EXCESS_CAP, max(0.0, math.log2(observed / base)) * EXCESS_WEIGHT))
    return int(score)


# Indicators (§3.1 calibration): the default period of the queue page's table.
INDICATOR_DAYS = 365
