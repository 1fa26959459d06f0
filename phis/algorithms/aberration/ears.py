"""EARS C1, C2 and C3 with the semantics of R ``surveillance::earsC`` (1.20).

For period t and a baseline of ``baseline`` periods (R default 7):

* C1: baseline t-baseline … t-1; C2: t-baseline-2 … t-3 (two-period guard band).
* mean ``m`` and sample sd ``s`` (denominator n-1) of the baseline;
  ``s* = max(s, minSigma)``.
* C1/C2 upper bound ``U = m + z·s*`` with ``z = qnorm(1 - alpha)``; alarm if ``y_t > U``.
* C3 (R): with ``C2_j = (y_j - m_j)/s*_j``,
  ``U_t = max(0, y_t + s*_t·(z - max(0, C2_{t-2} - 1) - max(0, C2_{t-1} - 1)))``;
  alarm if ``y_t > U_t``. This depends only on the two previous C2 values (see the docs).
* ``alpha`` defaults to 0.001 for C1/C2 and 0.025 for C3, as in R when it is not given.
* Undefined values propagate as in R: 0/0 gives NaN, the bound is NaN and the alarm undefined.

:func:`ears_c3_cdc` is the CDC textbook C3: statistic ``Σ_{j=0..2} max(0, C2_{t-j} - 1)``,
alarm if it exceeds ``threshold`` (2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phis.algorithms.aberration._common import (
    as_counts,
    check_int,
    check_probability,
    history_window,
    resolve_range,
)
from phis.algorithms.aberration._dist import qnorm
from phis.algorithms.aberration.result import DetectionResult

__all__ = [
    "EARS_VERSION",
    "ears_batch",
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "ears_c3_cdc",
    "ears_first_index",
]

EARS_VERSION = "1.0"
DEFAULT_ALPHA = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
_LAGS_BEFORE = {"C1": 0, "C2": 2}


def ears_first_index(method: str, baseline: int = 7) -> int:
    """0-based first period R evaluates by default (R: baseline+1, +3, +5 1-based)."""
    return {"C1": baseline, "C2": baseline + 2, "C3": baseline + 4, "C3-CDC": baseline + 4}[
        method
    ]


def _window_stats(x: np.ndarray, idx: np.ndarray, baseline: int, guard: int):
    """mean and sd (ddof 1) of x[:, t-guard-baseline : t-guard] for t in idx. x: (S, n)."""
    lags = np.arange(guard + baseline, guard, -1)  # oldest first
    win = x[:, idx[:, None] - lags[None, :]]  # (S, K, baseline)
    mean = win.mean(axis=2)
    dev = win - mean[..., None]
    sd = np.sqrt((dev * dev).sum(axis=2) / (baseline - 1))
    return mean, sd


def _check(method: str, baseline: Any, alpha: Any, min_sigma: Any) -> tuple[int, float, float]:
    if method not in ("C1", "C2", "C3", "C3-CDC"):
        raise ValueError(f"method must be C1, C2 or C3, got {method!r}")
    b = check_int(baseline, "baseline")
    if b < 3:
        raise ValueError("Minimum baseline to use is 3.")
    ms = float(min_sigma)
    if not ms >= 0:
        raise ValueError("The minimum sigma parameter (minSigma) needs to be positive")
    a = check_probability(alpha, "alpha")
    return b, a, ms


def _ears_core(x: np.ndarray, idx: np.ndarray, method: str, baseline: int, z: float,
               min_sigma: float, c3_threshold: float = 2.0) -> dict[str, np.ndarray]:
    """All arrays (S, K). ``x`` (S, n) float, ``idx`` evaluated indices."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("C1", "C2"):
            mean, sd = _window_stats(x, idx, baseline, _LAGS_BEFORE[method])
            sig = np.maximum(sd, min_sigma)
            obs = x[:, idx]
            upper = mean + z * sig
            stat = (obs - mean) / sig
            return {"observed": obs, "threshold": upper, "expected": mean, "sd": sd,
                    "statistic": stat}
        # C3: C2 statistics at t-2, t-1, t
        ext = np.unique(np.concatenate([idx - 2, idx - 1, idx]))
        mean, sd = _window_stats(x, ext, baseline, 2)
        sig = np.maximum(sd, min_sigma)
        c2 = (x[:, ext] - mean) / sig
        i0 = np.searchsorted(ext, idx)
        i1 = np.searchsorted(ext, idx - 1)
        i2 = np.searchsorted(ext, idx - 2)
        part2 = np.maximum(0.0, c2[:, i2] - 1.0)
        part1 = np.maximum(0.0, c2[:, i1] - 1.0)
        part0 = np.maximum(0.0, c2[:, i0] - 1.0)
        obs = x[:, idx]
        sig0 = sig[:, i0]
        stat = part2 + part1 + part0
        if method == "C3":
            upper = np.maximum(0.0, obs + sig0 * (z - (part2 + part1)))
        else:  # CDC: alarm iff stat > threshold  <=>  y > m + s*(1 + thr - p1 - p2)
            room = c3_threshold - (part2 + part1)
            upper = np.where(room >= 0, mean[:, i0] + sig0 * (1.0 + room), -np.inf)
            upper = np.where(np.isnan(room), np.nan, upper)
        return {"observed": obs, "threshold": upper, "expected": mean[:, i0],
                "sd": sd[:, i0], "statistic": stat}


