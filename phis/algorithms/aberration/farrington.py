"""Farrington flexible (Farrington et al. 1996; Noufaily et al. 2013) as R ``farringtonFlexible``.

Semantics follow R ``surveillance`` 1.20.3 (``farringtonFlexible`` with ``epochAsDate = FALSE``,
reference periods taken by index: ``t - freq·j``):

1. Reference data for period t: the ``b`` windows ``t - j·freq ± w``; with ``noPeriods > 1``
   every period from the oldest window on, with a seasonal factor of ``noPeriods`` levels
   (R ``blocks``); the periods ``t - pastWeeksNotIncluded … t`` are left out.
2. Quasi-Poisson GLM, log link, ``response ~ 1 + wtime (+ seasgroups) (+ offset)``; if it does
   not converge it is refitted without the trend, and if that fails there is no result.
3. ``phi = max(1, dispersion)``; reweighting with Anscombe residuals
   ``s_i = 3/2 (y_i^{2/3} mu_i^{-1/6} - mu_i^{1/2}) / sqrt(phi (1 - h_ii))`` and
   ``omega_i = gamma s_i^{-2}`` if ``s_i > weightsThreshold`` else ``gamma``, then refit.
4. The trend is kept if its p-value < ``pThresholdTrend``, ``b >= 3`` and the prediction does
   not exceed the largest reference count; otherwise everything is refitted without trend.
5. Threshold: ``delta`` (2/3-power transform, ``U = (mu0^{2/3} + z se)^{3/2}`` with
   ``se = sqrt(4/9 mu0^{1/3} (phi + Var(mu0)/mu0))``, ``z = qnorm(1 - alpha)``) or the
   negative binomial quantile (``nbPlugin``, ``muan``).
6. ``limit54 = (c, d)``: with fewer than ``c`` cases in the last ``d`` periods there is no
   bound and no alarm; alarm if the score ``(y - mu0)/(U - mu0) > 1`` and ``y > 0``.

R quirks kept on purpose (so that thresholds and alarms match): the prediction standard error
and the trend test use the *unfloored* dispersion of ``summary.glm``; with ``nbPlugin``/``muan``
the ``score`` is computed from the linear predictor ``eta0`` rather than ``mu0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from phis.algorithms.aberration._common import (
    as_counts,
    blas_single_thread,
    check_int,
    check_probability,
    history_window,
)
from phis.algorithms.aberration._dist import (
    pnbinom_upper,
    pnorm_upper,
    ppois_upper,
    pt,
    qnbinom,
    qnorm,
    qpois,
)
from phis.algorithms.aberration._glm import (
    DBL_EPSILON,
    glm_poisson_batch,
    hat_values,
    product_basis,
)
from phis.algorithms.aberration.result import DetectionResult

__all__ = [
    "FARRINGTON_DEFAULTS",
    "FARRINGTON_VERSION",
    "NOUFAILY_DEFAULTS",
    "farrington_design",
    "farrington_first_index",
    "farrington_flexible",
    "farrington_flexible_batch",
    "farrington_noufaily",
]

FARRINGTON_VERSION = "1.0"

#: farringtonFlexible defaults (R surveillance 1.20.3).
FARRINGTON_DEFAULTS: dict[str, Any] = {
    "freq": 52,
    "b": 5,
    "w": 3,
    "reweight": True,
    "weights_threshold": 2.58,
    "alpha": 0.05,
    "trend": True,
    "p_threshold_trend": 0.05,
    "limit54": (5, 4),
    "powertrans": "2/3",
    "population_offset": False,
    "no_periods": 1,
    "past_weeks_not_included": None,
    "threshold_method": "delta",
}

#: Noufaily et al. (2013) recommended settings on top of the defaults.
NOUFAILY_DEFAULTS: dict[str, Any] = {
    **FARRINGTON_DEFAULTS,
    "no_periods": 10,
    "past_weeks_not_included": 26,
    "weights_threshold": 2.58,
    "threshold_method": "nbPlugin",
}

_POWERS = {"2/3": 2.0 / 3.0, "1/2": 0.5, "none": 1.0}


def farrington_first_index(*, freq: int = 52, b: int = 5, w: int = 3) -> int:
    """0-based first period evaluated by default (R: ``freq*b + w + 1``, 1-based)."""
    return freq * b + w


def farrington_design(*, freq: int, b: int, w: int, no_periods: int,
                      past_weeks_not_included: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference periods relative to t (negative offsets, oldest first) and their factor level.

    Literal transcription of R's ``blocks()`` with the current period at relative index 0.
    """
    p = no_periods
    length = freq * b + w + 1
    origin = length - 1  # position of "now"
    factors = np.full(length, np.nan)
    factors[origin - w: origin + 1] = p
    ref_weeks = [origin - i * freq for i in range(b + 1)]
    for i in range(1, b + 1):
        ref = ref_weeks[i]
        factors[ref - w: ref + w + 1] = p
        if p != 1:
            period = ref_weeks[i - 1] - 2 * w - 1 - ref
            if period < p - (2 * w + 1):
                raise ValueError("Number of factors too big! (noPeriods too large for freq, w)")
            length_blocks = period // (p - 1)
            rest = period % (p - 1)
            sizes = [length_blocks + (1 if j < rest else 0) for j in range(p - 1)]
            cum = np.concatenate([[0], np.cumsum(sizes)])
            for j in range(1, p):
                lo = ref + w + 1 + int(cum[j - 1])
                hi = ref + w + 1 + int(cum[j]) - 1
                # R: x[lo:hi] with lo > hi assigns to both (descending sequence)
                if lo <= hi:
                    factors[lo: hi + 1] = j
                else:
                    factors[[lo, hi]] = j
    excl_from = origin - past_weeks_not_included
    factors[max(excl_from, 0): origin + 1] = np.nan
    keep = np.flatnonzero(~np.isnan(factors))
    return keep - origin, factors[keep].astype(np.int64)


