"""Instantaneous reproduction number R_t (Cori et al. 2013), parametric serial interval.

Reproduces EpiEstim's ``estimate_R(incid, method = "parametric_si", config = make_config(
mean_si = ..., std_si = ...))``:

* serial interval ``w = discr_si(0:(T-1), mean_si, std_si)`` (see :mod:`.serial_interval`),
  padded with zeros to length T + 1; its mean ``m`` is computed from that truncated vector;
* total infectiousness ``Λ_t = Σ_{s=1}^{t-1} w_s I_{t-s}`` (local + imported cases);
* for a window ``[t_s, t_e]`` with prior Gamma(shape ``a0 = (mean_prior/std_prior)^2``,
  scale ``b0 = std_prior^2/mean_prior``), the posterior is Gamma with shape
  ``a0 + Σ_{t_s..t_e} I_t^local`` and scale ``1 / (1/b0 + Σ_{t_s..t_e} Λ_t)``;
* **no estimate** (NaN; EpiEstim's ``NA``) when ``t_e <= m`` — the window ends before the mean
  serial interval, EpiEstim's rule in ``posterior_from_si_distr``;
* default windows: ``t_start = 2, 3, ..., T - window + 1`` and ``t_end = t_start + window - 1``
  (EpiEstim's ``make_config`` default is this with ``window = 7``).

Time indices ``t_start``/``t_end`` are 1-based like EpiEstim's, so that results can be compared
with R row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from phis.algorithms.epi.serial_interval import discr_si, si_mean_sd

__all__ = ["RT_ALGORITHM", "RT_VERSION", "RtResult", "estimate_rt", "overall_infectivity"]

RT_ALGORITHM = "rt-cori-parametric-si"
#: Bumped whenever the numbers this module produces for the same input could change.
RT_VERSION = "1"
#: Quantile levels reported for each window, as EpiEstim's ``R`` table.
QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


@dataclass(frozen=True, slots=True)
class RtResult:
    """Posterior of R for each time window (NaN where EpiEstim gives ``NA``)."""

    t_start: tuple[int, ...]
    t_end: tuple[int, ...]
    mean: tuple[float, ...]
    sd: tuple[float, ...]
    q025: tuple[float, ...]
    q05: tuple[float, ...]
    q25: tuple[float, ...]
    median: tuple[float, ...]
    q75: tuple[float, ...]
    q95: tuple[float, ...]
    q975: tuple[float, ...]
    #: Posterior gamma shape and scale per window (NaN where there is no estimate).
    shape: tuple[float, ...]
    scale: tuple[float, ...]
    #: Discretised serial interval actually used (w_0 ... w_T) and its mean and sd.
    si_distr: tuple[float, ...]
    si_mean: float
    si_sd: float
    # every parameter
    mean_si: float
    std_si: float
    window: int | None
    mean_prior: float
    std_prior: float
    algorithm: str = RT_ALGORITHM
    version: str = RT_VERSION

    @property
    def parameters(self) -> dict[str, Any]:
        return {
            "mean_si": self.mean_si,
            "std_si": self.std_si,
            "window": self.window,
            "mean_prior": self.mean_prior,
            "std_prior": self.std_prior,
        }

    def __len__(self) -> int:
        return len(self.t_start)


def overall_infectivity(
    incidence: Sequence[float] | np.ndarray, si_distr: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Λ_t = Σ_{s≥1} w_s I_{t-s}; element 0 is NaN as in EpiEstim (Λ_1 is undefined)."""
    inc = np.asarray(incidence, dtype=np.float64)
    w = np.zeros(inc.size + 1)
    si = np.asarray(si_distr, dtype=np.float64)[: inc.size + 1]
    w[: si.size] = si
    lam = np.convolve(inc, w[: inc.size])[: inc.size]
    lam[0] = np.nan
    return lam


def _as_counts(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain missing or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} must not be negative")
    return arr


