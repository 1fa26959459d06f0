"""Agreement with R surveillance 1.20.3 on public and simulated series.

Reference files are made by ``tests/reference/detect/make_reference.R``. Every case goes through
the same path as ``phis detect`` (CSV reading, ``--param`` parsing, default range) and must give
identical alarms and thresholds (and method columns) within 1e-6 relative.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from phis.cli._series_io import read_series_csv
from phis.cli.detect import run_detector

REF_DIR = Path(__file__).resolve().parents[3] / "tests" / "reference" / "detect"
RTOL = 1e-6


def _cases() -> list[dict[str, str]]:
    path = REF_DIR / "cases.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (text or "").split(";")):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _num(values: list[str]) -> np.ndarray:
    return np.array([np.nan if v in ("NA", "") else float(v) for v in values])


def _read_ref(case: str) -> dict[str, np.ndarray]:
    with open(REF_DIR / f"ref_{case}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: _num([r[key] for r in rows]) for key in rows[0]}


def _close(ours: np.ndarray, ref: np.ndarray, what: str, case: str) -> None:
    ours = np.asarray(ours, dtype=float)
    assert ours.shape == ref.shape, f"{case}: {what} length {ours.shape} != {ref.shape}"
    nan_ours, nan_ref = np.isnan(ours), np.isnan(ref)
    bad = np.flatnonzero(nan_ours != nan_ref)
    assert bad.size == 0, f"{case}: {what} NA pattern differs at rows {bad[:10]}"
    ok = ~nan_ref
    same = np.isclose(ours[ok], ref[ok], rtol=RTOL, atol=1e-12) | (ours[ok] == ref[ok])
    bad = np.flatnonzero(ok)[~same]
    assert bad.size == 0, (
        f"{case}: {what} differs at rows {bad[:10]}: ours {ours[bad[:3]]} R {ref[bad[:3]]}"
    )


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="reference files not generated")
@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_matches_r_surveillance(case: dict[str, str]) -> None:
    series = read_series_csv(REF_DIR / f"series_{case['series']}.csv")
    result = run_detector(case["method"], series, _params(case["params"]))
    ref = _read_ref(case["case"])
    name = case["case"]
    np.testing.assert_array_equal(result.index + 1, ref["index"].astype(int), err_msg=name)
    _close(result.observed, ref["observed"], "observed", name)
    _close(result.alarm_values(), ref["alarm"], "alarm", name)
    _close(result.threshold, ref["threshold"], "threshold", name)
    for column in ("expected", "score", "pvalue", "phi", "trend", "statistic"):
        if column in ref and column in result.column_names:
            _close(result.column(column), ref[column], column, name)


def test_reference_versions_recorded() -> None:
    path = REF_DIR / "versions.txt"
    if not path.exists():
        pytest.skip("reference files not generated")
    text = path.read_text()
    assert "surveillance 1.20" in text
