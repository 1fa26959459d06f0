"""Short-term forecasts of weekly counts: negative binomial regression with season and trend.

Model (fitted by maximum likelihood with statsmodels ``NegativeBinomial``, NB2):

    y_t ~ NegBin(mean μ_t, variance μ_t + α μ_t²)
    log μ_t = β0 + β1 t/n + Σ_{k=1..H} (a_k sin(2πkt/P) + b_k cos(2πkt/P))

with ``P = period`` weeks (365.25/7 by default), ``H = harmonics`` Fourier pairs and the linear
trend optional. Only the last ``fit_window`` weeks are used. If the NB fit fails, or
α is estimated at ~0, a Poisson GLM is used (α = 0).

Predictive distribution for 1..``horizon`` weeks ahead: ``n_sims`` draws of the coefficients
from their asymptotic normal distribution (parameter uncertainty), then of the count from the
NB (gamma-Poisson) with that mean; quantiles are the empirical quantiles of the draws
(``inverted_cdf``, so they are whole numbers), the mean is the mean of the simulated μ.
Deterministic for a given ``seed``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from phis.algorithms.forecast.scoring import HUB_QUANTILES, weighted_interval_score

__all__ = [
    "FORECAST_ALGORITHM",
    "FORECAST_VERSION",
    "BacktestResult",
    "ForecastResult",
    "backtest_forecast",
    "forecast_counts",
]

FORECAST_ALGORITHM = "forecast-nb-glm-fourier"
FORECAST_VERSION = "1"
WEEKS_PER_YEAR = 365.25 / 7


@dataclass(frozen=True, slots=True)
class ForecastResult:
    """Forecast for steps ``1..horizon`` after the last observation."""

    horizon: int
    mean: tuple[float, ...]
    quantile_levels: tuple[float, ...]
    #: quantiles[h-1][j] is the quantile at quantile_levels[j] for h steps ahead
    quantiles: tuple[tuple[float, ...], ...]
    family: str  # "negative-binomial" or "poisson" (fallback)
    dispersion: float  # NB2 α (0 for Poisson)
    coefficients: tuple[float, ...]
    n_fit: int
    # every parameter
    harmonics: int
    trend: bool
    period: float
    fit_window: int | None
    n_sims: int
    seed: int
    algorithm: str = FORECAST_ALGORITHM
    version: str = FORECAST_VERSION

    @property
    def parameters(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon, "harmonics": self.harmonics, "trend": self.trend,
            "period": self.period, "fit_window": self.fit_window, "n_sims": self.n_sims,
            "seed": self.seed, "quantile_levels": list(self.quantile_levels),
        }  # fmt: skip

    def quantile(self, level: float) -> tuple[float, ...]:
        j = int(np.flatnonzero(np.isclose(self.quantile_levels, level, atol=1e-9))[0])
        return tuple(q[j] for q in self.quantiles)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Rolling-origin evaluation: one row per (origin, horizon) with an observation."""

    origin: tuple[int, ...]  # index of the last week used for fitting
    target: tuple[int, ...]  # index of the forecast week
    horizon: tuple[int, ...]
    observed: tuple[float, ...]
    mean: tuple[float, ...]
    quantiles: tuple[tuple[float, ...], ...]
    quantile_levels: tuple[float, ...]
    wis: tuple[float, ...]
    covered50: tuple[bool, ...]
    covered95: tuple[bool, ...]
    parameters: tuple[tuple[str, Any], ...]
    algorithm: str = FORECAST_ALGORITHM
    version: str = FORECAST_VERSION

    def mean_wis_by_horizon(self) -> dict[int, float]:
        h = np.asarray(self.horizon)
        w = np.asarray(self.wis)
        return {int(k): float(w[h == k].mean()) for k in np.unique(h)}

    def coverage_by_horizon(self) -> dict[int, tuple[float, float]]:
        h = np.asarray(self.horizon)
        c50 = np.asarray(self.covered50, dtype=float)
        c95 = np.asarray(self.covered95, dtype=float)
        return {int(k): (float(c50[h == k].mean()), float(c95[h == k].mean()))
                for k in np.unique(h)}  # fmt: skip


