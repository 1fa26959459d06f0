"""``phis detect``: run one temporal outbreak detector over a ``date,count`` CSV series.

    phis detect --method farrington --input series.csv --output out.csv \\
        [--param name=value ...] [--metadata run.json]

Methods: fixed, mpm, ears-c1, ears-c2, ears-c3, ears-c3-cdc, farrington,
farrington-noufaily, cusum, glrnb. Parameters take R ``surveillance``'s names (``b``, ``w``,
``alpha``, ``baseline``, ``minSigma``, ``noPeriods``, ``pastWeeksNotIncluded``,
``thresholdMethod``, ``weightsThreshold``, ``pThresholdTrend``, ``powertrans``, ``reweight``,
``trend``, ``limit54=5,4``, ``k``, ``h``, ``m`` ...) or the Python snake_case names; booleans
are ``true``/``false``. Defaults are R's. ``freq`` (periods per year) defaults to 52 for weekly
and 365 for daily input; reference periods are taken by index (``t - freq*j``), as R does for
series without dates.

Evaluated periods: by default every period with enough history for the method (R's default
``range``); ``--param range_start=YYYY-MM-DD`` and ``--param range_end=YYYY-MM-DD``
(inclusive) choose others.

Output: ``date,observed,threshold,alarm`` plus method columns; alarm is 1/0, empty where the
method gives no answer. The file is written atomically; on any error nothing is written and the
exit status is 2 (bad input or parameters) or 1 (unexpected failure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phis.cli._series_io import (
    ParamError,
    SeriesFormatError,
    atomic_output,
    parse_bool,
    parse_params,
    read_series_csv,
    write_csv_atomic,
)

__all__ = ["METHODS", "main", "run_detector"]


# ---------------------------------------------------------------- parameter parsing
def _int(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ParamError(f"expected an integer, got {text!r}") from None
    if not value.is_integer():
        raise ParamError(f"expected an integer, got {text!r}")
    return int(value)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParamError(f"expected a number, got {text!r}") from None


def _opt_int(text: str) -> int | None:
    return None if text.strip().lower() in {"", "null", "none", "na"} else _int(text)


def _pair(text: str) -> tuple[float, int]:
    parts = [p for p in text.replace("c(", "").replace(")", "").split(",") if p.strip()]
    if len(parts) != 2:
        raise ParamError(f"expected two numbers like 5,4, got {text!r}")
    return _float(parts[0]), _int(parts[1])


def _m_value(text: str) -> Any:
    t = text.strip()
    if t.lower() in {"", "null", "none", "mean"}:
        return None
    if t == "glm":
        return "glm"
    return _float(t)


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ParamError(f"expected one of {', '.join(options)}, got {text!r}")
        return text

    return parse


@dataclass(frozen=True)
class Param:
    name: str  # Python keyword of the detector function
    parse: Callable[[str], Any]
    aliases: tuple[str, ...] = ()
    default: Callable[[str], Any] | None = None  # frequency -> default, when freq-dependent


def _freq_default(frequency: str) -> int:
    return 52 if frequency == "weekly" else 365


EARS_PARAMS = (
    Param("baseline", _int),
    Param("alpha", _float),
    Param("min_sigma", _float, ("minSigma",)),
)
FARRINGTON_PARAMS = (
    Param("freq", _int, default=_freq_default),
    Param("b", _int),
    Param("w", _int),
    Param("reweight", parse_bool),
    Param("weights_threshold", _float, ("weightsThreshold",)),
    Param("alpha", _float),
    Param("trend", parse_bool),
    Param("p_threshold_trend", _float, ("pThresholdTrend",)),
    Param("limit54", _pair),
    Param("powertrans", _choice("2/3", "1/2", "none")),
    Param("population_offset", parse_bool, ("populationOffset",)),
    Param("no_periods", _int, ("noPeriods",)),
    Param("past_weeks_not_included", _opt_int, ("pastWeeksNotIncluded",)),
    Param("threshold_method", _choice("delta", "nbPlugin", "muan"), ("thresholdMethod",)),
)
CUSUM_PARAMS = (
    Param("k", _float),
    Param("h", _float),
    Param("m", _m_value),
    Param("trans", _choice("standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin",
                           "none")),
    Param("alpha", _float),
    Param("freq", _int, default=_freq_default),
    Param("reset", parse_bool),
)
GLR_PARAMS = (
    Param("c_arl", _float, ("c.ARL", "cARL")),
    Param("alpha", _float),
    Param("mu0", _m_value),
    Param("S", _int, ("s",)),
    Param("mu0_trend", parse_bool, ("mu0.trend",)),
    Param("Mtilde", _int, ("mtilde",)),
    Param("M", _int),
    Param("direction", _choice("inc", "dec"), ("dir",)),
    Param("ret", _choice("value", "cases")),
    Param("freq", _int, default=_freq_default),
)


def _mpm_block(frequency: str) -> int:
    return 1 if frequency == "weekly" else 7


def _mpm_shift(frequency: str) -> int:
    return 52 if frequency == "weekly" else 364


MPM_PARAMS = (
    Param("percentile", _float),
    Param("block", _int, ("obs_days",), default=_mpm_block),
    Param("baseline_years", _int),
    Param("half_window", _int, ("half_window_blocks",)),
    Param("year_shift", _int, default=_mpm_shift),
    Param("min_cases", _float),
    Param("strict", parse_bool),
)
FIXED_PARAMS = (Param("k", _float, ("threshold_cases",)), Param("window", _int))


def _detector(method: str) -> Callable[..., Any]:
    from phis.algorithms.aberration import (
        cusum,
        ears_c1,
        ears_c2,
        ears_c3,
        ears_c3_cdc,
        farrington_flexible,
        farrington_noufaily,
        fixed_threshold,
        glrnb,
        mpm,
    )

    return {
        "fixed": fixed_threshold,
        "mpm": mpm,
        "ears-c1": ears_c1,
        "ears-c2": ears_c2,
        "ears-c3": ears_c3,
        "ears-c3-cdc": ears_c3_cdc,
        "farrington": farrington_flexible,
        "farrington-noufaily": farrington_noufaily,
        "cusum": cusum,
        "glrnb": glrnb,
    }[method]


METHODS: dict[str, tuple[Param, ...]] = {
    "fixed": FIXED_PARAMS,
    "mpm": MPM_PARAMS,
    "ears-c1": EARS_PARAMS,
    "ears-c2": EARS_PARAMS,
    "ears-c3": EARS_PARAMS,
    "ears-c3-cdc": (Param("baseline", _int), Param("threshold", _float),
                    Param("min_sigma", _float, ("minSigma",))),
    "farrington": FARRINGTON_PARAMS,
    "farrington-noufaily": FARRINGTON_PARAMS,
    "cusum": CUSUM_PARAMS,
    "glrnb": GLR_PARAMS,
}


def _resolve_params(method: str, raw: dict[str, str], frequency: str) -> dict[str, Any]:
    spec = METHODS[method]
    lookup: dict[str, Param] = {}
    for param in spec:
        for key in (param.name, *param.aliases):
            lookup[key] = param
    kwargs: dict[str, Any] = {}
    for key, text in raw.items():
        if key in {"range_start", "range_end"}:
            continue
        param = lookup.get(key)
        if param is None:
            accepted = ", ".join(sorted({p.aliases[0] if p.aliases else p.name for p in spec}))
            raise ParamError(
                f"unknown parameter {key!r} for method {method} (accepted: {accepted}, "
                "range_start, range_end)"
            )
        if param.name in kwargs:
            raise ParamError(f"parameter {key!r} given twice (also as another name)")
        try:
            kwargs[param.name] = param.parse(text)
        except ParamError as exc:
            raise ParamError(f"--param {key}: {exc}") from None
    for param in spec:
        if param.name not in kwargs and param.default is not None:
            kwargs[param.name] = param.default(frequency)
    return kwargs


def _date_index(series, text: str, name: str, *, end: bool) -> int:
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ParamError(f"--param {name}: {text!r} is not a date (YYYY-MM-DD)") from None
    first, last = series.dates[0], series.dates[-1]
    if day < first or day > last + dt.timedelta(days=series.step_days - 1):
        raise ParamError(f"--param {name}: {day} is outside the series ({first} … {last})")
    pos = (day - first).days // series.step_days
    return pos + 1 if end else pos


def run_detector(method: str, series, raw_params: dict[str, str]):
    """Run ``method`` on a :class:`Series` with string parameters; returns the result."""
    if method not in METHODS:
        raise ParamError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    kwargs = _resolve_params(method, raw_params, series.frequency)
    if "range_start" in raw_params:
        kwargs["range_start"] = _date_index(series, raw_params["range_start"], "range_start",
                                            end=False)
    if "range_end" in raw_params:
        kwargs["range_stop"] = _date_index(series, raw_params["range_end"], "range_end",
                                           end=True)
    if method.startswith("farrington") and kwargs.get("population_offset"):
        if series.population is None:
            raise ParamError("populationOffset=true needs a 'population' column in the input")
        kwargs["population"] = series.population
    return _detector(method)(series.counts, **kwargs)


def _rows(series, result):
    names = result.column_names
    cols = [result.column(n) for n in names]
    for j, t in enumerate(result.index.tolist()):
        alarm = (1 if result.alarm[j] else 0) if result.alarm_defined[j] else None
        yield [series.dates[t], float(result.observed[j]), float(result.threshold[j]), alarm,
               *(float(c[j]) for c in cols)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="phis detect",
        description="Run a temporal outbreak detector on a date,count CSV series.",
        epilog="Parameters use R surveillance's names; see docs/modules/algorithms.md.",
    )
    parser.add_argument("--method", required=True, choices=sorted(METHODS))
    parser.add_argument("--input", required=True, help="CSV with date,count[,population]")
    parser.add_argument("--output", required=True, help="output CSV ('-' for stdout)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="detector parameter (repeatable)")
    parser.add_argument("--frequency", choices=["daily", "weekly"], default=None,
                        help="override the frequency inferred from the dates")
    parser.add_argument("--metadata", default=None,
                        help="also write algorithm, version and all parameters to this JSON")
    parser.add_argument("--quiet", action="store_true", help="no summary on stderr")
    args = parser.parse_args(argv)
    try:
        raw = parse_params(args.param)
        series = read_series_csv(args.input, frequency=args.frequency)
        result = run_detector(args.method, series, raw)
    except SeriesFormatError as exc:
        print(f"phis detect: error: {exc}", file=sys.stderr)
        return 2
    except (ParamError, ValueError, TypeError) as exc:
        print(f"phis detect: error: {exc}", file=sys.stderr)
        return 2
    header = ["date", "observed", "threshold", "alarm", *result.column_names]
    try:
        write_csv_atomic(args.output, header, _rows(series, result))
        if args.metadata:
            meta = {
                "algorithm": result.algorithm,
                "version": result.algorithm_version,
                "parameters": result.params,
                "input": str(args.input),
                "frequency": series.frequency,
                "evaluated": len(result),
                "first_date": series.dates[int(result.index[0])].isoformat()
                if len(result) else None,
            }
            text = json.dumps(meta, indent=2, default=str, ensure_ascii=False)
            with atomic_output(args.metadata) as handle:
                handle.write(text + "\n")
    except OSError as exc:
        print(f"phis detect: error: cannot write output: {exc}", file=sys.stderr)
        return 1
    if not args.quiet and args.output != "-":
        print(f"phis detect: {args.method}: {len(result)} periods evaluated, "
              f"{int(result.alarm.sum())} alarms -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
