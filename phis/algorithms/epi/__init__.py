"""Epidemic dynamics: serial intervals and the instantaneous reproduction number R_t."""

from phis.algorithms.epi.rt import (
    RT_ALGORITHM,
    RT_VERSION,
    RtResult,
    estimate_rt,
    overall_infectivity,
)
from phis.algorithms.epi.serial_interval import discr_si, si_mean_sd

__all__ = [
    "RT_ALGORITHM",
    "RT_VERSION",
    "RtResult",
    "discr_si",
    "estimate_rt",
    "overall_infectivity",
    "si_mean_sd",
]
