"""Batch deduplication, two-source linkage and the incremental index.

Typical use::

    linker = Linker(chinese_person_schema(), match_threshold=0.9, possible_threshold=0.5)
    result = linker.dedupe(records)           # columns or a list of dicts, with "record_id"
    result.cluster_ids                        # aligned with result.record_ids (input order)

    index = linker.build_index(records)       # dedupe + an index for one-record queries
    m = index.match({"name": "张伟", "birth_date": "1990-03-05", ...})
    m.decision, m.cluster_id, m.candidates    # "match" / "possible" / "non-match"
    index.assign("r123", {...})               # match, then add to the index and cluster
    index.save(directory); LinkageIndex.load(directory)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phis.algorithms.linkage.blocking import (
    BlockIndex,
    candidate_pairs,
    pass_keys,
    sorted_unique,
)
from phis.algorithms.linkage.cluster import cluster_edges, natural_key, natural_order
from phis.algorithms.linkage.comparators import Comparator, Features, hash_probe
from phis.algorithms.linkage.model import FellegiSunterModel
from phis.algorithms.linkage.schema import LinkageSchema, chinese_person_schema

ALGORITHM = "phis.linkage/1"
MATCH, POSSIBLE, NON_MATCH = "match", "possible", "non-match"

Records = Mapping[str, Sequence] | Sequence[Mapping[str, object]]
Progress = Callable[[str, int, int], None]


# ---- helpers -------------------------------------------------------------------------------

def to_columns(records: Records, fields: Iterable[str], *, id_field: str = "record_id"
               ) -> tuple[list[str], dict[str, list[str]]]:
    """Record IDs and one list of strings per field ('' for missing)."""
    fields = list(fields)
    if isinstance(records, Mapping):
        ids = [str(x) for x in records[id_field]]
        cols = {f: _clean_col(records.get(f), len(ids)) for f in fields}
        return ids, cols
    recs = list(records)
    ids = [str(r[id_field]) for r in recs]
    cols = {f: ["" if r.get(f) is None else str(r.get(f)) for r in recs] for f in fields}
    return ids, cols


def _clean_col(col, n: int) -> list[str]:
    if col is None:
        return [""] * n
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in col]


def concat_features(parts: Sequence[Features]) -> Features:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take_features(f: Features, idx: np.ndarray) -> Features:
    return {k: v[idx] for k, v in f.items()}


@dataclass
class TermFrequencies:
    """Relative frequency of each value code; ``mean`` is E[tf] = Σ tf², the average
    commonness of the value two agreeing records share."""

    codes: np.ndarray
    freqs: np.ndarray
    mean: float
    total: int

    @classmethod
    def build(cls, codes: np.ndarray) -> TermFrequencies:
        c = codes[codes != 0]
        if c.size == 0:
            return cls(np.zeros(0, np.uint64), np.zeros(0), 1.0, 0)
        u, n = np.unique(c, return_counts=True)
        f = n / c.size
        return cls(u, f, float((f * f).sum()), int(c.size))

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        if self.codes.size == 0:
            return np.ones(len(codes))
        pos = np.clip(np.searchsorted(self.codes, codes), 0, self.codes.size - 1)
        hit = self.codes[pos] == codes
        return np.where(hit, self.freqs[pos], 1.0 / max(self.total, 1))


TF_CLIP = 8.0


def tf_adjustment(comparators: Sequence[Comparator], tfs: Sequence[TermFrequencies | None],
                  feats_a: Sequence[Features], ia: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Term-frequency adjustment, log2(E[tf] / tf(value)), for pairs agreeing on a common
    (negative) or rare (positive) value."""
    adj = np.zeros(len(ia))
    for k, (comp, tf) in enumerate(zip(comparators, tfs, strict=True)):
        if tf is None or not comp.tf_levels:
            continue
        sel = np.flatnonzero(np.isin(levels[:, k], comp.tf_levels))
        if sel.size == 0:
            continue
        codes = comp.tf_codes(feats_a[k])
        if codes is None:
            continue
        freq = tf.lookup(codes[ia[sel]])
        adj[sel] += np.clip(np.log2(tf.mean / np.maximum(freq, 1e-12)), -TF_CLIP, TF_CLIP)
    return adj


