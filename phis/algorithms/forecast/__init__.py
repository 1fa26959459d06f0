"""Short-term forecasts of weekly counts and their evaluation (weighted interval score)."""

from phis.algorithms.forecast.nbglm import (
    FORECAST_ALGORITHM,
    FORECAST_VERSION,
    BacktestResult,
    ForecastResult,
    backtest_forecast,
    forecast_counts,
)
from phis.algorithms.forecast.scoring import (
    HUB_QUANTILES,
    interval_score,
    weighted_interval_score,
)

__all__ = [
    "FORECAST_ALGORITHM",
    "FORECAST_VERSION",
    "HUB_QUANTILES",
    "BacktestResult",
    "ForecastResult",
    "backtest_forecast",
    "forecast_counts",
    "interval_score",
    "weighted_interval_score",
]
