"""Speed benchmarks of the temporal detectors (issue 6).

    .venv/bin/python bench/detection_bench.py            # print results
    .venv/bin/python bench/detection_bench.py --write    # also write docs/benchmarks/detection.md
    .venv/bin/python bench/detection_bench.py --quick    # smaller city (smoke test)

1. Farrington-Noufaily (noPeriods=10, pastWeeksNotIncluded=26, nbPlugin) on a simulated
   weekly series of 523 weeks (10 years + 3 weeks, so that the last 5 years = 260 weeks all
   have the 5 years + 3 weeks of history the method needs), side by side with R surveillance
   (``Rscript``; skipped when R is missing): elapsed time of the detector call only, identical
   alarms, largest relative threshold difference.
2. The city's daily run: 40 diseases x 60 townships, 10 years of daily counts each; the newest
   day evaluated with EARS C1/C2/C3, CIDARS MPM and Farrington (daily, freq = 365).
3. Backtest: the same detectors over the whole last year (365 days) for all 2400 series.

Steps 2-3 split the series over ``--workers`` processes (default: the number of CPUs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phis.algorithms.aberration import (  # noqa: E402
    ears_batch,
    farrington_flexible_batch,
    farrington_noufaily,
    mpm_batch,
)

R_SCRIPT = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
y <- read.csv(args[1])$count
s <- sts(observed = y, frequency = 52, start = c(2010, 1))
ctrl <- list(range = (length(y) - 259):length(y), noPeriods = 10,
             pastWeeksNotIncluded = 26, thresholdMethod = "nbPlugin")
t0 <- proc.time()
r <- farringtonFlexible(s, control = ctrl)
d <- proc.time() - t0
el <- d[["elapsed"]]
cpu <- d[["user.self"]] + d[["sys.self"]]
write.csv(data.frame(threshold = upperbound(r)[, 1], alarm = as.integer(r@alarm[, 1])),
          args[2], row.names = FALSE)
cat(el, cpu, as.character(packageVersion("surveillance")), "\n")
"""


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "numpy": np.__version__, "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "load": " ".join(f"{v:.1f}" for v in os.getloadavg())}


def weekly_series(seed: int = 42) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(523)
    mu = np.exp(np.log(8) + 0.6 * np.sin(2 * np.pi * t / 52) + 0.001 * t)
    y = rng.negative_binomial(mu / 1.5, 1 / 2.5)
    y[480:484] += np.array([5, 12, 18, 9])
    return y


def bench_farrington_vs_r(repeats: int = 5) -> dict[str, object]:
    y = weekly_series()
    times, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = farrington_noufaily(y, range_start=len(y) - 260)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    out: dict[str, object] = {"python_s": min(times), "python_cpu_s": min(cpus),
                              "evaluated": len(res), "alarms": int(res.alarm.sum())}
    rscript = shutil.which("Rscript")
    if not rscript:
        out["r_s"] = None
        return out
    with tempfile.TemporaryDirectory() as tmp:
        series = Path(tmp) / "y.csv"
        series.write_text("count\n" + "\n".join(str(int(v)) for v in y) + "\n")
        script = Path(tmp) / "run.R"
        script.write_text(R_SCRIPT)
        result = Path(tmp) / "r.csv"
        proc = subprocess.run([rscript, str(script), str(series), str(result)],
                              capture_output=True, text=True, check=True)
        r_time, r_cpu, r_version = proc.stdout.split()[:3]
        lines = result.read_text().splitlines()[1:]
    r_thr = np.array([float(line.split(",")[0]) if line.split(",")[0] != "NA" else np.nan
                      for line in lines])
    r_alarm = np.array([line.split(",")[1] == "1" for line in lines])
    ours = np.asarray(res.threshold)
    both = ~np.isnan(r_thr) & ~np.isnan(ours)
    out.update({
        "r_s": float(r_time),
        "r_cpu_s": float(r_cpu),
        "r_version": r_version,
        "speedup": float(r_time) / min(times),
        "speedup_cpu": float(r_cpu) / max(min(cpus), 1e-9),
        "same_alarms": bool(np.array_equal(r_alarm, np.asarray(res.alarm))),
        "same_na": bool(np.array_equal(np.isnan(r_thr), np.isnan(ours))),
        "max_rel_threshold_diff": float(np.max(np.abs(ours[both] - r_thr[both]) / r_thr[both])),
    })
    return out


def city_counts(n_diseases: int = 40, n_townships: int = 60, years: int = 10,
                seed: int = 7) -> np.ndarray:
    """Sparse daily counts: per-disease base rates from 0.005 to 3 cases/day/township."""
    rng = np.random.default_rng(seed)
    days = 365 * years
    t = np.arange(days)
    base = np.exp(rng.uniform(np.log(0.005), np.log(3.0), n_diseases))
    amp = rng.uniform(0, 0.8, n_diseases)
    phase = rng.uniform(0, 2 * np.pi, n_diseases)
    town = np.exp(rng.normal(0, 0.5, n_townships))
    season = np.exp(amp[:, None] * np.sin(2 * np.pi * t[None, :] / 365 + phase[:, None]))
    mu = base[:, None, None] * town[None, :, None] * season[:, None, :]
    size = 2.0
    counts = rng.negative_binomial(size, size / (size + mu))
    return counts.reshape(n_diseases * n_townships, days).astype(np.float64)


