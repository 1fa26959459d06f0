"""Helpers shared by the detectors: input checks and evaluation ranges."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from phis.algorithms.aberration.series import Series


def as_counts(counts: Any, *, name: str = "counts") -> np.ndarray:
    """A float64 1-D copy of ``counts`` (a sequence, array or :class:`Series`), checked."""
    if isinstance(counts, Series):
        counts = counts.counts
    arr = np.array(counts, dtype=np.float64, copy=True)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < 0)):
        raise ValueError(f"{name} must be finite and non-negative")
    return arr


def as_count_matrix(counts: Any, *, name: str = "counts") -> np.ndarray:
    """A float64 2-D copy ``(n_series, n_periods)`` for the batch functions."""
    arr = np.array(counts, dtype=np.float64, copy=True)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be two-dimensional (series x periods)")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < 0)):
        raise ValueError(f"{name} must be finite and non-negative")
    return arr


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    return out


def check_probability(value: Any, name: str) -> float:
    out = float(value)
    if not 0.0 < out < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return out


def resolve_range(
    n: int, first_possible: int, range_start: int | None, range_stop: int | None
) -> np.ndarray:
    """0-based indices of the evaluated periods.

    ``first_possible`` is the first index with enough history for the method (R's default
    ``range`` start, minus one). ``range_start`` (inclusive) and ``range_stop`` (exclusive)
    default to ``first_possible`` and ``n``. Asking for an earlier start is an error, as in R
    ("The vector of observed is too short!").
    """
    start = first_possible if range_start is None else check_int(range_start, "range_start")
    stop = n if range_stop is None else check_int(range_stop, "range_stop")
    if start < 0:
        start += n
    if stop < 0:
        stop += n
    if start < first_possible:
        raise ValueError(
            f"range_start={start} (0-based) is too early: the method needs "
            f"{first_possible} earlier periods of history"
        )
    stop = min(stop, n)
    if start >= stop:
        return np.arange(0, dtype=np.int64)
    return np.arange(start, stop, dtype=np.int64)


def blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while fitting many tiny GLMs.

    Multi-threaded BLAS on (n x 12) matrices is several times slower than one thread,
    especially on a busy machine. Uses ``threadpoolctl`` when it is installed; otherwise it is
    a no-op (set ``OPENBLAS_NUM_THREADS=1`` in the environment instead).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def history_window(counts: Any, first_possible: int, range_start: int | None,
                   range_stop: int | None, lookback: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Copy and check only the columns a batch evaluation needs.

    Returns ``(x, idx, idx_local, lo)``: ``x`` the checked ``(n_series, m)`` float copy of
    columns ``lo … idx[-1]``, ``idx`` the evaluated positions in the full series and
    ``idx_local = idx - lo``. ``lookback`` is how many earlier periods the method reads.
    """
    raw = np.asarray(counts)
    if raw.ndim == 1:
        raw = raw[None, :]
    if raw.ndim != 2:
        raise ValueError("counts must be two-dimensional (series x periods)")
    idx = resolve_range(raw.shape[1], first_possible, range_start, range_stop)
    if idx.size == 0:
        return as_count_matrix(raw[:, :0]), idx, idx, 0
    lo = max(int(idx[0]) - lookback, 0)
    x = as_count_matrix(raw[:, lo: int(idx[-1]) + 1])
    return x, idx, idx - lo, lo