def _design(t: np.ndarray, n_ref: int, harmonics: int, trend: bool, period: float) -> np.ndarray:
    cols = [np.ones_like(t, dtype=np.float64)]
    if trend:
        cols.append(t / max(n_ref, 1))
    for k in range(1, harmonics + 1):
        cols.append(np.sin(2 * np.pi * k * t / period))
        cols.append(np.cos(2 * np.pi * k * t / period))
    return np.column_stack(cols)


def _fit(y: np.ndarray, x: np.ndarray) -> tuple[str, np.ndarray, np.ndarray, float]:
    """→ (family, beta, cov(beta), alpha)."""
    # narrow imports: statsmodels.api pulls in far more than needed
    from statsmodels.discrete.discrete_model import NegativeBinomial
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pois = GLM(y, x, family=families.Poisson()).fit()
        mu = np.asarray(pois.fittedvalues)
        alpha0 = max(float(np.sum((y - mu) ** 2 - y) / np.sum(mu**2)), 0.01)
        ok = False
        for method in ("newton", "bfgs"):
            try:
                nb = NegativeBinomial(y, x, loglike_method="nb2").fit(
                    start_params=np.append(pois.params, alpha0), disp=0, maxiter=200,
                    method=method,
                )  # fmt: skip
                alpha = float(nb.params[-1])
                cov = np.asarray(nb.cov_params())[:-1, :-1]
                ok = bool(
                    nb.mle_retvals.get("converged", False)
                    and np.all(np.isfinite(nb.params))
                    and alpha > 1e-8
                    and np.all(np.isfinite(cov))
                    and np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > -1e-10)
                )
            except (np.linalg.LinAlgError, ValueError):
                ok = False
            if ok:
                return "negative-binomial", np.asarray(nb.params[:-1]), cov, alpha
    return "poisson", np.asarray(pois.params), np.asarray(pois.cov_params()), 0.0


def forecast_counts(
    counts: Sequence[float] | np.ndarray,
    *,
    horizon: int = 4,
    harmonics: int = 2,
    trend: bool = True,
    period: float = WEEKS_PER_YEAR,
    fit_window: int | None = 260,
    n_sims: int = 4000,
    seed: int = 1,
    quantile_levels: Sequence[float] = HUB_QUANTILES,
) -> ForecastResult:
    """Forecast the next ``horizon`` weekly counts after ``counts`` (oldest first)."""
    y_all = np.asarray(counts, dtype=np.float64)
    if y_all.ndim != 1 or not np.all(np.isfinite(y_all)) or np.any(y_all < 0):
        raise ValueError("counts must be non-negative numbers without gaps")
    if int(horizon) != horizon or horizon < 1:
        raise ValueError("horizon must be a positive whole number of weeks")
    if int(harmonics) != harmonics or harmonics < 0:
        raise ValueError("harmonics must be a non-negative whole number")
    if not period > 0:
        raise ValueError("period must be > 0")
    if fit_window is not None and (int(fit_window) != fit_window or fit_window < 1):
        raise ValueError("fit_window must be a positive whole number of weeks")
    if int(n_sims) != n_sims or n_sims < 100:
        raise ValueError("n_sims must be at least 100")
    levels = tuple(float(v) for v in quantile_levels)
    if any(not 0 < v < 1 for v in levels) or list(levels) != sorted(set(levels)):
        raise ValueError("quantile_levels must be increasing and inside (0, 1)")
    y = y_all[-fit_window:] if fit_window is not None else y_all
    n = y.size
    n_par = 1 + int(trend) + 2 * harmonics
    if n < max(3 * n_par, 8):
        raise ValueError(
            f"need at least {max(3 * n_par, 8)} weeks to fit {n_par} coefficients, got {n}"
        )
    t = np.arange(n, dtype=np.float64)
    x = _design(t, n, harmonics, trend, period)
    if y.sum() == 0:
        zeros = tuple(tuple(0.0 for _ in levels) for _ in range(horizon))
        return ForecastResult(
            horizon, (0.0,) * horizon, levels, zeros, "poisson", 0.0, (), n, harmonics,
            bool(trend), float(period), fit_window, int(n_sims), int(seed),
        )  # fmt: skip
    family, beta, cov, alpha = _fit(y, x)
    x_new = _design(np.arange(n, n + horizon, dtype=np.float64), n, harmonics, trend, period)
    rng = np.random.default_rng(seed)
    betas = rng.multivariate_normal(beta, (cov + cov.T) / 2, size=n_sims, method="eigh")
    eta = np.clip(betas @ x_new.T, -50, 50)  # (n_sims, horizon)
    mu = np.exp(eta)
    lam = rng.gamma(shape=1.0 / alpha, scale=alpha * mu) if alpha > 0 else mu
    draws = rng.poisson(lam)
    qs = np.quantile(draws, levels, axis=0, method="inverted_cdf").T  # (horizon, levels)
    return ForecastResult(
        horizon=int(horizon),
        mean=tuple(float(v) for v in mu.mean(axis=0)),
        quantile_levels=levels,
        quantiles=tuple(tuple(float(v) for v in row) for row in qs),
        family=family,
        dispersion=float(alpha),
        coefficients=tuple(float(v) for v in beta),
        n_fit=int(n),
        harmonics=int(harmonics),
        trend=bool(trend),
        period=float(period),
        fit_window=fit_window,
        n_sims=int(n_sims),
        seed=int(seed),
    )


