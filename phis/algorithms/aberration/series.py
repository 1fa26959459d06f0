"""A regular time series of case counts (daily or weekly), the input of every detector.

No I/O here: reading and validating CSV files is in ``phis.cli._series_io``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

DAILY = "daily"
WEEKLY = "weekly"
STEP_DAYS = {DAILY: 1, WEEKLY: 7}
#: Periods per year used by default for each frequency (R surveillance's ``freq``).
DEFAULT_FREQ = {DAILY: 365, WEEKLY: 52}


def _readonly(values, dtype) -> np.ndarray:
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True)
class Series:
    """Counts on consecutive periods without gaps.

    ``dates`` are the first day of each period (every day for daily data, the first day of
    the week for weekly data). ``counts`` and ``population`` are read-only numpy arrays.
    """

    dates: tuple[dt.date, ...]
    counts: np.ndarray
    frequency: str = DAILY
    population: np.ndarray | None = None
    name: str = field(default="")

    def __post_init__(self) -> None:
        if self.frequency not in STEP_DAYS:
            raise ValueError(f"frequency must be 'daily' or 'weekly', got {self.frequency!r}")
        object.__setattr__(self, "dates", tuple(self.dates))
        object.__setattr__(self, "counts", _readonly(self.counts, np.float64))
        if self.population is not None:
            object.__setattr__(self, "population", _readonly(self.population, np.float64))
            if self.population.shape != self.counts.shape:
                raise ValueError("population and counts must have the same length")
        if len(self.dates) != len(self.counts):
            raise ValueError("dates and counts must have the same length")
        step = dt.timedelta(days=STEP_DAYS[self.frequency])
        for i in range(1, len(self.dates)):
            if self.dates[i] - self.dates[i - 1] != step:
                raise ValueError(
                    f"dates must be consecutive {self.frequency} periods: "
                    f"{self.dates[i - 1]} is followed by {self.dates[i]}"
                )

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def step_days(self) -> int:
        return STEP_DAYS[self.frequency]

    @property
    def default_freq(self) -> int:
        """Periods per year as R surveillance uses it (52 weekly, 365 daily)."""
        return DEFAULT_FREQ[self.frequency]

    def index_of(self, day: dt.date) -> int:
        """Index of the period that contains ``day`` (clipped to the series)."""
        if not self.dates:
            raise ValueError("empty series")
        offset = (day - self.dates[0]).days // self.step_days
        return int(min(max(offset, 0), len(self.dates)))
