"""Evaluation harness: simulation, injection, metrics, CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from phis.algorithms.aberration import DetectionResult
from phis.algorithms.evaluation import (
    NOUFAILY_SCENARIOS,
    Scenario,
    evaluate_detectors,
    inject_outbreak,
    simulate_baseline,
    simulate_series,
)
from phis.cli import evaluate_detectors as cli


def test_baseline_mean_and_dispersion() -> None:
    sc = Scenario(name="x", theta=2.0, phi=3.0)
    y = simulate_baseline(sc, 52, np.random.default_rng(0), n_series=4000)
    assert y.mean() == pytest.approx(np.exp(2.0), rel=0.03)
    assert y.var() / y.mean() == pytest.approx(3.0, rel=0.08)
    pois = simulate_baseline(Scenario(name="p", theta=1.0), 52, np.random.default_rng(1), 4000)
    assert pois.var() / pois.mean() == pytest.approx(1.0, rel=0.08)


def test_seasonality_and_trend_in_the_mean() -> None:
    sc = Scenario(name="s", theta=1.0, beta=0.01, gamma1=0.5, gamma2=0.0, m=1)
    t = np.arange(1, 105, dtype=float)
    expected = np.exp(1.0 + 0.01 * t + 0.5 * np.cos(2 * np.pi * t / 52))
    np.testing.assert_allclose(sc.mean(t), expected)


def test_inject_outbreak_adds_the_reported_cases() -> None:
    rng = np.random.default_rng(3)
    y = np.zeros(100)
    total, last = inject_outbreak(y, 50, k=10, sd_at_start=3.0, rng=rng)
    assert y.sum() == total > 0
    assert y[:50].sum() == 0 and last >= 50


def test_simulated_series_have_one_current_outbreak_each() -> None:
    sim = simulate_series(NOUFAILY_SCENARIOS[10], n_series=6, rng=np.random.default_rng(2))
    assert sim.counts.shape == (6, 624)
    starts = sim.outbreak_start[sim.outbreak_start >= 0]
    assert np.all(starts >= sim.eval_start)
    assert np.all(sim.counts >= sim.outbreak_cases)


def test_scores_of_a_perfect_and_a_silent_detector() -> None:
    def oracle_factory(sim_holder):
        def fn(x, start):
            idx = np.arange(start, x.shape[1])
            alarm = sim_holder["cases"][:, idx] > 0
            return DetectionResult.build(algorithm="oracle", version="1", parameters={},
                                         index=idx, observed=x[:, idx],
                                         threshold=np.zeros(alarm.shape), alarm=alarm)
        return fn

    def silent(x, start):
        idx = np.arange(start, x.shape[1])
        zeros = np.zeros((x.shape[0], idx.size), dtype=bool)
        return DetectionResult.build(algorithm="silent", version="1", parameters={}, index=idx,
                                     observed=x[:, idx], threshold=np.zeros(zeros.shape),
                                     alarm=zeros)

    sc = NOUFAILY_SCENARIOS[4]
    holder: dict[str, np.ndarray] = {}
    sim = simulate_series(sc, n_series=8, rng=np.random.default_rng([5, 0]))
    holder["cases"] = sim.outbreak_cases
    report = evaluate_detectors({"oracle": oracle_factory(holder), "silent": silent},
                                scenarios=[sc], n_series=8, seed=5)
    oracle, quiet = report.rows
    assert oracle.pod == 1.0 and oracle.fpr == 0.0 and oracle.timeliness == 0.0
    assert quiet.pod == 0.0 and quiet.fpr == 0.0 and quiet.timeliness == 1.0


def test_real_detectors_are_better_than_chance_and_reproducible() -> None:
    sc = next(s for s in NOUFAILY_SCENARIOS if s.theta == 2.0 and s.m == 1 and s.phi == 1.0)
    a = evaluate_detectors(["ears-c1", "farrington"], scenarios=[sc], n_series=12, seed=3,
                           k=8)
    b = evaluate_detectors(["ears-c1", "farrington"], scenarios=[sc], n_series=12, seed=3,
                           k=8)
    assert a.as_table() == b.as_table()
    for row in a.rows:
        assert row.pod >= 0.5 and row.fpr < 0.2
    assert dict(a.parameters)["seed"] == 3


def test_cli_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    rc = cli.main(["--methods", "ears-c2,fixed", "--scenarios", "S01", "--sims", "3",
                   "--output", str(out), "--metadata", str(tmp_path / "m.json")])
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["detector"] for r in rows] == ["ears-c2", "fixed"]
    assert set(rows[0]) >= {"pod", "fpr", "sensitivity", "timeliness"}
    assert cli.main(["--scenarios", "S99", "--output", str(out)]) == 2
    assert cli.main(["--methods", "nope", "--scenarios", "S01", "--output", str(out)]) == 2
