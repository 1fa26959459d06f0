"""The MPI's use of the linkage engine (``phis.algorithms.linkage``): the fitted model and
thresholds from configuration, and scoring of one incoming record against candidate persons
found by database blocking (docs/modules/mpi.md "How matching works").

Configuration: the data file ``mpi_engine.json`` beside this module (schema, fitted
Fellegi–Sunter model, thresholds), written by ``phis mpi_fit``; ``settings.PHIS_MPI`` may
override the file path and any threshold (``MODEL_FILE``, ``MATCH_THRESHOLD``,
``POSSIBLE_THRESHOLD``, ``MAX_CANDIDATES``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings

from phis.algorithms.linkage import (
    ALGORITHM,
    FellegiSunterModel,
    LinkageSchema,
    Linker,
    chinese_person_schema,
)

DEFAULT_MODEL_FILE = Path(__file__).with_name("mpi_engine.json")
COARSE_ADDRESS = "_address_coarse"
DEFAULTS = {"match_threshold": 0.95, "possible_threshold": 0.5, "max_candidates": 200}


@dataclass(frozen=True)
class EngineConfig:
    schema: LinkageSchema
    model: FellegiSunterModel
    match_threshold: float
    possible_threshold: float
    max_candidates: int
    source: str  # the data file, for the docs and the steward pages
    prior_shift: float = 0.0  # log2 of fitted records / registry size (≤ 0)

    def describe(self) -> dict:
        return {"algorithm": ALGORITHM, "match_threshold": self.match_threshold,
                "possible_threshold": self.possible_threshold,
                "max_candidates": self.max_candidates, "model_file": self.source}


def _overrides() -> dict:
    raw = getattr(settings, "PHIS_MPI", {}) or {}
    return {k.lower(): v for k, v in raw.items()}


@lru_cache(maxsize=4)
def _load(path: str, match: float | None, possible: float | None, limit: int | None,
          registry_size: int | None = None) -> EngineConfig:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    schema = LinkageSchema.from_dict(data["schema"])
    schema.validate()
    model = FellegiSunterModel.from_dict(data["model"])
    if model.fields != schema.fields:
        raise ValueError(f"{path}: the model's fields differ from the schema's")
    match_t = float(match if match is not None else data.get("match_threshold",
                                                               DEFAULTS["match_threshold"]))
    possible_t = float(possible if possible is not None else data.get(
        "possible_threshold", DEFAULTS["possible_threshold"]))
    if not 0 < possible_t <= match_t < 1:
        raise ValueError("PHIS_MPI: need 0 < POSSIBLE_THRESHOLD <= MATCH_THRESHOLD < 1")
    max_c = int(limit if limit is not None else data.get("max_candidates",
                                                          DEFAULTS["max_candidates"]))
    # The prior (chance that two random records match) was fitted on ``fitted_records``; in
    # a registry of ``registry_size`` persons one specific pair is that much less likely.
    fitted = int(data.get("fitted_records") or 0)
    shift = 0.0
    if fitted and registry_size and registry_size > fitted:
        shift = -math.log2(registry_size / fitted)
    return EngineConfig(schema, model, match_t, possible_t, max(1, max_c), str(path), shift)


def engine_config() -> EngineConfig:
    o = _overrides()
    return _load(str(o.get("model_file") or DEFAULT_MODEL_FILE), o.get("match_threshold"),
                 o.get("possible_threshold"), o.get("max_candidates"), o.get("registry_size"))


@dataclass(frozen=True)
class Score:
    key: str                      # the candidate record's key (the caller's)
    probability: float
    weight: float
    levels: dict[str, str]        # field → comparison level name ("missing" when absent)
    contributions: dict[str, float]  # field → log2(m/u) added by that field
    conflicting_ids: bool         # both sides carry different valid resident IDs


def score_candidates(query: Mapping[str, str], candidates: Sequence[tuple[str, Mapping]],
                     config: EngineConfig | None = None) -> list[Score]:
    """Fellegi–Sunter scores of ``query`` against each candidate record (fields of the
    schema, strings, '' for missing), best first. Every candidate is scored: blocking has
    already been done by the database queries. Term-frequency adjustment is left out (it
    needs value frequencies of the whole registry).

    A record whose address is only the names of its divisions (no street or house) carries
    ``COARSE_ADDRESS: True``: its address then agrees at most at the township level, since
    "same community" is not "same house"."""
    cfg = config or engine_config()
    if not candidates:
        return []
    schema, model = cfg.schema, cfg.model
    n = len(candidates)
    zeros = np.zeros(n, dtype=np.int64)
    idx = np.arange(n, dtype=np.int64)
    levels = np.empty((n, len(schema.comparators)), dtype=np.int8)
    exclusive = np.zeros(n, dtype=bool)
    for k, comp in enumerate(schema.comparators):
        fq = comp.prepare([_text(query.get(comp.field))])
        fc = comp.prepare([_text(c.get(comp.field)) for _key, c in candidates])
        levels[:, k] = comp.compare(fq, zeros, fc, idx)
        if comp.kind == "cn_address":
            coarse = np.array([bool(query.get(COARSE_ADDRESS)) or bool(c.get(COARSE_ADDRESS))
                               for _key, c in candidates])
            township = comp.levels.index("same_township")
            raise_ = coarse & (levels[:, k] >= 0) & (levels[:, k] < township)
            levels[raise_, k] = township
        if comp.field == schema.exclusive_field:
            q_code = comp.exclusive_codes(fq)
            c_codes = comp.exclusive_codes(fc)
            if q_code is not None and c_codes is not None and int(q_code[0]):
                exclusive = (c_codes != 0) & (c_codes != q_code[0])
    weights = model.weights(levels) + cfg.prior_shift
    probs = model.probability(weights)
    level_weights = model.level_weights()
    names = [c.levels for c in schema.comparators]
    out = []
    for i in np.lexsort((idx, -weights)).tolist():
        row = levels[i].tolist()
        out.append(Score(
            key=candidates[i][0], probability=float(probs[i]), weight=float(weights[i]),
            levels={f: ("missing" if lv < 0 else names[k][lv])
                    for k, (f, lv) in enumerate(zip(schema.fields, row, strict=True))},
            contributions={f: (0.0 if lv < 0 else round(float(level_weights[k][lv]), 3))
                           for k, (f, lv) in enumerate(zip(schema.fields, row, strict=True))},
            conflicting_ids=bool(exclusive[i])))
    return out


def _text(value) -> str:
    return "" if value is None else str(value)


def fit_engine(records: Sequence[Mapping[str, object]], *, match_threshold: float,
               possible_threshold: float, max_candidates: int = DEFAULTS["max_candidates"],
               note: str = "") -> dict:
    """Fit the model without labels on ``records`` (dicts with ``record_id`` and the person
    fields) and return the content of the configuration file."""
    schema = chinese_person_schema()
    result = Linker(schema, match_threshold=match_threshold,
                    possible_threshold=possible_threshold).dedupe(records)
    return {
        "algorithm": ALGORITHM,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fitted_on": note or f"{len(result.record_ids)} records",
        "fitted_records": len(result.record_ids),
        "match_threshold": match_threshold,
        "possible_threshold": possible_threshold,
        "max_candidates": max_candidates,
        "schema": schema.to_dict(),
        "model": result.model.to_dict(),
    }


def clear_config_cache() -> None:
    _load.cache_clear()
