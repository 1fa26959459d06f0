"""Simulate baselines, inject outbreaks, score detectors (after Noufaily et al. 2013).

Design (Noufaily A, Enki DG, Farrington P et al. "An improved algorithm for outbreak detection
in multiple surveillance systems", Stat Med 2013;32:1206-1222, section 4):

* **Baseline** weekly counts, negative binomial with mean
  ``mu_t = exp(theta + beta*t + Σ_{j=1..m} (gamma1 cos(2πjt/52) + gamma2 sin(2πjt/52)))`` and
  variance ``phi*mu_t`` (Poisson when ``phi = 1``); the scenarios vary the level (theta),
  trend (beta), seasonality (m = 0, 1, 2 harmonics) and dispersion (phi).
* **Outbreaks**: the number of outbreak cases is Poisson with mean ``k`` times the baseline
  standard deviation ``sqrt(phi*mu)`` at the start week; each case is placed
  ``floor(lognormal(0, 0.5))`` weeks after the start. Past outbreaks (``k`` drawn from 2..5)
  are placed in the baseline years to test robustness; one outbreak of size ``k`` is placed at
  a random week of the evaluation period.
* **Metrics** over the evaluation weeks (default: the last 49 weeks of 624):
  false-positive rate = alarms in weeks without outbreak cases / such weeks;
  probability of detection (POD) = share of current outbreaks with at least one alarm in a week
  with outbreak cases; sensitivity = share of outbreak weeks with an alarm; timeliness =
  (first alarm week - start week) / outbreak length for detected outbreaks and 1 for missed
  ones (0 is best).

The scenario values below follow the paper's design (levels, trend, 0-2 harmonics, dispersion
1 to 5) but are PHIS's own grid, not a copy of the paper's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phis.algorithms.aberration import (
    DetectionResult,
    cusum_batch,
    ears_batch,
    farrington_flexible_batch,
    fixed_threshold_batch,
    mpm_batch,
)
from phis.algorithms.aberration.farrington import NOUFAILY_DEFAULTS
from phis.algorithms.aberration.glr import glrnb

__all__ = [
    "DETECTOR_ADAPTERS",
    "NOUFAILY_SCENARIOS",
    "EvaluationReport",
    "EvaluationRow",
    "Scenario",
    "SimulatedSeries",
    "evaluate_detectors",
    "inject_outbreak",
    "simulate_baseline",
    "simulate_series",
]

HARNESS_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Baseline model of one simulation scenario (weekly data)."""

    name: str
    theta: float
    beta: float = 0.0
    gamma1: float = 0.0
    gamma2: float = 0.0
    m: int = 0  # number of harmonics
    phi: float = 1.0  # variance / mean
    freq: int = 52

    def mean(self, t: np.ndarray) -> np.ndarray:
        eta = self.theta + self.beta * t
        for j in range(1, self.m + 1):
            eta = eta + self.gamma1 * np.cos(2 * np.pi * j * t / self.freq) + (
                self.gamma2 * np.sin(2 * np.pi * j * t / self.freq))
        return np.exp(eta)


def _grid() -> tuple[Scenario, ...]:
    out = []
    i = 0
    for theta in (0.5, 2.0, 4.0):
        for m, g1, g2 in ((0, 0.0, 0.0), (1, 0.6, 0.6), (2, 0.6, 0.6)):
            for beta in (0.0, 0.001):
                for phi in (1.0, 2.0, 5.0):
                    if beta and phi == 2.0:
                        continue
                    i += 1
                    out.append(Scenario(name=f"S{i:02d}", theta=theta, beta=beta, gamma1=g1,
                                        gamma2=g2, m=m, phi=phi))
    return tuple(out)


#: 45 scenarios: level x seasonality x trend x dispersion.
NOUFAILY_SCENARIOS: tuple[Scenario, ...] = _grid()


