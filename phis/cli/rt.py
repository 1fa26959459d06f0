"""``phis rt``: instantaneous reproduction number R_t (Cori et al. 2013, EpiEstim parametric_si).

    phis rt --input series.csv --output rt.csv --param mean_si=2.6 --param std_si=1.5 \
            [--param window=7] [--param mean_prior=5] [--param std_prior=5]

Input: ``date,count`` with one row per consecutive day (missing days written as 0).
Output: one row per sliding window with the columns

    t_start,t_end,date_start,date_end,mean,sd,q025,q05,q25,q50,q75,q95,q975

(``t_*`` 1-based day numbers as in EpiEstim; quantiles of the gamma posterior; statistics
empty where EpiEstim gives NA, i.e. windows ending on or before the mean serial interval).
No database, no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from phis.algorithms.epi.rt import RT_ALGORITHM, RT_VERSION, estimate_rt
from phis.cli._series_io import (
    ParamError,
    SeriesFormatError,
    parse_params,
    read_series_csv,
    write_csv_atomic,
)

HEADER = (
    "t_start",
    "t_end",
    "date_start",
    "date_end",
    "mean",
    "sd",
    "q025",
    "q05",
    "q25",
    "q50",
    "q75",
    "q95",
    "q975",
)
FLOAT_PARAMS = ("mean_si", "std_si", "mean_prior", "std_prior")
REQUIRED = ("mean_si", "std_si")
DEFAULTS: dict[str, float | int] = {"window": 7, "mean_prior": 5.0, "std_prior": 5.0}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phis rt",
        description="Instantaneous reproduction number R_t on sliding windows "
        "(Cori et al. 2013; same numbers as EpiEstim estimate_R, method parametric_si).",
    )
    parser.add_argument("--input", required=True, help="CSV with columns date,count (daily)")
    parser.add_argument("--output", required=True, help="output CSV ('-' for stdout)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="mean_si and std_si (required, days), window (default 7), "
        "mean_prior and std_prior (default 5 and 5)",
    )
    return parser


def _parse_rt_params(items: list[str]) -> dict[str, float | int]:
    raw = parse_params(items)
    unknown = sorted(set(raw) - {*FLOAT_PARAMS, "window"})
    if unknown:
        raise ParamError(
            f"unknown parameter(s) {', '.join(unknown)}; "
            "known: mean_si, std_si, window, mean_prior, std_prior"
        )
    missing = [name for name in REQUIRED if name not in raw]
    if missing:
        raise ParamError(f"--param {missing[0]}=... is required (serial interval in days)")
    values: dict[str, float | int] = dict(DEFAULTS)
    for name, text in raw.items():
        if name == "window":
            try:
                w = int(text)
            except ValueError:
                raise ParamError(f"window must be a whole number of days, got {text!r}") from None
            if w < 1:
                raise ParamError(f"window must be at least 1 day, got {w}")
            values[name] = w
        else:
            try:
                v = float(text)
            except ValueError:
                raise ParamError(f"{name} must be a number, got {text!r}") from None
            if v != v or v in (float("inf"), float("-inf")):
                raise ParamError(f"{name} must be a finite number, got {text!r}")
            values[name] = v
    if not values["mean_si"] > 1:
        raise ParamError(f"mean_si must be > 1 day (EpiEstim's condition), got {raw['mean_si']}")
    for name in ("std_si", "mean_prior", "std_prior"):
        if not values[name] > 0:
            raise ParamError(f"{name} must be > 0, got {values[name]}")
    return values


def main(argv: list[str]) -> int:
    args = _build_parser().parse_args(argv)
    try:
        params = _parse_rt_params(args.param)
    except ParamError as exc:
        print(f"phis rt: {exc}", file=sys.stderr)
        return 2
    try:
        series = read_series_csv(args.input, allow_population=False)
    except SeriesFormatError as exc:
        print(f"phis rt: {exc}", file=sys.stderr)
        return 2
    if series.frequency != "daily":
        print(
            f"phis rt: {args.input}: R_t needs daily counts (the serial interval is in days); "
            "this file has weekly dates",
            file=sys.stderr,
        )
        return 2
    try:
        result = estimate_rt(
            series.counts,
            mean_si=float(params["mean_si"]),
            std_si=float(params["std_si"]),
            window=int(params["window"]),
            mean_prior=float(params["mean_prior"]),
            std_prior=float(params["std_prior"]),
        )
    except ValueError as exc:
        print(f"phis rt: {args.input}: {exc}", file=sys.stderr)
        return 2

    dates: tuple[dt.date, ...] = series.dates
    rows = []
    for i in range(len(result)):
        ts, te = result.t_start[i], result.t_end[i]
        rows.append(
            (
                ts,
                te,
                dates[ts - 1],
                dates[te - 1],
                result.mean[i],
                result.sd[i],
                result.q025[i],
                result.q05[i],
                result.q25[i],
                result.median[i],
                result.q75[i],
                result.q95[i],
                result.q975[i],
            )
        )
    try:
        write_csv_atomic(args.output, HEADER, rows)
    except OSError as exc:
        print(f"phis rt: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    n_est = sum(1 for m in result.mean if m == m)
    print(
        f"phis rt: {len(rows)} windows ({n_est} with an estimate) written to {args.output} "
        f"[{RT_ALGORITHM}/{RT_VERSION} mean_si={params['mean_si']} std_si={params['std_si']} "
        f"window={params['window']} mean_prior={params['mean_prior']} "
        f"std_prior={params['std_prior']}]",
        file=sys.stderr,
    )
    return 0
