"""Batched (quasi-)Poisson GLM with log link, following R's ``glm.fit`` step by step.

Many fits share one design matrix ``X`` (n x p) and differ in the response ``Y`` (K x n), the
prior weights and the offset. The iteration is R's IRLS exactly: start ``mu = y + 0.1``,
``mu = max(exp(eta), DBL_EPSILON)``, convergence when
``|dev - dev_old| / (|dev| + 0.1) < epsilon`` (1e-8) within ``maxit`` (25) iterations. As in R,
the working weights, the unscaled covariance and the hat values come from the last weighted
least-squares step (weights of the previous iterate), and the dispersion is
``Σ w_work·((y - mu)/mu)² / (n - p)``. The least-squares steps are solved through the normal
equations (R uses a QR decomposition; the difference is rounding only for the well-conditioned
designs used here).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

DBL_EPSILON = float(np.finfo(np.float64).eps)


@dataclass(slots=True)
class GlmBatch:
    beta: np.ndarray  # (K, p)
    mu: np.ndarray  # (K, n) fitted values
    work_w: np.ndarray  # (K, n) working weights of the last WLS step
    cov_unscaled: np.ndarray  # (K, p, p)
    dispersion: np.ndarray  # (K,) Pearson / df (R summary.glm), NaN if df = 0
    df_residual: int
    converged: np.ndarray  # (K,) bool
    iterations: np.ndarray  # (K,) int


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve a[k] x = b[k] for many small symmetric matrices."""
    p = a.shape[-1]
    if p == 1:
        return b / a[:, :, 0]
    if p == 2:
        a00, a01, a11 = a[:, 0, 0], a[:, 0, 1], a[:, 1, 1]
        det = a00 * a11 - a01 * a01
        x0 = (a11 * b[:, 0] - a01 * b[:, 1]) / det
        x1 = (a00 * b[:, 1] - a01 * b[:, 0]) / det
        return np.stack([x0, x1], axis=1)
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(a.shape[0]):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(a[i], b[i])
        return out


def _inverse_spd(a: np.ndarray) -> np.ndarray:
    p = a.shape[-1]
    if p == 1:
        return 1.0 / a
    if p == 2:
        a00, a01, a11 = a[:, 0, 0], a[:, 0, 1], a[:, 1, 1]
        det = a00 * a11 - a01 * a01
        out = np.empty_like(a)
        out[:, 0, 0] = a11 / det
        out[:, 1, 1] = a00 / det
        out[:, 0, 1] = out[:, 1, 0] = -a01 / det
        return out
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        out = np.full(a.shape, np.nan)
        for i in range(a.shape[0]):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.inv(a[i])
        return out


