"""Fixed-threshold detector (固定阈值法).

Signal when the number of cases in the last ``window`` periods (the current one included)
reaches ``k``: ``S_t = y_{t-window+1} + … + y_t``, alarm if ``S_t ≥ k``. With the defaults
(``k = 1``, ``window = 1``) this is CIDARS' single-case rule for class A diseases and diseases
managed as class A: one reported case is one signal.
"""

from __future__ import annotations

import numpy as np

from phis.algorithms.aberration._common import (
    as_counts,
    check_int,
    history_window,
    resolve_range,
)
from phis.algorithms.aberration.result import DetectionResult

__all__ = ["FIXED_VERSION", "fixed_threshold", "fixed_threshold_batch"]

FIXED_VERSION = "1.0"


def _core(x: np.ndarray, idx: np.ndarray, k: float, window: int):
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    stat = csum[:, idx + 1] - csum[:, idx + 1 - window]
    # cumulative sums of integer counts are exact in float64 below 2**53
    return stat, stat >= k


def _params(k: float, window: int) -> tuple[float, int]:
    kk = float(k)
    if not kk > 0:
        raise ValueError(f"k must be positive, got {k!r}")
    return kk, check_int(window, "window", minimum=1)


def fixed_threshold(counts, *, k: float = 1, window: int = 1, range_start: int | None = None,
                    range_stop: int | None = None) -> DetectionResult:
    """Alarm when the ``window``-period case count reaches ``k`` (default: any single case)."""
    x = as_counts(counts)
    kk, win = _params(k, window)
    idx = resolve_range(x.shape[0], win - 1, range_start, range_stop)
    stat, alarm = _core(x[None, :], idx, kk, win)
    return DetectionResult.build(
        algorithm="fixed", version=FIXED_VERSION,
        parameters={"k": kk, "window": win,
                    "range_start": int(idx[0]) if idx.size else None,
                    "range_stop": int(idx[-1]) + 1 if idx.size else None},
        index=idx, observed=x[idx], threshold=np.full(idx.shape, kk), alarm=alarm[0],
        columns={"statistic": stat[0]},
    )


def fixed_threshold_batch(counts, *, k: float = 1, window: int = 1,
                          range_start: int | None = None, range_stop: int | None = None
                          ) -> DetectionResult:
    """:func:`fixed_threshold` over ``(n_series, n_periods)`` counts."""
    kk, win = _params(k, window)
    x, idx, local, _ = history_window(counts, win - 1, range_start, range_stop, win - 1)
    stat, alarm = _core(x, local, kk, win)
    return DetectionResult.build(
        algorithm="fixed", version=FIXED_VERSION,
        parameters={"k": kk, "window": win,
                    "range_start": int(idx[0]) if idx.size else None,
                    "range_stop": int(idx[-1]) + 1 if idx.size else None},
        index=idx, observed=x[:, local], threshold=np.full(stat.shape, kk), alarm=alarm,
        columns={"statistic": stat},
    )
