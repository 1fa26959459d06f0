"""The versioned code-list files under ``data/`` (UTF-8 JSON and CSV), read without the
database. ``static_choices`` lets a model take its ``choices`` from a code system at import
time, so the value set has one source (the file) even where no database row is at hand.

CSV columns: ``code, display_zh, display_en`` and optionally ``parent_code``, ``synonyms``
(``|``-separated), ``active`` (``true``/``false``), ``tag`` (V/K/U); any other column becomes a
property of the concept (``true``/``false`` → bool, digits → int, empty → left out).
"""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
RESERVED_COLUMNS = frozenset({"code", "display_zh", "display_en", "parent_code", "synonyms",
                              "active"})


def read_bytes(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


@cache
def systems_meta() -> tuple[dict[str, Any], ...]:
    """The entries of ``data/systems.json`` in file order."""
    doc = json.loads(read_bytes("systems.json").decode("utf-8"))
    return tuple(doc["systems"])


def system_meta(key: str) -> dict[str, Any]:
    for meta in systems_meta():
        if meta["key"] == key:
            return meta
    raise KeyError(key)


def _cell(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if value.isdigit() and not value.startswith("0"):
        return int(value)
    return value


def read_csv(name: str) -> list[dict[str, Any]]:
    """Rows of a code-list CSV as dicts: code, display_zh, display_en, parent_code,
    synonyms (list), active (bool), properties (dict)."""
    text = read_bytes(name).decode("utf-8-sig")
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        rows.append({
            "code": row["code"],
            "display_zh": row.get("display_zh", ""),
            "display_en": row.get("display_en", ""),
            "parent_code": row.get("parent_code", ""),
            "synonyms": [s for s in row.get("synonyms", "").split("|") if s],
            "active": row.get("active", "true") != "false",
            "properties": {k: _cell(v) for k, v in row.items()
                           if k not in RESERVED_COLUMNS and v != ""},
        })
    return rows


@cache
def static_choices(key: str, *, lang: str = "zh") -> tuple[tuple[str, str], ...]:
    """``((code, label), ...)`` of a flat CSV code system, for Django ``choices``."""
    meta = system_meta(key)
    if meta["loader"] != "csv":
        raise ValueError(f"{key} is not a flat value set")
    field = "display_zh" if lang == "zh" else "display_en"
    return tuple((r["code"], r[field]) for r in read_csv(meta["file"]) if r["active"])