def simulate_baseline(scenario: Scenario, n: int, rng: np.random.Generator,
                      n_series: int = 1) -> np.ndarray:
    """``(n_series, n)`` baseline counts for weeks ``t = 1..n``."""
    mu = scenario.mean(np.arange(1, n + 1, dtype=np.float64))
    mu = np.broadcast_to(mu, (n_series, n))
    if scenario.phi <= 1.0:
        return rng.poisson(mu).astype(np.float64)
    size = mu / (scenario.phi - 1.0)
    return rng.negative_binomial(size, 1.0 / scenario.phi).astype(np.float64)


def inject_outbreak(counts: np.ndarray, start: int, k: float, sd_at_start: float,
                    rng: np.random.Generator, *, sdlog: float = 0.5) -> tuple[int, int]:
    """Add an outbreak to ``counts`` (1-D, in place). Returns (total cases, last week index)."""
    size = int(rng.poisson(k * sd_at_start))
    if size == 0:
        return 0, start
    delays = np.floor(rng.lognormal(0.0, sdlog, size)).astype(np.int64)
    weeks = start + delays
    weeks = weeks[weeks < counts.shape[0]]
    np.add.at(counts, weeks, 1.0)
    return int(weeks.size), int(weeks.max()) if weeks.size else start


@dataclass(frozen=True, slots=True)
class SimulatedSeries:
    counts: np.ndarray  # (n_series, n)
    outbreak_cases: np.ndarray  # (n_series, n) cases of the current outbreak per week
    outbreak_start: np.ndarray  # (n_series,) start week of the current outbreak (-1: none)
    eval_start: int


def simulate_series(scenario: Scenario, *, n_series: int, rng: np.random.Generator,
                    n_weeks: int = 624, eval_weeks: int = 49, k: float = 5.0,
                    past_outbreaks: int = 4) -> SimulatedSeries:
    """Baselines with ``past_outbreaks`` historic outbreaks and one current outbreak."""
    counts = simulate_baseline(scenario, n_weeks, rng, n_series)
    sd = np.sqrt(scenario.phi * scenario.mean(np.arange(1, n_weeks + 1, dtype=np.float64)))
    eval_start = n_weeks - eval_weeks
    cases = np.zeros_like(counts)
    starts = np.full(n_series, -1, dtype=np.int64)
    for i in range(n_series):
        for _ in range(past_outbreaks):
            s = int(rng.integers(0, eval_start - 10))
            inject_outbreak(counts[i], s, float(rng.integers(2, 6)), float(sd[s]), rng)
        s = int(rng.integers(eval_start, n_weeks))
        extra = np.zeros(n_weeks)
        total, _ = inject_outbreak(extra, s, k, float(sd[s]), rng)
        if total:
            counts[i] += extra
            cases[i] = extra
            starts[i] = s
    return SimulatedSeries(counts=counts, outbreak_cases=cases, outbreak_start=starts,
                           eval_start=eval_start)


# ------------------------------------------------------------------------ detectors
BatchDetector = Callable[[np.ndarray, int], DetectionResult]


def _glr_adapter(x: np.ndarray, start: int) -> DetectionResult:
    results = [glrnb(row, alpha=0.0, range_start=start, freq=52) for row in x]
    first = results[0]
    return DetectionResult.build(
        algorithm=first.algorithm, version=first.version, parameters=first.params,
        index=first.index, observed=np.stack([r.observed for r in results]),
        threshold=np.stack([r.threshold for r in results]),
        alarm=np.stack([r.alarm for r in results]),
        alarm_defined=np.stack([r.alarm_defined for r in results]))


