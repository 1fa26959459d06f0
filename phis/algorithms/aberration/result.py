"""The immutable result every temporal detector returns.

Rule (STYLE §5): a result carries the algorithm name, its version and *every* parameter value
used, defaults included, so that an alert stored from it can be reproduced later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DetectionResult", "freeze_array"]


def freeze_array(values: Any, dtype: Any = np.float64) -> np.ndarray:
    """A read-only copy of ``values`` as a numpy array."""
    arr = np.array(values, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _freeze_param(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, list | tuple):
        return tuple(_freeze_param(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True, slots=True)
class DetectionResult:
    """Output of a detector over the evaluated periods.

    Arrays are read-only. For a single series they are 1-D (one value per evaluated period);
    the batch functions return 2-D arrays ``(n_series, n_periods)``.

    * ``index``: 0-based positions of the evaluated periods in the input series (1-D).
    * ``observed``: the count of each evaluated period.
    * ``threshold``: the upper bound (R's ``upperbound``); NaN where undefined.
    * ``alarm``: True where the detector signals. ``alarm_defined`` is False where the
      algorithm gives no answer (R's ``NA``); ``alarm`` is then False.
    * ``columns``: method-specific values (``expected``, ``score``, ``statistic`` ...).
    * ``algorithm``, ``version``, ``parameters``: what produced the result; ``parameters``
      holds every parameter with its resolved value, defaults included.
    """

    algorithm: str
    version: str
    parameters: tuple[tuple[str, Any], ...]
    index: np.ndarray
    observed: np.ndarray
    threshold: np.ndarray
    alarm: np.ndarray
    alarm_defined: np.ndarray
    columns: tuple[tuple[str, np.ndarray], ...] = ()

    @classmethod
    def build(
        cls,
        *,
        algorithm: str,
        version: str,
        parameters: Mapping[str, Any],
        index: Any,
        observed: Any,
        threshold: Any,
        alarm: Any,
        alarm_defined: Any = None,
        columns: Mapping[str, Any] | None = None,
    ) -> DetectionResult:
        alarm_arr = np.asarray(alarm)
        if alarm_defined is None:
            if alarm_arr.dtype == bool:
                defined = np.ones(alarm_arr.shape, dtype=bool)
            else:
                defined = ~np.isnan(alarm_arr.astype(np.float64))
        else:
            defined = np.asarray(alarm_defined, dtype=bool)
        alarm_bool = np.where(defined, np.nan_to_num(alarm_arr.astype(np.float64)) > 0, False)
        return cls(
            algorithm=algorithm,
            version=version,
            parameters=tuple((k, _freeze_param(v)) for k, v in parameters.items()),
            index=freeze_array(index, np.int64),
            observed=freeze_array(observed),
            threshold=freeze_array(threshold),
            alarm=freeze_array(alarm_bool, bool),
            alarm_defined=freeze_array(defined, bool),
            columns=tuple((k, freeze_array(v)) for k, v in (columns or {}).items()),
        )

    @property
    def algorithm_version(self) -> str:
        """``name/version``, the string stored with an alert."""
        return f"{self.algorithm}/{self.version}"

    @property
    def params(self) -> dict[str, Any]:
        """Parameters as a new dict (the result itself stays immutable)."""
        return dict(self.parameters)

    def column(self, name: str) -> np.ndarray:
        for key, values in self.columns:
            if key == name:
                return values
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.columns)

    def alarm_values(self) -> np.ndarray:
        """Alarm as floats: 1.0, 0.0, or NaN where undefined."""
        return np.where(self.alarm_defined, self.alarm.astype(np.float64), np.nan)

    def __len__(self) -> int:
        return int(self.index.shape[0])
