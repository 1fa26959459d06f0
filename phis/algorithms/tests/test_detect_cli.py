"""``phis detect``: CSV in, CSV out, errors with line and column, atomic output."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from phis.cli import detect
from phis.cli._series_io import SeriesFormatError, read_series_csv, write_csv_atomic

ROOT = Path(__file__).resolve().parents[3]


def _write_series(path: Path, counts, *, start=dt.date(2015, 1, 5), step=7, population=None):
    with open(path, "w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["date", "count"] + (["population"] if population is not None else []))
        for i, c in enumerate(counts):
            row = [(start + dt.timedelta(days=step * i)).isoformat(), c]
            if population is not None:
                row.append(population[i])
            w.writerow(row)
    return path


def _weekly(n=52 * 7, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = rng.poisson(5 * np.exp(0.5 * np.sin(2 * np.pi * t / 52)))
    y[-6:-3] += 20
    return y.tolist()


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("method", sorted(detect.METHODS))
def test_every_method_writes_the_documented_columns(tmp_path: Path, method: str) -> None:
    src = _write_series(tmp_path / "in.csv", _weekly())
    out = tmp_path / "out.csv"
    extra = ["--param", "M=26", "--param", "alpha=0.2"] if method == "glrnb" else []
    rc = detect.main(["--method", method, "--input", str(src), "--output", str(out),
                      "--quiet", *extra])
    assert rc == 0
    rows = _read(out)
    assert rows
    assert list(rows[0])[:4] == ["date", "observed", "threshold", "alarm"]
    assert {r["alarm"] for r in rows} <= {"0", "1", ""}
    assert rows[-1]["date"] == (dt.date(2015, 1, 5) + dt.timedelta(weeks=52 * 7 - 1)).isoformat()


def test_farrington_defaults_range_and_metadata(tmp_path: Path) -> None:
    src = _write_series(tmp_path / "in.csv", _weekly())
    out, meta = tmp_path / "out.csv", tmp_path / "run.json"
    rc = detect.main(["--method", "farrington", "--input", str(src), "--output", str(out),
                      "--metadata", str(meta), "--quiet"])
    assert rc == 0
    rows = _read(out)
    assert len(rows) == 52 * 7 - (52 * 5 + 3)  # R: range = freq*b + w + 1 ... n
    assert list(rows[0]) == ["date", "observed", "threshold", "alarm", "expected", "score",
                             "pvalue", "phi", "trend"]
    info = json.loads(meta.read_text())
    assert info["version"] == "farrington/1.0"
    assert info["parameters"]["b"] == 5 and info["parameters"]["freq"] == 52
    assert info["parameters"]["past_weeks_not_included"] == 3
    assert any(r["alarm"] == "1" for r in rows[-8:])


def test_r_parameter_names_and_range_dates(tmp_path: Path) -> None:
    src = _write_series(tmp_path / "in.csv", _weekly())
    out = tmp_path / "out.csv"
    start = (dt.date(2015, 1, 5) + dt.timedelta(weeks=330)).isoformat()
    end = (dt.date(2015, 1, 5) + dt.timedelta(weeks=340)).isoformat()
    rc = detect.main([
        "--method", "farrington-noufaily", "--input", str(src), "--output", str(out), "--quiet",
        "--param", "noPeriods=8", "--param", "pastWeeksNotIncluded=20",
        "--param", "thresholdMethod=muan", "--param", "reweight=false",
        "--param", "limit54=3,4", "--param", f"range_start={start}",
        "--param", f"range_end={end}"])
    assert rc == 0
    rows = _read(out)
    assert rows[0]["date"] == start and rows[-1]["date"] == end and len(rows) == 11


def test_daily_input_defaults_freq_365(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    src = _write_series(tmp_path / "d.csv", rng.poisson(3, 400).tolist(), step=1)
    out = tmp_path / "o.csv"
    assert detect.main(["--method", "ears-c2", "--input", str(src), "--output", str(out),
                        "--quiet"]) == 0
    assert len(_read(out)) == 400 - 9
    # farrington needs 5 years of daily history: a clear error, no file
    out2 = tmp_path / "o2.csv"
    rc = detect.main(["--method", "farrington", "--input", str(src), "--output", str(out2),
                      "--quiet"])
    assert rc == 0 and _read(out2) == []  # nothing evaluable by default
    rc = detect.main(["--method", "farrington", "--input", str(src), "--output", str(out2),
                      "--param", "range_start=2015-03-01", "--quiet"])
    assert rc == 2


BAD_INPUTS = {
    "missing_date": ("date,count\n2020-01-06,1\n,2\n", "line 3, column 1 (date)"),
    "duplicate": ("date,count\n2020-01-06,1\n2020-01-13,2\n2020-01-13,2\n",
                  "line 4, column 1 (date)"),
    "negative": ("date,count\n2020-01-06,1\n2020-01-13,-2\n", "line 3, column 2 (count)"),
    "text": ("date,count\n2020-01-06,1\n2020-01-13,two\n", "line 3, column 2 (count)"),
    "fraction": ("date,count\n2020-01-06,1.5\n", "line 2, column 2 (count)"),
    "gap": ("date,count\n2020-01-06,1\n2020-01-13,2\n2020-01-27,2\n",
            "line 4, column 1 (date)"),
    "bad_date": ("date,count\n2020-13-06,1\n", "line 2, column 1 (date)"),
    "missing_count": ("date,count\n2020-01-06,\n", "line 2, column 2 (count)"),
    "no_header": ("2020-01-06,1\n", "line 1"),
    "descending": ("date,count\n2020-01-13,1\n2020-01-06,2\n", "line 3, column 1 (date)"),
    "bad_population": ("date,count,population\n2020-01-06,1,abc\n",
                       "line 2, column 3 (population)"),
    "empty": ("", "line 1"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_names_line_and_column_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    text, where = BAD_INPUTS[name]
    src = tmp_path / "in.csv"
    src.write_text(text)
    out = tmp_path / "out.csv"
    rc = detect.main(["--method", "ears-c1", "--input", str(src), "--output", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert where in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.csv")]


def test_error_keeps_an_existing_output_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("previous\n")
    src = tmp_path / "in.csv"
    src.write_text("date,count\n2020-01-06,x\n")
    assert detect.main(["--method", "fixed", "--input", str(src), "--output", str(out)]) == 2
    assert out.read_text() == "previous\n"


@pytest.mark.parametrize("params,message", [
    (["nope=1"], "unknown parameter 'nope'"),
    (["b=abc"], "--param b: expected an integer"),
    (["reweight=maybe"], "expected true or false"),
    (["thresholdMethod=foo"], "expected one of delta, nbPlugin, muan"),
    (["b"], "name=value"),
    (["b=3", "b=4"], "given twice"),
    (["range_start=2001-01-01"], "outside the series"),
])
def test_bad_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str], params, message):
    src = _write_series(tmp_path / "in.csv", _weekly())
    out = tmp_path / "out.csv"
    argv = ["--method", "farrington", "--input", str(src), "--output", str(out)]
    for p in params:
        argv += ["--param", p]
    assert detect.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_population_offset_needs_population_column(tmp_path: Path) -> None:
    y = _weekly()
    src = _write_series(tmp_path / "in.csv", y)
    out = tmp_path / "o.csv"
    assert detect.main(["--method", "farrington", "--input", str(src), "--output", str(out),
                        "--param", "populationOffset=true", "--quiet"]) == 2
    src2 = _write_series(tmp_path / "p.csv", y, population=[10000 + i for i in range(len(y))])
    assert detect.main(["--method", "farrington", "--input", str(src2), "--output", str(out),
                        "--param", "populationOffset=true", "--quiet"]) == 0


def test_read_series_csv_api(tmp_path: Path) -> None:
    src = _write_series(tmp_path / "in.csv", [1, 2, 3], step=1)
    s = read_series_csv(src)
    assert s.frequency == "daily" and s.counts.tolist() == [1, 2, 3]
    with pytest.raises(ValueError):
        s.counts[0] = 5  # read-only
    src.write_text("date,count\n2020-01-01,1\n2020-01-02,z\n")
    with pytest.raises(SeriesFormatError) as info:
        read_series_csv(src)
    assert (info.value.line, info.value.column, info.value.column_name) == (3, 2, "count")


def test_write_csv_atomic_formats_and_replaces(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    write_csv_atomic(out, ["a", "b", "c", "d"], [[1.0, float("nan"), True, None],
                                                  [0.1, 2.5, False, dt.date(2020, 1, 2)]])
    assert out.read_text() == "a,b,c,d\n1,,1,\n0.1,2.5,0,2020-01-02\n"

    def boom():
        yield [1, 2, 3, 4]
        raise RuntimeError("fail mid-way")

    with pytest.raises(RuntimeError):
        write_csv_atomic(out, ["a", "b", "c", "d"], boom())
    assert out.read_text().startswith("a,b,c,d\n1,,1,")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_cli_runs_without_django_in_a_fresh_process(tmp_path: Path) -> None:
    src = _write_series(tmp_path / "in.csv", _weekly())
    out = tmp_path / "out.csv"
    code = (
        "import sys\n"
        "from phis.cli import main\n"
        f"rc = main(['detect', '--method', 'ears-c3', '--input', {str(src)!r},"
        f" '--output', {str(out)!r}, '--quiet'])\n"
        "assert 'django' not in sys.modules, 'django imported'\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _read(out)
