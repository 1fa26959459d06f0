"""Forecasts of weekly counts, the weighted interval score and ``phis forecast``."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.algorithms.forecast import (
    FORECAST_ALGORITHM,
    HUB_QUANTILES,
    backtest_forecast,
    forecast_counts,
    interval_score,
    weighted_interval_score,
)
from phis.cli import forecast as forecast_cli


def _weekly(n: int = 260, seed: int = 1, size: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    mu = np.exp(3.0 + 0.001 * t + 0.7 * np.sin(2 * np.pi * t / (365.25 / 7)))
    return rng.negative_binomial(size, size / (size + mu)), mu


# --- WIS ------------------------------------------------------------------------------------


def test_wis_hand_example() -> None:
    # Bracher et al. 2021 definition with K = 1 interval (alpha = 0.2) and the median
    levels, q = [0.1, 0.5, 0.9], [2.0, 5.0, 9.0]
    y = 11.0
    is_ = (9 - 2) + 2 / 0.2 * (11 - 9)  # 27
    want = (0.5 * abs(11 - 5) + 0.2 / 2 * is_) / 1.5  # (3 + 2.7) / 1.5
    assert interval_score(2, 9, 11, 0.2) == pytest.approx(27)
    assert weighted_interval_score(y, levels, q) == pytest.approx(want)
    assert want == pytest.approx(3.8)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 500), min_size=23, max_size=23),
    st.floats(0, 600),
)
def test_wis_equals_scaled_pinball_loss(qs, y) -> None:
    q = np.sort(np.asarray(qs))
    lv = np.asarray(HUB_QUANTILES)
    pinball = np.sum((y - q) * (lv - (y < q)))
    assert weighted_interval_score(y, lv, q) == pytest.approx(pinball / 11.5, rel=1e-9, abs=1e-9)


def test_wis_needs_symmetric_levels() -> None:
    with pytest.raises(ValueError, match="median"):
        weighted_interval_score(1, [0.1, 0.9], [0, 2])
    with pytest.raises(ValueError, match="partner"):
        weighted_interval_score(1, [0.1, 0.5, 0.8], [0, 1, 2])


# --- forecasts ------------------------------------------------------------------------------


def test_forecast_shape_and_ordering() -> None:
    y, mu = _weekly()
    fc = forecast_counts(y[:-4], horizon=4, n_sims=2000, seed=3)
    assert fc.algorithm == FORECAST_ALGORITHM and fc.family == "negative-binomial"
    assert fc.dispersion == pytest.approx(1 / 8, rel=0.5)
    assert len(fc.mean) == 4 and len(fc.quantiles) == 4
    for h in range(4):
        row = fc.quantiles[h]
        assert list(row) == sorted(row)
        assert all(v == int(v) for v in row)
        # the true mean is well inside the 95 % interval
        assert fc.quantile(0.025)[h] <= mu[-4 + h] <= fc.quantile(0.975)[h]
        assert fc.mean[h] == pytest.approx(mu[-4 + h], rel=0.35)
    assert fc.parameters["horizon"] == 4 and fc.parameters["seed"] == 3
    assert forecast_counts(y[:-4], horizon=4, n_sims=2000, seed=3) == fc


def test_poisson_fallback_without_overdispersion() -> None:
    rng = np.random.default_rng(5)
    y = rng.poisson(20, 150)
    fc = forecast_counts(y, harmonics=1, n_sims=1000)
    assert fc.family in {"poisson", "negative-binomial"}
    assert fc.dispersion < 0.02
    assert 10 <= fc.quantile(0.5)[0] <= 30


def test_all_zero_series() -> None:
    fc = forecast_counts(np.zeros(60), n_sims=200)
    assert fc.mean == (0.0, 0.0, 0.0, 0.0)
    assert all(v == 0 for row in fc.quantiles for v in row)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"horizon": 0}, "horizon"),
        ({"harmonics": -1}, "harmonics"),
        ({"n_sims": 10}, "n_sims"),
        ({"fit_window": 0}, "fit_window"),
        ({"quantile_levels": (0.5, 0.1)}, "quantile_levels"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        forecast_counts(np.arange(100), **kwargs)


def test_too_short() -> None:
    with pytest.raises(ValueError, match="at least"):
        forecast_counts([1, 2, 3, 4, 5])


def test_backtest_scores_and_coverage() -> None:
    y, _ = _weekly(n=200, seed=2)
    bt = backtest_forecast(y, origins=12, horizon=4, n_sims=1000, fit_window=156)
    assert set(bt.horizon) == {1, 2, 3, 4}
    assert len(bt.wis) == sum(min(4, 199 - o) for o in range(187, 199))
    for i in range(len(bt.wis)):
        assert bt.target[i] == bt.origin[i] + bt.horizon[i]
        assert bt.observed[i] == y[bt.target[i]]
        assert bt.wis[i] == pytest.approx(
            weighted_interval_score(bt.observed[i], bt.quantile_levels, bt.quantiles[i])
        )
    cov95 = np.mean(bt.covered95)
    assert cov95 >= 0.8
    wis = bt.mean_wis_by_horizon()
    assert all(math.isfinite(v) and v > 0 for v in wis.values())
    assert dict(bt.parameters)["origins"] == 12


# --- CLI ------------------------------------------------------------------------------------


def _write_series(path: Path, y, start=dt.date(2020, 1, 6), step=7) -> None:
    lines = ["date,count"] + [
        f"{start + dt.timedelta(days=step * i)},{int(v)}" for i, v in enumerate(y)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_cli_forecast_and_backtest(tmp_path: Path, capsys) -> None:
    y, _ = _weekly(n=160, seed=4)
    src = tmp_path / "s.csv"
    _write_series(src, y)
    out, bt = tmp_path / "fc.csv", tmp_path / "bt.csv"
    code = forecast_cli.main([
        "--input", str(src), "--output", str(out), "--backtest", str(bt),
        "--param", "horizon=3", "--param", "backtest_origins=5", "--param", "n_sims=500",
    ])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["horizon"] for r in rows] == ["1", "2", "3"]
    last = dt.date(2020, 1, 6) + dt.timedelta(days=7 * 159)
    assert rows[0]["origin_date"] == str(last)
    assert rows[0]["target_date"] == str(last + dt.timedelta(days=7))
    for key in ("mean", "q01", "q025", "q25", "q50", "q75", "q975", "q99"):
        assert key in rows[0]
    assert float(rows[0]["q025"]) <= float(rows[0]["q50"]) <= float(rows[0]["q975"])
    brows = list(csv.DictReader(bt.open()))
    assert len(brows) == 3 + 3 + 3 + 2 + 1
    assert {"wis", "in50", "in95", "observed"} <= set(brows[0])
    assert "mean WIS" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, where",
    [
        ("date,count\n2024-01-01,1\n2024-01-08,-1\n", "line 3, column 2"),
        ("date,count\n2024-01-01,1\n2024-01-08,x\n", "line 3, column 2"),
        ("date,count\n2024-01-01,1\n2024-01-08,2\n2024-01-08,2\n", "line 4, column 1"),
        ("date,count\n2024-01-01,1\n2024-01-08,2\n2024-01-22,2\n", "line 4, column 1"),
    ],
)
def test_cli_bad_input(tmp_path: Path, capsys, text: str, where: str) -> None:
    src = tmp_path / "s.csv"
    src.write_text(text)
    out = tmp_path / "fc.csv"
    assert forecast_cli.main(["--input", str(src), "--output", str(out)]) != 0
    assert where in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_daily_and_bad_params(tmp_path: Path, capsys) -> None:
    src = tmp_path / "s.csv"
    _write_series(src, range(60), step=1)
    out = tmp_path / "fc.csv"
    assert forecast_cli.main(["--input", str(src), "--output", str(out)]) != 0
    assert "weekly" in capsys.readouterr().err
    _write_series(src, range(60))
    assert forecast_cli.main(["--input", str(src), "--output", str(out),
                              "--param", "horizon=x"]) != 0  # fmt: skip
    assert "horizon" in capsys.readouterr().err
    assert forecast_cli.main(["--input", str(src), "--output", str(out),
                              "--param", "nope=1"]) != 0  # fmt: skip
    assert "unknown" in capsys.readouterr().err
    assert not out.exists()
