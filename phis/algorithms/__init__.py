"""PHIS analytics library: pure Python (numpy/scipy/statsmodels), no Django, no database.

Every algorithm is a function with explicit keyword parameters that returns an immutable
result carrying the algorithm name, version and every parameter used (STYLE §5).

- ``phis.algorithms.aberration``: fixed threshold, CIDARS moving percentile method, EARS
  C1/C2/C3, Farrington flexible / Noufaily, CUSUM and GLR, matching R ``surveillance``; batch
  versions evaluate many series at once. ``phis.algorithms.evaluation``: the harness.
- ``phis.algorithms.scan``: space-time permutation and Poisson scan statistics.
- ``phis.algorithms.epi``: instantaneous reproduction number (EpiEstim's method).
- ``phis.algorithms.forecast``: short-term negative-binomial forecasts and their scoring.
- ``phis.algorithms.linkage``: record linkage (Fellegi-Sunter) for the master patient index.
- ``phis.algorithms.identity``: resident ID (GB 11643). ``phis.algorithms.synthpop``:
  synthetic population.

Names are exported lazily: ``phis detect`` should not pay for importing pandas or
statsmodels that only other commands use.
"""

import importlib

_EXPORTS = {
    "phis.algorithms.aberration": (
        "DetectionResult", "Series", "cusum", "ears_batch", "ears_c1", "ears_c2", "ears_c3",
        "ears_c3_cdc", "farrington_flexible", "farrington_flexible_batch",
        "farrington_noufaily", "fixed_threshold", "fixed_threshold_batch", "glrnb", "mpm",
        "mpm_batch"),
    "phis.algorithms.epi": ("RtResult", "discr_si", "estimate_rt"),
    "phis.algorithms.forecast": ("BacktestResult", "ForecastResult", "backtest_forecast",
                                 "forecast_counts", "weighted_interval_score"),
    "phis.algorithms.scan": ("ScanCluster", "ScanResult", "poisson_space_time_scan",
                             "space_time_permutation_scan"),
    "phis.algorithms.linkage": (
        "DedupeResult", "FellegiSunterModel", "LinkResult", "LinkageIndex", "LinkageSchema",
        "Linker", "MatchResult", "chinese_person_schema", "febrl_schema"),
    "phis.algorithms.synthpop": ("PersonRecord", "Persons", "generate_persons"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'phis.algorithms' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
