"""The detection bridge without a database: the §3.1 MPM worked example, the boundary, the
baseline coverage that decides the EARS fallback, and every method on a matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.apps.signals import engine
from phis.apps.signals.rules import METHODS, Method, default_parameters, priority

BASELINE = [0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 8]  # §3.1 worked example


def mpm_series(current: int, baseline=BASELINE) -> np.ndarray:
    p = default_parameters(Method.MPM)
    n = engine.lookback_days(Method.MPM, p) + 1
    t = n - 1
    x = np.zeros(n)
    ends = [t - (y * 364 - 7 * j) for y in range(1, 4) for j in range(-2, 3)]
    for end, value in zip(ends, baseline, strict=True):
        x[end] = value  # the whole block's count on its last day
    x[t] = current
    return x


@pytest.mark.parametrize(("percentile", "current", "alarm", "threshold"), [
    (50, 4, True, 3.0), (80, 4, False, 5.0), (50, 3, False, 3.0), (80, 6, True, 5.0)])
def test_mpm_worked_example(percentile, current, alarm, threshold):
    params = {**default_parameters(Method.MPM), "percentile": percentile}
    ev = engine.evaluate(Method.MPM, params, mpm_series(current)[None, :])
    assert ev.threshold[0, -1] == threshold
    assert bool(ev.alarm[0, -1]) is alarm
    assert ev.observed[0, -1] == current and ev.window_days == 7


def test_mpm_boundary_equal_is_a_signal_only_with_ge():
    params = {**default_parameters(Method.MPM), "strict": False}
    ev = engine.evaluate(Method.MPM, params, mpm_series(3)[None, :])
    assert ev.alarm[0, -1]


def test_mpm_baseline_blocks_counts_covered_history():
    p = default_parameters(Method.MPM)
    n = engine.lookback_days(Method.MPM, p) + 1
    full, none, one_year = 0, n, n - 364 - 3 * 7
    blocks = engine.mpm_baseline_blocks(np.array([full, none, one_year]), n, p)
    assert list(blocks) == [15, 0, 5]


@given(st.lists(st.integers(0, 30), min_size=15, max_size=15), st.integers(0, 40))
@settings(max_examples=60, deadline=None)
def test_mpm_alarm_iff_current_exceeds_percentile(baseline, current):
    params = default_parameters(Method.MPM)
    ev = engine.evaluate(Method.MPM, params, mpm_series(current, baseline)[None, :])
    expected = current >= 1 and current > np.percentile(baseline, 50)
    assert bool(ev.alarm[0, -1]) is bool(expected)


@pytest.mark.parametrize("method", [m for m in METHODS if m != Method.SCAN])
def test_every_series_method_runs_on_a_matrix(method):
    params = default_parameters(method)
    n = engine.lookback_days(method, params) + 1
    rng = np.random.default_rng(3)
    x = rng.poisson(2.0, size=(3, n)).astype(float)
    # an outbreak in the second series: a week for the block methods, a spike for EARS
    # (C1/C2 compare today with the days before; R's C3 bound reads the two previous days)
    spike = {Method.EARS_C1: 1, Method.EARS_C2: 1, Method.EARS_C3: 3}.get(method, 7)
    x[1, -spike:] += 25
    ev = engine.evaluate(method, params, x)
    assert ev.alarm.shape == (3, 1)
    assert ev.algorithm and ev.parameters
    if method != Method.FIXED:
        assert ev.alarm[1, -1]


def test_scan_finds_a_cluster_in_one_township():
    rng = np.random.default_rng(1)
    x = rng.poisson(0.5, size=(5, 60))
    x[2, -3:] += 8
    lat = [37.40, 37.45, 37.50, 37.55, 37.60]
    lon = [118.50, 118.55, 118.60, 118.65, 118.70]
    params = {**default_parameters(Method.SCAN), "study_days": 60, "replications": 199}
    found = engine.scan(params, x, lat, lon)
    assert found is not None and 2 in found.townships and found.p_value < 0.05


def test_priority_orders_class_method_excess():
    a = priority(disease_class="A", managed_as_class_a=False, method=Method.FIXED,
                 observed=1, threshold=1)
    c = priority(disease_class="C", managed_as_class_a=False, method=Method.MPM,
                 observed=10, threshold=3)
    c_small = priority(disease_class="C", managed_as_class_a=False, method=Method.MPM,
                       observed=4, threshold=3)
    assert a > c > c_small
