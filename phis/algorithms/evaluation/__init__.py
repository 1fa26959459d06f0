"""Evaluation harness for the temporal detectors (Noufaily et al. 2013 simulation design).

Baselines are simulated, outbreaks injected, every detector run over the evaluation weeks, and
probability of detection, false-positive rate, sensitivity and timeliness reported per
detector and scenario, so that an algorithm can be chosen per disease and area from evidence.
"""

from phis.algorithms.evaluation.harness import (
    DETECTOR_ADAPTERS,
    NOUFAILY_SCENARIOS,
    EvaluationReport,
    EvaluationRow,
    Scenario,
    SimulatedSeries,
    evaluate_detectors,
    inject_outbreak,
    simulate_baseline,
    simulate_series,
)

__all__ = [
    "DETECTOR_ADAPTERS",
    "NOUFAILY_SCENARIOS",
    "EvaluationReport",
    "EvaluationRow",
    "Scenario",
    "SimulatedSeries",
    "evaluate_detectors",
    "inject_outbreak",
    "simulate_baseline",
    "simulate_series",
]
