"""CIDARS moving percentile method (移动百分位数法, MPM).

For the run period t (domain doc §3.1):

* current value ``C_t`` = cases in the ``block`` periods ending at t (7 days for daily data);
* baseline: for each of the ``baseline_years`` previous years y (anchor ``t - y·year_shift``,
  364 days by default so that weekdays stay aligned), the block sums ending at
  ``anchor + j·block`` for ``j = -half_window … +half_window`` → 3 × 5 = 15 values;
* threshold ``P`` = the ``percentile``-th percentile of the baseline (linear interpolation,
  numpy's default = R ``quantile(type = 7)``);
* alarm if ``C_t ≥ min_cases`` and ``C_t > P`` (``C_t ≥ P`` when ``strict=False``).

For weekly data use ``block=1`` and ``year_shift=52``.
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

__all__ = ["MPM_VERSION", "mpm", "mpm_batch", "mpm_first_index"]

MPM_VERSION = "1.0"


def mpm_first_index(*, block: int = 7, baseline_years: int = 3, half_window: int = 2,
                    year_shift: int = 364) -> int:
    """First 0-based index with a complete baseline (oldest block fully inside the data)."""
    return baseline_years * year_shift + half_window * block + block - 1


def _check(percentile, block, baseline_years, half_window, year_shift, min_cases):
    pct = float(percentile)
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {percentile!r}")
    blk = check_int(block, "block", minimum=1)
    yrs = check_int(baseline_years, "baseline_years", minimum=1)
    half = check_int(half_window, "half_window", minimum=0)
    shift = check_int(year_shift, "year_shift", minimum=1)
    if shift <= half * blk:
        raise ValueError("year_shift must be larger than half_window * block")
    return pct, blk, yrs, half, shift, float(min_cases)


def _core(x: np.ndarray, idx: np.ndarray, pct, blk, yrs, half, shift, min_cases, strict):
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    current = csum[:, idx + 1] - csum[:, idx + 1 - blk]
    offsets = np.array([y * shift - j * blk for y in range(1, yrs + 1)
                        for j in range(-half, half + 1)], dtype=np.int64)
    ends = idx[:, None] - offsets[None, :]  # (K, B) block end indices
    base = csum[:, ends + 1] - csum[:, ends + 1 - blk]  # (S, K, B)
    thr = np.percentile(base, pct, axis=2)
    with np.errstate(invalid="ignore"):
        exceed = current > thr if strict else current >= thr
    alarm = exceed & (current >= min_cases)
    return current, thr, alarm, np.median(base, axis=2)


def _reindex(res: DetectionResult, idx: np.ndarray) -> DetectionResult:
    import dataclasses

    from phis.algorithms.aberration.result import freeze_array

    return dataclasses.replace(res, index=freeze_array(idx, np.int64))


def _result(x, idx, out, params, batch: bool) -> DetectionResult:
    current, thr, alarm, med = out
    sl = (slice(None),) if batch else (0,)
    return DetectionResult.build(
        algorithm="mpm", version=MPM_VERSION, parameters=params, index=idx,
        observed=x[:, idx][sl], threshold=thr[sl], alarm=alarm[sl],
        columns={"statistic": current[sl], "expected": med[sl]},
    )


def mpm(counts, *, percentile: float = 50, block: int = 7, baseline_years: int = 3,
        half_window: int = 2, year_shift: int = 364, min_cases: float = 1, strict: bool = True,
        range_start: int | None = None, range_stop: int | None = None) -> DetectionResult:
    """CIDARS moving percentile method on one series (daily defaults).

    ``statistic`` is the current block sum C_t (compared with ``threshold``), ``expected``
    the baseline median.
    """
    x = as_counts(counts)
    pct, blk, yrs, half, shift, mc = _check(percentile, block, baseline_years, half_window,
                                            year_shift, min_cases)
    first = mpm_first_index(block=blk, baseline_years=yrs, half_window=half, year_shift=shift)
    idx = resolve_range(x.shape[0], first, range_start, range_stop)
    out = _core(x[None, :], idx, pct, blk, yrs, half, shift, mc, bool(strict))
    return _result(x[None, :], idx, out, _params(pct, blk, yrs, half, shift, mc, strict, idx),
                   batch=False)


def _params(pct, blk, yrs, half, shift, mc, strict, idx):
    return {"percentile": pct, "block": blk, "baseline_years": yrs, "half_window": half,
            "year_shift": shift, "min_cases": mc, "strict": bool(strict),
            "range_start": int(idx[0]) if idx.size else None,
            "range_stop": int(idx[-1]) + 1 if idx.size else None}


def mpm_batch(counts, *, percentile: float = 50, block: int = 7, baseline_years: int = 3,
              half_window: int = 2, year_shift: int = 364, min_cases: float = 1,
              strict: bool = True, range_start: int | None = None,
              range_stop: int | None = None) -> DetectionResult:
    """:func:`mpm` over ``(n_series, n_periods)`` counts (2-D result arrays)."""
    pct, blk, yrs, half, shift, mc = _check(percentile, block, baseline_years, half_window,
                                            year_shift, min_cases)
    first = mpm_first_index(block=blk, baseline_years=yrs, half_window=half, year_shift=shift)
    x, idx, local, _lo = history_window(counts, first, range_start, range_stop, first)
    out = _core(x, local, pct, blk, yrs, half, shift, mc, bool(strict))
    res = _result(x, local, out, _params(pct, blk, yrs, half, shift, mc, strict, idx), batch=True)
    return _reindex(res, idx)
