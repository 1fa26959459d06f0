"""Shared conformance checks run over every temporal detector (STYLE §7.6).

``check_detector(fn, counts, **kwargs)`` asserts that a detector

* takes the counts positionally and every parameter as a keyword with a default;
* returns a frozen :class:`DetectionResult` with read-only arrays of consistent length;
* names its algorithm and version and records every keyword parameter it was given;
* does not modify its input and gives the same answer twice (deterministic);
* never reports an alarm where the alarm is undefined, and ``observed`` equals the input at
  the evaluated ``index``.

``DETECTORS`` lists every public single-series detector with arguments suited to a weekly
series of about 8 years (used by ``tests/test_conformance.py``).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from phis.algorithms.aberration import (
    DetectionResult,
    cusum,
    ears_c1,
    ears_c2,
    ears_c3,
    ears_c3_cdc,
    farrington_flexible,
    farrington_noufaily,
    fixed_threshold,
    glrnb,
    mpm,
)

__all__ = ["DETECTORS", "check_detector"]

# name -> (function, keyword arguments)
DETECTORS: dict[str, tuple[Callable[..., DetectionResult], dict[str, Any]]] = {
    "fixed": (fixed_threshold, {"k": 3, "window": 2}),
    "mpm": (mpm, {"block": 1, "year_shift": 52, "percentile": 80}),
    "ears-c1": (ears_c1, {}),
    "ears-c2": (ears_c2, {"min_sigma": 0.5}),
    "ears-c3": (ears_c3, {}),
    "ears-c3-cdc": (ears_c3_cdc, {}),
    "farrington": (farrington_flexible, {"range_start": 300}),
    "farrington-noufaily": (farrington_noufaily, {"range_start": 380}),
    "cusum": (cusum, {}),
    "glrnb": (glrnb, {"alpha": 0.2, "M": 52}),
}


def _fail(name: str, message: str) -> AssertionError:
    return AssertionError(f"{name}: {message}")


def check_detector(fn: Callable[..., DetectionResult], counts: Any, **kwargs: Any
                   ) -> DetectionResult:
    name = getattr(fn, "__name__", repr(fn))
    # 1. signature: one positional (the counts), everything else keyword-only with a default
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if not params or params[0].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                            inspect.Parameter.POSITIONAL_OR_KEYWORD):
        raise _fail(name, "first parameter must be the counts")
    for p in params[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise _fail(name, f"parameter {p.name} must be keyword-only")
        if p.default is inspect.Parameter.empty:
            raise _fail(name, f"parameter {p.name} has no default")
    # 2. no input mutation
    arr = np.array(counts, dtype=np.float64)
    before = arr.copy()
    result = fn(arr, **kwargs)
    if not np.array_equal(arr, before):
        raise _fail(name, "modified its input array")
    as_list = [int(v) for v in before]
    result_list = fn(as_list, **kwargs)
    if as_list != [int(v) for v in before]:
        raise _fail(name, "modified its input list")
    # 3. type and immutability
    if not isinstance(result, DetectionResult):
        raise _fail(name, "does not return a DetectionResult")
    try:
        result.algorithm = "x"  # type: ignore[misc]
    except (dataclasses.FrozenInstanceError, AttributeError):
        pass
    else:
        raise _fail(name, "result is mutable")
    arrays = [result.index, result.observed, result.threshold, result.alarm,
              result.alarm_defined, *(v for _, v in result.columns)]
    for values in arrays:
        if values.flags.writeable:
            raise _fail(name, "result arrays must be read-only")
        if values.shape != result.index.shape:
            raise _fail(name, "result arrays have different lengths")
    # 4. identity and parameters
    if not result.algorithm or not result.version:
        raise _fail(name, "algorithm and version must be set")
    if "/" not in result.algorithm_version:
        raise _fail(name, "algorithm_version must be name/version")
    recorded = result.params
    for p in params[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD or p.name == "population":
            continue
        if p.name not in recorded:
            raise _fail(name, f"parameter {p.name} is not recorded in the result")
    for key, value in kwargs.items():
        if key in recorded and key not in ("range_start", "range_stop") and (
                recorded[key] != value and not (
                    isinstance(value, int | float) and recorded[key] == float(value))):
            raise _fail(name, f"parameter {key} recorded as {recorded[key]!r}, given {value!r}")
    hash(result.parameters)  # parameters are immutable values
    # 5. determinism
    for a, b in zip(_arrays(result), _arrays(result_list), strict=True):
        if not np.array_equal(a, b, equal_nan=True):
            raise _fail(name, "not deterministic (list vs array input, or repeated call)")
    # 6. consistency
    if np.any(result.alarm & ~result.alarm_defined):
        raise _fail(name, "alarm set where undefined")
    if not np.array_equal(result.observed, before[result.index]):
        raise _fail(name, "observed must equal the input at index")
    if result.index.size and (np.any(np.diff(result.index) <= 0) or result.index[0] < 0):
        raise _fail(name, "index must be increasing positions in the input")
    return result


def _arrays(result: DetectionResult) -> list[np.ndarray]:
    return [result.index, result.observed, result.threshold, result.alarm,
            result.alarm_defined, *(v for _, v in result.columns)]
