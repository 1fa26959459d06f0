"""CUSUM with the semantics of R ``surveillance::algo.cusum`` (1.20).

Over the evaluated range t = r_1 … r_K:

* in-control mean ``m``: by default the mean of all counts *before* the range (phase-I data);
  a number (or one number per evaluated period); or ``"glm"``: a Poisson GLM
  ``log m_t = a + b cos(2πt/freq) + c sin(2πt/freq)`` fitted to the counts before the range,
  with ``t`` the 1-based period index;
* standardised counts ``z_t`` (``trans``): ``standard`` ``(x-m)/sqrt(m)``; ``rossi``
  ``(x - 3m + 2 sqrt(xm))/(2 sqrt(m))``; ``anscombe`` ``3/2 (x^{2/3} - m^{2/3})/m^{1/6}``;
  ``anscombe2nd``; ``pearsonNegBin`` ``(x-m)/sqrt(m + alpha m²)``; ``none`` ``x``;
* ``S_t = max(0, S_{t-1} + z_t - k)``, ``S_0 = 0``; alarm if ``S_t ≥ h``. As in R there is **no
  reset** after an alarm (the textbook CUSUM resets; use ``reset=True`` for that variant);
* ``threshold`` is R's ``upperbound``: the smallest count that would have raised an alarm
  given ``S_{t-1}`` (``ceiling(sqrt(m)(h + k - S_{t-1}) + m)`` for ``standard``), NaN/negative
  bounds set to 0 as in R.

R's ``anscombeNegBin`` (a tabulated hypergeometric function) is not offered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phis.algorithms.aberration._common import as_count_matrix, as_counts, check_int, resolve_range
from phis.algorithms.aberration._glm import glm_poisson_batch
from phis.algorithms.aberration.result import DetectionResult

__all__ = ["CUSUM_TRANSFORMS", "CUSUM_VERSION", "cusum", "cusum_batch"]

CUSUM_VERSION = "1.0"
CUSUM_TRANSFORMS = ("standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none")


def _standardise(x, m, trans, alpha):
    with np.errstate(all="ignore"):
        if trans == "standard":
            return (x - m) / np.sqrt(m)
        if trans == "rossi":
            return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
        if trans == "anscombe":
            return 1.5 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
        if trans == "anscombe2nd":
            return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
        if trans == "pearsonNegBin":
            return (x - m) / np.sqrt(m + alpha * m**2)
        if trans == "none":
            return x.copy()
    raise ValueError(f"invalid 'trans'formation {trans!r}; one of {CUSUM_TRANSFORMS}")


def _upper(m, h, k, ctm1, cur, trans, alpha):
    with np.errstate(all="ignore"):
        if trans == "rossi":
            ub = (2 * h * m**0.5 + 2 * k * m**0.5 - 2 * ctm1 * m**0.5 + 5 * m
                  - 2 * (4 * m**2 + 2 * m**1.5 * h + 2 * m**1.5 * k - 2 * m**1.5 * ctm1) ** 0.5)
        elif trans == "standard":
            ub = np.ceil(np.sqrt(m) * (h + k - ctm1) + m)
        elif trans == "anscombe":
            inner = (2 / 3) * m ** (1 / 6) * (h + k - ctm1) + m ** (2 / 3)
            ub = np.where(inner < 0, 0.0, inner**1.5)
        elif trans == "anscombe2nd":
            inner = (2 / 3) * m ** (1 / 6) * (h + k - ctm1) + (m ** (2 / 3) - m ** (1 / 3) / 9)
            ub = np.where(inner < 0, 0.0, inner**1.5)
        elif trans == "pearsonNegBin":
            ub = np.sqrt(m + alpha * m**2) * (h + k - ctm1) + m
        else:  # none
            ub = h - cur
    ub = np.where(np.isnan(ub), 0.0, ub)
    return np.where(ub < 0, 0.0, ub)


def _glm_mean(x_train: np.ndarray, t_eval: np.ndarray, freq: int) -> np.ndarray:
    """R: glm(x ~ 1 + cos(2*pi/p*t) + sin(2*pi/p*t), poisson) on the training periods."""
    t_train = np.arange(1, x_train.shape[1] + 1, dtype=np.float64)

    def design(t):
        return np.column_stack([np.ones_like(t), np.cos(2 * np.pi / freq * t),
                                np.sin(2 * np.pi / freq * t)])

    fit = glm_poisson_batch(design(t_train), x_train)
    return np.exp(fit.beta @ design(t_eval.astype(np.float64)).T)


def _core(x: np.ndarray, idx: np.ndarray, k: float, h: float, m: Any, trans: str,
          alpha: float, freq: int, reset: bool):
    n_series = x.shape[0]
    if idx.size == 0:
        empty = np.zeros((n_series, 0))
        return empty, empty, empty.astype(bool), empty.astype(bool), empty, empty
    first = int(idx[0])
    if m is None:
        if first < 1:
            raise ValueError("algo.cusum needs at least one period before the range to get m")
        mean = x[:, :first].mean(axis=1)[:, None] * np.ones((1, idx.size))
    elif isinstance(m, str):
        if m != "glm":
            raise ValueError(f"m must be a number, a sequence, None or 'glm', got {m!r}")
        mean = _glm_mean(x[:, :first], idx + 1.0, freq)
    else:
        mean = np.broadcast_to(np.asarray(m, dtype=np.float64), (n_series, idx.size)).copy()
    obs = x[:, idx]
    z = _standardise(obs, mean, trans, alpha)
    stat = np.zeros((n_series, idx.size))
    prev_all = np.zeros((n_series, idx.size))
    alarm = np.zeros((n_series, idx.size), dtype=bool)
    defined = np.ones((n_series, idx.size), dtype=bool)
    prev = np.zeros(n_series)
    for j in range(idx.size):
        prev_all[:, j] = prev
        v = prev + z[:, j] - k
        cur = np.where(np.isnan(v), np.nan, np.maximum(0.0, v))
        stat[:, j] = cur
        isnan = np.isnan(cur)
        defined[:, j] = ~isnan
        with np.errstate(invalid="ignore"):
            alarm[:, j] = ~isnan & (cur >= h)
        prev = np.where(alarm[:, j], 0.0, cur) if reset else cur
    upper = _upper(mean, h, k, prev_all, stat, trans, alpha)
    return obs, upper, alarm, defined, stat, mean


def _first(freq: int, m: Any, range_start: int | None) -> int:
    if range_start is None:
        return freq
    return 1 if (m is None or isinstance(m, str)) else 0


def _params(k, h, trans, alpha, freq):
    kk, hh = float(k), float(h)
    if trans not in CUSUM_TRANSFORMS:
        raise ValueError(f"invalid 'trans'formation {trans!r}; one of {CUSUM_TRANSFORMS}")
    return kk, hh, float(alpha), check_int(freq, "freq", minimum=1)


def _result(res, idx, params, sel):
    obs, upper, alarm, defined, stat, mean = res
    return DetectionResult.build(
        algorithm="cusum", version=CUSUM_VERSION, parameters=params, index=idx,
        observed=obs[sel], threshold=upper[sel], alarm=alarm[sel], alarm_defined=defined[sel],
        columns={"expected": mean[sel], "statistic": stat[sel]},
    )


def cusum(counts, *, k: float = 1.04, h: float = 2.26, m: Any = None, trans: str = "standard",
          alpha: float = 0.1, freq: int = 52, reset: bool = False,
          range_start: int | None = None, range_stop: int | None = None) -> DetectionResult:
    """``algo.cusum`` on one series. Default range: every period after the first ``freq``
    (the first year is the phase-I data that gives ``m``); R has no default range."""
    x = as_counts(counts)
    kk, hh, a, fq = _params(k, h, trans, alpha, freq)
    idx = resolve_range(x.shape[0], _first(fq, m, range_start), range_start, range_stop)
    m_store = m if (m is None or isinstance(m, str) or np.ndim(m) == 0) else tuple(
        np.asarray(m, dtype=float).tolist())
    params = {"k": kk, "h": hh, "m": m_store, "trans": trans, "alpha": a, "freq": fq,
              "reset": bool(reset), "range_start": int(idx[0]) if idx.size else None,
              "range_stop": int(idx[-1]) + 1 if idx.size else None}
    res = _core(x[None, :], idx, kk, hh, m, trans, a, fq, bool(reset))
    return _result(res, idx, params, (0,))


def cusum_batch(counts, *, k: float = 1.04, h: float = 2.26, m: Any = None,
                trans: str = "standard", alpha: float = 0.1, freq: int = 52, reset: bool = False,
                range_start: int | None = None, range_stop: int | None = None
                ) -> DetectionResult:
    """:func:`cusum` over ``(n_series, n_periods)`` counts."""
    x = as_count_matrix(counts)
    kk, hh, a, fq = _params(k, h, trans, alpha, freq)
    idx = resolve_range(x.shape[1], _first(fq, m, range_start), range_start, range_stop)
    params = {"k": kk, "h": hh, "m": m if (m is None or isinstance(m, str)) else "given",
              "trans": trans, "alpha": a, "freq": fq, "reset": bool(reset),
              "range_start": int(idx[0]) if idx.size else None,
              "range_stop": int(idx[-1]) + 1 if idx.size else None}
    res = _core(x, idx, kk, hh, m, trans, a, fq, bool(reset))
    return _result(res, idx, params, (slice(None),))
