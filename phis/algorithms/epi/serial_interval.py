"""Discretised serial-interval distributions, as in the R package EpiEstim.

EpiEstim (Cori et al. 2013, Web Appendix 11) discretises a gamma distribution whose
*offset-by-one* version has mean ``mean_si`` and standard deviation ``std_si``: with
``a = ((mean_si - 1) / std_si) ** 2`` and ``b = std_si ** 2 / (mean_si - 1)``, ``F_a`` the
gamma(shape=a, scale=b) CDF,

    w_k = k F_a(k) + (k - 2) F_a(k - 2) - 2 (k - 1) F_a(k - 1)
          + a b (2 F_{a+1}(k - 1) - F_{a+1}(k - 2) - F_{a+1}(k)),

floored at 0. ``w_0 = 0`` and the ``w_k`` over k = 0, 1, 2, ... sum to 1. This is EpiEstim's
``discr_si(k, mu, sigma)`` term for term, so the values agree to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["discr_si", "si_mean_sd"]


def discr_si(k: Sequence[int] | np.ndarray | int, mean_si: float, std_si: float) -> np.ndarray:
    """Probability that the serial interval is ``k`` days (EpiEstim ``discr_si``).

    ``mean_si`` must be > 1 and ``std_si`` > 0 (EpiEstim's own conditions). Returns a float
    array with the shape of ``k``.
    """
    if not mean_si > 1:
        raise ValueError(f"mean_si must be > 1 (EpiEstim's condition), got {mean_si!r}")
    if not std_si > 0:
        raise ValueError(f"std_si must be > 0, got {std_si!r}")
    kk = np.asarray(k, dtype=np.float64)
    if np.any(kk < 0) or np.any(kk != np.floor(kk)):
        raise ValueError("k must be non-negative integers")
    a = ((mean_si - 1.0) / std_si) ** 2
    b = std_si**2 / (mean_si - 1.0)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        # pgamma(x) with x < 0 is 0 in R; scipy agrees.
        return stats.gamma.cdf(x, shape, scale=b)

    res = kk * cdf(kk, a) + (kk - 2) * cdf(kk - 2, a) - 2 * (kk - 1) * cdf(kk - 1, a)
    res = res + a * b * (2 * cdf(kk - 1, a + 1) - cdf(kk - 2, a + 1) - cdf(kk, a + 1))
    return np.maximum(res, 0.0)


def si_mean_sd(si_distr: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of a discrete distribution on 0, 1, 2, ... (as EpiEstim)."""
    w = np.asarray(si_distr, dtype=np.float64)
    k = np.arange(w.size, dtype=np.float64)
    mean = float(np.sum(w * k))
    sd = float(np.sqrt(np.sum(w * k**2) - mean**2))
    return mean, sd
