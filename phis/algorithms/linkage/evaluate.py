"""Pairwise precision, recall and F1 of a clustering against the truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PairwiseScores:
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted_pairs: int
    true_pairs: int
    records: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairwiseScores:
    """Scores over the records present in both mappings (record_id → cluster)."""
    common = [r for r in predicted if r in truth]
    pred = Counter(predicted[r] for r in common)
    true = Counter(truth[r] for r in common)
    both = Counter((predicted[r], truth[r]) for r in common)
    tp = sum(_pairs(v) for v in both.values())
    pp = sum(_pairs(v) for v in pred.values())
    tt = sum(_pairs(v) for v in true.values())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, pp, tt, len(common))


def link_scores(found: Iterable[tuple[str, str]], true: Iterable[tuple[str, str]]
                ) -> PairwiseScores:
    """Scores of a set of cross-source links against the true links."""
    f = set(found)
    t = set(true)
    tp = len(f & t)
    precision = tp / len(f) if f else 1.0
    recall = tp / len(t) if t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, len(f), len(t), 0)