def _alarm(out: dict[str, np.ndarray], method: str, c3_threshold: float):
    if method == "C3-CDC":
        stat = out["statistic"]
        defined = ~np.isnan(stat)
        with np.errstate(invalid="ignore"):
            alarm = np.where(defined, stat > c3_threshold, False)
        return alarm, defined
    obs, upper = out["observed"], out["threshold"]
    defined = ~np.isnan(upper)
    with np.errstate(invalid="ignore"):
        alarm = np.where(defined, obs > upper, False)
    return alarm, defined


def _ears(counts, method, *, baseline, alpha, min_sigma, range_start, range_stop,
          c3_threshold=2.0) -> DetectionResult:
    x = as_counts(counts)
    if alpha is None:
        alpha = DEFAULT_ALPHA.get(method, 0.025)
    b, a, ms = _check(method, baseline, alpha, min_sigma)
    idx = resolve_range(x.shape[0], ears_first_index(method, b), range_start, range_stop)
    z = float(qnorm(1.0 - a))
    out = _ears_core(x[None, :], idx, method, b, z, ms, c3_threshold)
    alarm, defined = _alarm(out, method, c3_threshold)
    params: dict[str, Any] = {"baseline": b, "alpha": a, "min_sigma": ms}
    if method == "C3-CDC":
        params = {"baseline": b, "min_sigma": ms, "threshold": float(c3_threshold)}
    params.update({"range_start": int(idx[0]) if idx.size else None,
                   "range_stop": int(idx[-1]) + 1 if idx.size else None})
    name = {"C1": "ears-c1", "C2": "ears-c2", "C3": "ears-c3", "C3-CDC": "ears-c3-cdc"}[method]
    return DetectionResult.build(
        algorithm=name, version=EARS_VERSION, parameters=params, index=idx,
        observed=out["observed"][0], threshold=out["threshold"][0], alarm=alarm[0],
        alarm_defined=defined[0],
        columns={"expected": out["expected"][0], "sd": out["sd"][0],
                 "statistic": out["statistic"][0]},
    )


def ears_c1(counts, *, baseline: int = 7, alpha: float = 0.001, min_sigma: float = 0.0,
            range_start: int | None = None, range_stop: int | None = None) -> DetectionResult:
    """EARS C1 as ``earsC(method="C1")``: baseline = the ``baseline`` previous periods."""
    return _ears(counts, "C1", baseline=baseline, alpha=alpha, min_sigma=min_sigma,
                 range_start=range_start, range_stop=range_stop)


def ears_c2(counts, *, baseline: int = 7, alpha: float = 0.001, min_sigma: float = 0.0,
            range_start: int | None = None, range_stop: int | None = None) -> DetectionResult:
    """EARS C2 as ``earsC(method="C2")``: baseline lagged by a two-period guard band."""
    return _ears(counts, "C2", baseline=baseline, alpha=alpha, min_sigma=min_sigma,
                 range_start=range_start, range_stop=range_stop)


def ears_c3(counts, *, baseline: int = 7, alpha: float = 0.025, min_sigma: float = 0.0,
            range_start: int | None = None, range_stop: int | None = None) -> DetectionResult:
    """EARS C3 exactly as ``earsC(method="C3")`` (bound from the two previous C2 values)."""
    return _ears(counts, "C3", baseline=baseline, alpha=alpha, min_sigma=min_sigma,
                 range_start=range_start, range_stop=range_stop)


def ears_c3_cdc(counts, *, baseline: int = 7, threshold: float = 2.0, min_sigma: float = 0.0,
                range_start: int | None = None, range_stop: int | None = None
                ) -> DetectionResult:
    """CDC textbook C3: alarm if ``Σ_{j=0..2} max(0, C2_{t-j} - 1) > threshold`` (2)."""
    return _ears(counts, "C3-CDC", baseline=baseline, alpha=0.5, min_sigma=min_sigma,
                 range_start=range_start, range_stop=range_stop, c3_threshold=threshold)


def ears_batch(counts, *, method: str = "C1", baseline: int = 7, alpha: float | None = None,
               min_sigma: float = 0.0, range_start: int | None = None,
               range_stop: int | None = None) -> DetectionResult:
    """EARS over many series at once: ``counts`` is ``(n_series, n_periods)``.

    Same semantics as the single-series functions; arrays in the result are 2-D.
    """
    if alpha is None:
        alpha = DEFAULT_ALPHA.get(method, 0.5)
    b, a, ms = _check(method, baseline, alpha, min_sigma)
    first = ears_first_index(method, b)
    x, idx, local, _ = history_window(counts, first, range_start, range_stop, first)
    out = _ears_core(x, local, method, b, float(qnorm(1.0 - a)), ms)
    alarm, defined = _alarm(out, method, 2.0)
    return DetectionResult.build(
        algorithm=f"ears-{method.lower()}", version=EARS_VERSION,
        parameters={"method": method, "baseline": b, "alpha": a, "min_sigma": ms,
                    "range_start": int(idx[0]) if idx.size else None,
                    "range_stop": int(idx[-1]) + 1 if idx.size else None},
        index=idx, observed=out["observed"], threshold=out["threshold"], alarm=alarm,
        alarm_defined=defined,
        columns={"expected": out["expected"], "sd": out["sd"], "statistic": out["statistic"]},
    )
