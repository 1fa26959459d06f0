"""``phis rt``: contract, bad input and atomic output."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from phis.cli import main as phis_main
from phis.cli import rt as rt_cli

GOOD = "date,count\n" + "".join(f"2024-03-{d:02d},{d}\n" for d in range(1, 21))


def _run(tmp_path: Path, text: str, *params: str) -> tuple[int, Path]:
    src = tmp_path / "in.csv"
    src.write_text(text)
    out = tmp_path / "rt.csv"
    argv = ["--input", str(src), "--output", str(out)]
    for p in params or ("mean_si=2.6", "std_si=1.5"):
        argv += ["--param", p]
    return rt_cli.main(argv), out


def test_header_and_rows(tmp_path: Path) -> None:
    code, out = _run(tmp_path, GOOD)
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == list(rt_cli.HEADER)
    assert len(rows) == 20 - 7
    assert rows[0]["t_start"] == "2" and rows[0]["t_end"] == "8"
    assert rows[0]["date_start"] == "2024-03-02" and rows[0]["date_end"] == "2024-03-08"
    assert rows[-1]["date_end"] == "2024-03-20"
    assert all(r["mean"] and r["q975"] for r in rows)


def test_dispatch_through_phis_main(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(GOOD)
    out = tmp_path / "rt.csv"
    code = phis_main(
        [
            "rt",
            "--input",
            str(src),
            "--output",
            str(out),
            "--param",
            "mean_si=2.6",
            "--param",
            "std_si=1.5",
            "--param",
            "window=3",
        ]
    )
    assert code == 0
    assert len(list(csv.DictReader(out.open()))) == 17


def test_empty_cells_where_epiestim_gives_na(tmp_path: Path) -> None:
    code, out = _run(tmp_path, GOOD, "mean_si=9", "std_si=3", "window=2")
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    na = [r for r in rows if r["mean"] == ""]
    assert na and all(r["sd"] == r["q025"] == r["q50"] == r["q975"] == "" for r in na)
    assert all(r["date_end"] for r in na)


@pytest.mark.parametrize(
    "text, where",
    [
        (GOOD.replace("2024-03-05,", "2024-03-04,"), "line 6, column 1"),  # duplicate
        (GOOD.replace("2024-03-05,5\n", ""), "line 6, column 1"),  # missing day
        (GOOD.replace("2024-03-05,5", "2024-03-05,-5"), "line 6, column 2"),
        (GOOD.replace("2024-03-05,5", "2024-03-05,five"), "line 6, column 2"),
        (GOOD.replace("2024-03-05,5", "2024-03-05,"), "line 6, column 2"),
        (GOOD.replace("2024-03-05", "5/3/2024"), "line 6, column 1"),
        ("day,count\n2024-01-01,1\n", "line 1"),
    ],
)
def test_bad_input_names_line_and_column(tmp_path: Path, capsys, text: str, where: str) -> None:
    code, out = _run(tmp_path, text)
    assert code != 0
    assert where in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "params, message",
    [
        (("std_si=1.5",), "mean_si"),
        (("mean_si=2.6",), "std_si"),
        (("mean_si=1", "std_si=1.5"), "mean_si"),
        (("mean_si=2.6", "std_si=abc"), "std_si"),
        (("mean_si=2.6", "std_si=1.5", "window=0"), "window"),
        (("mean_si=2.6", "std_si=1.5", "window=30"), "too short"),
        (("mean_si=2.6", "std_si=1.5", "bogus=1"), "unknown"),
        (("mean_si=2.6", "std_si=1.5", "std_prior=0"), "std_prior"),
    ],
)
def test_bad_params(tmp_path: Path, capsys, params, message: str) -> None:
    code, out = _run(tmp_path, GOOD, *params)
    assert code != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_weekly_input_rejected(tmp_path: Path, capsys) -> None:
    text = "date,count\n2024-01-01,3\n2024-01-08,4\n2024-01-15,5\n"
    code, out = _run(tmp_path, text)
    assert code != 0 and "daily" in capsys.readouterr().err
    assert not out.exists()


def test_existing_output_untouched_on_error(tmp_path: Path) -> None:
    out = tmp_path / "rt.csv"
    out.write_text("old\n")
    src = tmp_path / "in.csv"
    src.write_text(GOOD.replace("2024-03-05,5", "2024-03-05,x"))
    code = rt_cli.main(
        [
            "--input",
            str(src),
            "--output",
            str(out),
            "--param",
            "mean_si=2.6",
            "--param",
            "std_si=1.5",
        ]
    )
    assert code != 0
    assert out.read_text() == "old\n"
