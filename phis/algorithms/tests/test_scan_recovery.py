"""The scan finds clusters injected into simulated Dongying-like data; invariants (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.algorithms.scan import (
    POISSON_ALGORITHM,
    STP_ALGORITHM,
    distance_matrix_km,
    poisson_space_time_scan,
    space_time_permutation_scan,
)


def _city(seed: int, n_loc: int = 60, n_days: int = 120, per_day: float = 40.0):
    rng = np.random.default_rng(seed)
    lat = rng.uniform(37.3, 38.2, n_loc)
    lon = rng.uniform(118.1, 119.2, n_loc)
    pop = rng.integers(15_000, 90_000, n_loc).astype(float)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_days) / 365)
    counts = rng.poisson(np.outer(pop / pop.sum() * per_day, season))
    return rng, lat, lon, pop, counts


def _inject(rng, counts, lat, lon, centre, k, days, extra_per_day):
    dist = distance_matrix_km(lat, lon)
    members = np.argsort(dist[centre], kind="stable")[:k]
    n_days = counts.shape[1]
    for d in range(n_days - days, n_days) if days > 0 else ():
        counts[members, d] += rng.poisson(extra_per_day / k, k)
    return {int(m) for m in members}


@pytest.mark.parametrize("model", ["permutation", "poisson", "poisson-nonparametric"])
def test_prospective_recovers_an_injected_cluster(model: str) -> None:
    rng, lat, lon, pop, counts = _city(11)
    truth = _inject(rng, counts, lat, lon, centre=17, k=3, days=6, extra_per_day=6)
    opts = {
        "max_radius_km": 20.0,
        "max_duration": 14,
        "replications": 199,
        "seed": 5,
        "prospective": True,
    }
    if model == "permutation":
        res = space_time_permutation_scan(counts, lat, lon, **opts)
        assert res.algorithm == STP_ALGORITHM
    else:
        adj = "nonparametric" if model.endswith("nonparametric") else "none"
        res = poisson_space_time_scan(counts, lat, lon, pop, time_adjustment=adj, **opts)
        assert res.algorithm == POISSON_ALGORITHM
    top = res.clusters[0]
    assert top.p_value <= 0.01
    assert top.end == counts.shape[1] - 1  # still active on the last day
    found = set(top.locations)
    assert len(found & truth) / len(found | truth) >= 0.5
    assert 3 <= top.duration <= 10
    assert top.observed > top.expected and top.relative_risk > 1
    assert top.recurrence_interval_days == pytest.approx(1 / top.p_value)


def test_retrospective_recovers_a_past_cluster() -> None:
    _rng, lat, lon, _pop, counts = _city(3, n_loc=25, n_days=60, per_day=20)
    members = np.argsort(distance_matrix_km(lat, lon)[4], kind="stable")[:2]
    counts[np.ix_(members, np.arange(20, 25))] += 4
    res = space_time_permutation_scan(
        counts, lat, lon, max_radius_km=30.0, max_duration=10, replications=99, seed=2
    )
    top = res.clusters[0]
    assert top.p_value <= 0.02
    assert set(top.locations) & set(members.tolist())
    assert 18 <= top.start <= 21 and 23 <= top.end <= 26
    assert top.recurrence_interval_days is None


def test_no_cluster_under_the_null_is_usually_not_significant() -> None:
    _, lat, lon, _pop, counts = _city(99, n_loc=30, n_days=60, per_day=15)
    res = space_time_permutation_scan(
        counts,
        lat,
        lon,
        max_radius_km=20.0,
        max_duration=7,
        replications=99,
        seed=4,
        prospective=True,
    )
    assert not res.clusters or res.clusters[0].p_value > 0.05


def test_same_seed_same_answer_and_parameters_recorded() -> None:
    _, lat, lon, _pop, counts = _city(5, n_loc=20, n_days=30, per_day=10)
    a = space_time_permutation_scan(counts, lat, lon, replications=49, seed=9, prospective=True)
    b = space_time_permutation_scan(counts, lat, lon, replications=49, seed=9, prospective=True)
    assert a == b
    assert a.parameters == {
        "model": "permutation",
        "max_radius_km": None,
        "max_spatial_fraction": 0.5,
        "max_duration": 14,
        "min_cases": 2,
        "replications": 49,
        "seed": 9,
        "prospective": True,
        "max_clusters": 10,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_duration": 0}, "max_duration"),
        ({"max_spatial_fraction": 0}, "max_spatial_fraction"),
        ({"max_radius_km": -1}, "max_radius_km"),
        ({"replications": -1}, "replications"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        space_time_permutation_scan([[1, 2], [3, 4]], [37.5, 37.6], [118.5, 118.6], **kwargs)


def test_bad_tables() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        space_time_permutation_scan([[1, -2], [3, 4]], [37.5, 37.6], [118.5, 118.6])
    with pytest.raises(ValueError, match="lat"):
        space_time_permutation_scan([[1, 2], [3, 4]], [37.5], [118.5])
    with pytest.raises(ValueError, match="population"):
        poisson_space_time_scan([[1, 2], [3, 4]], [37.5, 37.6], [118.5, 118.6], [1, 0])


def test_empty_data_gives_no_cluster() -> None:
    res = space_time_permutation_scan(
        np.zeros((3, 5), int), [37.5, 37.6, 37.7], [118.5, 118.6, 118.7]
    )
    assert res.clusters == () and res.total_cases == 0


small = st.integers(min_value=2, max_value=7).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.integers(0, 8), min_size=8, max_size=8), min_size=n, max_size=n),
        st.lists(
            st.tuples(st.floats(37.3, 38.2), st.floats(118.1, 119.2)),
            min_size=n,
            max_size=n,
            unique=True,
        ),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=30, deadline=None)
@given(small, st.booleans())
def test_relabelling_townships_keeps_the_top_llr(data, prosp) -> None:
    table, coords, rnd = data
    counts = np.array(table)
    lat = np.array([c[0] for c in coords])
    lon = np.array([c[1] for c in coords])
    perm = list(range(len(table)))
    rnd.shuffle(perm)
    opts = {
        "max_radius_km": 40.0,
        "max_duration": 4,
        "replications": 9,
        "seed": 1,
        "prospective": prosp,
    }
    a = space_time_permutation_scan(counts, lat, lon, **opts)
    b = space_time_permutation_scan(counts[perm], lat[perm], lon[perm], **opts)
    top_a = a.clusters[0].llr if a.clusters else 0.0
    top_b = b.clusters[0].llr if b.clusters else 0.0
    assert top_a == pytest.approx(top_b, rel=1e-12, abs=1e-12)
    assert a.n_zones == b.n_zones
    assert len(a.replicate_max_llr) == len(b.replicate_max_llr)


@settings(max_examples=30, deadline=None)
@given(small)
def test_adding_cases_inside_the_top_cylinder_raises_its_llr(data) -> None:
    table, coords, _ = data
    counts = np.array(table)
    lat = np.array([c[0] for c in coords])
    lon = np.array([c[1] for c in coords])
    opts = {
        "max_radius_km": None,
        "max_spatial_fraction": 1.0,
        "max_duration": 3,
        "replications": 0,
        "seed": 1,
        "prospective": True,
        "min_cases": 1,
    }
    res = poisson_space_time_scan(counts, lat, lon, np.ones(len(table)), **opts)
    if not res.clusters:
        return
    top = res.clusters[0]
    bumped = counts.copy()
    bumped[top.locations[0], top.end] += 3
    res2 = poisson_space_time_scan(bumped, lat, lon, np.ones(len(table)), **opts)
    assert res2.clusters[0].llr >= top.llr - 1e-12
    assert all(c.llr >= 0 for c in res.clusters)