def _deviance(y: np.ndarray, mu: np.ndarray, pw: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    if pw is not None:
        term = term * pw
    return 2.0 * term.sum(axis=1)


def _ylogy(y: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, y * np.log(y), 0.0)


def _deviance_fast(y, ylogy, eta, mu, pw):
    """Poisson deviance with log(mu) = max(eta, log eps) (mu = max(exp(eta), eps)); equal to
    ``_deviance`` up to rounding, used only in the convergence test."""
    term = ylogy - y * np.maximum(eta, _LOG_EPS) - y + mu
    if pw is not None:
        term *= pw
    return 2.0 * term.sum(axis=1)


_LOG_EPS = float(np.log(DBL_EPSILON))


def product_basis(x: np.ndarray):
    """Distinct non-zero columns of the products x_i*x_j (i <= j) and where they go in X'WX.

    For factor designs most products coincide (d_g*d_g = d_g, d_g*d_h = 0), so ``w @ basis``
    is much cheaper than ``w @ (all p*p products)``; the sums are the same numbers.
    """
    _n, p = x.shape
    iu, ju = np.triu_indices(p)
    prods = x[:, iu] * x[:, ju]  # (n, m)
    nonzero = np.any(prods != 0, axis=0)
    uniq, inverse = np.unique(prods[:, nonzero].T, axis=0, return_inverse=True)
    slot = np.full(iu.shape[0], -1, dtype=np.int64)
    slot[nonzero] = inverse.reshape(-1)
    return np.ascontiguousarray(uniq.T), iu, ju, slot


def _xtwx(w: np.ndarray, basis, p: int) -> np.ndarray:
    uniq, iu, ju, slot = basis
    sums = w @ uniq  # (K, u)
    out = np.zeros((w.shape[0], p, p))
    has = slot >= 0
    vals = sums[:, slot[has]]
    out[:, iu[has], ju[has]] = vals
    out[:, ju[has], iu[has]] = vals
    return out


def glm_poisson_batch(
    x: np.ndarray,
    y: np.ndarray,
    *,
    prior_weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
    basis=None,
) -> GlmBatch:
    """Fit ``K`` log-link (quasi-)Poisson GLMs sharing the design ``x`` (n x p).

    ``basis`` is ``product_basis(x)``, computed once per design when called repeatedly."""
    k_fits, n = y.shape
    p = x.shape[1]
    if basis is None:
        basis = product_basis(x)
    xt = np.ascontiguousarray(x.T)
    beta = np.zeros((k_fits, p))
    eta_out = np.zeros_like(y)
    work_w = np.zeros_like(y)
    converged = np.zeros(k_fits, dtype=bool)
    failed = np.zeros(k_fits, dtype=bool)
    iterations = np.zeros(k_fits, dtype=np.int64)
    # working set (compacted as fits converge)
    rows = np.arange(k_fits)
    yy = y
    ylogy = _ylogy(y)
    off = None if offset is None else offset
    pw = prior_weights
    eta = np.log(y + 0.1)
    mu = np.maximum(np.exp(eta), DBL_EPSILON)
    dev_old = _deviance_fast(yy, ylogy, eta, mu, pw)
    b_new = np.zeros((k_fits, p))
    w2 = mu
    for it in range(1, maxit + 1):
        if rows.size == 0:
            break
        # log link: mu.eta = max(exp(eta), eps) = mu and variance = mu, so
        # w = prior*mu and w*z = w*((eta - off) + (y - mu)/mu) = prior*(mu*(eta - off - 1) + y)
        base = eta if off is None else eta - off
        w2 = mu if pw is None else pw * mu
        wz = mu * (base - 1.0) + yy
        if pw is not None:
            wz *= pw
        b_new = _solve_spd(_xtwx(w2, basis, p), wz @ x)
        eta = b_new @ xt
        if off is not None:
            eta += off
        mu = np.exp(eta)
        np.maximum(mu, DBL_EPSILON, out=mu)
        dev = _deviance_fast(yy, ylogy, eta, mu, pw)
        bad = ~np.isfinite(dev)
        conv = (np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < epsilon) & ~bad
        dev_old = dev
        done = conv | bad
        if done.any():
            r = rows[done]
            beta[r], eta_out[r], work_w[r] = b_new[done], eta[done], w2[done]
            iterations[r] = it
            converged[r] = conv[done]
            failed[r] = bad[done]
            keep = ~done
            rows = rows[keep]
            yy, ylogy, eta, mu, dev_old = yy[keep], ylogy[keep], eta[keep], mu[keep], dev_old[keep]
            b_new, w2 = b_new[keep], w2[keep]
            if off is not None:
                off = off[keep]
            if pw is not None:
                pw = pw[keep]
    if rows.size:  # not converged within maxit: keep the last iterate, as R does
        beta[rows], eta_out[rows], work_w[rows] = b_new, eta, w2
        iterations[rows] = maxit
    mu = np.maximum(np.exp(eta_out), DBL_EPSILON)
    cov = _inverse_spd(_xtwx(work_w, basis, p))
    df_r = n - p
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = (y - mu) / mu
        disp = (work_w * resid * resid).sum(axis=1) / df_r if df_r > 0 else np.full(k_fits, np.nan)
    return GlmBatch(beta=beta, mu=mu, work_w=work_w, cov_unscaled=cov, dispersion=disp,
                    df_residual=df_r, converged=converged & ~failed, iterations=iterations)


def hat_values(fit: GlmBatch, x: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix of the last WLS step (R ``hatvalues``), shape (K, n)."""
    # h_i = w_i x_i' C x_i
    q = np.einsum("np,kpq,nq->kn", x, fit.cov_unscaled, x, optimize=True)
    return fit.work_w * q


# ----------------------------------------------------------------------------------------
# Single fits with a negative binomial family (R MASS::negative.binomial / glm.nb), used to
# estimate the in-control mean of the GLR detectors.
def _nb_deviance(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = (y * np.log(np.maximum(1.0, y) / mu)
                - (y + theta) * np.log((y + theta) / (mu + theta)))
    return float(2.0 * term.sum())


def glm_single(
    x: np.ndarray,
    y: np.ndarray,
    *,
    theta: float | None = None,
    etastart: np.ndarray | None = None,
    maxit: int = 25,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """One log-link GLM as R ``glm.fit``: Poisson (``theta=None``) or negative binomial with
    known ``theta`` (variance ``mu + mu²/theta``). Returns (beta, fitted mu, converged)."""
    if etastart is not None:
        eta = np.array(etastart, dtype=np.float64)
    elif theta is None:
        eta = np.log(y + 0.1)
    else:
        eta = np.log(y + (y == 0) / 6.0)
    mu = np.maximum(np.exp(eta), DBL_EPSILON)

    def dev_of(m: np.ndarray) -> float:
        if theta is None:
            return float(_deviance(y[None, :], m[None, :], None)[0])
        return _nb_deviance(y, m, theta)

    dev_old = dev_of(mu)
    beta = np.zeros(x.shape[1])
    converged = False
    for _ in range(maxit):
        var = mu if theta is None else mu + mu * mu / theta
        w2 = mu * mu / var
        z = eta + (y - mu) / mu
        xtwx = (x * w2[:, None]).T @ x
        beta = np.linalg.solve(xtwx, (x * w2[:, None]).T @ z)
        eta = x @ beta
        mu = np.maximum(np.exp(eta), DBL_EPSILON)
        dev = dev_of(mu)
        if not np.isfinite(dev):
            break
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    return beta, mu, converged


def theta_ml(y: np.ndarray, mu: np.ndarray, *, limit: int = 25) -> float:
    """MASS ``theta.ml`` (Newton on the profile score), weights 1."""
    from scipy.special import digamma, polygamma

    n = y.shape[0]
    t0 = n / float(np.sum((y / mu - 1.0) ** 2))
    eps = DBL_EPSILON**0.25
    it = 0
    delta = 1.0
    while True:
        it += 1
        if not (it < limit and abs(delta) > eps):
            break
        t0 = abs(t0)
        score = np.sum(digamma(t0 + y) - digamma(t0) + np.log(t0) + 1 - np.log(t0 + mu)
                       - (y + t0) / (mu + t0))
        info = np.sum(-polygamma(1, t0 + y) + polygamma(1, t0) - 1 / t0 + 2 / (mu + t0)
                      - (y + t0) / (mu + t0) ** 2)
        delta = float(score / info)
        t0 = t0 + delta
    return max(float(t0), 0.0)


def glm_nb(x: np.ndarray, y: np.ndarray, *, maxit: int = 25,
           epsilon: float = 1e-8) -> tuple[np.ndarray, float]:
    """MASS ``glm.nb`` (alternating IRLS and ``theta.ml``). Returns (beta, theta)."""
    from scipy.special import gammaln

    def loglik(th: float, m: np.ndarray) -> float:
        return float(np.sum(gammaln(th + y) - gammaln(th) - gammaln(y + 1) + th * np.log(th)
                            + y * np.log(m + (y == 0)) - (th + y) * np.log(th + m)))

    beta, mu, _ = glm_single(x, y, maxit=maxit, epsilon=epsilon)
    th = theta_ml(y, mu, limit=maxit)
    d1 = np.sqrt(2 * max(1, y.shape[0] - x.shape[1]))
    d2 = delta = 1.0
    lm = loglik(th, mu)
    lm0 = lm + 2 * d1
    it = 0
    while True:
        it += 1
        if not (it <= maxit and (abs(lm0 - lm) / d1 + abs(delta) / d2) > epsilon):
            break
        beta, fit_mu, _ = glm_single(x, y, theta=th, etastart=np.log(mu), maxit=maxit,
                                     epsilon=epsilon)
        t0 = th
        th = theta_ml(y, mu, limit=maxit)
        mu = fit_mu
        delta = t0 - th
        lm0 = lm
        lm = loglik(th, mu)
    return beta, th