def estimate_rt(
    incidence: Sequence[float] | np.ndarray,
    *,
    mean_si: float,
    std_si: float,
    window: int = 7,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    t_start: Sequence[int] | None = None,
    t_end: Sequence[int] | None = None,
    imported: Sequence[float] | np.ndarray | None = None,
) -> RtResult:
    """Estimate R_t on sliding windows of ``window`` days (EpiEstim ``parametric_si``).

    ``incidence`` are daily local cases (``imported``, optional, daily imported cases: they
    infect but are not counted as offspring, as EpiEstim's ``local``/``imported`` columns).
    Give ``t_start`` and ``t_end`` (1-based, inclusive) to choose windows yourself; then
    ``window`` is ignored and recorded as None.
    """
    local = _as_counts("incidence", incidence)
    n = local.size
    if imported is None:
        imp = np.zeros(n)
    else:
        imp = _as_counts("imported", imported)
        if imp.size != n:
            raise ValueError("imported must have the same length as incidence")
    if n < 2:
        raise ValueError("need at least 2 days of incidence")
    if not (mean_prior > 0 and std_prior > 0):
        raise ValueError("mean_prior and std_prior must be > 0")

    if t_start is None and t_end is None:
        if int(window) != window or window < 1:
            raise ValueError(f"window must be a positive whole number of days, got {window!r}")
        window = int(window)
        if n - window + 1 < 2:
            raise ValueError(
                f"series of {n} days is too short for a {window}-day window "
                f"(need at least {window + 1} days)"
            )
        starts = np.arange(2, n - window + 2)
        ends = starts + window - 1
        used_window: int | None = window
    elif t_start is not None and t_end is not None:
        starts = np.asarray(t_start, dtype=np.int64)
        ends = np.asarray(t_end, dtype=np.int64)
        if starts.shape != ends.shape or starts.ndim != 1 or starts.size == 0:
            raise ValueError("t_start and t_end must be non-empty and of the same length")
        if np.any(starts < 2) or np.any(ends > n) or np.any(starts > ends):
            raise ValueError("need 2 <= t_start <= t_end <= number of days")
        used_window = None
    else:
        raise ValueError("give both t_start and t_end, or neither")

    si = discr_si(np.arange(n), mean_si, std_si)
    si_full = np.zeros(n + 1)
    si_full[:n] = si
    si_mean, si_sd = si_mean_sd(si_full)

    lam = overall_infectivity(local + imp, si_full)
    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior

    nwin = starts.size
    shape = np.full(nwin, np.nan)
    scale = np.full(nwin, np.nan)
    for i in range(nwin):
        s, e = int(starts[i]) - 1, int(ends[i])  # 0-based half-open slice
        if ends[i] > si_mean:
            shape[i] = a_prior + float(np.sum(local[s:e]))
            scale[i] = 1.0 / (1.0 / b_prior + float(np.sum(lam[s:e])))
    ok = ~np.isnan(shape)
    mean = shape * scale
    sd = np.sqrt(shape) * scale
    qs = {}
    for q in QUANTILES:
        vals = np.full(nwin, np.nan)
        vals[ok] = stats.gamma.ppf(q, shape[ok], scale=scale[ok])
        qs[q] = vals

    def tup(x: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    return RtResult(
        t_start=tuple(int(v) for v in starts),
        t_end=tuple(int(v) for v in ends),
        mean=tup(mean),
        sd=tup(sd),
        q025=tup(qs[0.025]),
        q05=tup(qs[0.05]),
        q25=tup(qs[0.25]),
        median=tup(qs[0.5]),
        q75=tup(qs[0.75]),
        q95=tup(qs[0.95]),
        q975=tup(qs[0.975]),
        shape=tup(shape),
        scale=tup(scale),
        si_distr=tup(si_full),
        si_mean=si_mean,
        si_sd=si_sd,
        mean_si=float(mean_si),
        std_si=float(std_si),
        window=used_window,
        mean_prior=float(mean_prior),
        std_prior=float(std_prior),
    )