def _detect_all(x: np.ndarray, start: int) -> dict[str, float]:
    """EARS C1/C2/C3 + MPM + Farrington on rows of ``x`` from ``start`` to the end."""
    timings = {}
    t0 = time.perf_counter()
    for method in ("C1", "C2", "C3"):
        ears_batch(x, method=method, range_start=start)
    timings["ears"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mpm_batch(x, range_start=start)
    timings["mpm"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = farrington_flexible_batch(x, freq=365, range_start=start)
    timings["farrington"] = time.perf_counter() - t0
    timings["alarms"] = float(res.alarm.sum())
    return timings


def _worker(args: tuple[np.ndarray, int]) -> dict[str, float]:
    return _detect_all(*args)


def bench_city(x: np.ndarray, start: int, workers: int) -> dict[str, float]:
    t0 = time.perf_counter()
    # the detectors read at most 5 years + 3 days back (Farrington, freq 365, b 5, w 3)
    lo = max(start - (365 * 5 + 3), 0)
    x, start = x[:, lo:], start - lo
    if workers <= 1:
        parts = [_detect_all(x, start)]
    else:
        chunks = np.array_split(x, workers)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(_worker, [(c, start) for c in chunks]))
    wall = time.perf_counter() - t0
    out = {"wall_s": wall}
    for key in ("ears", "mpm", "farrington", "alarms"):
        out[key] = sum(p[key] for p in parts)
    return out


def render(info: dict[str, str], farr: dict[str, object], today: dict[str, float],
           backtest: dict[str, float], shape: tuple[int, int], workers: int) -> str:
    lines = [
        "# Temporal detectors: benchmarks",
        "",
        f"Run `{' '.join(['.venv/bin/python', 'bench/detection_bench.py', '--write'])}`.",
        "",
        f"- date: {info['date']}; machine: {info['nproc']} CPUs, {info['cpu']}; "
        f"Python {info['python']}, numpy {info['numpy']}; load average at start "
        f"{info['load']} (the machine was shared with other jobs)",
        "- BLAS limited to one thread per process (tiny matrices are slower with threads).",
        "",
        "## Farrington-Noufaily vs R surveillance",
        "",
        "Simulated weekly negative binomial series (mean 8, seasonal, trend, outbreak), 523 "
        "weeks; the last 260 weeks (5 years) evaluated with `noPeriods=10, "
        "pastWeeksNotIncluded=26, thresholdMethod=\"nbPlugin\"`. Time of the detector call "
        "only (R: `proc.time()` around `farringtonFlexible`, one run; Python: best of 5). "
        "Elapsed time depends on what else the machine runs; CPU time (user + system) is the "
        "fairer comparison on a shared machine.",
        "",
        "| | elapsed (s) | CPU (s) |",
        "|---|---|---|",
        f"| R surveillance {farr.get('r_version', '')} | "
        f"{farr['r_s'] if farr['r_s'] is not None else 'R not installed'} | "
        f"{farr.get('r_cpu_s', '')} |",
        f"| phis `farrington_noufaily` | {farr['python_s']:.3f} | "
        f"{farr['python_cpu_s']:.3f} |",
    ]
    if farr.get("r_s") is not None:
        lines += [
            "",
            f"Speed-up **{farr['speedup_cpu']:.0f}x** in CPU time, {farr['speedup']:.0f}x "
            "elapsed (target: at least 50x). Same alarms: "
            f"**{farr['same_alarms']}** ({farr['alarms']} alarms in {farr['evaluated']} weeks); "
            f"same undefined bounds: {farr['same_na']}; largest relative threshold "
            f"difference {farr['max_rel_threshold_diff']:.1e}.",
        ]
    lines += [
        "",
        "## City daily run and one-year backtest",
        "",
        f"{shape[0]} series (40 diseases x 60 townships) of {shape[1]} days (10 years) of "
        "sparse negative binomial counts (0.005 to 3 cases per day per township, seasonal). "
        "Detectors: EARS C1, C2, C3 (R defaults), CIDARS MPM (7-day blocks, 3 years x 5 "
        "blocks, P50), Farrington flexible (daily, freq = 365, b = 5, w = 3, R defaults). "
        f"Series split over {workers} worker processes; wall time includes starting them.",
        "",
        "| run | evaluated periods | wall (s) | target | EARS (s) | MPM (s) | "
        "Farrington (s) |",
        "|---|---|---|---|---|---|---|",
        f"| newest day | {shape[0]} | {today['wall_s']:.2f} | < 5 s | {today['ears']:.2f} | "
        f"{today['mpm']:.2f} | {today['farrington']:.2f} |",
        f"| backtest, last 365 days | {shape[0] * 365} | {backtest['wall_s']:.1f} | < 300 s | "
        f"{backtest['ears']:.1f} | {backtest['mpm']:.1f} | {backtest['farrington']:.1f} |",
        "",
        "Per-detector columns add up the time spent in each detector in every worker (so they "
        "can exceed the wall time).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args(argv)
    info = machine()
    print("machine:", info, flush=True)
    farr = bench_farrington_vs_r()
    print("farrington-noufaily vs R:", farr, flush=True)
    x = city_counts(n_diseases=4 if args.quick else 40)
    n = x.shape[1]
    today = bench_city(x, n - 1, args.workers)
    print("city newest day:", today, flush=True)
    backtest = {"wall_s": float("nan"), "ears": float("nan"), "mpm": float("nan"),
                "farrington": float("nan")}
    if not args.skip_backtest:
        backtest = bench_city(x, n - 365, args.workers)
        print("city backtest:", backtest, flush=True)
    text = render(info, farr, today, backtest, x.shape, args.workers)
    print(text)
    if args.write and not args.quick:
        out = ROOT / "docs" / "benchmarks" / "detection.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
