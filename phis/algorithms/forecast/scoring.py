"""Scores for quantile forecasts: the weighted interval score (Bracher et al. 2021).

Bracher J, Ray EL, Gneiting T, Reich NG. *Evaluating epidemic forecasts in an interval
format.* PLoS Comput Biol 2021;17(2):e1008618. For K central prediction intervals
``[l_k, u_k]`` at levels ``1 - α_k`` and the predictive median ``m``

    IS_α(l, u; y) = (u - l) + (2/α)(l - y)·1{y < l} + (2/α)(y - u)·1{y > u}
    WIS(y) = 1/(K + 1/2) · ( ½|y - m| + Σ_k (α_k/2) · IS_{α_k}(l_k, u_k; y) ),

which equals ``1/(K + 1/2) · Σ_τ ρ_τ(y - q_τ)`` over the 2K + 1 quantiles (pinball loss).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["HUB_QUANTILES", "interval_score", "weighted_interval_score"]

#: The 23 quantile levels of the US COVID-19 Forecast Hub (K = 11 intervals + median).
HUB_QUANTILES: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99,
)  # fmt: skip


def interval_score(lower: float, upper: float, y: float, alpha: float) -> float:
    """Interval score of the central (1 - alpha) interval [lower, upper]."""
    score = upper - lower
    if y < lower:
        score += 2.0 / alpha * (lower - y)
    elif y > upper:
        score += 2.0 / alpha * (y - upper)
    return float(score)


def _pairs(levels: np.ndarray) -> list[tuple[int, int, float]]:
    """(index of lower, index of upper, alpha) for each central interval."""
    out = []
    for i, tau in enumerate(levels):
        if tau >= 0.5:
            continue
        j = np.flatnonzero(np.isclose(levels, 1.0 - tau, rtol=0, atol=1e-9))
        if j.size != 1:
            raise ValueError(f"quantile {tau} has no symmetric partner {1 - tau}")
        out.append((i, int(j[0]), float(2 * tau)))
    return out


def weighted_interval_score(y: float, levels: Sequence[float], quantiles: Sequence[float]) -> float:
    """WIS of one observation ``y`` given predictive quantiles at symmetric ``levels``.

    ``levels`` must contain 0.5 and, for each level τ < 0.5, also 1 - τ.
    """
    lv = np.asarray(levels, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    if lv.shape != q.shape:
        raise ValueError("levels and quantiles must have the same length")
    med = np.flatnonzero(np.isclose(lv, 0.5, rtol=0, atol=1e-9))
    if med.size != 1:
        raise ValueError("levels must contain the median 0.5 exactly once")
    pairs = _pairs(lv)
    total = 0.5 * abs(y - q[med[0]])
    for i, j, alpha in pairs:
        total += alpha / 2.0 * interval_score(q[i], q[j], y, alpha)
    return float(total / (len(pairs) + 0.5))
