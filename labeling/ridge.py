"""Ridge regression for every tag at once, exactly or iteratively, on sparse TF-IDF features.

scikit-learn's sparse ridge solves one target at a time; a catalogue has hundreds of tags, so
here the tags share the work: one factorisation or one sparse product per iteration serves
them all. Split from ``labeling.model`` by subject: this is linear algebra, that is the tag
model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from sklearn.linear_model import Ridge

# Up to this many rows ridge is solved exactly in its dual form (a Gram matrix of this size
# takes 390 MB); beyond, by conjugate gradients on all tags at once.
DUAL_FIT_UP_TO = 7_000
GRAM_BLOCK_ROWS = 1_000
RIDGE_TOL = 1e-4  # scikit-learn's Ridge default, whose solutions these reproduce
RIDGE_MAX_ITER = 1_000
# The iterative solvers' blocks (rows or features x tags: iterate, residual, direction,
# products, the preconditioner's basis) are float32, with every column's inner products
# accumulated in float64: on the 20,000 x 400-tag catalogue's three fold fits the same
# number of sparse products as float64 blocks, held-out scores moving by at most 2.3e-6,
# and the whole training 1.32 -> 1.08 GB peak RSS and about 8 s less CPU. Half the memory
# traffic; nothing lost at the 1e-3 the large fits stop at.
BLOCK_DTYPE = np.float32


def fit_ridge(
    X: Any, T: np.ndarray, alpha: float, tol: float = RIDGE_TOL, start: Ridge | None = None
) -> Ridge:
    """``Ridge(alpha)`` with an intercept fitted to every column of ``T`` at once, returned as
    a fitted scikit-learn ``Ridge`` (stored artifacts keep loading and predicting the same).

    scikit-learn's sparse solver runs one conjugate-gradient solve per target: at 150 tags
    that was 600 solves and 6.9 s of a 14 s training. Here the features are centred
    implicitly (never densified) and the tags share the work: up to ``DUAL_FIT_UP_TO`` rows
    one Cholesky factorisation of the centred Gram matrix solves every tag exactly; beyond,
    :func:`block_conjugate_gradient` runs every tag's iteration with one sparse product,
    stopping at ``tol`` and starting from ``start``'s weights when given (a model of nearly
    the same data, such as the average of cross-validation fold models, is most of the way
    there, so the solve needs fewer sparse products)."""
    rows = X.shape[0]
    X = X.astype(np.float64) if hasattr(X, "astype") else np.asarray(X, dtype=np.float64)
    feature_mean = np.asarray(X.mean(axis=0)).ravel()
    target_mean = T.mean(axis=0)
    centred_targets = T - target_mean
    if rows <= DUAL_FIT_UP_TO:
        gram = centred_gram(X, feature_mean)
        gram[np.diag_indices_from(gram)] += alpha
        dual = cho_solve(cho_factor(gram, overwrite_a=True), centred_targets)
        weights = _centred_transpose_product(X, feature_mean, dual)
    elif X.shape[1] > rows:
        dual_operator = _centred_dual_operator(X, feature_mean, alpha)
        right_side = centred_targets.astype(BLOCK_DTYPE)
        initial = None
        if start is not None:
            initial = (centred_targets - _centred_product(X, feature_mean, start.coef_.T)) / alpha
            initial = initial.astype(BLOCK_DTYPE)
        # the float64 (rows x tags) targets are not needed during the solve: 256 MB at 80,000
        del centred_targets
        dual = block_conjugate_gradient(
            dual_operator,
            right_side,
            tol,
            preconditioner=spectral_preconditioner(dual_operator, rows, alpha, dtype=BLOCK_DTYPE),
            initial=initial,
        )
        weights = _centred_transpose_product(X, feature_mean, dual)
    else:
        X_single = _single_precision(X)
        single_mean = feature_mean.astype(BLOCK_DTYPE)

        def primal_operator(V: np.ndarray) -> np.ndarray:
            products = np.asarray(X_single @ V) - (single_mean @ V)[None, :]
            result = np.asarray(X_single.T @ products)
            result -= np.outer(single_mean, products.sum(axis=0, dtype=np.float64).astype(V.dtype))
            result += alpha * V
            return result

        right_side = _centred_transpose_product(X, feature_mean, centred_targets)
        weights = block_conjugate_gradient(
            primal_operator,
            right_side.astype(BLOCK_DTYPE),
            tol,
            preconditioner=spectral_preconditioner(
                primal_operator, X.shape[1], alpha, dtype=BLOCK_DTYPE
            ),
            initial=None if start is None else np.array(start.coef_.T),
        ).astype(np.float64)
    estimator = Ridge(alpha=alpha)
    estimator.coef_ = np.ascontiguousarray(weights.T)
    estimator.intercept_ = target_mean - feature_mean @ weights
    estimator.n_features_in_ = X.shape[1]
    return estimator


def _centred_dual_operator(
    X: Any, feature_mean: np.ndarray, alpha: float
) -> Callable[[np.ndarray], np.ndarray]:
    """U -> (Xc Xc^T + alpha I) U for Xc = X - 1 mean^T, expanded so that the only large
    intermediate is the sparse product X^T U: Xc Xc^T U = X X^T U - 1 (mean^T X^T U)
    - (X mean)(1^T U) + (mean . mean)(1^T U). Centring X^T U first built a dense
    (features x tags) outer product per call, 44 s of issue 16's 20,000-project profile."""
    projections = (np.asarray(X @ feature_mean).ravel() - feature_mean @ feature_mean).astype(
        BLOCK_DTYPE
    )
    single_mean = feature_mean.astype(BLOCK_DTYPE)
    X_single = _single_precision(X)

    def operator(U: np.ndarray) -> np.ndarray:
        Z = np.asarray(X_single.T @ U)
        result = np.asarray(X_single @ Z)
        result -= (single_mean @ Z)[None, :]
        result -= np.outer(projections, U.sum(axis=0, dtype=np.float64).astype(BLOCK_DTYPE))
        result += alpha * U
        return result

    return operator