def _threshold_delta(mu0, se_resp, phi, power, z, y):
    exponent = _POWERS[power]
    with np.errstate(all="ignore"):
        tau = phi + se_resp * se_resp / mu0
        if power == "none":
            se = np.sqrt(mu0 * tau)
        elif power == "1/2":
            se = np.sqrt(0.25 * tau)
        else:
            se = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
        base = mu0 ** exponent
        hi = (base + z * se) ** (1.0 / exponent)
        lo = (base - z * se) ** (1.0 / exponent)
        upper = np.fmax(hi, lo)  # R: sort(..., na.last = FALSE)[2]
        prob = pnorm_upper(y ** exponent, base, se)
        score = np.where(np.isnan(upper), np.nan, (y - mu0) / (upper - mu0))
    return upper, score, prob


def _threshold_nb(eta0, se_link, phi, method, alpha, y):
    with np.errstate(all="ignore"):
        mq = np.exp(eta0) if method == "nbPlugin" else np.exp(qnorm(1 - alpha, eta0, se_link))
        finite = np.isfinite(mq)
        upper = np.full(eta0.shape, np.nan)
        prob = np.full(eta0.shape, np.nan)
        nb = finite & (phi > 1)
        po = finite & ~(phi > 1)
        if nb.any():
            size = mq[nb] / (phi[nb] - 1)
            pr = 1.0 / phi[nb]
            upper[nb] = qnbinom(1 - alpha, size, pr)
            prob[nb] = pnbinom_upper(y[nb], size, pr)
        if po.any():
            upper[po] = qpois(1 - alpha, mq[po])
            prob[po] = ppois_upper(y[po], mq[po])
        score = np.where(np.isnan(upper), np.nan, (y - eta0) / (upper - eta0))
    return upper, score, prob, np.exp(eta0)