@dataclass
class PairScores:
    """Scored candidate pairs (indices into the record arrays)."""

    a: np.ndarray
    b: np.ndarray
    levels: np.ndarray
    weight: np.ndarray
    probability: np.ndarray


@dataclass
class DedupeResult:
    record_ids: list[str]
    cluster_ids: list[str]
    model: FellegiSunterModel
    pairs: PairScores                     # indices refer to ``sorted_ids``
    sorted_ids: list[str]
    match_threshold: float
    possible_threshold: float
    stats: dict = field(default_factory=dict)

    def clusters(self) -> dict[str, str]:
        return dict(zip(self.record_ids, self.cluster_ids, strict=True))

    def possible_pairs(self) -> list[tuple[str, str, float, float]]:
        """Pairs for steward review: possible matches, and match-level pairs that ended in
        different clusters (blocked by the cannot-link rule)."""
        cl = self.clusters()
        out = []
        p = self.pairs
        sel = np.flatnonzero(p.probability >= self.possible_threshold)
        for k in sel.tolist():
            ra, rb = self.sorted_ids[p.a[k]], self.sorted_ids[p.b[k]]
            if p.probability[k] < self.match_threshold or cl[ra] != cl[rb]:
                out.append((ra, rb, float(p.probability[k]), float(p.weight[k])))
        return out


@dataclass
class LinkResult:
    left_ids: list[str]
    right_ids: list[str]
    model: FellegiSunterModel
    pairs: PairScores                     # a indexes left, b indexes right
    match_threshold: float
    possible_threshold: float
    matches: list[tuple[str, str, float]]
    stats: dict = field(default_factory=dict)


@dataclass
class Candidate:
    record_id: str
    cluster_id: str
    probability: float
    weight: float
    decision: str
    levels: dict[str, str]


@dataclass
class MatchResult:
    decision: str                         # match / possible / non-match
    cluster_id: str | None                # the matched cluster when decision == match
    candidates: list[Candidate]


@dataclass
class AssignResult:
    record_id: str
    cluster_id: str
    decision: str
    candidates: list[Candidate]
    merged_clusters: list[str]            # clusters absorbed into cluster_id


# ---- batch ---------------------------------------------------------------------------------

