"""Clustering of match pairs with stable cluster IDs.

Match edges are merged strongest first (greedy single linkage) with a cannot-link rule: a
cluster never holds two different *valid* values of an exclusive identifier (two resident
IDs that both pass the check character are two people, whatever else agrees), so one
bridging record cannot chain twins or a parent and child together.

A cluster's ID is the record ID of its first member in natural order (numeric IDs by value,
others as text, numbers first): rerunning on the same data, in any row order, gives the same
IDs. In incremental use a new record joins an existing cluster and keeps its ID; when a
record bridges two clusters the one with the smaller ID survives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def natural_key(record_id: str) -> tuple[int, int, str]:
    s = str(record_id)
    if s.isdigit():
        return (0, int(s), s)
    return (1, 0, s)


def natural_order(record_ids: Sequence[str]) -> np.ndarray:
    """Indices that sort record IDs in natural order."""
    arr = np.asarray(record_ids, dtype=object)
    if arr.size and all(isinstance(x, str) and x.isdigit() and len(x) < 19
                        and x.isascii() for x in arr):
        nums = arr.astype(np.int64)
        strs = arr.astype(str)
        return np.lexsort((strs, nums)).astype(np.int64)
    return np.array(sorted(range(len(record_ids)), key=lambda i: natural_key(record_ids[i])),
                    dtype=np.int64)


def cluster_edges(n: int, a: np.ndarray, b: np.ndarray, weight: np.ndarray,
                  exclusive: np.ndarray | None = None) -> np.ndarray:
    """Root (smallest index) of each record's cluster. Records must already be in natural
    order (index = rank) so that the result does not depend on input order."""
    parent = list(range(n))
    excl = exclusive.tolist() if exclusive is not None else None
    order = np.lexsort((b, a, -weight))
    a_l = a[order].tolist()
    b_l = b[order].tolist()

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(a_l, b_l, strict=True):
        rx, ry = find(x), find(y)
        if rx == ry:
            continue
        if excl is not None:
            ex, ey = excl[rx], excl[ry]
            if ex and ey and ex != ey:
                continue
            merged = ex or ey
        if rx < ry:
            parent[ry] = rx
            root = rx
        else:
            parent[rx] = ry
            root = ry
        if excl is not None:
            excl[root] = merged
    return np.array([find(i) for i in range(n)], dtype=np.int64)