class _Design:
    def __init__(self, offsets, levels, no_periods, with_trend, time_scale):
        self.offsets = offsets
        cols = [np.ones(offsets.shape[0])]
        x0 = [1.0]
        if with_trend:
            cols.append(offsets / time_scale)
            x0.append(0.0)
        if no_periods != 1:
            present = np.unique(levels)
            for lev in present[1:]:
                cols.append((levels == lev).astype(np.float64))
                x0.append(1.0 if lev == no_periods else 0.0)
        self.x = np.column_stack(cols)
        self.x0 = np.array(x0)
        self.basis = product_basis(self.x)
        self.with_trend = with_trend


class _Fit:
    """Result of R's ``algo.farrington.fitGLM.flexible`` for a batch of rows."""

    def __init__(self, design: _Design, glm, phi, ok):
        self.design = design
        self.glm = glm
        self.phi = phi
        self.ok = ok


def _fit_flexible(design: _Design, y, off, reweight, weights_threshold):
    """Fit, reweight and refit (R ``algo.farrington.fitGLM.flexible`` without the fallback)."""
    glm = glm_poisson_batch(design.x, y, offset=off, basis=design.basis)
    ok = glm.converged.copy()
    phi = np.maximum(glm.dispersion, 1.0)
    if reweight:
        h = hat_values(glm, design.x)
        mu = glm.mu
        with np.errstate(all="ignore"):
            s = 1.5 * (y ** (2.0 / 3.0) * mu ** (-1.0 / 6.0) - np.sqrt(mu))
            s = s / np.sqrt(phi[:, None] * (1.0 - h))
            big = s > weights_threshold
            inv2 = s ** -2.0
            gamma = y.shape[1] / np.where(big, inv2, 1.0).sum(axis=1)
            omega = np.where(big, gamma[:, None] * inv2, gamma[:, None])
        glm = glm_poisson_batch(design.x, y, prior_weights=omega, offset=off,
                                basis=design.basis)
        phi = np.maximum(glm.dispersion, 1.0)
        # R quirk: fitGLM.flexible overwrites model$weights (the working weights) with the
        # prior weights omega, so every later summary.glm()/predict.glm() call (trend test,
        # prediction standard error) uses sum(omega * ((y - mu)/mu)^2) / df as dispersion.
        with np.errstate(all="ignore"):
            resid = (y - glm.mu) / glm.mu
            if glm.df_residual > 0:
                glm.dispersion = (omega * resid * resid).sum(axis=1) / glm.df_residual
    return _Fit(design, glm, phi, ok)


def _predict(fit: _Fit, off0):
    g = fit.glm
    eta0 = g.beta @ fit.design.x0 + off0
    var_unscaled = np.einsum("p,kpq,q->k", fit.design.x0, g.cov_unscaled, fit.design.x0)
    with np.errstate(invalid="ignore"):
        se_link = np.sqrt(var_unscaled * g.dispersion)
    return eta0, se_link


