"""Temporal outbreak detectors (aberration detection) on regular daily or weekly counts.

All functions take a 1-D sequence of counts (or a :class:`Series`) and keyword parameters with
R ``surveillance`` defaults, and return a :class:`DetectionResult`. The ``*_batch`` functions
take a ``(n_series, n_periods)`` array.
"""

from phis.algorithms.aberration.cusum import cusum, cusum_batch
from phis.algorithms.aberration.ears import ears_batch, ears_c1, ears_c2, ears_c3, ears_c3_cdc
from phis.algorithms.aberration.farrington import (
    farrington_flexible,
    farrington_flexible_batch,
    farrington_noufaily,
)
from phis.algorithms.aberration.fixed import fixed_threshold, fixed_threshold_batch
from phis.algorithms.aberration.glr import glrnb
from phis.algorithms.aberration.mpm import mpm, mpm_batch
from phis.algorithms.aberration.result import DetectionResult
from phis.algorithms.aberration.series import Series

__all__ = [
    "DetectionResult",
    "Series",
    "cusum",
    "cusum_batch",
    "ears_batch",
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "ears_c3_cdc",
    "farrington_flexible",
    "farrington_flexible_batch",
    "farrington_noufaily",
    "fixed_threshold",
    "fixed_threshold_batch",
    "glrnb",
    "mpm",
    "mpm_batch",
]
