"""Invariants of estimate_rt (hypothesis) and its input checks."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.algorithms.epi import RT_ALGORITHM, discr_si, estimate_rt, overall_infectivity

counts = st.lists(st.integers(min_value=0, max_value=500), min_size=10, max_size=60)
si_params = st.tuples(
    st.floats(min_value=1.5, max_value=12.0), st.floats(min_value=0.5, max_value=6.0)
)


@settings(max_examples=40, deadline=None)
@given(counts, si_params, st.integers(min_value=1, max_value=8))
def test_quantiles_are_ordered_and_window_count(inc, si, window) -> None:
    res = estimate_rt(inc, mean_si=si[0], std_si=si[1], window=window)
    assert len(res) == len(inc) - window
    for i in range(len(res)):
        if math.isnan(res.mean[i]):
            assert res.t_end[i] <= res.si_mean
            continue
        qs = [
            res.q025[i],
            res.q05[i],
            res.q25[i],
            res.median[i],
            res.q75[i],
            res.q95[i],
            res.q975[i],
        ]
        assert all(a <= b * (1 + 1e-12) for a, b in itertools.pairwise(qs))
        assert qs[0] >= 0
        assert res.sd[i] > 0


@settings(max_examples=40, deadline=None)
@given(counts, si_params, st.integers(min_value=2, max_value=50))
def test_scaling_incidence_with_matching_prior_keeps_the_mean(inc, si, c) -> None:
    """Counts × c with prior sd / sqrt(c): posterior mean unchanged, sd / sqrt(c)."""
    base = estimate_rt(inc, mean_si=si[0], std_si=si[1], mean_prior=5, std_prior=5)
    scaled = estimate_rt(
        np.asarray(inc) * c,
        mean_si=si[0],
        std_si=si[1],
        mean_prior=5,
        std_prior=5 / math.sqrt(c),
    )
    np.testing.assert_allclose(scaled.mean, base.mean, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(
        np.asarray(scaled.sd) * math.sqrt(c), base.sd, rtol=1e-9, equal_nan=True
    )


@settings(max_examples=40, deadline=None)
@given(counts, si_params)
def test_longer_windows_never_increase_the_posterior_cv(inc, si) -> None:
    """For windows ending on the same day, CV = 1/sqrt(shape) is non-increasing in length."""
    n = len(inc)
    t_end = n
    lengths = list(range(1, n))  # t_start from n down to 2
    res = estimate_rt(
        inc,
        mean_si=si[0],
        std_si=si[1],
        t_start=[t_end - k + 1 for k in lengths],
        t_end=[t_end] * len(lengths),
    )
    if math.isnan(res.mean[0]):
        return
    cv = np.asarray(res.sd) / np.asarray(res.mean)
    assert np.all(np.diff(cv) <= 1e-12)
    assert res.window is None


def test_exact_renewal_recovers_r() -> None:
    """Deterministic renewal I_t = R Λ_t with a vague prior gives back R."""
    w = discr_si(np.arange(200), 4.0, 2.0)
    inc = np.zeros(200)
    inc[0] = 1000.0
    for t in range(1, 200):
        r = 1.5 if t < 100 else 0.7
        inc[t] = r * np.sum(w[1 : t + 1] * inc[t - 1 :: -1])
    res = estimate_rt(inc, mean_si=4.0, std_si=2.0, window=7, mean_prior=1.0, std_prior=1e6)
    ends = np.asarray(res.t_end)
    mean = np.asarray(res.mean)
    assert np.allclose(mean[(ends > 20) & (ends < 100)], 1.5, rtol=1e-6)
    assert np.allclose(mean[ends > 110], 0.7, rtol=1e-6)


def test_result_is_immutable_and_carries_parameters() -> None:
    res = estimate_rt([3, 4, 5, 6, 7, 8, 9, 10, 11, 12], mean_si=2.6, std_si=1.5, window=3)
    assert res.algorithm == RT_ALGORITHM and res.version
    assert res.parameters == {
        "mean_si": 2.6,
        "std_si": 1.5,
        "window": 3,
        "mean_prior": 5.0,
        "std_prior": 5.0,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mean = ()  # type: ignore[misc]
    assert len(res.si_distr) == 11 and 0.99 < sum(res.si_distr) <= 1  # truncated at T - 1


def test_overall_infectivity_first_day_undefined() -> None:
    lam = overall_infectivity([2, 0, 0], [0, 0.5, 0.5])
    assert math.isnan(lam[0])
    assert lam[1:].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mean_si": 1.0, "std_si": 1.0}, "mean_si"),
        ({"mean_si": 3.0, "std_si": 0.0}, "std_si"),
        ({"mean_si": 3.0, "std_si": 1.0, "window": 0}, "window"),
        ({"mean_si": 3.0, "std_si": 1.0, "window": 9}, "too short"),
        ({"mean_si": 3.0, "std_si": 1.0, "t_start": [1], "t_end": [3]}, "t_start"),
        ({"mean_si": 3.0, "std_si": 1.0, "mean_prior": 0}, "prior"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_rt([1, 2, 3, 4, 5, 6, 7, 8, 9], **kwargs)


def test_negative_or_missing_counts_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        estimate_rt([1, -1, 3, 4], mean_si=2, std_si=1, window=2)
    with pytest.raises(ValueError, match="missing"):
        estimate_rt([1, float("nan"), 3, 4], mean_si=2, std_si=1, window=2)