def _farrington_rows(y_ref, y_now, sum_recent, off_ref, off_now, *, design_trend,
                     design_flat, params) -> dict[str, np.ndarray]:
    """Run the whole method for K rows (one row = one series at one period)."""
    reweight = params["reweight"]
    wt = params["weights_threshold"]
    k_rows = y_ref.shape[0]

    def run(design, rows):
        fit = _fit_flexible(design, y_ref[rows], None if off_ref is None else off_ref[rows],
                            reweight, wt)
        eta0, se_link = _predict(fit, 0.0 if off_now is None else off_now[rows])
        return fit, eta0, se_link

    eta0 = np.full(k_rows, np.nan)
    se_link = np.full(k_rows, np.nan)
    phi = np.full(k_rows, np.nan)
    trend_coef = np.full(k_rows, np.nan)
    valid = np.zeros(k_rows, dtype=bool)
    all_rows = np.arange(k_rows)
    flat_rows = all_rows
    if params["trend"]:
        fit_t, e_t, s_t = run(design_trend, all_rows)
        conv = fit_t.ok
        g = fit_t.glm
        with np.errstate(all="ignore"):
            mu0_t = np.maximum(np.exp(e_t), DBL_EPSILON)
            b_t = g.beta[:, 1]
            se_bt = np.sqrt(g.cov_unscaled[:, 1, 1] * g.dispersion)
            tval = b_t / se_bt
            pval = 2 * pt(-np.abs(tval), g.df_residual) if g.df_residual > 0 else (
                np.full(k_rows, np.nan))
            significant = pval < params["p_threshold_trend"]
            no_extrap = mu0_t <= y_ref.max(axis=1)
        keep = conv & significant & (params["b"] >= 3) & no_extrap
        eta0[keep], se_link[keep] = e_t[keep], s_t[keep]
        phi[keep] = fit_t.phi[keep]
        trend_coef[keep] = b_t[keep] / params["time_scale"]
        valid[keep] = True
        flat_rows = all_rows[~keep]
    if flat_rows.size:
        fit_f, e_f, s_f = run(design_flat, flat_rows)
        ok = fit_f.ok
        r = flat_rows[ok]
        eta0[r], se_link[r] = e_f[ok], s_f[ok]
        phi[r] = fit_f.phi[ok]
        valid[r] = True
    return {"eta0": eta0, "se_link": se_link, "phi": phi, "trend": trend_coef, "valid": valid}


def _resolve(params_in: dict[str, Any]) -> dict[str, Any]:
    p = dict(params_in)
    p["freq"] = check_int(p["freq"], "freq", minimum=1)
    p["b"] = check_int(p["b"], "b", minimum=1)
    p["w"] = check_int(p["w"], "w", minimum=0)
    p["no_periods"] = check_int(p["no_periods"], "no_periods", minimum=1)
    if p["past_weeks_not_included"] is None:
        p["past_weeks_not_included"] = p["w"]
    p["past_weeks_not_included"] = check_int(p["past_weeks_not_included"],
                                             "past_weeks_not_included", minimum=0)
    p["alpha"] = check_probability(p["alpha"], "alpha")
    p["p_threshold_trend"] = float(p["p_threshold_trend"])
    p["weights_threshold"] = float(p["weights_threshold"])
    p["reweight"] = bool(p["reweight"])
    p["trend"] = bool(p["trend"])
    p["population_offset"] = bool(p["population_offset"])
    lim = tuple(p["limit54"])
    if len(lim) != 2 or not (lim[0] >= 0 and lim[1] > 0):
        raise ValueError("The limit54 arguments are out of bounds: cases >= 0 and period > 0.")
    p["limit54"] = (float(lim[0]), check_int(lim[1], "limit54[2]", minimum=1))
    if p["powertrans"] not in _POWERS:
        raise ValueError("powertrans must be one of '2/3', '1/2', 'none'")
    if p["threshold_method"] not in ("delta", "nbPlugin", "muan"):
        raise ValueError("thresholdMethod must be 'delta', 'nbPlugin' or 'muan'")
    if p["freq"] <= 2 * p["w"] + 1 and p["b"] > 1:
        raise ValueError("freq must be larger than the window 2w+1")
    return p