def _single_precision(X: Any) -> Any:
    """X in float32 for the iterative solvers' sparse products, which are most of their cost
    and are bound by memory traffic: single precision halves it. Its relative rounding error
    (about 1e-7 per product, 1e-6 summed over a row's non-zeros) is far below the solvers'
    stopping tolerance."""
    return X.astype(np.float32) if hasattr(X, "astype") else np.asarray(X, dtype=np.float32)


def _centred_product(X: Any, feature_mean: np.ndarray, V: np.ndarray) -> np.ndarray:
    """(X - 1 mean^T) V without forming the dense centred matrix."""
    return np.asarray(X @ V) - (feature_mean @ V)[None, :]


def _centred_transpose_product(X: Any, feature_mean: np.ndarray, U: np.ndarray) -> np.ndarray:
    """(X - 1 mean^T)^T U without forming the dense centred matrix."""
    return np.asarray(X.T @ U) - np.outer(feature_mean, U.sum(axis=0, dtype=np.float64))


def centred_gram(X: Any, feature_mean: np.ndarray) -> np.ndarray:
    """(X - 1 mean^T)(X - 1 mean^T)^T, dense, computed in row blocks so that the sparse
    product never holds more than a block of the (nearly dense) result."""
    rows = X.shape[0]
    gram = np.empty((rows, rows), dtype=np.float64)
    for start in range(0, rows, GRAM_BLOCK_ROWS):
        block = X[start : start + GRAM_BLOCK_ROWS] @ X.T
        gram[start : start + GRAM_BLOCK_ROWS] = (
            block.toarray() if hasattr(block, "toarray") else block
        )
    projections = np.asarray(X @ feature_mean).ravel()
    gram -= projections[:, None]
    gram -= projections[None, :]
    gram += feature_mean @ feature_mean
    return gram


