"""R_t and discr_si against EpiEstim 2.2-4 (tests/reference/rt, made by make_reference.R)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from phis.algorithms.epi import discr_si, estimate_rt
from phis.cli import rt as rt_cli

REF = Path(__file__).resolve().parents[3] / "tests" / "reference" / "rt"
RTOL = 1e-6
COLUMNS = ("mean", "sd", "q025", "q05", "q25", "q50", "q75", "q95", "q975")
RESULT_FIELD = {"q50": "median"}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _num(text: str) -> float:
    return math.nan if text == "" else float(text)


CASES = _read(REF / "cases.csv")


def _assert_close(ours: list[float], ref: list[float], what: str) -> None:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(ref, dtype=float)
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: NA pattern differs"
    ok = ~np.isnan(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=RTOL, atol=0, err_msg=what)


def test_discr_si_matches_epiestim() -> None:
    rows = _read(REF / "discr_si.csv")
    pairs = sorted({(float(r["mean_si"]), float(r["std_si"])) for r in rows})
    assert len(pairs) >= 6
    for mean_si, std_si in pairs:
        sel = [r for r in rows if float(r["mean_si"]) == mean_si and float(r["std_si"]) == std_si]
        k = np.array([int(r["k"]) for r in sel])
        ref = np.array([float(r["w"]) for r in sel])
        ours = discr_si(k, mean_si, std_si)
        # the formula subtracts nearly equal CDF terms: allow ~1e-12 absolute rounding noise
        np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_estimate_rt_matches_epiestim(case: dict[str, str]) -> None:
    data = _read(REF / f"{case['dataset']}.csv")
    counts = [int(r["count"]) for r in data]
    imported = [int(r["imported"]) for r in data] if "imported" in data[0] else None
    ref = _read(REF / case["output"])
    res = estimate_rt(
        counts,
        imported=imported,
        mean_si=float(case["mean_si"]),
        std_si=float(case["std_si"]),
        window=int(case["window"]),
        mean_prior=float(case["mean_prior"]),
        std_prior=float(case["std_prior"]),
    )
    assert list(res.t_start) == [int(r["t_start"]) for r in ref]
    assert list(res.t_end) == [int(r["t_end"]) for r in ref]
    for col in COLUMNS:
        _assert_close(
            list(getattr(res, RESULT_FIELD.get(col, col))),
            [_num(r[col]) for r in ref],
            f"{case['case']} {col}",
        )


CLI_CASES = [c for c in CASES if c["dataset"] != "mers_2014_15"]  # the CLI has no imported column


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["case"] for c in CLI_CASES])
def test_cli_matches_epiestim(case: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "rt.csv"
    argv = [
        "--input",
        str(REF / f"{case['dataset']}.csv"),
        "--output",
        str(out),
        "--param",
        f"mean_si={case['mean_si']}",
        "--param",
        f"std_si={case['std_si']}",
        "--param",
        f"window={case['window']}",
        "--param",
        f"mean_prior={case['mean_prior']}",
        "--param",
        f"std_prior={case['std_prior']}",
    ]
    assert rt_cli.main(argv) == 0
    ours = _read(out)
    ref = _read(REF / case["output"])
    dates = [r["date"] for r in _read(REF / f"{case['dataset']}.csv")]
    assert [int(r["t_end"]) for r in ours] == [int(r["t_end"]) for r in ref]
    assert [r["date_end"] for r in ours] == [dates[int(r["t_end"]) - 1] for r in ref]
    assert [r["date_start"] for r in ours] == [dates[int(r["t_start"]) - 1] for r in ref]
    for col in COLUMNS:
        _assert_close(
            [_num(r[col]) for r in ours], [_num(r[col]) for r in ref], f"{case['case']} {col}"
        )


def test_na_rule_is_the_mean_serial_interval() -> None:
    # SARS, mean SI 8.4: the first default window ends on day 8 <= 8.4 -> NA, day 9 -> estimate
    res = estimate_rt([1, 0, 0, 1, 0, 0, 2, 0, 2, 2, 3, 1, 4] * 5, mean_si=8.4, std_si=3.8)
    assert res.t_end[:2] == (8, 9)
    assert math.isnan(res.mean[0]) and math.isnan(res.q975[0])
    assert not math.isnan(res.mean[1])
    # the mean used is that of the discretised, truncated distribution, not 8.4 itself
    assert 8 < res.si_mean < 9
