"""Distribution functions on top of ``scipy.special`` (lighter to import than scipy.stats),
with R's conventions where they matter (discrete quantiles)."""

from __future__ import annotations

import numpy as np
from scipy import special

DBL_EPSILON = float(np.finfo(np.float64).eps)


def qnorm(p, mean=0.0, sd=1.0):
    return mean + sd * special.ndtri(p)


def pnorm_upper(x, mean, sd):
    """P(X > x) for X ~ N(mean, sd)."""
    with np.errstate(all="ignore"):
        return special.ndtr(-(x - mean) / sd)


def pt(q, df):
    return special.stdtr(df, q)


def pnbinom(k, size, prob):
    """P(X <= k), X ~ NB(size, prob) as R (number of failures)."""
    k = np.floor(np.asarray(k, dtype=np.float64))
    with np.errstate(all="ignore"):
        out = special.betainc(size, np.maximum(k, 0) + 1.0, prob)
    return np.where(k < 0, 0.0, out)


def pnbinom_upper(y, size, prob):
    """P(X >= y) = R ``pnbinom(y - 1, size, prob, lower.tail = FALSE)``."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = special.betainc(np.maximum(y, 1.0), size, 1.0 - prob)
    return np.where(y <= 0, 1.0, out)


def ppois(k, lam):
    k = np.floor(np.asarray(k, dtype=np.float64))
    with np.errstate(all="ignore"):
        out = special.pdtr(np.maximum(k, 0), lam)
    return np.where(k < 0, 0.0, out)


def ppois_upper(y, lam):
    """P(X >= y) = R ``ppois(y - 1, lam, lower.tail = FALSE)``."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = special.gammainc(np.maximum(y, 1.0), lam)
    return np.where(y <= 0, 1.0, out)


def _search(cdf, p, mu, sigma, gamma):
    """R's discrete quantile search: smallest y with cdf(y) >= p (1 - 64 eps)."""
    z = special.ndtri(p)
    with np.errstate(all="ignore"):
        y = np.round(mu + sigma * (z + gamma * (z * z - 1) / 6))
    y = np.where(np.isfinite(y), np.maximum(y, 0.0), np.nan)
    target = p * (1 - 64 * DBL_EPSILON)
    ok = ~np.isnan(y)
    for _ in range(100_000):
        c = cdf(y)
        down = ok & (y > 0) & (cdf(y - 1) >= target)
        up = ok & (c < target)
        if not (down.any() or up.any()):
            break
        y = np.where(down, y - 1, np.where(up, y + 1, y))
    return y


def qnbinom(p, size, prob):
    p, size, prob = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (p, size,
                                                                                     prob)))
    q = 1.0 / prob
    pp = (1.0 - prob) * q
    with np.errstate(all="ignore"):
        mu = size * pp
        sigma = np.sqrt(size * pp) * q
        gamma = (q + pp) / sigma
    return _search(lambda k: pnbinom(k, size, prob), p, mu, sigma, gamma)


def qpois(p, lam):
    p, lam = np.broadcast_arrays(np.asarray(p, dtype=np.float64),
                                 np.asarray(lam, dtype=np.float64))
    with np.errstate(all="ignore"):
        sigma = np.sqrt(lam)
        gamma = 1.0 / sigma
    out = _search(lambda k: ppois(k, lam), p, lam, sigma, gamma)
    return np.where(lam == 0, 0.0, out)
