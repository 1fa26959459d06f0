"""The bridge between count tables and the detection library (``phis.algorithms``): which
history each method needs, how a (series × days) matrix is evaluated, and the MPM baseline
coverage that decides the EARS fallback (surveillance.md §3.1, §3.2). No database here: the
services build the matrices and store the signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phis.algorithms.aberration import (
    cusum_batch,
    ears_batch,
    farrington_flexible_batch,
    fixed_threshold_batch,
    mpm_batch,
)
from phis.algorithms.aberration.farrington import farrington_first_index
from phis.algorithms.aberration.mpm import mpm_first_index
from phis.algorithms.scan import space_time_permutation_scan
from phis.apps.signals.rules import EARS_METHODS, Method

WEEK = 7


@dataclass(frozen=True)
class BatchEvaluation:
    """A method evaluated on the last ``n`` points of every series; arrays are (S, n).

    ``observed`` is what is compared with ``threshold`` (the 7-day sum for MPM, the day's
    count for EARS, the week's count for Farrington); ``step_days`` is 7 for weekly methods.
    """

    method: str
    algorithm: str
    parameters: dict[str, Any]
    observed: np.ndarray
    threshold: np.ndarray
    expected: np.ndarray
    statistic: np.ndarray
    alarm: np.ndarray
    defined: np.ndarray
    window_days: int
    step_days: int = 1


@dataclass(frozen=True)
class ScanSignal:
    townships: tuple[int, ...]  # row indices of the townships in the cluster
    days: int  # cluster length, ending on the run day
    observed: int
    expected: float
    p_value: float
    llr: float
    algorithm: str
    parameters: dict[str, Any] = field(default_factory=dict)


def lookback_days(method: str, params: dict[str, Any]) -> int:
    """Days of history before the run day that ``method`` needs (the matrix is one longer)."""
    if method == Method.FIXED:
        return int(params["window"]) - 1
    if method == Method.MPM:
        return mpm_first_index(block=int(params["block"]),
                               baseline_years=int(params["baseline_years"]),
                               half_window=int(params["half_window"]),
                               year_shift=int(params["year_shift"]))
    if method in EARS_METHODS:
        return int(params["baseline"]) + 4 + 2  # C3 reads C2 of the two previous days
    if method == Method.CUSUM:
        return int(params["baseline_days"]) + int(params["run_days"]) - 1
    if method == Method.FARRINGTON:
        weeks = farrington_first_index(freq=52, b=int(params["b"]), w=int(params["w"]))
        return (weeks + 1) * WEEK - 1
    if method == Method.SCAN:
        return int(params["study_days"]) - 1
    raise ValueError(f"unknown method {method!r}")


def mpm_baseline_blocks(first_covered: np.ndarray, n_days: int, params: dict[str, Any]
                        ) -> np.ndarray:
    """How many of the MPM baseline blocks of the last day lie fully inside each series'
    covered history; ``first_covered`` is the index of the first day with data (n_days when
    a series has none)."""
    blk, yrs = int(params["block"]), int(params["baseline_years"])
    half, shift = int(params["half_window"]), int(params["year_shift"])
    t = n_days - 1
    starts = np.array([t - (y * shift - j * blk) - blk + 1 for y in range(1, yrs + 1)
                       for j in range(-half, half + 1)], dtype=np.int64)
    return ((starts[None, :] >= first_covered[:, None]) & (starts[None, :] >= 0)).sum(axis=1)


def _col(result, name: str, shape) -> np.ndarray:
    try:
        return np.asarray(result.column(name), dtype=float).reshape(shape)
    except KeyError:
        return np.full(shape, np.nan)


def _pack(method: str, res, window_days: int, step_days: int = 1, *,
          observed_column: str | None = None) -> BatchEvaluation:
    shape = np.asarray(res.alarm).shape
    observed = (_col(res, observed_column, shape) if observed_column
                else np.asarray(res.observed, dtype=float).reshape(shape))
    params = {k: v for k, v in res.params.items() if k not in ("range_start", "range_stop")}
    return BatchEvaluation(
        method=method, algorithm=res.algorithm_version, parameters=params,
        observed=observed, threshold=np.asarray(res.threshold, dtype=float).reshape(shape),
        expected=_col(res, "expected", shape), statistic=_col(res, "statistic", shape),
        alarm=np.asarray(res.alarm, dtype=bool).reshape(shape),
        defined=np.asarray(res.alarm_defined, dtype=bool).reshape(shape),
        window_days=window_days, step_days=step_days)


def evaluate(method: str, params: dict[str, Any], counts: np.ndarray, *, points: int = 1
             ) -> BatchEvaluation:
    """Evaluate ``method`` on the last ``points`` days (weeks for Farrington) of every row
    of ``counts`` (series × days, the last column is the run day). ``counts`` must hold at
    least ``lookback_days + points`` columns."""
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise ValueError("counts must be (series × days)")
    n = x.shape[1]
    p = dict(params)
    if method == Method.FIXED:
        res = fixed_threshold_batch(x, k=p["k"], window=p["window"], range_start=n - points)
        return _pack(method, res, int(p["window"]), observed_column="statistic")
    if method == Method.MPM:
        res = mpm_batch(x, percentile=p["percentile"], block=p["block"],
                        baseline_years=p["baseline_years"], half_window=p["half_window"],
                        year_shift=p["year_shift"], min_cases=p["min_cases"],
                        strict=p["strict"], range_start=n - points)
        return _pack(method, res, int(p["block"]), observed_column="statistic")
    if method in EARS_METHODS:
        variant = {"ears_c1": "C1", "ears_c2": "C2", "ears_c3": "C3"}[method]
        res = ears_batch(x, method=variant, baseline=p["baseline"], alpha=p["alpha"],
                         min_sigma=p["min_sigma"], range_start=n - points)
        return _pack(method, res, 1)
    if method == Method.CUSUM:
        span = int(p["baseline_days"]) + int(p["run_days"]) + points - 1
        sub = x[:, -span:] if span <= n else x
        m = sub.shape[1]
        res = cusum_batch(sub, k=p["k"], h=p["h"], trans=p["trans"], freq=365,
                          range_start=m - int(p["run_days"]) - points + 1)
        out = _pack(method, res, int(p["run_days"]))
        return _tail(out, points)
    if method == Method.FARRINGTON:
        weeks = n // WEEK
        weekly = x[:, n - weeks * WEEK:].reshape(x.shape[0], weeks, WEEK).sum(axis=2)
        res = farrington_flexible_batch(
            weekly, freq=52, b=p["b"], w=p["w"], alpha=p["alpha"], reweight=p["reweight"],
            weights_threshold=p["weights_threshold"], trend=p["trend"],
            no_periods=p["no_periods"], past_weeks_not_included=p["past_weeks_not_included"],
            threshold_method=p["threshold_method"], range_start=weeks - points)
        return _pack(method, res, WEEK, step_days=WEEK)
    raise ValueError(f"method {method!r} is not a temporal series method")


def _tail(ev: BatchEvaluation, points: int) -> BatchEvaluation:
    def cut(a):
        return a[:, -points:]

    return BatchEvaluation(ev.method, ev.algorithm, ev.parameters, cut(ev.observed),
                           cut(ev.threshold), cut(ev.expected), cut(ev.statistic),
                           cut(ev.alarm), cut(ev.defined), ev.window_days, ev.step_days)


def scan(params: dict[str, Any], counts: np.ndarray, lat, lon) -> ScanSignal | None:
    """Prospective space-time permutation scan of one county (townships × days, the last
    column is the run day); the most likely cluster when its p-value is below ``alpha``."""
    x = np.asarray(counts)
    if x.shape[0] < 2 or x.sum() < int(params["min_cases"]):
        return None
    res = space_time_permutation_scan(
        x, lat, lon, max_radius_km=params.get("max_radius_km"),
        max_spatial_fraction=params["max_spatial_fraction"],
        max_duration=params["max_duration"], min_cases=params["min_cases"],
        replications=params["replications"], prospective=True, max_clusters=1)
    if not res.clusters:
        return None
    best = res.clusters[0]
    if best.p_value >= float(params["alpha"]):
        return None
    used = {**res.parameters, "study_days": int(params["study_days"]),
            "alpha": float(params["alpha"])}
    return ScanSignal(townships=tuple(best.locations), days=best.duration,
                      observed=int(best.observed), expected=float(best.expected),
                      p_value=float(best.p_value), llr=float(best.llr),
                      algorithm=f"{res.algorithm}/{res.version}", parameters=used)
