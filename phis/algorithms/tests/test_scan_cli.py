"""``phis scan``: JSON output and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phis.cli import main as phis_main
from phis.cli import scan as scan_cli

CENTROIDS = (
    "location,lat,lon,population\n"
    "370502001,37.45,118.50,50000\n"
    "370502002,37.47,118.55,40000\n"
    "370503001,37.90,118.52,30000\n"
    "370505001,37.60,118.70,20000\n"
)


def _cases() -> str:
    lines = ["date,location,count"]
    for d in range(1, 29):
        day = f"2024-02-{d:02d}"
        lines.append(f"{day},370502001,{1 + d % 2}")
        lines.append(f"{day},370503001,{d % 3}")
        if d % 4 == 0:
            lines.append(f"{day},370505001,1")
        if d >= 25:
            lines.append(f"{day},370502002,{6 + d % 2}")
    return "\n".join(lines) + "\n"


def _run(tmp_path: Path, cases: str, centroids: str = CENTROIDS, *extra: str):
    (tmp_path / "cases.csv").write_text(cases)
    (tmp_path / "centroids.csv").write_text(centroids)
    out = tmp_path / "clusters.json"
    argv = [
        "--input", str(tmp_path / "cases.csv"), "--centroids", str(tmp_path / "centroids.csv"),
        "--output", str(out), "--replications", "99", *extra,
    ]  # fmt: skip
    return scan_cli.main(argv), out


@pytest.mark.parametrize("model", ["permutation", "poisson"])
def test_prospective_json(tmp_path: Path, model: str) -> None:
    code, out = _run(
        tmp_path, _cases(), CENTROIDS, "--model", model, "--prospective",
        "--max-radius-km", "10", "--max-duration", "7", "--seed", "42",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["parameters"]["model"] == model
    assert doc["parameters"]["seed"] == 42 and doc["parameters"]["prospective"] is True
    assert doc["parameters"]["max_radius_km"] == 10.0
    assert doc["study_period"] == {"start": "2024-02-01", "end": "2024-02-28", "days": 28}
    top = doc["clusters"][0]
    assert top["center"] == "370502002"
    assert top["end_date"] == "2024-02-28"
    assert top["start_date"] == "2024-02-25"
    assert "370502002" in top["locations"]
    for key in ("radius_km", "observed", "expected", "relative_risk", "llr", "p_value",
                "duration_days", "recurrence_interval_days"):  # fmt: skip
        assert key in top
    assert top["p_value"] < 0.05
    assert doc["algorithm"] and doc["version"]


def test_dispatch_and_end_date(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(_cases())
    (tmp_path / "centroids.csv").write_text(CENTROIDS)
    out = tmp_path / "c.json"
    code = phis_main([
        "scan", "--input", str(tmp_path / "cases.csv"), "--centroids",
        str(tmp_path / "centroids.csv"), "--output", str(out), "--replications", "9",
        "--end-date", "2024-03-02", "--start-date", "2024-02-10", "--prospective",
    ])  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["study_period"] == {"start": "2024-02-10", "end": "2024-03-02", "days": 22}


@pytest.mark.parametrize(
    "cases, centroids, where",
    [
        (_cases().replace("2024-02-05,370503001", "2024-02-05,999999999"), CENTROIDS,
         "cases.csv, line"),
        (_cases().replace("2024-02-05,370503001,2", "2024-02-05,370503001,-2"), CENTROIDS,
         "column 3 (count)"),
        (_cases().replace("2024-02-05,370503001,2", "2024-02-05,370503001,two"), CENTROIDS,
         "column 3 (count)"),
        (_cases().replace("2024-02-05,370503001,2", "2024-02-5,370503001,2"), CENTROIDS,
         "column 1 (date)"),
        (_cases() + "2024-02-05,370503001,1\n", CENTROIDS, "duplicate row"),
        ("when,location,count\n2024-01-01,370502001,1\n", CENTROIDS, "line 1"),
        (_cases(), CENTROIDS.replace("37.90", "north"), "centroids.csv, line 4, column 2 (lat)"),
        (_cases(), CENTROIDS + "370502001,37.1,118.1,10\n", "duplicate location"),
        (_cases(), CENTROIDS.replace("118.70", "218.70"), "column 3 (lon)"),
    ],
)  # fmt: skip
def test_bad_input(tmp_path: Path, capsys, cases: str, centroids: str, where: str) -> None:
    code, out = _run(tmp_path, cases, centroids)
    assert code != 0
    err = capsys.readouterr().err
    assert where in err
    assert not out.exists()


def test_unknown_location_names_line_and_column(tmp_path: Path, capsys) -> None:
    bad = _cases().replace("2024-02-05,370503001", "2024-02-05,999999999")
    code, out = _run(tmp_path, bad)
    assert not out.exists()
    err = capsys.readouterr().err
    line = bad.splitlines().index("2024-02-05,999999999,2") + 1
    assert code != 0 and f"line {line}, column 2 (location)" in err and "999999999" in err


def test_poisson_needs_population(tmp_path: Path, capsys) -> None:
    centroids = "location,lat,lon\n370502001,37.45,118.50\n370502002,37.47,118.55\n"
    cases = "date,location,count\n2024-01-01,370502001,1\n2024-01-02,370502002,2\n"
    code, out = _run(tmp_path, cases, centroids, "--model", "poisson")
    assert code != 0 and "population" in capsys.readouterr().err
    assert not out.exists()
    code, out = _run(tmp_path, cases, centroids, "--model", "permutation")
    assert code == 0 and out.exists()


def test_bad_option_value(tmp_path: Path, capsys) -> None:
    code, out = _run(tmp_path, _cases(), CENTROIDS, "--max-duration", "0")
    assert code != 0 and "max_duration" in capsys.readouterr().err
    assert not out.exists()
