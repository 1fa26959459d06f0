"""Known answers and invariants (hypothesis) of the temporal detectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from phis.algorithms.aberration import (
    cusum,
    ears_batch,
    ears_c1,
    ears_c2,
    ears_c3,
    ears_c3_cdc,
    farrington_flexible,
    farrington_flexible_batch,
    fixed_threshold,
    fixed_threshold_batch,
    mpm,
    mpm_batch,
)
from phis.algorithms.aberration.farrington import farrington_design

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
counts_st = st.lists(st.integers(min_value=0, max_value=40), min_size=12, max_size=60)


# ----------------------------------------------------------------- known answers
def test_ears_c1_worked_example_from_domain_doc() -> None:
    y = [2, 3, 4, 3, 2, 3, 4, 6]
    r = ears_c1(y, alpha=1 - norm.cdf(3))
    assert r.index.tolist() == [7]
    assert r.threshold[0] == pytest.approx(3 + 3 * np.sqrt(2 / 3), rel=1e-12)  # 5.449
    assert r.alarm[0]
    r5 = ears_c1([2, 3, 4, 3, 2, 3, 4, 5], alpha=1 - norm.cdf(3))
    assert not r5.alarm[0]
    default = ears_c1(y)
    assert default.threshold[0] == pytest.approx(5.523, abs=5e-4)


def test_ears_zero_sd_semantics_follow_r() -> None:
    y = [0] * 12 + [1]
    c1 = ears_c1(y)
    assert c1.threshold[-1] == 0.0 and c1.alarm[-1]  # bound = mean when sd = 0
    c3 = ears_c3(y)
    # R: C2 = 0/0 = NaN on flat baselines -> undefined bound and alarm
    assert np.isnan(c3.threshold[0]) and not c3.alarm_defined[0]
    floored = ears_c1(y, min_sigma=1.0)
    assert floored.threshold[-1] == pytest.approx(norm.ppf(0.999))


def test_ears_c3_cdc_is_the_textbook_sum() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(4, 60)
    y[50:53] += 12
    cdc = ears_c3_cdc(y)
    c2 = ears_c2(y, range_start=cdc.index[0] - 2)
    part = np.maximum(0.0, c2.column("statistic") - 1)
    expected = part[:-2] + part[1:-1] + part[2:]
    np.testing.assert_allclose(cdc.column("statistic"), expected)
    np.testing.assert_array_equal(cdc.alarm, expected > 2)
    # where the bound is finite, alarm <=> observed above it
    fin = np.isfinite(cdc.threshold)
    np.testing.assert_array_equal(cdc.alarm[fin], cdc.observed[fin] > cdc.threshold[fin])


def test_mpm_worked_example_from_domain_doc() -> None:
    base = [0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 8]
    # weekly layout: block = 1, 5 blocks per year around t - 52*y
    y = np.zeros(3 * 52 + 3)
    t = len(y) - 1
    pos = [t - 52 * yr + j for yr in (1, 2, 3) for j in (-2, -1, 0, 1, 2)]
    y[pos] = base
    y[t] = 4
    p50 = mpm(y, block=1, year_shift=52, percentile=50)
    assert p50.index.tolist() == [t]
    assert p50.threshold[0] == 3.0 and p50.alarm[0]
    p80 = mpm(y, block=1, year_shift=52, percentile=80)
    assert p80.threshold[0] == 5.0 and not p80.alarm[0]
    y[t] = 3  # boundary: current == threshold -> no signal with '>'
    assert not mpm(y, block=1, year_shift=52).alarm[0]
    assert mpm(y, block=1, year_shift=52, strict=False).alarm[0]


def test_mpm_daily_defaults_use_seven_day_blocks() -> None:
    rng = np.random.default_rng(5)
    y = rng.poisson(2, 3 * 364 + 40)
    r = mpm(y)
    t = int(r.index[-1])
    assert r.column("statistic")[-1] == y[t - 6: t + 1].sum()
    blocks = [y[t - 364 * yr + 7 * j - 6: t - 364 * yr + 7 * j + 1].sum()
              for yr in (1, 2, 3) for j in range(-2, 3)]
    assert r.threshold[-1] == np.percentile(blocks, 50)
    assert r.index[0] == 3 * 364 + 14 + 6


def test_fixed_threshold_single_case_rule() -> None:
    r = fixed_threshold([0, 0, 1, 0, 2])
    assert r.alarm.tolist() == [False, False, True, False, True]
    r2 = fixed_threshold([1, 1, 0, 1, 1, 1], k=3, window=3)
    assert r2.index.tolist() == [2, 3, 4, 5]
    assert r2.alarm.tolist() == [False, False, False, True]


def test_farrington_design_classic_and_noufaily() -> None:
    off, lev = farrington_design(freq=52, b=5, w=3, no_periods=1, past_weeks_not_included=3)
    assert off.size == 35 and set(lev.tolist()) == {1}
    assert off.min() == -263 and off.max() == -49
    off, lev = farrington_design(freq=52, b=5, w=3, no_periods=10, past_weeks_not_included=26)
    assert off.min() == -263 and off.max() == -27
    assert set(lev.tolist()) == set(range(1, 11))
    assert (lev[np.isin(off, [-52, -55, -49])] == 10).all()


def test_farrington_rejects_too_early_range() -> None:
    y = np.ones(300)
    with pytest.raises(ValueError, match="too early"):
        farrington_flexible(y, range_start=100)


# ----------------------------------------------------------------- invariants
@FAST
@given(counts_st)
def test_ears_alarm_iff_above_bound(y: list[int]) -> None:
    for fn in (ears_c1, ears_c2):
        r = fn(y, min_sigma=0.5)
        np.testing.assert_array_equal(r.alarm, r.observed > r.threshold)
        assert np.all(r.threshold >= r.column("expected"))


@FAST
@given(counts_st, st.integers(min_value=1, max_value=30))
def test_ears_c1_c2_shift_invariance(y: list[int], shift: int) -> None:
    for fn in (ears_c1, ears_c2):
        a = fn(y, min_sigma=0.5)
        b = fn([v + shift for v in y], min_sigma=0.5)
        np.testing.assert_array_equal(a.alarm, b.alarm)
        np.testing.assert_allclose(b.threshold, a.threshold + shift, rtol=1e-9)


@FAST
@given(counts_st)
def test_a_zero_count_never_alarms(y: list[int]) -> None:
    z = [*y, 0]
    assert not ears_c1(z).alarm[-1]
    assert not ears_c2(z).alarm[-1]
    assert not fixed_threshold(z).alarm[-1]


@FAST
@given(counts_st, st.integers(min_value=1, max_value=50))
def test_more_cases_today_never_remove_an_alarm(y: list[int], extra: int) -> None:
    more = [*y[:-1], y[-1] + extra]
    for fn in (ears_c1, ears_c2, ears_c3, fixed_threshold):
        if fn(y).alarm[-1]:
            assert fn(more).alarm[-1], fn.__name__


@FAST
@given(st.lists(st.integers(min_value=0, max_value=15), min_size=60, max_size=120),
       st.floats(min_value=0.5, max_value=3), st.floats(min_value=1, max_value=6))
def test_cusum_statistic_and_alarm(y: list[int], k: float, h: float) -> None:
    r = cusum(y, k=k, h=h, freq=20, m=3.0)
    stat = r.column("statistic")
    assert np.all(stat >= 0)
    np.testing.assert_array_equal(r.alarm, stat >= h)
    z = (np.asarray(y)[r.index] - 3.0) / np.sqrt(3.0)
    s = 0.0
    for j, zj in enumerate(z):
        s = max(0.0, s + zj - k)
        assert stat[j] == pytest.approx(s)


def test_farrington_alarm_implies_above_bound_and_zero_never_alarms() -> None:
    rng = np.random.default_rng(11)
    t = np.arange(52 * 7)
    y = rng.poisson(6 * np.exp(0.4 * np.sin(2 * np.pi * t / 52)))
    y[-30:-26] += 25
    y[-10] = 0
    r = farrington_flexible(y)
    fin = r.alarm & r.alarm_defined
    assert np.all(r.observed[fin] > r.threshold[fin])
    assert not r.alarm[r.observed == 0].any()
    assert r.alarm.any()


# ----------------------------------------------------------------- batch == single
def test_batch_functions_equal_single_series() -> None:
    rng = np.random.default_rng(2)
    x = rng.poisson(3.0, size=(4, 52 * 6 + 10)).astype(float)
    x[1, -5:] += 15
    fb = farrington_flexible_batch(x, range_start=52 * 6)
    eb = ears_batch(x, method="C2", alpha=0.01)
    mb = mpm_batch(x, block=1, year_shift=52)
    xb = fixed_threshold_batch(x, k=5)
    for i in range(x.shape[0]):
        f1 = farrington_flexible(x[i], range_start=52 * 6)
        np.testing.assert_allclose(fb.threshold[i], f1.threshold, rtol=1e-10)
        np.testing.assert_array_equal(fb.alarm[i], f1.alarm)
        e1 = ears_c2(x[i], alpha=0.01)
        np.testing.assert_allclose(eb.threshold[i], e1.threshold, rtol=1e-12)
        m1 = mpm(x[i], block=1, year_shift=52)
        np.testing.assert_array_equal(mb.threshold[i], m1.threshold)
        np.testing.assert_array_equal(xb.alarm[i], fixed_threshold(x[i], k=5).alarm)
    assert fb.alarm[1].any()


def test_mpm_without_enough_history_evaluates_nothing() -> None:
    short = np.ones(3 * 364)  # fewer than 15 complete baseline blocks for any day
    assert len(mpm(short)) == 0
    with pytest.raises(ValueError, match="too early"):
        mpm(short, range_start=100)


def test_mpm_is_index_based_across_leap_years() -> None:
    # 364-day shift: the baseline of day t uses days t-364, t-728, t-1092 whatever the calendar
    y = np.zeros(3 * 364 + 30)
    t = len(y) - 1
    for yr in (1, 2, 3):
        y[t - 364 * yr] = 1
    r = mpm(y, percentile=100, range_start=t)
    assert r.threshold[0] == 1.0