#: name -> batch function ``(counts (n_series, n), range_start) -> DetectionResult``.
DETECTOR_ADAPTERS: dict[str, BatchDetector] = {
    "fixed": lambda x, s: fixed_threshold_batch(x, k=5, range_start=s),
    "mpm": lambda x, s: mpm_batch(x, block=1, year_shift=52, percentile=80, range_start=s),
    "ears-c1": lambda x, s: ears_batch(x, method="C1", range_start=s),
    "ears-c2": lambda x, s: ears_batch(x, method="C2", range_start=s),
    "ears-c3": lambda x, s: ears_batch(x, method="C3", range_start=s),
    "farrington": lambda x, s: farrington_flexible_batch(x, range_start=s),
    "farrington-noufaily": lambda x, s: farrington_flexible_batch(
        x, range_start=s, **{k: v for k, v in NOUFAILY_DEFAULTS.items() if k != "freq"}),
    "cusum": lambda x, s: cusum_batch(x, range_start=s, m=None, freq=52),
    "glrpois": _glr_adapter,
}


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    detector: str
    scenario: str
    n_series: int
    pod: float
    fpr: float
    sensitivity: float
    timeliness: float
    alarms: int
    undefined: int


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    rows: tuple[EvaluationRow, ...]
    parameters: tuple[tuple[str, Any], ...]
    version: str = HARNESS_VERSION
    algorithm: str = "detector-evaluation"
    header: tuple[str, ...] = field(default=("detector", "scenario", "n_series", "pod", "fpr",
                                             "sensitivity", "timeliness", "alarms",
                                             "undefined"))

    def as_table(self) -> list[list[object]]:
        return [[getattr(r, h) for h in self.header] for r in self.rows]


def _score(sim: SimulatedSeries, res: DetectionResult) -> dict[str, float]:
    idx = res.index
    alarm = np.asarray(res.alarm)
    defined = np.asarray(res.alarm_defined)
    cases = sim.outbreak_cases[:, idx] > 0
    quiet = ~cases & defined
    fpr = float((alarm & quiet).sum() / max(quiet.sum(), 1))
    has = sim.outbreak_start >= 0
    detected = (alarm & cases).any(axis=1)
    pod = float(detected[has].mean()) if has.any() else float("nan")
    sens = float((alarm & cases).sum() / max(cases.sum(), 1))
    tl = []
    for i in np.flatnonzero(has):
        weeks = np.flatnonzero(cases[i])
        length = weeks[-1] - weeks[0] + 1
        hits = np.flatnonzero(alarm[i] & cases[i])
        tl.append((hits[0] - weeks[0]) / length if hits.size else 1.0)
    return {"pod": pod, "fpr": fpr, "sensitivity": sens,
            "timeliness": float(np.mean(tl)) if tl else float("nan"),
            "alarms": int(alarm.sum()), "undefined": int((~defined).sum())}


def evaluate_detectors(
    detectors: Sequence[str] | Mapping[str, BatchDetector] = ("ears-c1", "farrington"),
    *,
    scenarios: Sequence[Scenario] = NOUFAILY_SCENARIOS,
    n_series: int = 50,
    seed: int = 1,
    n_weeks: int = 624,
    eval_weeks: int = 49,
    k: float = 5.0,
    past_outbreaks: int = 4,
) -> EvaluationReport:
    """Score each detector on each scenario with the same simulated series (common random
    numbers). ``detectors`` are names of :data:`DETECTOR_ADAPTERS` or a name -> function map."""
    if isinstance(detectors, Mapping):
        chosen = dict(detectors)
    else:
        unknown = [d for d in detectors if d not in DETECTOR_ADAPTERS]
        if unknown:
            raise ValueError(f"unknown detectors {unknown}; one of {sorted(DETECTOR_ADAPTERS)}")
        chosen = {d: DETECTOR_ADAPTERS[d] for d in detectors}
    if n_weeks - eval_weeks < 52 * 5 + 3 + 10:
        raise ValueError("n_weeks must leave at least 5 years + 3 weeks before the evaluation")
    rows = []
    for number, scenario in enumerate(scenarios):
        rng = np.random.default_rng([seed, number])
        sim = simulate_series(scenario, n_series=n_series, rng=rng, n_weeks=n_weeks,
                              eval_weeks=eval_weeks, k=k, past_outbreaks=past_outbreaks)
        for name, fn in chosen.items():
            res = fn(sim.counts, sim.eval_start)
            rows.append(EvaluationRow(detector=name, scenario=scenario.name,
                                      n_series=n_series, **_score(sim, res)))
    params = (("detectors", tuple(chosen)), ("scenarios", tuple(s.name for s in scenarios)),
              ("n_series", n_series), ("seed", seed), ("n_weeks", n_weeks),
              ("eval_weeks", eval_weeks), ("k", k), ("past_outbreaks", past_outbreaks))
    return EvaluationReport(rows=tuple(rows), parameters=params)