def backtest_forecast(
    counts: Sequence[float] | np.ndarray,
    *,
    origins: int = 52,
    horizon: int = 4,
    **kwargs: Any,
) -> BacktestResult:
    """Refit at each of the last ``origins`` weeks and score the forecasts made there.

    The forecast from origin ``o`` (data up to and including week ``o``) for ``o + h`` is
    scored with the weighted interval score when week ``o + h`` is observed. Origins run
    over the weeks ``n - origins - 1 ... n - 2`` so that every origin has at least one target.
    """
    y = np.asarray(counts, dtype=np.float64)
    if int(origins) != origins or origins < 1:
        raise ValueError("origins must be a positive whole number")
    n = y.size
    first = n - 1 - int(origins)
    if first < 1:
        raise ValueError(f"series of {n} weeks is too short for {origins} backtest origins")
    keys = ("origin", "target", "horizon", "observed", "mean", "quantiles", "wis", "c50", "c95")
    rows: dict[str, list[Any]] = {k: [] for k in keys}
    levels: tuple[float, ...] = ()
    params: dict[str, Any] = {}
    for o in range(first, n - 1):
        fc = forecast_counts(y[: o + 1], horizon=horizon, **kwargs)
        levels = fc.quantile_levels
        params = fc.parameters
        lv = np.asarray(levels)
        for h in range(1, horizon + 1):
            target = o + h
            if target >= n:
                break
            q = np.asarray(fc.quantiles[h - 1])
            obs = float(y[target])
            rows["origin"].append(o)
            rows["target"].append(target)
            rows["horizon"].append(h)
            rows["observed"].append(obs)
            rows["mean"].append(fc.mean[h - 1])
            rows["quantiles"].append(tuple(float(v) for v in q))
            rows["wis"].append(weighted_interval_score(obs, levels, q))
            rows["c50"].append(bool(_between(obs, lv, q, 0.25, 0.75)))
            rows["c95"].append(bool(_between(obs, lv, q, 0.025, 0.975)))
    params = {**params, "origins": int(origins)}
    return BacktestResult(
        origin=tuple(rows["origin"]),
        target=tuple(rows["target"]),
        horizon=tuple(rows["horizon"]),
        observed=tuple(rows["observed"]),
        mean=tuple(rows["mean"]),
        quantiles=tuple(rows["quantiles"]),
        quantile_levels=levels,
        wis=tuple(rows["wis"]),
        covered50=tuple(rows["c50"]),
        covered95=tuple(rows["c95"]),
        parameters=tuple(
            sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in params.items())
        ),
    )


def _between(y: float, lv: np.ndarray, q: np.ndarray, lo: float, hi: float) -> bool:
    i = np.flatnonzero(np.isclose(lv, lo, atol=1e-9))
    j = np.flatnonzero(np.isclose(lv, hi, atol=1e-9))
    if i.size == 0 or j.size == 0:
        return False
    return bool(q[i[0]] <= y <= q[j[0]])
