"""Space-time scan statistics (Kulldorff): permutation and Poisson models over townships."""

from phis.algorithms.scan.geometry import Zones, build_zones, distance_matrix_km
from phis.algorithms.scan.spacetime import (
    POISSON_ALGORITHM,
    SCAN_VERSION,
    STP_ALGORITHM,
    ScanCluster,
    ScanResult,
    cylinder_llr,
    poisson_space_time_scan,
    space_time_permutation_scan,
)

__all__ = [
    "POISSON_ALGORITHM",
    "SCAN_VERSION",
    "STP_ALGORITHM",
    "ScanCluster",
    "ScanResult",
    "Zones",
    "build_zones",
    "cylinder_llr",
    "distance_matrix_km",
    "poisson_space_time_scan",
    "space_time_permutation_scan",
]
