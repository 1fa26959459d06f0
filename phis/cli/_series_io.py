"""Shared CSV input/output for the standalone analytics commands (detect, rt, forecast, scan ...).

* :func:`read_csv_rows`, :func:`csv_columns`, :func:`data_rows`, :func:`csv_cell`,
  :func:`csv_number` and :func:`csv_date` are the pieces every CSV reader here is made of:
  they raise :class:`SeriesFormatError` with the file, 1-based line and column.
* :func:`read_series_csv` reads ``date,count[,population]`` (daily or weekly, ISO dates of the
  period start, ascending, no gaps) and returns a
  :class:`~phis.algorithms.aberration.series.Series`.
  Every problem raises :class:`SeriesFormatError` carrying the 1-based line and column.
* :func:`write_csv_atomic` and :func:`write_text_atomic` write through a temporary file in the
  target directory and rename it into place (:func:`atomic_output`), so a failed run never
  leaves a partial output file.
* :func:`parse_params` turns repeated ``--param name=value`` options into a dict.

No Django import here: these commands run without platform settings.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
import os
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from phis.algorithms.aberration.series import DAILY, STEP_DAYS, WEEKLY, Series

__all__ = [
    "ParamError",
    "Series",
    "SeriesFormatError",
    "atomic_output",
    "csv_cell",
    "csv_columns",
    "csv_date",
    "csv_number",
    "data_rows",
    "format_value",
    "parse_bool",
    "parse_params",
    "read_csv_rows",
    "read_series_csv",
    "write_csv_atomic",
    "write_text_atomic",
]

REQUIRED_COLUMNS = ("date", "count")
OPTIONAL_COLUMNS = ("population",)


class SeriesFormatError(ValueError):
    """Bad input file. ``line`` and ``column`` are 1-based (``column`` may be None)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        line: int | None = None,
        column: int | None = None,
        column_name: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.column_name = column_name
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            col = f"column {self.column}"
            if self.column_name:
                col += f" ({self.column_name})"
            where.append(col)
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ParamError(ValueError):
    """A ``--param`` value that cannot be used."""


