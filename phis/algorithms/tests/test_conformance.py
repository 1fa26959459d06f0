"""The shared conformance suite over every temporal detector (STYLE §7.6)."""

from __future__ import annotations

import numpy as np
import pytest

from phis.algorithms._checks import DETECTORS, check_detector


def _weekly_series(seed: int = 7, years: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(52 * years)
    mu = np.exp(1.2 + 0.5 * np.sin(2 * np.pi * t / 52))
    y = rng.negative_binomial(5, 5 / (5 + mu))
    y[-20:-15] += 12
    return y


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_conforms(name: str) -> None:
    fn, kwargs = DETECTORS[name]
    result = check_detector(fn, _weekly_series(), **kwargs)
    assert len(result) > 0


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_rejects_negative_counts(name: str) -> None:
    fn, kwargs = DETECTORS[name]
    y = _weekly_series().astype(float)
    y[3] = -1
    with pytest.raises(ValueError):
        fn(y, **kwargs)


def test_check_detector_catches_a_mutating_detector() -> None:
    from phis.algorithms.aberration import ears_c1

    def bad(counts, *, baseline: int = 7):
        counts[0] = 99
        return ears_c1(counts, baseline=baseline)

    with pytest.raises(AssertionError, match="modified"):
        check_detector(bad, _weekly_series())
