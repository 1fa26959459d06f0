"""``phis scan``: prospective or retrospective space-time scan over townships (Kulldorff).

    phis scan --input cases.csv --centroids centroids.csv --output clusters.json \
        [--model permutation|poisson] [--max-radius-km 20] [--max-duration 14] \
        [--max-spatial-fraction 0.5] [--min-cases 2] [--replications 999] [--seed 12345678] \
        [--prospective] [--max-clusters 10] [--time-adjustment none|nonparametric] \
        [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD]

``cases.csv``: header ``date,location,count`` (any column order, other columns ignored), one
row per day and township with cases; absent rows count as 0; a (date, location) pair at most
once. ``centroids.csv``: ``location,lat,lon`` and, for the Poisson model, ``population``
(decimal degrees, WGS84). The study period runs from the first to the last date in the file
unless ``--start-date``/``--end-date`` are given (rows outside are then ignored); with
``--prospective`` only clusters that are still active on the last day are sought.
Output: JSON with the parameters and the clusters (see docs/modules/algorithms.md).
No database, no Django.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from phis.algorithms.scan import (
    SCAN_VERSION,
    ScanResult,
    poisson_space_time_scan,
    space_time_permutation_scan,
)
from phis.cli._series_io import (
    SeriesFormatError,
    csv_cell,
    csv_columns,
    csv_date,
    csv_number,
    data_rows,
    read_csv_rows,
    write_text_atomic,
)


@dataclass(frozen=True)
class Centroids:
    codes: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray | None


def _finite(path: str, text: str, name: str, line: int, col: int) -> float:
    value = csv_number(path, text, line=line, column=col, column_name=name)
    if not math.isfinite(value):
        raise SeriesFormatError(
            f"{text!r} is not a finite number", path=path, line=line, column=col, column_name=name
        )
    return value


def read_centroids(path: str, *, need_population: bool) -> Centroids:
    rows = read_csv_rows(path)
    required = ("location", "lat", "lon") + (("population",) if need_population else ())
    pos = csv_columns(path, rows, required)
    has_pop = "population" in pos
    codes: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    pop: list[float] = []
    seen: dict[str, int] = {}
    for line, row in data_rows(rows):
        code = csv_cell(path, row, pos, "location", line)
        if code in seen:
            raise SeriesFormatError(
                f"duplicate location {code!r} (first on line {seen[code]})",
                path=path,
                line=line,
                column=pos["location"] + 1,
                column_name="location",
            )
        seen[code] = line
        la = _finite(path, csv_cell(path, row, pos, "lat", line), "lat", line, pos["lat"] + 1)
        lo = _finite(path, csv_cell(path, row, pos, "lon", line), "lon", line, pos["lon"] + 1)
        if abs(la) > 90:
            raise SeriesFormatError(
                f"latitude {la} outside -90..90",
                path=path,
                line=line,
                column=pos["lat"] + 1,
                column_name="lat",
            )
        if abs(lo) > 180:
            raise SeriesFormatError(
                f"longitude {lo} outside -180..180",
                path=path,
                line=line,
                column=pos["lon"] + 1,
                column_name="lon",
            )
        p = math.nan
        if has_pop:
            text = csv_cell(path, row, pos, "population", line)
            p = _finite(path, text, "population", line, pos["population"] + 1)
            if p <= 0:
                raise SeriesFormatError(
                    f"population must be positive, got {text!r}",
                    path=path,
                    line=line,
                    column=pos["population"] + 1,
                    column_name="population",
                )
        codes.append(code)
        lat.append(la)
        lon.append(lo)
        pop.append(p)
    if not codes:
        raise SeriesFormatError("no locations after the header", path=path, line=2)
    return Centroids(tuple(codes), np.array(lat), np.array(lon), np.array(pop) if has_pop else None)


def read_cases(
    path: str,
    centroids: Centroids,
    *,
    start: dt.date | None,
    end: dt.date | None,
) -> tuple[np.ndarray, dt.date, int]:
    """→ (locations × days) counts, first day, number of days."""
    rows = read_csv_rows(path)
    pos = csv_columns(path, rows, ("date", "location", "count"))
    index = {code: i for i, code in enumerate(centroids.codes)}
    seen: dict[tuple[dt.date, str], int] = {}
    records: list[tuple[dt.date, int, int]] = []
    for line, row in data_rows(rows):
        day = csv_date(path, csv_cell(path, row, pos, "date", line), line=line,
                       column=pos["date"] + 1)
        code = csv_cell(path, row, pos, "location", line)
        if code not in index:
            raise SeriesFormatError(
                f"unknown location {code!r}: not in the centroids file",
                path=path,
                line=line,
                column=pos["location"] + 1,
                column_name="location",
            )
        text = csv_cell(path, row, pos, "count", line)
        value = _finite(path, text, "count", line, pos["count"] + 1)
        if value < 0 or value != int(value):
            raise SeriesFormatError(
                f"count must be a non-negative whole number, got {text!r}",
                path=path,
                line=line,
                column=pos["count"] + 1,
                column_name="count",
            )
        key = (day, code)
        if key in seen:
            raise SeriesFormatError(
                f"duplicate row for {day} and location {code!r} (first on line {seen[key]})",
                path=path,
                line=line,
                column=pos["date"] + 1,
                column_name="date",
            )
        seen[key] = line
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        records.append((day, index[code], int(value)))
    if start is None or end is None:
        if not records:
            raise SeriesFormatError("no case rows after the header", path=path, line=2)
        first = start or min(r[0] for r in records)
        last = end or max(r[0] for r in records)
    else:
        first, last = start, end
    if last < first:
        raise SeriesFormatError(f"study period is empty ({first} to {last})", path=path)
    n_days = (last - first).days + 1
    counts = np.zeros((len(centroids.codes), n_days), dtype=np.int64)
    for day, loc, value in records:
        counts[loc, (day - first).days] += value
    return counts, first, n_days


def result_to_json(
    result: ScanResult, centroids: Centroids, first: dt.date, n_days: int
) -> dict[str, Any]:
    def day(i: int) -> str:
        return (first + dt.timedelta(days=i)).isoformat()

    clusters = []
    for c in result.clusters:
        clusters.append(
            {
                "rank": c.rank,
                "center": centroids.codes[c.center],
                "radius_km": round(c.radius_km, 6),
                "locations": [centroids.codes[i] for i in c.locations],
                "start_date": day(c.start),
                "end_date": day(c.end),
                "duration_days": c.duration,
                "observed": c.observed,
                "expected": c.expected,
                "observed_over_expected": c.observed_over_expected,
                "relative_risk": c.relative_risk if math.isfinite(c.relative_risk) else None,
                "llr": c.llr,
                "p_value": c.p_value,
                "recurrence_interval_days": c.recurrence_interval_days,
            }
        )
    return {
        "algorithm": result.algorithm,
        "version": result.version,
        "parameters": result.parameters,
        "study_period": {"start": day(0), "end": day(n_days - 1), "days": n_days},
        "total_cases": result.total_cases,
        "locations": result.n_locations,
        "zones": result.n_zones,
        "clusters": clusters,
    }


def write_json_atomic(path: str, payload: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="phis scan",
        description="Space-time scan statistic over townships (Kulldorff): permutation model "
        "(cases only) or Poisson model (with population). Writes clusters as JSON.",
    )
    p.add_argument(
        "--input", "--cases", dest="input", required=True, help="cases CSV: date,location,count"
    )
    p.add_argument(
        "--centroids",
        required=True,
        help="CSV: location,lat,lon[,population] (population needed for poisson)",
    )
    p.add_argument("--output", required=True, help="clusters JSON ('-' for stdout)")
    p.add_argument("--model", choices=("permutation", "poisson"), default="permutation")
    p.add_argument(
        "--max-radius-km",
        type=float,
        default=None,
        help="largest circle radius (default: no limit besides the size limit)",
    )
    p.add_argument(
        "--max-spatial-fraction",
        type=float,
        default=0.5,
        help="largest zone as a fraction of all cases (permutation) or of the "
        "population (poisson); SaTScan default 0.5",
    )
    p.add_argument("--max-duration", type=int, default=14, help="longest window in days (14)")
    p.add_argument("--min-cases", type=int, default=2, help="fewest cases in a cluster (2)")
    p.add_argument("--replications", type=int, default=999)
    p.add_argument("--seed", type=int, default=12345678)
    p.add_argument(
        "--prospective", action="store_true", help="only clusters still active on the last day"
    )
    p.add_argument("--max-clusters", type=int, default=10)
    p.add_argument(
        "--time-adjustment",
        choices=("none", "nonparametric"),
        default="none",
        help="poisson only: adjust expected counts for purely temporal variation",
    )
    p.add_argument("--start-date", type=_date_arg, default=None)
    p.add_argument(
        "--end-date",
        type=_date_arg,
        default=None,
        help="last day of the study period (the run date in prospective use)",
    )
    return p


def main(argv: list[str]) -> int:
    args = _build_parser().parse_args(argv)
    need_pop = args.model == "poisson"
    try:
        centroids = read_centroids(args.centroids, need_population=need_pop)
        counts, first, n_days = read_cases(
            args.input, centroids, start=args.start_date, end=args.end_date
        )
    except SeriesFormatError as exc:
        print(f"phis scan: {exc}", file=sys.stderr)
        return 2
    common = {
        "max_radius_km": args.max_radius_km,
        "max_spatial_fraction": args.max_spatial_fraction,
        "max_duration": args.max_duration,
        "min_cases": args.min_cases,
        "replications": args.replications,
        "seed": args.seed,
        "prospective": args.prospective,
        "max_clusters": args.max_clusters,
    }
    try:
        if need_pop:
            assert centroids.population is not None
            result = poisson_space_time_scan(
                counts,
                centroids.lat,
                centroids.lon,
                centroids.population,
                time_adjustment=args.time_adjustment,
                **common,
            )
        else:
            result = space_time_permutation_scan(counts, centroids.lat, centroids.lon, **common)
    except ValueError as exc:
        print(f"phis scan: {exc}", file=sys.stderr)
        return 2
    try:
        write_json_atomic(args.output, result_to_json(result, centroids, first, n_days))
    except OSError as exc:
        print(f"phis scan: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    top = result.clusters[0] if result.clusters else None
    summary = (
        f"top cluster centre {centroids.codes[top.center]} LLR {top.llr:.3f} p {top.p_value:.4g}"
        if top
        else "no cluster"
    )
    print(
        f"phis scan: {result.algorithm}/{SCAN_VERSION}, {result.total_cases} cases, "
        f"{n_days} days, {result.n_zones} zones; {summary}",
        file=sys.stderr,
    )
    return 0
