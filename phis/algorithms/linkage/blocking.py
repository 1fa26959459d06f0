"""Blocking: only records sharing a key in at least one pass are compared.

A pass is a tuple of ``(field, key)`` parts, e.g. ``(("name", "py"), ("birth_date", "year"))``.
A comparator may give several keys per record (a pinyin name whose order is unclear has two);
parts combine as a cross product. Blocks larger than ``max_block_size`` are skipped (they
come from placeholder values such as a clinic's phone number) and counted in the stats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from phis.algorithms.linkage.comparators import Comparator, Features, combine

BlockingPass = tuple[tuple[str, str], ...]


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2.4's hash-based ``np.unique`` is much
    slower on large integer arrays)."""
    if a.size == 0:
        return a
    s = np.sort(a)
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def pass_name(bp: BlockingPass) -> str:
    return "+".join(f"{f}:{k}" for f, k in bp)


def pass_keys(comparators: dict[str, Comparator], feats: dict[str, Features],
              bp: BlockingPass) -> np.ndarray:
    """(n, k) uint64 keys of one pass; 0 = no key."""
    out: np.ndarray | None = None
    for i, (field, key) in enumerate(bp):
        k = comparators[field].block_key(feats[field], key)
        if k.ndim == 1:
            k = k[:, None]
        k = k.astype(np.uint64)
        salt = np.uint64(0x100000001B3 * (i + 1) + len(bp))
        if out is None:
            miss = k == 0
            out = combine(np.full(k.shape, salt, dtype=np.uint64), k)
            out[miss] = 0
        else:
            cols = []
            for a in range(out.shape[1]):
                for b in range(k.shape[1]):
                    c = combine(out[:, a], k[:, b])
                    c[(out[:, a] == 0) | (k[:, b] == 0)] = 0
                    cols.append(c)
            out = np.stack(cols, axis=1)
    assert out is not None
    # drop duplicate keys within a row (two parts giving the same key)
    if out.shape[1] > 1:
        s = np.sort(out, axis=1)
        dup = np.zeros_like(s, dtype=bool)
        dup[:, 1:] = s[:, 1:] == s[:, :-1]
        s[dup] = 0
        out = s
    return out


def sorted_entries(keys: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flatten (n, k) keys to sorted (key, record) entries, without missing keys."""
    n, k = keys.shape
    flat = keys.ravel()
    recs = np.repeat(np.arange(n, dtype=np.int64) + offset, k)
    keep = flat != 0
    flat, recs = flat[keep], recs[keep]
    order = np.lexsort((recs, flat))
    return flat[order], recs[order]


def pairs_in_blocks(skeys: np.ndarray, srecs: np.ndarray, max_block: int
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """All pairs (a < b) of records sharing a key, plus the number of skipped large blocks."""
    n = len(skeys)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    brk = np.flatnonzero(skeys[1:] != skeys[:-1]) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [n]))
    sizes = ends - starts
    ok = (sizes >= 2) & (sizes <= max_block)
    skipped = int(((sizes > max_block)).sum())
    end_of_pos = np.repeat(ends, sizes)
    idx = np.flatnonzero(np.repeat(ok, sizes))
    end_of = end_of_pos[idx]
    out_a, out_b = [], []
    d = 1
    while idx.size:
        keep = idx + d < end_of
        idx, end_of = idx[keep], end_of[keep]
        if not idx.size:
            break
        out_a.append(srecs[idx])
        out_b.append(srecs[idx + d])
        d += 1
    if not out_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), skipped
    a = np.concatenate(out_a)
    b = np.concatenate(out_b)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    return lo[keep], hi[keep], skipped


def candidate_pairs(keys_per_pass: Sequence[np.ndarray], n: int, max_block: int,
                    *, split: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Union of the pairs of all passes, sorted, as two index arrays (a < b).

    With ``split`` (linking two sources: records ``< split`` are the left source), only
    pairs across the sources are kept."""
    codes = []
    stats: dict = {"passes": []}
    for keys in keys_per_pass:
        sk, sr = sorted_entries(keys)
        a, b, skipped = pairs_in_blocks(sk, sr, max_block)
        if split is not None:
            cross = (a < split) & (b >= split)
            a, b = a[cross], b[cross]
        codes.append(a * n + b)
        stats["passes"].append({"pairs": len(a), "skipped_blocks": skipped})
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), stats
    allc = sorted_unique(np.concatenate(codes))
    stats["pairs"] = len(allc)
    # which union pairs each pass produced (for per-pass training)
    stats["members"] = [np.searchsorted(allc, sorted_unique(c)) for c in codes]
    return allc // n, allc % n, stats


class BlockIndex:
    """Sorted keys of one pass for look-ups of single records (incremental matching)."""

    __slots__ = ("keys", "recs")

    def __init__(self, keys: np.ndarray, recs: np.ndarray) -> None:
        self.keys, self.recs = keys, recs

    @classmethod
    def build(cls, keys: np.ndarray) -> BlockIndex:
        return cls(*sorted_entries(keys))

    def lookup(self, qkeys: np.ndarray, max_block: int) -> list[np.ndarray]:
        out = []
        for q in qkeys:
            if q == 0:
                continue
            lo = int(np.searchsorted(self.keys, q, "left"))
            hi = int(np.searchsorted(self.keys, q, "right"))
            # the block includes the query record itself in the batch view
            if 0 < hi - lo < max_block:
                out.append(self.recs[lo:hi])
        return out