def _run_matrix(x: np.ndarray, idx: np.ndarray, pop: np.ndarray | None, p: dict[str, Any],
                chunk_cells: int = 4_000_000) -> dict[str, np.ndarray]:
    """Evaluate all series of ``x`` (S, n) at the periods ``idx``; arrays (S, K)."""
    offsets, levels = farrington_design(
        freq=p["freq"], b=p["b"], w=p["w"], no_periods=p["no_periods"],
        past_weeks_not_included=p["past_weeks_not_included"])
    time_scale = float(max(p["freq"], 1))
    d_trend = _Design(offsets, levels, p["no_periods"], True, time_scale)
    d_flat = _Design(offsets, levels, p["no_periods"], False, time_scale)
    run_params = {**p, "time_scale": time_scale}
    n_series = x.shape[0]
    k = idx.shape[0]
    rows_s = np.repeat(np.arange(n_series), k)
    rows_t = np.tile(idx, n_series)
    n_ref = offsets.shape[0]
    chunk = max(1, chunk_cells // max(n_ref * d_trend.x.shape[1], 1))
    total = rows_s.shape[0]
    out = {name: np.full(total, np.nan) for name in ("eta0", "se_link", "phi", "trend")}
    out["valid"] = np.zeros(total, dtype=bool)
    lim_cases, lim_periods = p["limit54"]
    csum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(x, axis=1)], axis=1)
    for start in range(0, total, chunk):
        sl = slice(start, min(start + chunk, total))
        s_i, t_i = rows_s[sl], rows_t[sl]
        cols = t_i[:, None] + offsets[None, :]
        y_ref = x[s_i[:, None], cols]
        off_ref = off_now = None
        if p["population_offset"]:
            if pop is None:
                raise ValueError("populationOffset=TRUE needs a population")
            off_ref = np.log(pop[s_i[:, None], cols])
            off_now = np.log(pop[s_i, t_i])
        zero = ~y_ref.any(axis=1) if off_ref is None else np.zeros(y_ref.shape[0], bool)
        if zero.sum() > 1:
            # The fit depends only on the reference counts: all-zero reference vectors (common
            # in sparse daily series) are fitted once. Same numbers, less work.
            keep = np.flatnonzero(~zero)
            rows = np.concatenate([keep, np.flatnonzero(zero)[:1]])
            part = _farrington_rows(y_ref[rows], None, None, None, None,
                                    design_trend=d_trend, design_flat=d_flat,
                                    params=run_params)
            expand = np.full(y_ref.shape[0], keep.size, dtype=np.int64)
            expand[keep] = np.arange(keep.size)
            res = {name: values[expand] for name, values in part.items()}
        else:
            res = _farrington_rows(y_ref, None, None, off_ref, off_now, design_trend=d_trend,
                                   design_flat=d_flat, params=run_params)
        for name, values in res.items():
            out[name][sl] = values
    y_now = x[rows_s, rows_t]
    recent = csum[rows_s, rows_t + 1] - csum[rows_s, np.maximum(rows_t + 1 - lim_periods, 0)]
    enough = recent >= lim_cases
    valid = out["valid"]
    alpha = p["alpha"]
    if p["threshold_method"] == "delta":
        mu0 = np.maximum(np.exp(out["eta0"]), DBL_EPSILON)
        se_resp = out["se_link"] * mu0
        z = float(qnorm(1 - alpha))
        upper, score, prob = _threshold_delta(mu0, se_resp, out["phi"], p["powertrans"], z,
                                              y_now)
        expected = mu0
    else:
        upper, score, prob, expected = _threshold_nb(out["eta0"], out["se_link"], out["phi"],
                                                     p["threshold_method"], alpha, y_now)
    with np.errstate(invalid="ignore"):
        alarm = valid & enough & ~np.isnan(score) & (score > 1) & (y_now != 0)
    threshold = np.where(valid & enough, upper, np.nan)
    expected = np.where(valid & enough & ~np.isnan(upper), expected, np.nan)
    shape = (n_series, k)
    return {
        "observed": y_now.reshape(shape),
        "threshold": threshold.reshape(shape),
        "alarm": alarm.reshape(shape),
        "alarm_defined": valid.reshape(shape),
        "expected": expected.reshape(shape),
        "score": np.where(valid, score, np.nan).reshape(shape),
        "pvalue": np.where(valid, prob, np.nan).reshape(shape),
        "phi": out["phi"].reshape(shape),
        "trend": out["trend"].reshape(shape),
    }