class Linker:
    """Fellegi–Sunter linkage configured by a schema; parameters are stored as given
    (scikit-learn style) and checked when used."""

    def __init__(self, schema: LinkageSchema | None = None, *, match_threshold: float = 0.9,
                 possible_threshold: float = 0.5, max_block_size: int = 400,
                 random_pairs: int = 400_000, em_max_iter: int = 200,
                 seed: int = 0, workers: int = 1, chunk_size: int = 1_000_000,
                 progress: Progress | None = None) -> None:
        self.schema = schema
        self.match_threshold = match_threshold
        self.possible_threshold = possible_threshold
        self.max_block_size = max_block_size
        self.random_pairs = random_pairs
        self.em_max_iter = em_max_iter
        self.seed = seed
        self.workers = workers
        self.chunk_size = chunk_size
        self.progress = progress

    # --- internals ---
    def _schema(self) -> LinkageSchema:
        schema = self.schema or chinese_person_schema()
        schema.validate()
        if not 0 < self.possible_threshold <= self.match_threshold < 1:
            raise ValueError("need 0 < possible_threshold <= match_threshold < 1")
        return schema

    def _tick(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        timing = getattr(self, "_timing", None)
        if timing is not None and done >= total:
            timing[stage] = round(now - self._t_last, 3)  # type: ignore[has-type]
            self._t_last = now
        if self.progress is not None:
            self.progress(stage, done, total)

    def _prepare(self, schema: LinkageSchema, cols: Mapping[str, list[str]]) -> list[Features]:
        out = []
        for k, c in enumerate(schema.comparators):
            out.append(c.prepare(cols[c.field]))
            self._tick("prepare", k + 1, len(schema.comparators))
        return out

    def _keys(self, schema: LinkageSchema, feats: list[Features]) -> list[np.ndarray]:
        comps = schema.by_field()
        fmap = dict(zip(schema.fields, feats, strict=True))
        return [pass_keys(comps, fmap, bp) for bp in schema.blocking]

    def _compare(self, schema: LinkageSchema, fa: list[Features], ia: np.ndarray,
                 fb: list[Features], ib: np.ndarray, stage: str = "compare") -> np.ndarray:
        levels = np.empty((len(ia), len(schema.comparators)), dtype=np.int8)
        step = max(int(self.chunk_size), 1)
        for s in range(0, len(ia), step):
            sl = slice(s, s + step)
            for k, c in enumerate(schema.comparators):
                levels[sl, k] = c.compare(fa[k], ia[sl], fb[k], ib[sl], workers=self.workers)
            self._tick(stage, min(s + step, len(ia)), len(ia))
        return levels

    def _fit(self, schema: LinkageSchema, cand_levels: np.ndarray, rand_levels: np.ndarray,
             bstats: dict, total_pairs: float) -> FellegiSunterModel:
        passes = []
        for bp, members in zip(schema.blocking, bstats["members"], strict=True):
            excluded = sorted({schema.fields.index(f) for f, _k in bp})
            passes.append((members, excluded))
        return FellegiSunterModel.fit_blocked(
            schema.fields, [c.n_levels for c in schema.comparators], cand_levels, rand_levels,
            passes, total_pairs, max_iter=self.em_max_iter, seed=self.seed)

    def _random_pairs(self, na: int, nb: int, same: bool) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        r = int(self.random_pairs)
        if same:
            r = min(r, na * (na - 1) // 2)
        a = rng.integers(0, na, size=r)
        b = rng.integers(0, nb, size=r)
        if same:
            keep = a != b
            a, b = a[keep], b[keep]
        return a, b

    # --- public ---
    def dedupe(self, records: Records) -> DedupeResult:
        """Find duplicate records and cluster them."""
        schema = self._schema()
        t0 = time.perf_counter()
        self._timing: dict[str, float] = {}
        self._t_last = t0
        ids, cols = to_columns(records, schema.fields)
        if len(set(ids)) != len(ids):
            raise ValueError("record_id values must be unique")
        n = len(ids)
        order = natural_order(ids)
        sids = [ids[i] for i in order.tolist()]
        scols = {f: [c[i] for i in order.tolist()] for f, c in cols.items()}
        self._tick("read", 1, 1)
        feats = self._prepare(schema, scols)
        keys = self._keys(schema, feats)
        a, b, bstats = candidate_pairs(keys, n, int(self.max_block_size))
        self._tick("blocking", 1, 1)
        levels = self._compare(schema, feats, a, feats, b)
        ra, rb = self._random_pairs(n, n, same=True)
        rlev = self._compare(schema, feats, ra, feats, rb, stage="sample")
        model = self._fit(schema, levels, rlev, bstats, n * (n - 1) / 2)
        tfs = _build_tfs(schema, feats)
        w = model.weights(levels, tf_adjustment(schema.comparators, tfs, feats, a, levels))
        prob = model.probability(w)
        self._tick("train", 1, 1)
        pairs = PairScores(a, b, levels, w, prob)
        roots = self._cluster(schema, feats, n, pairs)
        self._tick("cluster", 1, 1)
        cl_sorted = [sids[r] for r in roots.tolist()]
        cluster_of = dict(zip(sids, cl_sorted, strict=True))
        bstats.pop("members", None)
        stats = {"records": n, "candidate_pairs": len(a), "blocking": bstats,
                 "matches": int((prob >= self.match_threshold).sum()),
                 "clusters": len(set(cl_sorted)), "seconds": round(time.perf_counter() - t0, 3),
                 "em_iterations": model.em_iterations, "prior": model.prior,
                 "stage_seconds": dict(self._timing), "algorithm": ALGORITHM}
        result = DedupeResult(ids, [cluster_of[i] for i in ids], model, pairs, sids,
                              self.match_threshold, self.possible_threshold, stats)
        result._feats = feats  # type: ignore[attr-defined]  # reused by build_index
        result._keys = keys    # type: ignore[attr-defined]
        result._tfs = tfs      # type: ignore[attr-defined]
        return result

    def _cluster(self, schema: LinkageSchema, feats: list[Features], n: int,
                 pairs: PairScores) -> np.ndarray:
        sel = pairs.probability >= self.match_threshold
        excl = None
        if schema.exclusive_field:
            k = schema.fields.index(schema.exclusive_field)
            excl = schema.comparators[k].exclusive_codes(feats[k])
        return cluster_edges(n, pairs.a[sel], pairs.b[sel], pairs.weight[sel], excl)

    def link(self, left: Records, right: Records, *, one_to_one: bool = False) -> LinkResult:
        """Link two sources. With ``one_to_one`` each record is linked at most once (best
        pairs first), for sources that are each free of duplicates."""
        schema = self._schema()
        lid, lcols = to_columns(left, schema.fields)
        rid, rcols = to_columns(right, schema.fields)
        na, nb = len(lid), len(rid)
        fa = self._prepare(schema, lcols)
        fb = self._prepare(schema, rcols)
        both = [concat_features([x, y]) for x, y in zip(fa, fb, strict=True)]
        keys = self._keys(schema, both)
        a, b, bstats = candidate_pairs(keys, na + nb, int(self.max_block_size), split=na)
        b = b - na
        levels = self._compare(schema, fa, a, fb, b)
        ra, rb = self._random_pairs(na, nb, same=False)
        rlev = self._compare(schema, fa, ra, fb, rb, stage="sample")
        model = self._fit(schema, levels, rlev, bstats, float(na) * nb)
        tfs = _build_tfs(schema, both)
        w = model.weights(levels, tf_adjustment(schema.comparators, tfs, fa, a, levels))
        prob = model.probability(w)
        sel = np.flatnonzero(prob >= self.match_threshold)
        if one_to_one:
            sel = sel[np.lexsort((b[sel], a[sel], -w[sel]))]
            used_a: set[int] = set()
            used_b: set[int] = set()
            keep = []
            for k in sel.tolist():
                if a[k] in used_a or b[k] in used_b:
                    continue
                used_a.add(int(a[k]))
                used_b.add(int(b[k]))
                keep.append(k)
            sel = np.array(sorted(keep), dtype=np.int64)
        matches = [(lid[a[k]], rid[b[k]], float(prob[k])) for k in sel.tolist()]
        bstats.pop("members", None)
        stats = {"left": na, "right": nb, "candidate_pairs": len(a), "blocking": bstats,
                 "matches": len(matches), "em_iterations": model.em_iterations,
                 "prior": model.prior, "algorithm": ALGORITHM}
        return LinkResult(lid, rid, model, PairScores(a, b, levels, w, prob),
                          self.match_threshold, self.possible_threshold, matches, stats)

    def build_index(self, records: Records, *, result: DedupeResult | None = None
                    ) -> LinkageIndex:
        """Deduplicate ``records`` (fitting the model) and return an index for queries."""
        schema = self._schema()
        res = result if result is not None else self.dedupe(records)
        cl = res.clusters()
        idx = LinkageIndex(schema, res.model, match_threshold=self.match_threshold,
                           possible_threshold=self.possible_threshold,
                           max_block_size=self.max_block_size)
        idx._init_arrays(list(res.sorted_ids), [cl[r] for r in res.sorted_ids],
                         res._feats, res._keys, res._tfs)  # type: ignore[attr-defined]
        return idx


def _build_tfs(schema: LinkageSchema, feats: Sequence[Features]
               ) -> list[TermFrequencies | None]:
    out: list[TermFrequencies | None] = []
    for c, f in zip(schema.comparators, feats, strict=True):
        codes = c.tf_codes(f) if c.tf else None
        out.append(TermFrequencies.build(codes) if codes is not None else None)
    return out


# ---- incremental index ---------------------------------------------------------------------

TAIL_LIMIT = 2048
INDEX_FORMAT = 1


class LinkageIndex:
    """Records (as features), their clusters, the fitted model and blocking indexes.

    ``match(record)`` scores one new record against the index; ``assign(record_id, record)``
    also adds it and returns its cluster. New records go to a small tail that is merged into
    the sorted blocking arrays every ``TAIL_LIMIT`` additions."""

    def __init__(self, schema: LinkageSchema, model: FellegiSunterModel, *,
                 match_threshold: float = 0.9, possible_threshold: float = 0.5,
                 max_block_size: int = 400) -> None:
        self.schema = schema
        self.model = model
        self.match_threshold = match_threshold
        self.possible_threshold = possible_threshold
        self.max_block_size = max_block_size
        self._init_arrays([], [], [c.prepare([]) for c in schema.comparators],
                          None, None)

    # --- construction ---
    def _init_arrays(self, record_ids: list[str], cluster_ids: list[str],
                     feats: list[Features], keys: list[np.ndarray] | None,
                     tfs: list[TermFrequencies | None] | None,
                     blocks: list[BlockIndex] | None = None) -> None:
        self.record_ids = list(record_ids)
        self.cluster_ids = list(cluster_ids)
        self._pos = {r: i for i, r in enumerate(self.record_ids)}
        self._feats = feats
        self._n_base = len(self.record_ids)
        if blocks is None:
            if keys is None:
                keys = self._record_keys(feats)
            blocks = [BlockIndex.build(k) for k in keys]
        self._blocks = blocks
        self._tfs = tfs if tfs is not None else _build_tfs(self.schema, feats)
        self._tail: list[list[Features]] = []
        self._tail_keys: list[list[np.ndarray]] = []
        self._tail_feats: list[Features] | None = None
        self._tail_keys_cache: list[np.ndarray] | None = None
        self._qkeys_cache: tuple[list[Features], list[np.ndarray]] | None = None
        self._members: dict[str, list[int]] | None = None
        self._excl = self._exclusive(feats)
        if self.record_ids:
            self._members_map()  # built now rather than on the first query

    def _record_keys(self, feats: list[Features]) -> list[np.ndarray]:
        comps = self.schema.by_field()
        fmap = dict(zip(self.schema.fields, feats, strict=True))
        return [pass_keys(comps, fmap, bp) for bp in self.schema.blocking]

    def _exclusive(self, feats: list[Features]) -> list[int] | None:
        if not self.schema.exclusive_field:
            return None
        k = self.schema.fields.index(self.schema.exclusive_field)
        codes = self.schema.comparators[k].exclusive_codes(feats[k])
        return None if codes is None else codes.tolist()

    @classmethod
    def build(cls, records: Records, schema: LinkageSchema | None = None,
              **linker_params) -> LinkageIndex:
        return Linker(schema, **linker_params).build_index(records)

    def __len__(self) -> int:
        return len(self.record_ids)

    # --- queries ---
    def _prepare_one(self, record: Mapping[str, object]) -> list[Features]:
        return [c.prepare(["" if record.get(c.field) is None else str(record.get(c.field))])
                for c in self.schema.comparators]

    def _query_keys(self, qf: list[Features]) -> list[np.ndarray]:
        cached = self._qkeys_cache
        if cached is not None and cached[0] is qf:
            return cached[1]
        keys = self._record_keys(qf)
        self._qkeys_cache = (qf, keys)
        return keys

    def _candidates(self, qf: list[Features]) -> np.ndarray:
        qkeys = self._query_keys(qf)
        found: list[np.ndarray] = []
        tail = self._tail_key_arrays()
        for p, (blk, qk) in enumerate(zip(self._blocks, qkeys, strict=True)):
            found.extend(blk.lookup(qk[0], self.max_block_size))
            if tail:
                q = qk[0][qk[0] != 0]
                if q.size:
                    hit = np.isin(tail[p], q).any(axis=1)
                    found.append(np.flatnonzero(hit) + self._n_base)
        if not found:
            return np.zeros(0, dtype=np.int64)
        return sorted_unique(np.concatenate(found))

    def _tail_key_arrays(self) -> list[np.ndarray]:
        if not self._tail_keys:
            return []
        if self._tail_keys_cache is None:
            self._tail_keys_cache = [np.concatenate([tk[p] for tk in self._tail_keys])
                                     for p in range(len(self._blocks))]
        return self._tail_keys_cache

    def _tail_features(self) -> list[Features]:
        if self._tail_feats is None:
            self._tail_feats = [concat_features([t[k] for t in self._tail])
                                for k in range(len(self._feats))]
        return self._tail_feats

    def _all_feats(self) -> list[Features]:
        if not self._tail:
            return self._feats
        return [concat_features([base, tail])
                for base, tail in zip(self._feats, self._tail_features(), strict=True)]

    def _score(self, qf: list[Features], cand: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        zeros = np.zeros(len(cand), dtype=np.int64)
        levels = np.empty((len(cand), len(qf)), dtype=np.int8)
        in_base = cand < self._n_base
        parts = [(np.flatnonzero(in_base), self._feats, cand[in_base])]
        if not in_base.all():
            parts.append((np.flatnonzero(~in_base), self._tail_features(),
                          cand[~in_base] - self._n_base))
        for rows, feats, idx in parts:
            if rows.size == 0:
                continue
            for k, c in enumerate(self.schema.comparators):
                levels[rows, k] = c.compare(qf[k], zeros[: rows.size], feats[k], idx)
        w = self.model.weights(levels, tf_adjustment(self.schema.comparators, self._tfs, qf,
                                                     zeros, levels))
        return levels, w, self.model.probability(w)

    def _decide(self, p: float) -> str:
        if p >= self.match_threshold:
            return MATCH
        if p >= self.possible_threshold:
            return POSSIBLE
        return NON_MATCH

    def match(self, record: Mapping[str, object], *, limit: int = 10) -> MatchResult:
        """Candidates for one new record, best first, with the overall decision."""
        qf = self._prepare_one(record)
        return self._match(qf, limit=limit)

    def _match(self, qf: list[Features], *, limit: int) -> MatchResult:
        cand = self._candidates(qf)
        if cand.size == 0:
            return MatchResult(NON_MATCH, None, [])
        levels, w, prob = self._score(qf, cand)
        order = np.lexsort((cand, -w))
        q_excl = None
        if self._excl is not None:
            k = self.schema.fields.index(self.schema.exclusive_field)  # type: ignore[arg-type]
            q_excl = int(self.schema.comparators[k].exclusive_codes(qf[k])[0])
        out: list[Candidate] = []
        best_cluster = None
        decision = NON_MATCH
        names = [c.levels for c in self.schema.comparators]
        for pos in order[:max(limit, 1)].tolist():
            i = int(cand[pos])
            d = self._decide(float(prob[pos]))
            cid = self.cluster_ids[i]
            if d == MATCH and q_excl and not self._cluster_accepts(cid, q_excl):
                d = POSSIBLE  # a different valid resident ID is already in that cluster
            out.append(Candidate(self.record_ids[i], cid, float(prob[pos]), float(w[pos]), d,
                                 {f: ("missing" if lv < 0 else names[k][lv])
                                  for k, (f, lv) in enumerate(zip(
                                      self.schema.fields, levels[pos].tolist(), strict=True))}))
            if d == MATCH and best_cluster is None:
                best_cluster, decision = cid, MATCH
            elif d == POSSIBLE and decision == NON_MATCH:
                decision = POSSIBLE
        return MatchResult(decision, best_cluster, out)

    def _members_map(self) -> dict[str, list[int]]:
        if self._members is None:
            m: dict[str, list[int]] = {}
            for i, c in enumerate(self.cluster_ids):
                m.setdefault(c, []).append(i)
            self._members = m
        return self._members

    def _cluster_accepts(self, cluster_id: str, code: int) -> bool:
        if self._excl is None or not code:
            return True
        return all(self._excl[i] in (0, code) for i in self._members_map()[cluster_id])

    def cluster_of(self, record_id: str) -> str:
        return self.cluster_ids[self._pos[record_id]]

    def members(self, cluster_id: str) -> list[str]:
        return [self.record_ids[i] for i in self._members_map().get(cluster_id, [])]

    # --- updates ---
    def add(self, record_id: str, record: Mapping[str, object], cluster_id: str | None = None
            ) -> None:
        """Add a record to the index with a given cluster (default: a new cluster named
        after the record)."""
        self._append(str(record_id), self._prepare_one(record), cluster_id or str(record_id))

    def _append(self, rid: str, qf: list[Features], cluster_id: str) -> None:
        if rid in self._pos:
            raise ValueError(f"record {rid!r} is already in the index")
        i = len(self.record_ids)
        self.record_ids.append(rid)
        self.cluster_ids.append(cluster_id)
        self._pos[rid] = i
        self._tail.append(qf)
        qk = self._query_keys(qf)
        self._tail_keys.append(qk)
        # extend the concatenated caches by one row (a copy of at most TAIL_LIMIT rows)
        if self._tail_feats is not None:
            self._tail_feats = [concat_features([tf, q])
                                for tf, q in zip(self._tail_feats, qf, strict=True)]
        if self._tail_keys_cache is not None:
            self._tail_keys_cache = [np.concatenate([tk, k])
                                     for tk, k in zip(self._tail_keys_cache, qk, strict=True)]
        if self._excl is not None:
            k = self.schema.fields.index(self.schema.exclusive_field)  # type: ignore[arg-type]
            self._excl.append(int(self.schema.comparators[k].exclusive_codes(qf[k])[0]))
        if self._members is not None:
            self._members.setdefault(cluster_id, []).append(i)
        if len(self._tail) >= TAIL_LIMIT:
            self.compact()

    def assign(self, record_id: str, record: Mapping[str, object], *, limit: int = 10
               ) -> AssignResult:
        """Match one new record, add it and put it in a cluster: the matched one; several
        matched clusters are merged (the smallest cluster ID survives); else a new cluster
        named after the record. A possible match gets its own cluster and should go to the
        steward queue with its candidates."""
        rid = str(record_id)
        qf = self._prepare_one(record)
        res = self._match(qf, limit=limit)
        matched = sorted({c.cluster_id for c in res.candidates if c.decision == MATCH},
                         key=natural_key)
        merged: list[str] = []
        if matched:
            target = matched[0]
            q_excl = None
            if self._excl is not None:
                k = self.schema.fields.index(self.schema.exclusive_field)  # type: ignore[arg-type]
                q_excl = int(self.schema.comparators[k].exclusive_codes(qf[k])[0])
            for other in matched[1:]:
                if self._merge_allowed(target, other, q_excl):
                    self.merge(target, other)
                    merged.append(other)
        else:
            target = rid
        self._append(rid, qf, target)
        return AssignResult(rid, target, res.decision, res.candidates, merged)

    def _merge_allowed(self, a: str, b: str, extra: int | None) -> bool:
        if self._excl is None:
            return True
        codes = {self._excl[i] for c in (a, b) for i in self._members_map()[c]}
        if extra:
            codes.add(extra)
        codes.discard(0)
        return len(codes) <= 1

    def merge(self, keep: str, absorb: str) -> None:
        """Move every record of cluster ``absorb`` into cluster ``keep``."""
        mm = self._members_map()
        for i in mm.pop(absorb, []):
            self.cluster_ids[i] = keep
            mm.setdefault(keep, []).append(i)

    def move(self, record_id: str, cluster_id: str | None = None) -> None:
        """Put one record in another (or a new, own) cluster: a steward's unmerge."""
        i = self._pos[record_id]
        new = cluster_id or record_id
        mm = self._members_map()
        old = self.cluster_ids[i]
        mm[old].remove(i)
        if not mm[old]:
            del mm[old]
        self.cluster_ids[i] = new
        mm.setdefault(new, []).append(i)

    def compact(self) -> None:
        """Merge the tail of recently added records into the sorted arrays."""
        if not self._tail:
            return
        feats = self._all_feats()
        self._feats = feats
        keys = self._record_keys(feats)
        self._blocks = [BlockIndex.build(k) for k in keys]
        self._tfs = _build_tfs(self.schema, feats)
        self._n_base = len(self.record_ids)
        self._tail, self._tail_keys, self._tail_feats = [], [], None
        self._tail_keys_cache = None

    # --- persistence (JSON + .npy, no pickle) ---
    def to_dict(self) -> dict:
        """Settings and fitted model as plain data (no records)."""
        return {"format": INDEX_FORMAT, "algorithm": ALGORITHM,
                "schema": self.schema.to_dict(), "model": self.model.to_dict(),
                "match_threshold": self.match_threshold,
                "possible_threshold": self.possible_threshold,
                "max_block_size": self.max_block_size, "records": len(self)}

    def save(self, directory: str | os.PathLike) -> None:
        self.compact()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "record_ids": np.array(self.record_ids, dtype=str),
            "cluster_ids": np.array(self.cluster_ids, dtype=str),
        }
        for k, f in enumerate(self._feats):
            for name, arr in f.items():
                arrays[f"f{k}_{name}"] = arr.astype(str) if arr.dtype == object else arr
        for p, blk in enumerate(self._blocks):
            arrays[f"b{p}_keys"] = blk.keys
            arrays[f"b{p}_recs"] = blk.recs
        for name, arr in arrays.items():
            np.save(d / f"{name}.npy", arr, allow_pickle=False)
        meta = self.to_dict()
        meta["hash_probe"] = hash_probe()
        meta["feature_kinds"] = {f"f{k}_{n}": ("str" if a.dtype == object else "num")
                                 for k, f in enumerate(self._feats) for n, a in f.items()}
        (d / "index.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, directory: str | os.PathLike) -> LinkageIndex:
        d = Path(directory)
        meta = json.loads((d / "index.json").read_text())
        if meta.get("format") != INDEX_FORMAT:
            raise ValueError(f"unsupported index format {meta.get('format')!r}")
        if meta.get("hash_probe") != hash_probe():
            raise ValueError("the index was saved with another string hash; rebuild it")
        schema = LinkageSchema.from_dict(meta["schema"])
        idx = cls(schema, FellegiSunterModel.from_dict(meta["model"]),
                  match_threshold=meta["match_threshold"],
                  possible_threshold=meta["possible_threshold"],
                  max_block_size=meta["max_block_size"])

        def arr(name: str) -> np.ndarray:
            return np.load(d / f"{name}.npy", allow_pickle=False)

        kinds = meta["feature_kinds"]
        feats: list[Features] = []
        for k in range(len(schema.comparators)):
            f: Features = {}
            for key, kind in kinds.items():
                if key.startswith(f"f{k}_"):
                    a = arr(key)
                    f[key[len(f"f{k}_"):]] = a.astype(object) if kind == "str" else a
            feats.append(f)
        blocks = [BlockIndex(arr(f"b{p}_keys"), arr(f"b{p}_recs"))
                  for p in range(len(schema.blocking))]
        idx._init_arrays(arr("record_ids").tolist(), arr("cluster_ids").tolist(), feats,
                         None, None, blocks)
        return idx
