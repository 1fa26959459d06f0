"""Space-time scan against hand-computed worked examples and a brute-force implementation.

SaTScan cannot be installed here; see tests/reference/scan/README.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.algorithms.scan import (
    build_zones,
    cylinder_llr,
    distance_matrix_km,
    poisson_space_time_scan,
    space_time_permutation_scan,
)

REF = Path(__file__).resolve().parents[3] / "tests" / "reference" / "scan"
WORKED = json.loads((REF / "worked_examples.json").read_text())


def _run(example: dict, **extra):
    counts = np.array(WORKED["counts"])
    opts = dict(example["options"], replications=99, seed=1, min_cases=1, **extra)
    if example["model"] == "poisson":
        return poisson_space_time_scan(
            counts, WORKED["lat"], WORKED["lon"], WORKED["population"], **opts
        )
    return space_time_permutation_scan(counts, WORKED["lat"], WORKED["lon"], **opts)


def test_worked_examples() -> None:
    names = WORKED["locations"]
    for example in WORKED["examples"]:
        res = _run(example)
        top = res.clusters[0]
        want = example["most_likely"]
        assert [names[i] for i in top.locations] == want["locations"], example["name"]
        assert (top.start, top.end) == (want["start"], want["end"]), example["name"]
        assert top.observed == want["observed"]
        assert math.isclose(
            top.expected, want["expected_num"] / want["expected_den"], rel_tol=1e-12
        )
        llr = eval(want["llr"], {"log": math.log})  # noqa: S307 - our own fixture text
        assert math.isclose(top.llr, llr, rel_tol=1e-12), example["name"]
        assert res.n_zones == len(example["zones"])
        # relative risk: (c/μ) / ((C-c)/(C-μ))
        c, mu, n = top.observed, top.expected, res.total_cases
        assert math.isclose(top.relative_risk, (c / mu) / ((n - c) / (n - mu)), rel_tol=1e-12)


def test_worked_example_zones() -> None:
    dist = distance_matrix_km(np.array(WORKED["lat"]), np.array(WORKED["lon"]))
    assert math.isclose(dist[0, 1], 10.0, abs_tol=0.01)
    assert math.isclose(dist[1, 2], 15.0, abs_tol=0.01)
    zones = build_zones(dist, np.ones(3), max_radius_km=None, max_fraction=1.0)
    sets = sorted(tuple(sorted(zones.members(z))) for z in range(len(zones)))
    assert sets == [(0,), (0, 1), (0, 1, 2), (1,), (1, 2), (2,)]
    small = build_zones(dist, np.ones(3), max_radius_km=12.0, max_fraction=1.0)
    assert sorted(tuple(sorted(small.members(z))) for z in range(len(small))) == [
        (0,),
        (0, 1),
        (1,),
        (2,),
    ]


def test_ties_enter_a_zone_together() -> None:
    # B and C both 10 km from A (north and south)
    lat = np.array([37.5, 37.5 + 10 / 111.195, 37.5 - 10 / 111.195])
    lon = np.array([118.5, 118.5, 118.5])
    zones = build_zones(
        distance_matrix_km(lat, lon), np.ones(3), max_radius_km=None, max_fraction=1.0
    )
    around_a = [zones.members(z) for z in range(len(zones)) if zones.centre[z] == 0]
    assert [len(m) for m in around_a] == [1, 3]  # never A with only one of B, C


# --- brute force --------------------------------------------------------------------------


def _brute_force_top(
    counts, lat, lon, *, weight, expected, max_radius, frac, d_max, prosp, min_cases
):
    n_loc, n_days = counts.shape
    dist = distance_matrix_km(lat, lon)
    total = counts.sum()
    best = 0.0
    for i in range(n_loc):
        for r in sorted(set(dist[i])):
            if max_radius is not None and r > max_radius * (1 + 1e-12):
                break
            zone = [j for j in range(n_loc) if dist[i, j] <= r + 1e-9]
            if weight[zone].sum() > frac * weight.sum() * (1 + 1e-12):
                break
            for e in range(n_days):
                if prosp and e != n_days - 1:
                    continue
                for s in range(max(0, e - d_max + 1), e + 1):
                    c = counts[zone, s : e + 1].sum()
                    mu = expected[zone, s : e + 1].sum()
                    if c >= min_cases:
                        best = max(best, cylinder_llr(c, mu, total))
    return best


tables = st.integers(min_value=2, max_value=6).flatmap(
    lambda n: st.tuples(
        st.lists(st.lists(st.integers(0, 6), min_size=6, max_size=6), min_size=n, max_size=n),
        st.lists(
            st.tuples(st.floats(37.3, 38.2), st.floats(118.1, 119.2)),
            min_size=n,
            max_size=n,
            unique=True,
        ),
        st.lists(st.integers(100, 5000), min_size=n, max_size=n),
    )
)


@settings(max_examples=25, deadline=None)
@given(
    tables,
    st.booleans(),
    st.sampled_from([None, 25.0]),
    st.integers(1, 4),
    st.sampled_from([0.5, 1.0]),
)
def test_engine_matches_brute_force(table, prosp, radius, d_max, frac) -> None:
    counts = np.array(table[0])
    lat = np.array([p[0] for p in table[1]])
    lon = np.array([p[1] for p in table[1]])
    pop = np.array(table[2], dtype=float)
    total = counts.sum()
    if total == 0:
        return
    opts = {
        "max_radius_km": radius,
        "max_spatial_fraction": frac,
        "max_duration": d_max,
        "prospective": prosp,
        "replications": 19,
        "seed": 3,
        "min_cases": 2,
    }
    # permutation
    res = space_time_permutation_scan(counts, lat, lon, **opts)
    exp_perm = np.outer(counts.sum(1), counts.sum(0)) / total
    want = _brute_force_top(
        counts,
        lat,
        lon,
        weight=counts.sum(1).astype(float),
        expected=exp_perm,
        max_radius=radius,
        frac=frac,
        d_max=d_max,
        prosp=prosp,
        min_cases=2,
    )
    got = res.clusters[0].llr if res.clusters else 0.0
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    # poisson
    res = poisson_space_time_scan(counts, lat, lon, pop, **opts)
    exp_pois = np.outer(pop / pop.sum(), np.full(counts.shape[1], total / counts.shape[1]))
    want = _brute_force_top(
        counts,
        lat,
        lon,
        weight=pop,
        expected=exp_pois,
        max_radius=radius,
        frac=frac,
        d_max=d_max,
        prosp=prosp,
        min_cases=2,
    )
    got = res.clusters[0].llr if res.clusters else 0.0
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def test_p_values_follow_the_replicate_maxima() -> None:
    example = WORKED["examples"][0]
    res = _run(example)
    maxima = np.array(res.replicate_max_llr)
    assert maxima.size == 99
    for c in res.clusters:
        assert c.p_value == (1 + np.sum(maxima >= c.llr * (1 - 1e-12))) / 100
    # secondary clusters do not share townships with earlier ones
    seen: set[int] = set()
    for c in res.clusters:
        assert not seen.intersection(c.locations)
        seen.update(c.locations)
    assert [c.llr for c in res.clusters] == sorted((c.llr for c in res.clusters), reverse=True)
