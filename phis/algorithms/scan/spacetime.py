"""Space-time scan statistics over townships with centroids (Kulldorff).

Two models share one engine:

* :func:`space_time_permutation_scan` — the space-time permutation scan statistic (Kulldorff
  et al. 2005, PLoS Med 2:e59). Cases only, no population: the expected count of township
  ``z`` on day ``d`` is ``μ_zd = C_z· C_·d / C``; Monte Carlo replicates shuffle the dates of
  the cases among them, keeping every township total and every day total.
* :func:`poisson_space_time_scan` — the space-time Poisson scan (Kulldorff et al. 1998,
  Kulldorff 2001) with a constant population per township: ``μ_zd = C P_z / (P T)``, or with
  ``time_adjustment="nonparametric"`` ``μ_zd = C_·d P_z / P`` (adjusts for purely temporal
  variation such as seasons); replicates draw the cases multinomially from ``μ`` (per day
  with the adjustment).

A cylinder is a circular zone (a centre township and its nearest neighbours, up to
``max_radius_km`` and up to ``max_spatial_fraction`` of the cases or population) times a window
of 1 ... ``max_duration`` consecutive days. With ``prospective=True`` only windows that end
on the last day are scanned (clusters still active, as in SaTScan's prospective analysis).
For a cylinder with ``c`` observed and ``μ`` expected cases out of ``C``

    LLR = c log(c/μ) + (C - c) log((C - c)/(C - μ))   if c > μ, else 0,

the (log) generalised likelihood ratio of both models. The p-value of a cluster is
``(1 + #{replicates whose maximum LLR ≥ its LLR}) / (replications + 1)``. Secondary clusters
are the best cylinders of the other zones that share no township with a cluster reported
before them (SaTScan's default "no geographical overlap").

SaTScan itself cannot be installed here: the engine is tested against hand-computed worked
examples, an independent brute-force implementation and injected clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from phis.algorithms.scan.geometry import Zones, build_zones, distance_matrix_km

__all__ = [
    "POISSON_ALGORITHM",
    "SCAN_VERSION",
    "STP_ALGORITHM",
    "ScanCluster",
    "ScanResult",
    "cylinder_llr",
    "poisson_space_time_scan",
    "space_time_permutation_scan",
]

STP_ALGORITHM = "space-time-permutation-scan"
POISSON_ALGORITHM = "space-time-poisson-scan"
SCAN_VERSION = "1"
#: SaTScan's default random seed, used when none is given so that runs are reproducible.
DEFAULT_SEED = 12345678
#: Elements per (batch × zone × window) block; bounds the working memory (~8 bytes each).
_BLOCK = 6_000_000


@dataclass(frozen=True, slots=True)
class ScanCluster:
    """One space-time cluster. Day indices are 0-based into the study period, inclusive."""

    rank: int
    center: int
    locations: tuple[int, ...]
    radius_km: float
    start: int
    end: int
    observed: int
    expected: float
    observed_over_expected: float
    relative_risk: float
    llr: float
    p_value: float
    #: Prospective analyses only: expected days between false signals this strong when the
    #: analysis is repeated daily (1 / p, SaTScan's recurrence interval); None otherwise.
    recurrence_interval_days: float | None

    @property
    def duration(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class ScanResult:
    clusters: tuple[ScanCluster, ...]
    total_cases: int
    n_locations: int
    n_days: int
    n_zones: int
    #: Largest LLR of each Monte Carlo replicate (the null distribution of the maximum).
    replicate_max_llr: tuple[float, ...]
    # every parameter
    model: str
    max_radius_km: float | None
    max_spatial_fraction: float
    max_duration: int
    min_cases: int
    replications: int
    seed: int
    prospective: bool
    max_clusters: int
    time_adjustment: str | None
    algorithm: str
    version: str = SCAN_VERSION

    @property
    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "max_radius_km": self.max_radius_km,
            "max_spatial_fraction": self.max_spatial_fraction,
            "max_duration": self.max_duration,
            "min_cases": self.min_cases,
            "replications": self.replications,
            "seed": self.seed,
            "prospective": self.prospective,
            "max_clusters": self.max_clusters,
        }
        if self.time_adjustment is not None:
            out["time_adjustment"] = self.time_adjustment
        return out


# ---------------------------------------------------------------------------------------------
# LLR


def cylinder_llr(observed: float, expected: float, total: float) -> float:
    """LLR of one cylinder (0 unless observed > expected). Plain-Python reference formula."""
    c, mu, n = float(observed), float(expected), float(total)
    if c <= mu or c <= 0:
        return 0.0
    out = c * np.log(c / mu)
    if n - c > 0:
        out += (n - c) * np.log((n - c) / (n - mu))
    return float(out)


class _LLR:
    """Vectorised LLR for integer counts against fixed expectations (tables of x log x)."""

    def __init__(self, total: int, expected: np.ndarray, min_cases: int) -> None:
        self.total = int(total)
        k = np.arange(self.total + 1, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.xlogx = np.where(k > 0, k * np.log(k), 0.0)
            self.mu = expected
            self.log_mu = np.log(np.where(expected > 0, expected, 1.0))
            rest = self.total - expected
            self.log_rest = np.log(np.where(rest > 0, rest, 1.0))
        self.min_cases = max(int(min_cases), 1)

    def __call__(self, c: np.ndarray) -> np.ndarray:
        """``c`` (..., Z, W) int counts → LLR array (float64) of the same shape."""
        cf = c.astype(np.float64)
        rest = self.total - c
        val = self.xlogx[c] - cf * self.log_mu + self.xlogx[rest] - rest * self.log_rest
        ok = (cf > self.mu) & (c >= self.min_cases)
        return np.where(ok, val, 0.0)


# ---------------------------------------------------------------------------------------------
# Zone × window sums


def _zone_sums(x: np.ndarray, zones: Zones) -> np.ndarray:
    """(B, L, W) per-location sums → (B, Z, W) per-zone sums (prefix sums over neighbours)."""
    g = x[:, zones.order, :]  # (B, L, kmax, W)
    np.cumsum(g, axis=2, out=g)
    b, n_loc, kmax, w = g.shape
    return g.reshape(b, n_loc * kmax, w)[:, zones.flat, :]


def _prospective_windows(x: np.ndarray, d_max: int) -> np.ndarray:
    """(B, L, D) counts on the last D days → (B, L, D): sums over the last 1..D days."""
    return np.cumsum(x[:, :, ::-1][:, :, :d_max], axis=2)


@dataclass(frozen=True, slots=True)
class _Best:
    """Best window of each zone on the observed data."""

    llr: np.ndarray  # (Z,)
    start: np.ndarray  # (Z,)
    end: np.ndarray  # (Z,)
    observed: np.ndarray  # (Z,)
    expected: np.ndarray  # (Z,)


def _run(
    *,
    counts: np.ndarray,
    expected: np.ndarray,
    zones: Zones,
    d_max: int,
    prospective: bool,
    min_cases: int,
    replications: int,
    rng: np.random.Generator,
    simulate: Callable[[np.random.Generator, int], np.ndarray],
) -> tuple[_Best, np.ndarray]:
    """Observed best window per zone and the replicate maxima.

    ``simulate(rng, b)`` returns ``b`` replicate tables: (b, L, D) counts of the last D days
    when prospective, else (b, L, T) counts of the whole period.
    """
    total = int(counts.sum())
    n_days = counts.shape[1]
    n_zones = len(zones)
    if prospective:
        mu = _zone_sums(_prospective_windows(expected[None, :, n_days - d_max :], d_max), zones)[0]
        llr = _LLR(total, mu, min_cases)
        c_obs = _zone_sums(_prospective_windows(counts[None, :, n_days - d_max :], d_max), zones)[0]
        vals = llr(c_obs)  # (Z, D)
        j = np.argmax(vals, axis=1)
        zi = np.arange(n_zones)
        best = _Best(
            llr=vals[zi, j],
            start=n_days - 1 - j,
            end=np.full(n_zones, n_days - 1),
            observed=c_obs[zi, j],
            expected=mu[zi, j],
        )
        per_rep = n_zones * d_max * (1 + zones.order.size // max(n_zones, 1))
        batch = max(1, min(replications, _BLOCK // max(per_rep, 1)))
        maxima = np.empty(replications)
        done = 0
        while done < replications:
            b = min(batch, replications - done)
            sim = simulate(rng, b).astype(np.int64, copy=False)
            c = _zone_sums(_prospective_windows(sim, d_max), zones)
            maxima[done : done + b] = llr(c).reshape(b, -1).max(axis=1, initial=0.0)
            done += b
        return best, maxima

    # retrospective: every window of 1..d_max days
    mu_day = _zone_sums(expected[None], zones)[0]  # (Z, T)
    mu_cum = np.concatenate([np.zeros((n_zones, 1)), np.cumsum(mu_day, axis=1)], axis=1)
    mus = [mu_cum[:, d:] - mu_cum[:, :-d] for d in range(1, d_max + 1)]
    llrs = [_LLR(total, m, min_cases) for m in mus]

    def windows(table: np.ndarray):
        zc = _zone_sums(table, zones)  # (B, Z, T)
        cum = np.zeros((*zc.shape[:2], n_days + 1), dtype=np.int64)
        np.cumsum(zc, axis=2, out=cum[:, :, 1:])
        for d in range(1, d_max + 1):
            yield d, cum[:, :, d:] - cum[:, :, :-d]

    best_llr = np.zeros(n_zones)
    best_start = np.zeros(n_zones, dtype=np.int64)
    best_end = np.zeros(n_zones, dtype=np.int64)
    best_obs = np.zeros(n_zones, dtype=np.int64)
    best_mu = np.zeros(n_zones)
    zi = np.arange(n_zones)
    for d, c in windows(counts[None]):
        vals = llrs[d - 1](c[0])  # (Z, T-d+1)
        s = np.argmax(vals, axis=1)
        v = vals[zi, s]
        better = v > best_llr
        best_llr[better] = v[better]
        best_start[better] = s[better]
        best_end[better] = s[better] + d - 1
        best_obs[better] = c[0][zi, s][better]
        best_mu[better] = mus[d - 1][zi, s][better]
    best = _Best(best_llr, best_start, best_end, best_obs, best_mu)

    per_rep = n_zones * n_days * 3 + zones.order.size * n_days
    batch = max(1, min(replications, _BLOCK // max(per_rep, 1)))
    maxima = np.zeros(replications)
    done = 0
    while done < replications:
        b = min(batch, replications - done)
        sim = simulate(rng, b).astype(np.int64, copy=False)
        m = np.zeros(b)
        for d, c in windows(sim):
            np.maximum(m, llrs[d - 1](c).reshape(b, -1).max(axis=1), out=m)
        maxima[done : done + b] = m
        done += b
    return best, maxima


def _clusters(
    best: _Best,
    zones: Zones,
    maxima: np.ndarray,
    total: int,
    *,
    max_clusters: int,
    prospective: bool,
) -> tuple[ScanCluster, ...]:
    order = np.argsort(-best.llr, kind="stable")
    used: set[int] = set()
    out: list[ScanCluster] = []
    reps = maxima.size
    for z in order:
        if len(out) >= max_clusters or best.llr[z] <= 0:
            break
        members = zones.members(int(z))
        if used.intersection(members):
            continue
        used.update(members)
        llr = float(best.llr[z])
        exceed = int(np.sum(maxima >= llr * (1 - 1e-12)))
        p = (1 + exceed) / (reps + 1)
        c = int(best.observed[z])
        mu = float(best.expected[z])
        rest_ratio = (total - c) / (total - mu) if total - mu > 0 else np.nan
        rr = (c / mu) / rest_ratio if rest_ratio and rest_ratio > 0 else float("inf")
        out.append(
            ScanCluster(
                rank=len(out) + 1,
                center=int(zones.centre[z]),
                locations=members,
                radius_km=float(zones.radius_km[z]),
                start=int(best.start[z]),
                end=int(best.end[z]),
                observed=c,
                expected=mu,
                observed_over_expected=c / mu,
                relative_risk=float(rr),
                llr=llr,
                p_value=p,
                recurrence_interval_days=(1.0 / p) if prospective else None,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Input checks


def _check_common(
    counts: np.ndarray | Sequence[Sequence[int]],
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    max_radius_km: float | None,
    max_spatial_fraction: float,
    max_duration: int,
    min_cases: int,
    replications: int,
    max_clusters: int,
) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(counts)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError("counts must be a (locations × days) table")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.floor(arr)):
        raise ValueError("counts must be non-negative whole numbers")
    arr = arr.astype(np.int64)
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a = np.asarray(lon, dtype=np.float64)
    if lat_a.shape != (arr.shape[0],) or lon_a.shape != (arr.shape[0],):
        raise ValueError("lat and lon need one value per location (row of counts)")
    if (
        np.any(np.abs(lat_a) > 90)
        or np.any(np.abs(lon_a) > 180)
        or not np.all(np.isfinite(lat_a) & np.isfinite(lon_a))
    ):
        raise ValueError("lat must be within ±90 and lon within ±180 degrees")
    if max_radius_km is not None and not max_radius_km >= 0:
        raise ValueError("max_radius_km must be ≥ 0")
    if not 0 < max_spatial_fraction <= 1:
        raise ValueError("max_spatial_fraction must be in (0, 1]")
    if int(max_duration) != max_duration or max_duration < 1:
        raise ValueError("max_duration must be a positive whole number of days")
    if min_cases < 1:
        raise ValueError("min_cases must be ≥ 1")
    if int(replications) != replications or replications < 0:
        raise ValueError("replications must be a non-negative whole number")
    if max_clusters < 1:
        raise ValueError("max_clusters must be ≥ 1")
    return arr, distance_matrix_km(lat_a, lon_a)


def _seed(seed: int | None) -> int:
    if seed is None:
        return DEFAULT_SEED
    if int(seed) != seed or seed < 0:
        raise ValueError("seed must be a non-negative integer")
    return int(seed)


# ---------------------------------------------------------------------------------------------
# Public functions


def space_time_permutation_scan(
    counts: np.ndarray | Sequence[Sequence[int]],
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    max_radius_km: float | None = None,
    max_spatial_fraction: float = 0.5,
    max_duration: int = 14,
    min_cases: int = 2,
    replications: int = 999,
    seed: int | None = DEFAULT_SEED,
    prospective: bool = False,
    max_clusters: int = 10,
) -> ScanResult:
    """Space-time permutation scan (Kulldorff et al. 2005) of a (locations × days) table.

    ``counts[z, d]`` are the cases of location ``z`` on day ``d`` (consecutive days);
    ``lat``/``lon`` the centroids in degrees. See the module docstring for the statistic.
    Defaults follow SaTScan where it has one (50 % of cases, 999 replications, seed
    12345678, minimum 2 cases per cluster); ``max_duration`` (days) is capped at the study
    length.
    """
    arr, dist = _check_common(
        counts,
        lat,
        lon,
        max_radius_km=max_radius_km,
        max_spatial_fraction=max_spatial_fraction,
        max_duration=max_duration,
        min_cases=min_cases,
        replications=replications,
        max_clusters=max_clusters,
    )
    seed_used = _seed(seed)
    n_loc, n_days = arr.shape
    d_max = int(min(max_duration, n_days))
    total = int(arr.sum())
    loc_totals = arr.sum(axis=1)
    day_totals = arr.sum(axis=0)
    zones = build_zones(
        dist, loc_totals, max_radius_km=max_radius_km, max_fraction=max_spatial_fraction
    )
    params = {
        "model": "permutation",
        "max_radius_km": max_radius_km,
        "max_spatial_fraction": float(max_spatial_fraction),
        "max_duration": int(max_duration),
        "min_cases": int(min_cases),
        "replications": int(replications),
        "seed": seed_used,
        "prospective": bool(prospective),
        "max_clusters": int(max_clusters),
        "time_adjustment": None,
        "algorithm": STP_ALGORITHM,
    }
    if total == 0 or len(zones) == 0:
        return ScanResult((), total, n_loc, n_days, len(zones), (), **params)
    expected = np.outer(loc_totals, day_totals) / total

    # individual cases: location of each case, and day of each case
    case_loc = np.repeat(np.repeat(np.arange(n_loc), n_days), arr.ravel())
    case_day = np.repeat(np.tile(np.arange(n_days), n_loc), arr.ravel())
    if prospective:
        first = n_days - d_max
        late_days = np.sort(case_day[case_day >= first]) - first  # dates to hand out
        m = late_days.size

        def simulate(rng: np.random.Generator, b: int) -> np.ndarray:
            # shuffling dates among cases ≡ giving the m late dates to m random cases
            pick = np.empty((b, m), dtype=np.int64)
            for i in range(b):
                # a uniformly random subset of m cases, in random order
                pick[i] = case_loc[rng.choice(total, size=m, replace=False)]
            idx = (np.arange(b)[:, None] * n_loc + pick) * d_max + late_days[None, :]
            return np.bincount(idx.ravel(), minlength=b * n_loc * d_max).reshape(b, n_loc, d_max)

    else:

        def simulate(rng: np.random.Generator, b: int) -> np.ndarray:
            days = rng.permuted(np.broadcast_to(case_day, (b, total)), axis=1)
            idx = (np.arange(b)[:, None] * n_loc + case_loc[None, :]) * n_days + days
            return np.bincount(idx.ravel(), minlength=b * n_loc * n_days).reshape(b, n_loc, n_days)

    rng = np.random.default_rng(seed_used)
    best, maxima = _run(
        counts=arr,
        expected=expected,
        zones=zones,
        d_max=d_max,
        prospective=prospective,
        min_cases=min_cases,
        replications=int(replications),
        rng=rng,
        simulate=simulate,
    )
    clusters = _clusters(
        best, zones, maxima, total, max_clusters=max_clusters, prospective=prospective
    )
    return ScanResult(
        clusters, total, n_loc, n_days, len(zones), tuple(float(v) for v in maxima), **params
    )


def poisson_space_time_scan(
    counts: np.ndarray | Sequence[Sequence[int]],
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    population: Sequence[float] | np.ndarray,
    *,
    time_adjustment: str = "none",
    max_radius_km: float | None = None,
    max_spatial_fraction: float = 0.5,
    max_duration: int = 14,
    min_cases: int = 2,
    replications: int = 999,
    seed: int | None = DEFAULT_SEED,
    prospective: bool = False,
    max_clusters: int = 10,
) -> ScanResult:
    """Space-time Poisson scan with a constant population per location.

    ``time_adjustment="none"`` (SaTScan's default): expected cases uniform in time,
    proportional to population; ``"nonparametric"``: each day's total is distributed by
    population (removes purely temporal trends and seasons; replicates keep the day totals).
    ``max_spatial_fraction`` is a fraction of the total population.
    """
    arr, dist = _check_common(
        counts,
        lat,
        lon,
        max_radius_km=max_radius_km,
        max_spatial_fraction=max_spatial_fraction,
        max_duration=max_duration,
        min_cases=min_cases,
        replications=replications,
        max_clusters=max_clusters,
    )
    if time_adjustment not in ("none", "nonparametric"):
        raise ValueError("time_adjustment must be 'none' or 'nonparametric'")
    pop = np.asarray(population, dtype=np.float64)
    if pop.shape != (arr.shape[0],) or not np.all(np.isfinite(pop)) or np.any(pop <= 0):
        raise ValueError("population needs one positive number per location")
    seed_used = _seed(seed)
    n_loc, n_days = arr.shape
    d_max = int(min(max_duration, n_days))
    total = int(arr.sum())
    share = pop / pop.sum()
    zones = build_zones(dist, pop, max_radius_km=max_radius_km, max_fraction=max_spatial_fraction)
    params = {
        "model": "poisson",
        "max_radius_km": max_radius_km,
        "max_spatial_fraction": float(max_spatial_fraction),
        "max_duration": int(max_duration),
        "min_cases": int(min_cases),
        "replications": int(replications),
        "seed": seed_used,
        "prospective": bool(prospective),
        "max_clusters": int(max_clusters),
        "time_adjustment": time_adjustment,
        "algorithm": POISSON_ALGORITHM,
    }
    if total == 0 or len(zones) == 0:
        return ScanResult((), total, n_loc, n_days, len(zones), (), **params)
    day_totals = arr.sum(axis=0)
    if time_adjustment == "none":
        expected = np.outer(share, np.full(n_days, total / n_days))
    else:
        expected = np.outer(share, day_totals.astype(np.float64))
    first = n_days - d_max if prospective else 0
    span = n_days - first

    if time_adjustment == "none":
        p_in = span / n_days
        cell_p = np.repeat(share, span) / span  # location-major cells of the scanned days

        def simulate(rng: np.random.Generator, b: int) -> np.ndarray:
            n_in = rng.binomial(total, p_in, size=b) if span < n_days else np.full(b, total)
            return rng.multinomial(n_in, cell_p).reshape(b, n_loc, span)

    else:
        late = day_totals[first:]

        def simulate(rng: np.random.Generator, b: int) -> np.ndarray:
            draws = rng.multinomial(np.broadcast_to(late, (b, span)), share)  # (b, span, L)
            return np.ascontiguousarray(draws.transpose(0, 2, 1))

    rng = np.random.default_rng(seed_used)
    best, maxima = _run(
        counts=arr,
        expected=expected,
        zones=zones,
        d_max=d_max,
        prospective=prospective,
        min_cases=min_cases,
        replications=int(replications),
        rng=rng,
        simulate=simulate,
    )
    clusters = _clusters(
        best, zones, maxima, total, max_clusters=max_clusters, prospective=prospective
    )
    return ScanResult(
        clusters, total, n_loc, n_days, len(zones), tuple(float(v) for v in maxima), **params
    )
