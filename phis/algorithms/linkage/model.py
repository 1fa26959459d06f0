"""Fellegi–Sunter model: per field and comparison level an m probability (level given a
match) and a u probability (level given a non-match); a pair's match weight is
``log2(prior odds) + Σ log2(m/u)`` (missing values add nothing), its match probability
``1 / (1 + 2**-weight)``.

Training needs no labels: u comes from random record pairs (almost all non-matches), m and
the prior λ from EM over the candidate pairs with u held fixed (Splink does the same). EM runs
on the distinct comparison patterns with their counts, so it costs milliseconds even for
tens of millions of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MIN_PROB = 1e-6


@dataclass
class FellegiSunterModel:
    """Fitted parameters. ``m[f][l]``, ``u[f][l]``: probabilities of level ``l`` of field ``f``
    given match / non-match; ``prior``: share of matches among candidate pairs."""

    fields: list[str]
    n_levels: list[int]
    m: list[np.ndarray] = field(default_factory=list)
    u: list[np.ndarray] = field(default_factory=list)
    prior: float = 0.01
    em_iterations: int = 0
    converged: bool = False

    # --- training ---
    @classmethod
    def fit(cls, fields: list[str], n_levels: list[int], candidate_levels: np.ndarray,
            random_levels: np.ndarray, *, max_iter: int = 100, tol: float = 1e-6,
            fix_u: bool = True, prior_init: float = 0.1) -> FellegiSunterModel:
        model = cls(fields=list(fields), n_levels=list(n_levels))
        model.u = [_level_freq(random_levels[:, k], n, pseudo=1.0)
                   for k, n in enumerate(n_levels)]
        model.m = [_initial_m(n) for n in n_levels]
        model.prior = prior_init
        patterns, counts = _patterns(candidate_levels)
        model._em(patterns, counts, max_iter=max_iter, tol=tol, fix_u=fix_u)
        return model

    def _em(self, patterns: np.ndarray, counts: np.ndarray, *, max_iter: int, tol: float,
            fix_u: bool) -> None:
        if len(patterns) == 0:
            return
        total = counts.sum()
        for it in range(1, max_iter + 1):
            p = self.probability(self.weights(patterns))
            wm = p * counts
            wu = (1 - p) * counts
            new_prior = float(np.clip(wm.sum() / total, 1e-9, 1 - 1e-9))
            new_m, new_u = [], []
            for k, n in enumerate(self.n_levels):
                col = patterns[:, k]
                new_m.append(_weighted_freq(col, wm, n, pseudo=0.1))
                new_u.append(self.u[k] if fix_u else _weighted_freq(col, wu, n, pseudo=0.1))
            delta = max(float(np.abs(a - b).max()) for a, b in zip(new_m, self.m, strict=True))
            delta = max(delta, abs(new_prior - self.prior))
            self.m, self.u, self.prior = new_m, new_u, new_prior
            self.em_iterations = it
            if delta < tol:
                self.converged = True
                break

    @classmethod
    def fit_blocked(cls, fields: list[str], n_levels: list[int], candidate_levels: np.ndarray,
                    random_levels: np.ndarray, passes: list[tuple[np.ndarray, list[int]]],
                    total_pairs: float, *, max_iter: int = 100, tol: float = 1e-6,
                    max_pairs_per_pass: int = 2_000_000, seed: int = 0) -> FellegiSunterModel:
        """Splink-style training that corrects for blocking.

        u: from random pairs. m: EM (u fixed) on the pairs of each blocking pass with the
        pass's own fields left out (they agree by construction there), averaged over the
        passes, weighted by each pass's expected number of matches. Prior: the probability
        that two random records match, from a fixed point over all candidate pairs
        (pairs outside the blocks are taken as non-matches)."""
        model = cls(fields=list(fields), n_levels=list(n_levels))
        model.u = [_level_freq(random_levels[:, k], n, pseudo=1.0)
                   for k, n in enumerate(n_levels)]
        rng = np.random.default_rng(seed)
        acc = [np.zeros(n) for n in n_levels]
        wsum = np.zeros(len(fields))
        iters = 0
        for members, excluded in passes:
            if len(members) == 0:
                continue
            if len(members) > max_pairs_per_pass:
                members = rng.choice(members, max_pairs_per_pass, replace=False)
            lev = candidate_levels[members].copy()
            lev[:, excluded] = -1
            sub = cls(fields=list(fields), n_levels=list(n_levels), u=model.u,
                      m=[_initial_m(n) for n in n_levels], prior=0.3)
            patterns, counts = _patterns(lev)
            sub._em(patterns, counts, max_iter=max_iter, tol=tol, fix_u=True)
            iters += sub.em_iterations
            expected = sub.prior * len(members)
            for k in range(len(fields)):
                if k in excluded:
                    continue
                present = float((lev[:, k] >= 0).mean())
                w = expected * present
                acc[k] += w * sub.m[k]
                wsum[k] += w
        model.m = [acc[k] / wsum[k] if wsum[k] > 0 else _initial_m(n)
                   for k, n in enumerate(n_levels)]
        model.em_iterations = iters
        # prior of two random records matching: fixed point over the candidates
        patterns, counts = _patterns(candidate_levels)
        prior = max(counts.sum() * 0.5, 1.0) / max(total_pairs, 1.0)
        base = model.prior
        for _ in range(100):
            model.prior = float(np.clip(prior, 1e-15, 0.5))
            p = model.probability(model.weights(patterns))
            new = float((p * counts).sum()) / max(total_pairs, 1.0)
            if abs(new - prior) <= 1e-4 * prior:
                prior = new
                break
            prior = new
        model.prior = float(np.clip(prior, 1e-15, 0.5)) if prior > 0 else base
        model.converged = True
        return model

    # --- scoring ---
    def level_weights(self) -> list[np.ndarray]:
        """log2(m/u) per field and level."""
        return [np.log2(np.maximum(m, MIN_PROB) / np.maximum(u, MIN_PROB))
                for m, u in zip(self.m, self.u, strict=True)]

    def weights(self, levels: np.ndarray, tf_adjust: np.ndarray | None = None) -> np.ndarray:
        """Match weight (log2 posterior odds, prior included) of each row of levels."""
        lw = self.level_weights()
        out = np.full(len(levels), np.log2(self.prior / (1 - self.prior)))
        for k, w in enumerate(lw):
            col = levels[:, k]
            present = col >= 0
            out[present] += w[col[present]]
        if tf_adjust is not None:
            out += tf_adjust
        return out

    @staticmethod
    def probability(weights: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp2(-np.clip(weights, -60, 60)))

    def explain(self, levels: np.ndarray, level_names: list[tuple[str, ...]]) -> list[dict]:
        """Per-field contribution of one pair (for stewards)."""
        lw = self.level_weights()
        out = []
        for k, name in enumerate(self.fields):
            lev = int(levels[k])
            out.append({"field": name, "level": lev,
                        "label": "missing" if lev < 0 else level_names[k][lev],
                        "weight": 0.0 if lev < 0 else float(lw[k][lev])})
        return out

    # --- plain data ---
    def to_dict(self) -> dict:
        return {"fields": self.fields, "n_levels": self.n_levels,
                "m": [x.tolist() for x in self.m], "u": [x.tolist() for x in self.u],
                "prior": self.prior, "em_iterations": self.em_iterations,
                "converged": self.converged}

    @classmethod
    def from_dict(cls, d: dict) -> FellegiSunterModel:
        return cls(fields=list(d["fields"]), n_levels=list(d["n_levels"]),
                   m=[np.asarray(x, dtype=float) for x in d["m"]],
                   u=[np.asarray(x, dtype=float) for x in d["u"]],
                   prior=float(d["prior"]), em_iterations=int(d.get("em_iterations", 0)),
                   converged=bool(d.get("converged", False)))


def _initial_m(n: int) -> np.ndarray:
    m = np.array([0.5 ** k for k in range(n)], dtype=float)
    m[-1] = min(m[-1], 0.02)
    return m / m.sum()


def _level_freq(col: np.ndarray, n: int, pseudo: float) -> np.ndarray:
    col = col[col >= 0]
    c = np.bincount(col.astype(np.int64), minlength=n)[:n].astype(float) + pseudo
    return c / c.sum()


def _weighted_freq(col: np.ndarray, w: np.ndarray, n: int, pseudo: float) -> np.ndarray:
    present = col >= 0
    c = np.bincount(col[present].astype(np.int64), weights=w[present], minlength=n)[:n]
    c = c + pseudo
    return c / c.sum()


def _patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(levels) == 0:
        return levels, np.zeros(0)
    nf = levels.shape[1]
    if nf > 15:
        uniq, counts = np.unique(levels, axis=0, return_counts=True)
        return uniq, counts.astype(float)
    code = np.zeros(len(levels), dtype=np.int64)
    for k in range(nf):
        code |= (levels[:, k].astype(np.int64) + 1) << (4 * k)
    ucode, counts = np.unique(code, return_counts=True)
    uniq = np.empty((len(ucode), nf), dtype=np.int8)
    for k in range(nf):
        uniq[:, k] = ((ucode >> (4 * k)) & 15) - 1
    return uniq, counts.astype(float)