def block_conjugate_gradient(
    operator: Callable[[np.ndarray], np.ndarray],
    B: np.ndarray,
    tol: float = RIDGE_TOL,
    max_iter: int = RIDGE_MAX_ITER,
    preconditioner: Callable[[np.ndarray], np.ndarray] | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Solve A x_j = b_j for every column j of ``B`` (A symmetric positive definite, given by
    ``operator`` on a block of columns) by (preconditioned) conjugate gradients run side by
    side: each column keeps its own step sizes and stops when its residual is below ``tol``
    times its right side's norm (scipy's and scikit-learn's criterion), and only unfinished
    columns are multiplied, so one sparse product per iteration serves every tag still
    converging. ``initial`` is a starting guess (zero by default); the stopping criterion
    stays relative to the right side, so a good guess only saves iterations.

    The blocks (iterate, residual, direction) keep ``B``'s dtype: a float32 ``B`` halves
    their memory and traffic (``BLOCK_DTYPE``), while every column's inner products and
    step sizes are accumulated in float64."""
    precondition = preconditioner or (lambda R: R)
    solution = np.zeros_like(B) if initial is None else initial.astype(B.dtype)
    residual = B.copy() if initial is None else B - operator(solution)
    limit = tol**2 * _column_dots(B, B)
    # the unfinished columns, compacted: a column that converges is written to ``solution``
    # and dropped, so every iteration works on contiguous arrays of the unfinished ones
    # (indexing the unfinished columns out of full arrays copied them several times per
    # iteration: a third of a 20,000 x 400-tag fold fit)
    columns = np.flatnonzero(_column_dots(residual, residual) > limit)
    x, r, limit = solution[:, columns], residual[:, columns], limit[columns]
    del residual  # a (rows x tags) block: 256 MB at 80,000 rows and 400 tags
    preconditioned = precondition(r)
    direction = preconditioned.copy()
    inner = _column_dots(r, preconditioned)
    for _ in range(max_iter):
        if not len(columns):
            break
        product = operator(direction)
        step = (inner / _column_dots(direction, product)).astype(B.dtype)
        x += step * direction
        r -= step * product
        done = _column_dots(r, r) <= limit
        if done.any():
            solution[:, columns[done]] = x[:, done]
            keep = ~done
            columns, x, r, limit = columns[keep], x[:, keep], r[:, keep], limit[keep]
            direction, inner = direction[:, keep], inner[keep]
            if not len(columns):
                break
        preconditioned = precondition(r)
        updated = _column_dots(r, preconditioned)
        direction = preconditioned + ((updated / inner).astype(B.dtype)) * direction
        inner = updated
    solution[:, columns] = x
    return solution


def _column_dots(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Every column's inner product p_j . q_j, accumulated in float64 whatever the blocks'
    dtype: in float32 a sum over 80,000 rows would round away digits the step sizes need."""
    return (P * Q).sum(axis=0, dtype=np.float64)


SPECTRAL_RANK = 200


def spectral_preconditioner(
    operator: Callable[[np.ndarray], np.ndarray],
    size: int,
    alpha: float,
    seed: int = 0,
    dtype: type[np.floating[Any]] = np.float64,
) -> Callable[[np.ndarray], np.ndarray]:
    """M^-1 for A = K + alpha I (K positive semi-definite, given by ``operator`` = A): the top
    ``SPECTRAL_RANK`` eigenpairs of K, found by a randomised range finder with one power
    step, are inverted exactly and the rest of the space is divided by alpha. TF-IDF Gram
    matrices have a few large eigenvalues (documents share many character n-grams) that
    make plain conjugate gradients take 65 iterations at 6,667 projects; removing them
    leaves a spectrum close to alpha. Any orthonormal Q gives a valid (positive definite)
    preconditioner, so an approximate eigenbasis only costs iterations, never accuracy."""
    rank = min(SPECTRAL_RANK, size)
    probe = np.random.default_rng(seed).standard_normal((size, rank)).astype(dtype)
    basis, _ = np.linalg.qr(operator(probe) - alpha * probe)
    basis, _ = np.linalg.qr(operator(basis) - alpha * basis)
    projected = basis.T @ (operator(basis) - alpha * basis)
    eigenvalues, rotation = np.linalg.eigh((projected + projected.T) / 2)
    basis = basis @ rotation
    scale = (1.0 / (np.maximum(eigenvalues, 0.0) + alpha) - 1.0 / alpha).astype(dtype)

    def apply(R: np.ndarray) -> np.ndarray:
        return R / alpha + basis @ (scale[:, None] * (basis.T @ R))

    return apply


def dual_ridge_scores(
    gram: np.ndarray, Y: np.ndarray, fit_rows: np.ndarray, held_rows: np.ndarray, alpha: float
) -> np.ndarray:
    """What ``Ridge(alpha)`` fitted on ``fit_rows`` (targets 2Y - 1, with an intercept) scores
    on ``held_rows``, from the Gram matrix X X^T: with the features centred on the fitted
    rows' mean, w = Xc^T (Xc Xc^T + alpha I)^-1 (t - mean t), so only centred Gram blocks
    are needed."""
    fitted = gram[np.ix_(fit_rows, fit_rows)]
    held = gram[np.ix_(held_rows, fit_rows)]
    column_mean = fitted.mean(axis=0)
    overall = column_mean.mean()
    centred = fitted - column_mean[:, None] - column_mean[None, :] + overall
    centred[np.diag_indices_from(centred)] += alpha
    held_centred = held - held.mean(axis=1, keepdims=True) - column_mean[None, :] + overall
    targets = 2.0 * Y[fit_rows] - 1.0
    mean_target = targets.mean(axis=0)
    coefficients = cho_solve(cho_factor(centred, overwrite_a=True), targets - mean_target)
    return held_centred @ coefficients + mean_target
