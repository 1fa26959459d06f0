"""``phis forecast``: 1–4 week forecasts of weekly counts with prediction intervals.

    phis forecast --input series.csv --output fc.csv [--param horizon=4] [--param harmonics=2]
        [--param trend=true] [--param fit_window=260] [--param period=52.18]
        [--param n_sims=4000] [--param seed=1]
        [--backtest bt.csv] [--param backtest_origins=52]

Input: ``date,count`` with one row per consecutive week (date = first day of the week).
Output (one row per horizon):

    origin_date,target_date,horizon,mean,q01,q025,q05,q10,q15,...,q50,...,q90,q95,q975,q99

(``qNN`` = quantile at NN %: q025 = 2.5 %, q975 = 97.5 %). With ``--backtest PATH`` also a
rolling-origin backtest over the last ``backtest_origins`` weeks is written to PATH:

    origin_date,target_date,horizon,observed,mean,q025,q25,q50,q75,q975,wis,in50,in95

and the mean weighted interval score (Bracher et al. 2021) per horizon is printed on stderr.
No database, no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from phis.algorithms.forecast import FORECAST_ALGORITHM, FORECAST_VERSION
from phis.algorithms.forecast.nbglm import WEEKS_PER_YEAR, backtest_forecast, forecast_counts
from phis.cli._series_io import (
    ParamError,
    SeriesFormatError,
    parse_bool,
    parse_params,
    read_series_csv,
    write_csv_atomic,
)

INT_PARAMS = {"horizon": 4, "harmonics": 2, "fit_window": 260, "n_sims": 4000, "seed": 1,
              "backtest_origins": 52}  # fmt: skip
FLOAT_PARAMS = {"period": WEEKS_PER_YEAR}
BOOL_PARAMS = {"trend": True}


def level_name(level: float) -> str:
    """0.025 → 'q025', 0.1 → 'q10', 0.5 → 'q50', 0.975 → 'q975'."""
    whole, _, frac = f"{level * 100:.4f}".rstrip("0").partition(".")
    return "q" + whole.zfill(2) + frac


def _parse(items: list[str]) -> dict[str, object]:
    raw = parse_params(items)
    known = {*INT_PARAMS, *FLOAT_PARAMS, *BOOL_PARAMS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ParamError(
            f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    out: dict[str, object] = {**INT_PARAMS, **FLOAT_PARAMS, **BOOL_PARAMS}
    for name, text in raw.items():
        if name in INT_PARAMS:
            if name == "fit_window" and text.lower() in {"all", "none"}:
                out[name] = None
                continue
            try:
                out[name] = int(text)
            except ValueError:
                raise ParamError(f"{name} must be a whole number, got {text!r}") from None
        elif name in FLOAT_PARAMS:
            try:
                out[name] = float(text)
            except ValueError:
                raise ParamError(f"{name} must be a number, got {text!r}") from None
        else:
            out[name] = parse_bool(text)
    for name in ("horizon", "n_sims", "backtest_origins"):
        if int(out[name]) < 1:  # type: ignore[call-overload]
            raise ParamError(f"{name} must be at least 1")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="phis forecast",
        description="Forecast weekly counts 1..horizon weeks ahead (negative binomial "
        "regression with Fourier seasonality and trend) with prediction quantiles.",
    )
    parser.add_argument("--input", required=True, help="CSV with columns date,count (weekly)")
    parser.add_argument("--output", required=True, help="forecast CSV ('-' for stdout)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--backtest", metavar="PATH", default=None,
                        help="also write a rolling-origin backtest with WIS to PATH")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        params = _parse(args.param)
    except ParamError as exc:
        print(f"phis forecast: {exc}", file=sys.stderr)
        return 2
    try:
        series = read_series_csv(args.input, allow_population=False)
    except SeriesFormatError as exc:
        print(f"phis forecast: {exc}", file=sys.stderr)
        return 2
    if series.frequency != "weekly" and len(series) > 1:
        print(f"phis forecast: {args.input}: needs weekly counts (one row per week, dates 7 days "
              "apart); this file is daily", file=sys.stderr)  # fmt: skip
        return 2
    model = {k: params[k] for k in ("harmonics", "trend", "period", "fit_window", "n_sims",
                                     "seed")}  # fmt: skip
    try:
        fc = forecast_counts(series.counts, horizon=params["horizon"], **model)  # type: ignore[arg-type]
        bt = (
            backtest_forecast(series.counts, origins=params["backtest_origins"],  # type: ignore[arg-type]
                              horizon=params["horizon"], **model)  # type: ignore[arg-type]
            if args.backtest else None
        )  # fmt: skip
    except ValueError as exc:
        print(f"phis forecast: {args.input}: {exc}", file=sys.stderr)
        return 2

    last = series.dates[-1]
    week = dt.timedelta(days=7)
    header = ["origin_date", "target_date", "horizon", "mean",
              *(level_name(v) for v in fc.quantile_levels)]  # fmt: skip
    rows = [
        [last, last + h * week, h, fc.mean[h - 1], *fc.quantiles[h - 1]]
        for h in range(1, fc.horizon + 1)
    ]
    bt_rows = []
    if bt is not None:
        lv = list(bt.quantile_levels)
        pick = [lv.index(v) for v in (0.025, 0.25, 0.5, 0.75, 0.975)]
        for i in range(len(bt.wis)):
            q = bt.quantiles[i]
            bt_rows.append([
                series.dates[bt.origin[i]], series.dates[bt.target[i]], bt.horizon[i],
                bt.observed[i], bt.mean[i], *(q[j] for j in pick), bt.wis[i],
                bt.covered50[i], bt.covered95[i],
            ])  # fmt: skip
    try:
        if bt is not None:
            write_csv_atomic(args.backtest, ["origin_date", "target_date", "horizon",
                             "observed", "mean", "q025", "q25", "q50", "q75", "q975", "wis",
                             "in50", "in95"], bt_rows)  # fmt: skip
        write_csv_atomic(args.output, header, rows)
    except OSError as exc:
        print(f"phis forecast: cannot write output: {exc}", file=sys.stderr)
        return 1
    msg = (f"phis forecast: {FORECAST_ALGORITHM}/{FORECAST_VERSION} {fc.family} "
           f"(alpha={fc.dispersion:.4g}) fitted on {fc.n_fit} weeks; {fc.horizon} weeks "
           f"written to {args.output}")  # fmt: skip
    print(msg, file=sys.stderr)
    if bt is not None:
        wis = bt.mean_wis_by_horizon()
        cov = bt.coverage_by_horizon()
        for h in sorted(wis):
            print(f"  backtest horizon {h}: mean WIS {wis[h]:.4g}, 50% coverage "
                  f"{cov[h][0]:.2f}, 95% coverage {cov[h][1]:.2f}", file=sys.stderr)  # fmt: skip
    return 0
