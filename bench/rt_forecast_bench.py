"""Benchmark: R_t (Cori / EpiEstim parametric_si) and the weekly NB forecast with backtest.

    .venv/bin/python bench/rt_forecast_bench.py

Prints a Markdown table (merged into docs/benchmarks/scan_rt_forecast.md).
"""

from __future__ import annotations

import time

import numpy as np

from phis.algorithms.epi import estimate_rt
from phis.algorithms.forecast import backtest_forecast, forecast_counts


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    rng = np.random.default_rng(7)
    daily = rng.poisson(20 + 15 * np.sin(np.arange(3650) / 58), 3650)
    t = np.arange(520)
    weekly = rng.negative_binomial(8, 8 / (8 + np.exp(3 + 0.7 * np.sin(2 * np.pi * t / 52.18))))
    forecast_counts(weekly[:100], n_sims=200)  # warm the statsmodels import
    print("| task | size | best of 3 (s) |")
    print("|---|---|---|")
    s = timed(lambda: estimate_rt(daily[:365], mean_si=4.8, std_si=2.3))
    print(f"| R_t, 7-day windows | 1 series × 365 days | {s:.4f} |")
    s = timed(lambda: estimate_rt(daily, mean_si=4.8, std_si=2.3))
    print(f"| R_t, 7-day windows | 1 series × 3650 days | {s:.4f} |")
    s = timed(lambda: [estimate_rt(daily[:365], mean_si=4.8, std_si=2.3) for _ in range(60)], 1)
    print(f"| R_t, 7-day windows | 60 townships × 365 days | {s:.3f} |")
    s = timed(lambda: forecast_counts(weekly, horizon=4))
    print(
        f"| NB forecast, 4 weeks, 4000 simulations | 1 series × 520 weeks (fit on 260) | {s:.3f} |"
    )
    s = timed(lambda: backtest_forecast(weekly, origins=52, horizon=4), 1)
    print(f"| backtest with WIS, 52 origins × 4 horizons | 1 series × 520 weeks | {s:.2f} |")


if __name__ == "__main__":
    main()
