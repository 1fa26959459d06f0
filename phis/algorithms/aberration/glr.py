"""GLR detectors for a change in the intercept: R ``surveillance::algo.glrnb`` (1.20).

Model: ``x_t ~ NB(mu_t, alpha)`` (Poisson when ``alpha = 0``) with in-control mean ``mu0_t``;
after an unknown change point ``k`` the mean is ``mu0_t·exp(kappa)``. The statistic at time n is

    GLR_n = max_k  sup_kappa  Σ_{t=k..n} log f(x_t; mu0_t e^kappa) / f(x_t; mu0_t)

(``kappa ≥ 0`` for ``dir = "inc"``); alarm when ``GLR_n ≥ c.ARL``, after which the detector
restarts on the following period. ``M > 0`` limits the change point to the last ``M`` periods
(``Mtilde`` periods at least are needed to estimate kappa).

``mu0`` is estimated, as in R, by a GLM on the periods before the range:
``log mu0_t = a (+ b t) + Σ_{s=1..S} (c_s cos(2πst/freq) + d_s sin(2πst/freq))`` with ``t`` the
1-based index: Poisson if ``alpha = 0``, negative binomial with ``theta = 1/alpha`` if ``alpha``
is given, and MASS ``glm.nb`` (``alpha = 1/theta``) when ``alpha`` is None (R's default).

``threshold`` is R's ``upperbound``: the GLR statistic (``ret = "value"``) or, for the Poisson
chart, the number of cases needed for an alarm (``ret = "cases"``). The ``statistic`` column is
always the GLR statistic. Not offered: ``change = "epi"``, ``mu0$refit``, ``ret = "cases"`` for
the negative binomial chart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phis.algorithms.aberration._common import as_counts, check_int, resolve_range
from phis.algorithms.aberration._glm import glm_nb, glm_single
from phis.algorithms.aberration.result import DetectionResult

__all__ = ["GLR_VERSION", "glr_in_control_mean", "glrnb"]

GLR_VERSION = "1.0"
_NEG = -1e99


def glr_in_control_mean(train: np.ndarray, t_eval: np.ndarray, *, freq: int, S: int = 1,
                        trend: bool = False, alpha: float | None = None
                        ) -> tuple[np.ndarray, float]:
    """R ``estimateGLRNbHook``: returns (mu0 at ``t_eval`` (1-based), alpha used)."""

    def design(t: np.ndarray) -> np.ndarray:
        cols = [np.ones_like(t)]
        if trend:
            cols.append(t)
        for s in range(1, S + 1):
            cols.append(np.cos(2 * s * np.pi / freq * t))
            cols.append(np.sin(2 * s * np.pi / freq * t))
        return np.column_stack(cols)

    t_train = np.arange(1, train.shape[0] + 1, dtype=np.float64)
    x = design(t_train)
    if alpha is None:
        beta, theta = glm_nb(x, train)
        alpha_used = 1.0 / theta
    elif alpha == 0:
        beta, _, _ = glm_single(x, train)
        alpha_used = 0.0
    else:
        beta, _, _ = glm_single(x, train, theta=1.0 / alpha)
        alpha_used = float(alpha)
    mu0 = np.maximum(np.exp(design(t_eval.astype(np.float64)) @ beta), np.finfo(float).eps)
    return mu0, alpha_used


# ------------------------------------------------------------------ Poisson charts
def _pois_glr(sx: np.ndarray, sm: np.ndarray, direction: int) -> float:
    with np.errstate(all="ignore"):
        kappa = direction * np.maximum(0.0, direction * np.log(sx / sm))
        val = kappa * sx + (1 - np.exp(kappa)) * sm
    val = np.where(np.isnan(val), _NEG, val)
    return float(max(_NEG, val.max())) if val.size else _NEG


def _pois_chart(x, mu0, *, c_arl, direction, ret_cases, mtilde, m_window):
    """glr_cusum (m_window <= 0) / glr_cusum_window: returns (N 1-based, val, cases)."""
    lx = x.shape[0]
    px = np.concatenate([[0.0], np.cumsum(x)])
    pm = np.concatenate([[0.0], np.cumsum(mu0)])
    val = np.zeros(lx)
    cases = np.zeros(lx)
    windowed = m_window > 0
    n = mtilde if windowed else max(mtilde - 1, 0)
    big_n = lx
    while n < lx:
        if windowed:
            ks = np.arange(n - mtilde, max(0, n - m_window) - 1, -1)
        else:
            ks = np.arange(n, -1, -1)
        sx = px[n + 1] - px[ks]
        sm = pm[n + 1] - pm[ks]
        val[n] = _pois_glr(sx, sm, direction)
        if ret_cases:
            xnew = -1
            g = c_arl - direction
            while direction * g < c_arl * direction and xnew < 1_000_000:
                xnew += 1
                g = _pois_glr(sx - x[n] + xnew, sm, direction)
            cases[n] = xnew
        if val[n] >= c_arl:
            big_n = n
            break
        n += 1
    return big_n + 1, val, cases


# ------------------------------------------------------------- negative binomial chart
def _nb_lnk_max(ks, low, n, seg_x, seg_m, alpha, inv_a, direction, warm) -> float:
    """max_k l_{n,k} over the change points ``ks`` (kappa by Newton, warm-started)."""
    mask = (np.arange(low, n + 1)[None, :] >= ks[:, None]).astype(np.float64)
    kappa = warm[ks].copy()
    active = np.ones(ks.shape[0], dtype=bool)
    for _ in range(1000):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        e = np.exp(kappa[idx])[:, None]
        denom = 1 + alpha * e * seg_m[None, :]
        msk = mask[idx]
        score = (msk * (seg_x[None, :] - e * seg_m[None, :]) / denom).sum(axis=1)
        fisher = e[:, 0] * (msk * seg_m[None, :] * (alpha * seg_x[None, :] + 1)
                            / denom**2).sum(axis=1)
        with np.errstate(all="ignore"):
            new = kappa[idx] + score / fisher
        step = np.abs(new - kappa[idx])
        kappa[idx] = new
        done = ~(new > -18) | ~(step > 1e-12) | ~np.isfinite(new)
        active[idx[done]] = False
    warm[ks] = np.where(np.isfinite(kappa) & (kappa > -18), kappa, 0.5)
    k_ml = direction * np.maximum(0.0, direction * kappa)
    with np.errstate(all="ignore"):
        e = np.exp(k_ml)[:, None]
        terms = k_ml[:, None] * seg_x[None, :] + (seg_x[None, :] + inv_a) * np.log(
            (1 + alpha * seg_m[None, :]) / (1 + alpha * seg_m[None, :] * e))
        lnk = (mask * terms).sum(axis=1)
    lnk = np.where(np.isnan(lnk), _NEG, lnk)
    return float(lnk.max())


def _nb_chart(x, mu0, *, alpha, c_arl, direction, mtilde, m_window):
    """glr_nb_window: returns (N 1-based, val)."""
    lx = x.shape[0]
    val = np.zeros(lx)
    n0 = max(mtilde - 1, 0)
    big_n = lx
    inv_a = 1.0 / alpha
    warm = np.full(lx, 0.5)
    for n in range(n0, lx):
        low = 0 if m_window == -1 else max(0, n - m_window)
        up = n - (mtilde - 1)
        if up < low:
            val[n] = _NEG
        else:
            all_ks = np.arange(low, up + 1)
            seg_x = x[low: n + 1]
            seg_m = mu0[low: n + 1]
            # kappa_ml is 0 (so l_{n,k} = 0) when the score at kappa = 0 points the other way
            g = (seg_x - seg_m) / (1 + alpha * seg_m)
            suffix = np.cumsum(g[::-1])[::-1]  # sum over i >= k (relative to low)
            s0 = suffix[all_ks - low]
            cand = s0 > 0 if direction == 1 else s0 < 0
            ks = all_ks[cand]
            best = 0.0 if ks.size < all_ks.size else _NEG
            if ks.size:
                best = max(best, _nb_lnk_max(ks, low, n, seg_x, seg_m, alpha, inv_a,
                                              direction, warm))
            val[n] = best
        if val[n] >= c_arl:
            big_n = n
            break
    return big_n + 1, val


def glrnb(
    counts,
    *,
    c_arl: float = 5.0,
    alpha: float | None = None,
    mu0: Any = None,
    S: int = 1,
    mu0_trend: bool = False,
    Mtilde: int = 1,
    M: int = -1,
    direction: str = "inc",
    ret: str = "value",
    freq: int = 52,
    range_start: int | None = None,
    range_stop: int | None = None,
) -> DetectionResult:
    """R ``algo.glrnb`` (``change = "intercept"``) on one series.

    Default range: every period after the first ``freq`` (the first year estimates mu0);
    R has no default range.
    """
    x = as_counts(counts)
    fq = check_int(freq, "freq", minimum=1)
    c = float(c_arl)
    mt = check_int(Mtilde, "Mtilde", minimum=1)
    mw = check_int(M, "M")
    s_harm = check_int(S, "S", minimum=0)
    if direction not in ("inc", "dec"):
        raise ValueError("direction must be 'inc' or 'dec'")
    if ret not in ("value", "cases"):
        raise ValueError("ret must be 'value' or 'cases'")
    dir_sign = 1 if direction == "inc" else -1
    first = fq if range_start is None else (1 if mu0 is None else 0)
    idx = resolve_range(x.shape[0], first, range_start, range_stop)
    if mu0 is None:
        if idx.size and idx[0] < 1:
            raise ValueError("glrnb needs periods before the range to estimate mu0")
        mu0_arr, alpha_used = (glr_in_control_mean(
            x[: int(idx[0])], idx + 1.0, freq=fq, S=s_harm, trend=bool(mu0_trend), alpha=alpha)
            if idx.size else (np.zeros(0), 0.0 if alpha is None else float(alpha)))
        mu0_param: Any = None
    else:
        if alpha is None:
            raise ValueError("alpha must be given when mu0 is given (0 for Poisson)")
        mu0_arr = np.broadcast_to(np.asarray(mu0, dtype=np.float64), idx.shape).copy()
        alpha_used = float(alpha)
        mu0_param = mu0 if np.ndim(mu0) == 0 else tuple(np.asarray(mu0, float).tolist())
    if alpha_used < 0:
        raise ValueError("alpha must be >= 0")
    if ret == "cases" and alpha_used > 0:
        raise ValueError("ret='cases' is only available for the Poisson chart (alpha = 0)")
    xs = x[idx]
    k = idx.shape[0]
    upper = np.zeros(k)
    stat = np.zeros(k)
    alarm = np.zeros(k, dtype=bool)
    done = 0
    while done < k:
        xr, mr = xs[done:], mu0_arr[done:]
        if alpha_used == 0:
            big_n, val, cases = _pois_chart(xr, mr, c_arl=c, direction=dir_sign,
                                            ret_cases=ret == "cases", mtilde=mt, m_window=mw)
        else:
            big_n, val = _nb_chart(xr, mr, alpha=alpha_used, c_arl=c, direction=dir_sign,
                                   mtilde=mt, m_window=mw)
            cases = val
        shown = val if ret == "value" else cases
        stop = min(big_n, xr.shape[0])
        upper[done: done + stop] = shown[:stop]
        stat[done: done + stop] = val[:stop]
        if big_n <= xr.shape[0]:
            alarm[done + big_n - 1] = True
        done += big_n
    upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper)
    params = {"c_arl": c, "alpha": alpha_used, "alpha_estimated": alpha is None and mu0 is None,
              "mu0": mu0_param, "S": s_harm, "mu0_trend": bool(mu0_trend), "Mtilde": mt,
              "M": mw, "direction": direction, "ret": ret, "change": "intercept", "freq": fq,
              "range_start": int(idx[0]) if idx.size else None,
              "range_stop": int(idx[-1]) + 1 if idx.size else None}
    name = "glrpois" if alpha_used == 0 else "glrnb"
    return DetectionResult.build(
        algorithm=name, version=GLR_VERSION, parameters=params, index=idx, observed=xs,
        threshold=upper, alarm=alarm, columns={"expected": mu0_arr, "statistic": stat},
    )
