"""Great-circle distances between township centroids and the circular zones of a scan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EARTH_RADIUS_KM", "Zones", "build_zones", "distance_matrix_km"]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def distance_matrix_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Haversine distances (km) between all pairs of points given in decimal degrees."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    h = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    np.fill_diagonal(d, 0.0)
    return d


@dataclass(frozen=True, slots=True)
class Zones:
    """Distinct circular zones: centre location + the nearest ``size`` locations.

    ``order[i]`` lists locations by distance from centre ``i`` (ties by index); zone ``z``
    is ``order[centre[z], :size[z]]``. ``flat[z] = centre[z] * kmax + size[z] - 1`` indexes
    the prefix sums of an array gathered with ``order``.
    """

    order: np.ndarray  # (L, kmax) int
    centre: np.ndarray  # (Z,) int
    size: np.ndarray  # (Z,) int
    radius_km: np.ndarray  # (Z,) float
    flat: np.ndarray  # (Z,) int
    kmax: int

    def members(self, z: int) -> tuple[int, ...]:
        return tuple(int(v) for v in self.order[self.centre[z], : self.size[z]])

    def __len__(self) -> int:
        return int(self.centre.size)


def build_zones(
    dist: np.ndarray,
    weight: np.ndarray,
    *,
    max_radius_km: float | None,
    max_fraction: float,
) -> Zones:
    """All distinct zones whose radius is ≤ ``max_radius_km`` and weight ≤ ``max_fraction``.

    ``weight`` is what the size limit is measured in (cases for the permutation model,
    population for the Poisson model), as SaTScan's "maximum spatial cluster size in % of the
    population at risk". Locations at exactly the same distance from a centre enter a zone
    together (a circle cannot separate them). Zones with the same set of locations built from
    different centres are kept once (the first centre by index).
    """
    n = dist.shape[0]
    order = np.argsort(dist, axis=1, kind="stable")
    dsort = np.take_along_axis(dist, order, axis=1)
    wcum = np.cumsum(np.asarray(weight, dtype=np.float64)[order], axis=1)
    total = float(np.sum(weight))
    valid = wcum <= max_fraction * total * (1 + 1e-12)
    if max_radius_km is not None:
        valid &= dsort <= max_radius_km * (1 + 1e-12)
    # a prefix is a zone only if the next location is strictly farther away
    boundary = np.ones((n, n), dtype=bool)
    boundary[:, :-1] = dsort[:, 1:] > dsort[:, :-1] + 1e-9
    valid &= boundary
    centre, last = np.nonzero(valid)
    size = last + 1
    if centre.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Zones(order[:, :1], empty, empty, np.zeros(0), empty, 1)
    # de-duplicate identical location sets
    member = np.zeros((centre.size, n), dtype=bool)
    rank = np.empty((n, n), dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(n)[None, :].repeat(n, axis=0), axis=1)
    member[:] = rank[centre] < size[:, None]
    _, first = np.unique(member, axis=0, return_index=True)
    keep = np.sort(first)
    centre, size = centre[keep], size[keep]
    kmax = int(size.max())
    radius = dsort[centre, size - 1]
    return Zones(
        order=np.ascontiguousarray(order[:, :kmax]),
        centre=centre.astype(np.int64),
        size=size.astype(np.int64),
        radius_km=radius.astype(np.float64),
        flat=(centre * kmax + size - 1).astype(np.int64),
        kmax=kmax,
    )