def read_csv_rows(path: str | os.PathLike) -> list[list[str]]:
    """Every row of a UTF-8 CSV file (a byte-order mark is dropped)."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        raise SeriesFormatError(f"cannot read file: {exc.strerror}", path=path) from exc
    with handle:
        try:
            return list(csv.reader(handle))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SeriesFormatError(f"not a readable UTF-8 CSV file: {exc}", path=path) from exc


def csv_columns(
    path: str | os.PathLike,
    rows: list[list[str]],
    required: Sequence[str],
    *,
    unique: Collection[str] | None = None,
) -> dict[str, int]:
    """Column name (stripped, lower case) → 0-based position, from the header row.

    Names are matched without regard to case or surrounding spaces; every ``required`` name
    must be there. A name in ``unique`` (None: any non-empty name) must not appear twice;
    another repeated name keeps its first position.
    """
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise SeriesFormatError(
            f"empty file: expected a header '{','.join(required)}'", path=path, line=1
        )
    positions: dict[str, int] = {}
    for idx, name in enumerate(cell.strip().lower() for cell in rows[0]):
        if name in positions and name and (unique is None or name in unique):
            raise SeriesFormatError(
                f"column {name!r} appears twice in the header",
                path=path, line=1, column=idx + 1, column_name=name,
            )
        positions.setdefault(name, idx)
    for name in required:
        if name not in positions:
            raise SeriesFormatError(
                f"header must contain the column {name!r} (found: {', '.join(rows[0])})",
                path=path, line=1,
            )
    return positions


def data_rows(rows: list[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """``(1-based line, row)`` of every row after the header, blank rows skipped."""
    for line, row in enumerate(rows[1:], start=2):
        if any(cell.strip() for cell in row):
            yield line, row


def csv_cell(
    path: str | os.PathLike, row: list[str], positions: dict[str, int], name: str, line: int
) -> str:
    """The stripped, non-empty value of column ``name`` in ``row``."""
    idx = positions[name]
    if idx >= len(row) or not row[idx].strip():
        raise SeriesFormatError(
            f"missing value for {name!r}", path=path, line=line, column=idx + 1,
            column_name=name,
        )
    return row[idx].strip()


def csv_number(
    path: str | os.PathLike, text: str, *, line: int, column: int, column_name: str
) -> float:
    """``text`` as a float (``inf`` and ``nan`` included: range checks are the caller's)."""
    try:
        return float(text)
    except ValueError:
        raise SeriesFormatError(
            f"{text!r} is not a number", path=path, line=line, column=column,
            column_name=column_name,
        ) from None


def csv_date(
    path: str | os.PathLike, text: str, *, line: int, column: int, column_name: str = "date"
) -> dt.date:
    """``text`` as an ISO ``YYYY-MM-DD`` date."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise SeriesFormatError(
            f"{text!r} is not a date (expected YYYY-MM-DD)",
            path=path, line=line, column=column, column_name=column_name,
        ) from None


def read_series_csv(
    path: str | os.PathLike,
    *,
    frequency: str | None = None,
    allow_population: bool = True,
) -> Series:
    """Read and validate a ``date,count[,population]`` CSV file.

    ``frequency`` is ``"daily"``, ``"weekly"`` or None (inferred from the step between the
    first two dates; a one-row file is daily). Columns may come in any order; other columns
    are ignored. Counts must be non-negative integers (``3`` or ``3.0``), population positive
    numbers. Dates must be ISO ``YYYY-MM-DD``, ascending, without duplicates or gaps.
    """
    if frequency is not None and frequency not in STEP_DAYS:
        raise ValueError(f"frequency must be 'daily' or 'weekly', got {frequency!r}")
    rows = read_csv_rows(path)
    positions = csv_columns(path, rows, REQUIRED_COLUMNS,
                            unique=REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    has_population = allow_population and "population" in positions

    dates: list[dt.date] = []
    counts: list[float] = []
    population: list[float] = []
    first_line: dict[dt.date, int] = {}
    step: dt.timedelta | None = (
        None if frequency is None else dt.timedelta(days=STEP_DAYS[frequency])
    )

    for line_no, row in data_rows(rows):
        # date
        col = positions["date"] + 1
        day = csv_date(path, csv_cell(path, row, positions, "date", line_no),
                       line=line_no, column=col)
        if day in first_line:
            raise SeriesFormatError(
                f"duplicate date {day} (first on line {first_line[day]})",
                path=path, line=line_no, column=col, column_name="date",
            )
        if dates:
            prev = dates[-1]
            delta = day - prev
            if delta.days <= 0:
                raise SeriesFormatError(
                    f"dates must be ascending: {day} comes after {prev}",
                    path=path, line=line_no, column=col, column_name="date",
                )
            if step is None:
                if delta.days not in (1, 7):
                    raise SeriesFormatError(
                        f"{day} is {delta.days} days after {prev}: expected consecutive days "
                        "or weeks (missing periods must be written with count 0)",
                        path=path, line=line_no, column=col, column_name="date",
                    )
                step = delta
            elif delta != step:
                unit = "day" if step.days == 1 else "week"
                raise SeriesFormatError(
                    f"gap or irregular step: expected {prev + step} (next {unit} after {prev}), "
                    f"got {day}; missing periods must be written with count 0",
                    path=path, line=line_no, column=col, column_name="date",
                )
        first_line[day] = line_no
        # count
        text = csv_cell(path, row, positions, "count", line_no)
        col = positions["count"] + 1
        value = csv_number(path, text, line=line_no, column=col, column_name="count")
        if not math.isfinite(value) or value != int(value) or value < 0:
            raise SeriesFormatError(
                f"count must be a non-negative whole number, got {text!r}",
                path=path, line=line_no, column=col, column_name="count",
            )
        # population
        pop_value = math.nan
        if has_population:
            text = csv_cell(path, row, positions, "population", line_no)
            col = positions["population"] + 1
            pop_value = csv_number(path, text, line=line_no, column=col,
                                   column_name="population")
            if not math.isfinite(pop_value) or pop_value <= 0:
                raise SeriesFormatError(
                    f"population must be a positive number, got {text!r}",
                    path=path, line=line_no, column=col, column_name="population",
                )
        dates.append(day)
        counts.append(value)
        population.append(pop_value)

    if not dates:
        raise SeriesFormatError("no data rows after the header", path=path, line=2)
    if frequency is None:
        frequency = WEEKLY if step is not None and step.days == 7 else DAILY
    return Series(
        dates=tuple(dates),
        counts=counts,
        frequency=frequency,
        population=population if has_population else None,
        name=Path(path).stem,
    )


def format_value(value: object) -> str:
    """CSV text for one cell: None/NaN → empty, bool → 1/0, float → shortest round-trip repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    try:  # numpy scalars
        import numpy as np

        if isinstance(value, np.bool_):
            return "1" if bool(value) else "0"
        if isinstance(value, np.integer):
            return str(int(value))
        if isinstance(value, np.floating):
            return format_value(float(value))
    except ImportError:  # pragma: no cover
        pass
    return str(value)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, newline: str | None = None
                  ) -> Iterator[TextIO]:
    """A text handle (UTF-8) on a temporary file next to ``path``, flushed, synced and
    renamed into place (mode 0644) when the block ends; if the block raises, the temporary
    file is removed and ``path`` is left untouched."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_csv_atomic(
    path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Write ``header`` and ``rows`` to ``path`` atomically (:func:`atomic_output`).

    Cells are formatted with :func:`format_value`. ``path`` ``-`` writes to stdout.
    """
    if str(path) == "-":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([format_value(v) for v in row])
        return
    with atomic_output(path, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([format_value(v) for v in row])


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`atomic_output`); ``-`` is stdout."""
    if str(path) == "-":
        sys.stdout.write(text)
        return
    with atomic_output(path) as handle:
        handle.write(text)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"true", "t", "1", "yes"}:
        return True
    if value in {"false", "f", "0", "no"}:
        return False
    raise ParamError(f"expected true or false, got {text!r}")


def parse_params(items: Sequence[str] | None) -> dict[str, str]:
    """``["b=5", "alpha=0.01"]`` → ``{"b": "5", "alpha": "0.01"}``; repeated names are an error."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParamError(f"--param expects name=value, got {item!r}")
        if name in out:
            raise ParamError(f"--param {name} given twice")
        out[name] = value.strip()
    return out