def _call(counts, population, range_start, range_stop, params, *, batch: bool, name: str):
    if not batch:
        counts = as_counts(counts)
    elif np.asarray(counts).ndim != 2:
        raise ValueError("counts must be two-dimensional (series x periods)")
    p = _resolve(params)
    first = farrington_first_index(freq=p["freq"], b=p["b"], w=p["w"])
    lookback = max(first, p["limit54"][1] - 1)
    x, idx, local, lo = history_window(counts, first, range_start, range_stop, lookback)
    pop = None
    if population is not None:
        pop = np.array(population, dtype=np.float64)
        if pop.ndim == 1:
            pop = pop[None, :]
        if pop.shape != np.asarray(counts).reshape(x.shape[0], -1).shape:
            raise ValueError("population must have the same shape as counts")
        pop = pop[:, lo: lo + x.shape[1]]
        if not np.all(pop > 0):
            raise ValueError("population must be positive")
    with blas_single_thread():
        res = _run_matrix(x, local, pop, p)
    sel = (slice(None),) if batch else (0,)
    p_out = dict(p)
    p_out["limit54"] = (p["limit54"][0], p["limit54"][1])
    p_out["range_start"] = int(idx[0]) if idx.size else None
    p_out["range_stop"] = int(idx[-1]) + 1 if idx.size else None
    return DetectionResult.build(
        algorithm=name, version=FARRINGTON_VERSION, parameters=p_out, index=idx,
        observed=res["observed"][sel], threshold=res["threshold"][sel],
        alarm=res["alarm"][sel], alarm_defined=res["alarm_defined"][sel],
        columns={k: res[k][sel] for k in ("expected", "score", "pvalue", "phi", "trend")},
    )


def farrington_flexible(
    counts,
    *,
    freq: int = 52,
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    alpha: float = 0.05,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    limit54: tuple[float, int] = (5, 4),
    powertrans: str = "2/3",
    population_offset: bool = False,
    no_periods: int = 1,
    past_weeks_not_included: int | None = None,
    threshold_method: str = "delta",
    population=None,
    range_start: int | None = None,
    range_stop: int | None = None,
) -> DetectionResult:
    """R ``farringtonFlexible`` on one series; defaults are R's (1.20.3).

    Columns: ``expected`` (R ``control$expected``), ``score`` (exceedance score),
    ``pvalue`` (R ``control$pvalue``), ``phi`` (overdispersion), ``trend`` (slope per period
    when the trend was kept, else NaN).
    """
    params = {
        "freq": freq, "b": b, "w": w, "reweight": reweight,
        "weights_threshold": weights_threshold, "alpha": alpha, "trend": trend,
        "p_threshold_trend": p_threshold_trend, "limit54": limit54, "powertrans": powertrans,
        "population_offset": population_offset, "no_periods": no_periods,
        "past_weeks_not_included": past_weeks_not_included,
        "threshold_method": threshold_method,
    }
    name = "farrington-noufaily" if _is_noufaily(params) else "farrington"
    return _call(counts, population, range_start, range_stop, params, batch=False, name=name)


def _is_noufaily(params: dict[str, Any]) -> bool:
    return params["no_periods"] != 1 or params["threshold_method"] != "delta"


def farrington_noufaily(counts, **kwargs: Any) -> DetectionResult:
    """:func:`farrington_flexible` with Noufaily et al. (2013) defaults
    (``no_periods=10``, ``past_weeks_not_included=26``, ``threshold_method='nbPlugin'``)."""
    params = dict(NOUFAILY_DEFAULTS.items())
    params.update(kwargs)
    return farrington_flexible(counts, **params)


def farrington_flexible_batch(counts, *, population=None, range_start: int | None = None,
                              range_stop: int | None = None, **kwargs: Any) -> DetectionResult:
    """Farrington over ``(n_series, n_periods)`` counts sharing one parameter set."""
    unknown = set(kwargs) - set(FARRINGTON_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown parameters: {sorted(unknown)}")
    params = {**FARRINGTON_DEFAULTS, **kwargs}
    name = "farrington-noufaily" if _is_noufaily(params) else "farrington"
    return _call(counts, population, range_start, range_stop, params, batch=True, name=name)

