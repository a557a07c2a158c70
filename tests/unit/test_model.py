"""The tag model's pieces on hand-made data: thresholds, decisions, metrics, calibration and
fitting on tiny and ordinary labelled sets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score

from labeling.features import FeatureParams, build_vectorizer, project_text
from labeling.model import (
    ModelParams,
    apply_thresholds,
    best_threshold,
    calibrated,
    evaluate,
    fit_tag_model,
    label_matrix,
    platt_parameters,
    trainable_tags,
)
from labeling.synthetic import demo_projects


def test_best_threshold_maximises_f1_on_the_grid() -> None:
    # positives score 0.8 and 0.6, negatives 0.55 and 0.1: any threshold in (0.55, 0.6] gives
    # F1 = 1; the grid points there are 0.575 and 0.6 -> the one nearest 0.5 is 0.575
    y = np.array([1, 1, 0, 0])
    scores = np.array([0.8, 0.6, 0.55, 0.1])
    assert best_threshold(y, scores) == 0.575


def test_best_threshold_of_a_tag_that_never_occurs_is_one_half() -> None:
    assert best_threshold(np.array([0, 0, 0]), np.array([0.9, 0.2, 0.4])) == 0.5


def test_thresholds_are_per_tag_and_inclusive() -> None:
    p = np.array([[0.30, 0.70], [0.20, 0.69]])
    decisions = apply_thresholds(p, np.array([0.3, 0.7]), ensure_one_tag=False)
    assert decisions.tolist() == [[1, 1], [0, 0]]


def test_at_least_one_tag_picks_the_tag_closest_to_passing() -> None:
    # row 1 passes nothing: p / t = 0.2 / 0.4 = 0.5 and 0.3 / 0.9 = 0.33 -> tag 0
    p = np.array([[0.50, 0.95], [0.20, 0.30]])
    t = np.array([0.4, 0.9])
    assert apply_thresholds(p, t, ensure_one_tag=True).tolist() == [[1, 1], [1, 0]]
    assert apply_thresholds(p, t, ensure_one_tag=False).tolist() == [[1, 1], [0, 0]]


def test_trainable_tags_reports_the_rest_with_counts() -> None:
    labels = [{"a", "b"}, {"a"}, {"a", "c"}, {"b"}]
    assert trainable_tags(labels, ["a", "b", "c", "d"], min_positives=2) == (
        ["a", "b"],
        {"c": 1, "d": 0},
    )


def test_label_matrix_ignores_unknown_tags() -> None:
    assert label_matrix([{"a", "z"}, set()], ["a", "b"]).tolist() == [[1, 0], [0, 0]]


def test_evaluate_matches_hand_computation_and_scikit_learn() -> None:
    # tag a: tp 1 (row 0), fp 1 (row 1), fn 0 -> P 0.5, R 1, F1 2/3, support 1
    # tag b: tp 1 (row 1), fp 0, fn 1 (row 2) -> P 1, R 0.5, F1 2/3, support 2
    truth = [{"a"}, {"b"}, {"b"}]
    predicted = np.array([[1, 0], [1, 1], [0, 0]])
    result = evaluate(truth, predicted, ["a", "b"])
    assert result["per_class"]["a"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert result["per_class"]["b"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    )
    # micro: tp 2, fp 1, fn 1 -> P = R = 2/3, F1 2/3; weighted: (2/3*1 + 2/3*2) / 3 = 2/3
    assert result["overall"]["micro_f1"] == pytest.approx(2 / 3)
    assert result["overall"]["weighted_f1"] == pytest.approx(2 / 3)
    # samples: row 0 F1 1, row 1 F1 2/3 (p 1/2, r 1), row 2 F1 0 -> mean 5/9
    assert result["overall"]["samples_f1"] == pytest.approx(5 / 9)
    y_true = label_matrix(truth, ["a", "b"])
    assert result["overall"]["macro_f1"] == pytest.approx(
        f1_score(y_true, predicted, average="macro")
    )
    assert result["overall"]["projects"] == 3


def test_platt_parameters_turn_scores_into_probabilities() -> None:
    scores = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = np.array([[0], [0], [1], [0], [1], [1]])
    parameters = platt_parameters(scores, y)
    probabilities = calibrated(scores, parameters)[:, 0]
    assert parameters[0, 0] > 0
    assert np.all(np.diff(probabilities) > 0)
    assert probabilities[0] < 0.5 < probabilities[-1]


def test_platt_keeps_a_plain_sigmoid_for_a_one_class_tag() -> None:
    parameters = platt_parameters(np.zeros((3, 1)), np.zeros((3, 1), dtype=int))
    assert parameters.tolist() == [[1.0, 0.0]]


@pytest.mark.parametrize("size", [2, 6, 10, 11])
def test_vectorizer_fits_on_tiny_sets(size: int) -> None:
    texts = [f"project {i} about topic {i % 3} and tensors" for i in range(size)]
    assert build_vectorizer(FeatureParams(), size).fit_transform(texts).shape[0] == size


@pytest.mark.parametrize("classifier", ["ridge", "logreg", "svm"])
def test_fit_on_the_demo_learns_and_gives_probabilities(classifier: str) -> None:
    projects = demo_projects()[:160]
    texts = [project_text(p["title"], p["description"]) for p in projects]
    labels = [set(p["tags"]) for p in projects]
    tags = sorted({t for p in projects for t in p["tags"]})
    model = fit_tag_model(texts[:120], labels[:120], tags, ModelParams(classifier=classifier))
    probabilities = model.predict_proba_texts(texts[120:])
    assert probabilities.shape == (40, len(model.tags))
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    result = evaluate(labels[120:], model.decide(probabilities), model.tags)
    assert result["overall"]["weighted_f1"] > 0.5
    assert len(model.thresholds_) == len(model.tags)


def test_fit_with_no_trainable_tag_says_why() -> None:
    with pytest.raises(ValueError) as error:
        fit_tag_model(["a", "b"], [{"x"}, {"y"}], ["x", "y"], ModelParams())
    assert str(error.value) == (
        "no tag has 5 or more labelled training projects; label more projects or import source tags"
    )


def test_large_training_sets_drop_character_ngrams() -> None:
    projects = demo_projects()[:40]
    texts = [project_text(p["title"], p["description"]) for p in projects]
    labels = [set(p["tags"]) for p in projects]
    tags = sorted({t for p in projects for t in p["tags"]})
    model = fit_tag_model(texts, labels, tags, ModelParams(char_ngram_max_projects=30))
    assert model.params.features.char_ngrams is False
    # projects x trainable tags: at the limit character n-grams stay, one cell past it they go
    cells = 40 * len(fit_tag_model(texts, labels, tags, ModelParams()).tags)
    at = fit_tag_model(texts, labels, tags, ModelParams(char_ngram_max_cells=cells))
    past = fit_tag_model(texts, labels, tags, ModelParams(char_ngram_max_cells=cells - 1))
    assert at.params.features.char_ngrams is True
    assert past.params.features.char_ngrams is False


def test_suggestion_line_lists_suggested_then_closest_misses() -> None:
    from labeling.annotate import Suggestion, suggestion_line

    line = suggestion_line(
        (Suggestion("pytorch", 0.93, 0.4), Suggestion("transformers", 0.38, 0.45))
    )
    assert line == "suggests pytorch 0.93 · below threshold: transformers 0.38 < 0.45"
    assert suggestion_line((Suggestion("nlp", 0.1, 0.5),)) == (
        "suggests no tag · below threshold: nlp 0.10 < 0.50"
    )


def test_a_fold_is_calibrated_and_thresholded_without_its_own_labels() -> None:
    from labeling.model import cross_fitted_probabilities

    scores = np.array([[-2.0], [0.5], [1.5], [-1.0], [0.0], [2.0], [-1.5], [1.0]])
    y = np.array([[0], [1], [1], [0], [0], [1], [0], [1]])
    fold_of = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    probabilities, thresholds = cross_fitted_probabilities(scores, y, fold_of)
    # fold 0 is mapped by the Platt parameters fitted on fold 1 alone
    expected = calibrated(scores[:4], platt_parameters(scores[4:], y[4:]))
    np.testing.assert_allclose(probabilities[:4], expected)
    # changing fold 0's labels changes nothing for fold 0: its tags cannot vouch for themselves
    flipped = y.copy()
    flipped[:4] = 1 - flipped[:4]
    again, again_thresholds = cross_fitted_probabilities(scores, flipped, fold_of)
    np.testing.assert_allclose(again[:4], probabilities[:4])
    np.testing.assert_allclose(again_thresholds[:4], thresholds[:4])
    assert not np.allclose(again[4:], probabilities[4:])


def test_dual_ridge_scores_equal_a_ridge_fit_on_the_same_rows() -> None:
    from scipy import sparse
    from sklearn.linear_model import Ridge

    from labeling.ridge import dual_ridge_scores

    rng = np.random.default_rng(0)
    X = sparse.random(40, 25, density=0.3, random_state=1, format="csr")
    Y = (rng.random((40, 3)) < 0.4).astype(int)
    fit_rows, held_rows = np.arange(30), np.arange(30, 40)
    ridge = Ridge(alpha=1.0, solver="cholesky").fit(X[fit_rows].toarray(), 2.0 * Y[fit_rows] - 1)
    expected = ridge.predict(X[held_rows].toarray())
    gram = (X @ X.T).toarray()
    np.testing.assert_allclose(
        dual_ridge_scores(gram, Y, fit_rows, held_rows, 1.0), expected, atol=1e-8
    )


def test_every_tags_threshold_at_once_equals_each_tags_own() -> None:
    from labeling.model import best_thresholds

    # tag 0 as in the one-tag example above (0.575); tag 1 never occurs (0.5); tag 2: the
    # positive scores exactly a grid point, 0.7, the negatives 0.65 and 0.2, so F1 = 1 for
    # thresholds in (0.65, 0.7], grid points 0.675 and 0.7 -> 0.675
    Y = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    P = np.array([[0.8, 0.9, 0.7], [0.6, 0.2, 0.65], [0.55, 0.4, 0.2], [0.1, 0.1, 0.2]])
    assert best_thresholds(Y, P).tolist() == [0.575, 0.5, 0.675]
    for j in range(3):
        assert best_threshold(Y[:, j], P[:, j]) == best_thresholds(Y, P)[j]


@pytest.mark.parametrize("rows, features", [(60, 200), (200, 30)])
def test_ridge_for_all_tags_at_once_equals_scikit_learn_ridge(
    rows: int, features: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exact dual solve and both conjugate-gradient forms (dual when features outnumber rows,
    primal otherwise) against scikit-learn's Ridge with an intercept, on sparse features."""
    from scipy import sparse
    from sklearn.linear_model import Ridge

    import labeling.ridge as ridge

    rng = np.random.default_rng(0)
    X = sparse.random(rows, features, density=0.1, random_state=2, format="csr")
    T = np.where(rng.random((rows, 4)) < 0.3, 1.0, -1.0)
    expected = Ridge(alpha=1.0, solver="cholesky").fit(X.toarray(), T).predict(X.toarray())
    exact = ridge.fit_ridge(X, T, 1.0)
    np.testing.assert_allclose(exact.predict(X), expected, atol=1e-8)
    monkeypatch.setattr(ridge, "DUAL_FIT_UP_TO", 0)
    iterative = ridge.fit_ridge(X, T, 1.0)
    np.testing.assert_allclose(iterative.predict(X), expected, atol=1e-3)
    # started from a model of other targets, it still converges to this solution
    other = ridge.fit_ridge(X, -T, 1.0)
    warm = ridge.fit_ridge(X, T, 1.0, start=other)
    np.testing.assert_allclose(warm.predict(X), expected, atol=1e-3)


def test_a_large_training_keeps_its_folds_scores_and_their_average(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shared cross-fit path (lowered to 200 projects here): calibration and thresholds
    come from the folds' out-of-fold scores on the final model's own features, the kept
    probabilities are those scores cross-fitted fold by fold, and the fold models' average
    scores as the mean of the fold models."""
    from sklearn.model_selection import KFold

    import labeling.model as model
    from labeling.label_errors import cross_fit_out_of_fold
    from labeling.ridge import fit_ridge

    monkeypatch.setattr(model, "SHARED_CROSS_FIT_ABOVE", 100)
    projects = demo_projects(with_true_tags=False)[:240]
    texts = [project_text(p["title"], p["description"]) for p in projects]
    labels = [frozenset(p["tags"]) for p in projects]
    tags = sorted({t for s in labels for t in s})
    params = ModelParams()
    fitted, cross_fit = model.fit_tag_model_and_cross_fit(texts, labels, tags, params)
    assert cross_fit is not None
    X = fitted.transform(texts)
    Y = model.label_matrix(labels, fitted.tags)
    scores = np.zeros(Y.shape)
    fold_of = np.zeros(len(texts), dtype=int)
    fold_means = np.zeros(Y.shape)
    for fold, (fit_rows, held) in enumerate(
        KFold(n_splits=3, shuffle=True, random_state=0).split(texts)
    ):
        ridge = fit_ridge(X[fit_rows], 2.0 * Y[fit_rows] - 1.0, 1.0)
        scores[held], fold_of[held] = ridge.predict(X[held]), fold
        fold_means += ridge.predict(X) / 3
    np.testing.assert_allclose(fitted.calibration_, model.platt_parameters(scores, Y))
    np.testing.assert_allclose(cross_fit.fold_average.predict(X), fold_means, atol=1e-9)
    expected, expected_thresholds = model.cross_fitted_probabilities(scores, Y, fold_of)
    np.testing.assert_allclose(cross_fit.probabilities, expected)
    # the last 40 as if they were the evaluation split: the fold average, calibrated as the model
    trained = np.arange(240) < 200
    limited = replace(cross_fit, probabilities=expected[:200], thresholds=expected_thresholds[:200])
    probabilities, thresholds = cross_fit_out_of_fold(fitted, limited, trained, X[200:])
    np.testing.assert_allclose(probabilities[:200], expected[:200])
    np.testing.assert_allclose(
        probabilities[200:], model.calibrated(fold_means[200:], fitted.calibration_)
    )
    assert (thresholds[200:] == fitted.thresholds_).all()


def test_fold_fits_alone_stop_at_the_looser_tolerance(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the shared cross-fit path (lowered to 200 projects) the three fold fits stop at
    ``FOLD_FIT_TOL`` (1e-2) and the final fit, on all 240 projects, at ``LARGE_FIT_TOL``
    (1e-3); below it every fit keeps the solver's default (``RIDGE_TOL``, 1e-4)."""
    import labeling.model as model

    calls: list[tuple[int, float | None]] = []
    fit_ridge = model.fit_ridge

    def recorded(X: Any, T: np.ndarray, alpha: float, *tol: float, **start: Any) -> Any:
        calls.append((X.shape[0], tol[0] if tol else None))
        return fit_ridge(X, T, alpha, *tol, **start)

    monkeypatch.setattr(model, "fit_ridge", recorded)
    projects = demo_projects(with_true_tags=False)[:240]
    texts = [project_text(p["title"], p["description"]) for p in projects]
    labels = [frozenset(p["tags"]) for p in projects]
    tags = sorted({t for s in labels for t in s})
    monkeypatch.setattr(model, "SHARED_CROSS_FIT_ABOVE", 100)
    model.fit_tag_model_and_cross_fit(texts, labels, tags, ModelParams())
    assert (model.FOLD_FIT_TOL, model.LARGE_FIT_TOL) == (1e-2, 1e-3)
    assert calls == [(160, 1e-2), (160, 1e-2), (160, 1e-2), (240, 1e-3)]
    calls.clear()
    monkeypatch.setattr(model, "SHARED_CROSS_FIT_ABOVE", 1_000)
    model.fit_tag_model_and_cross_fit(texts, labels, tags, ModelParams())
    assert calls == [(160, None), (160, None), (160, None), (240, None)]


def test_block_conjugate_gradient_solves_every_column_as_numpy_does() -> None:
    """A 3 x 3 symmetric positive definite system with two right sides, from zero and from a
    starting guess; a column whose guess is already exact is returned as it was."""
    from labeling.ridge import block_conjugate_gradient

    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    B = np.array([[1.0, 2.0], [2.0, 0.0], [3.0, -1.0]])
    expected = np.linalg.solve(A, B)
    np.testing.assert_allclose(
        block_conjugate_gradient(lambda V: A @ V, B, 1e-10), expected, atol=1e-12
    )
    guess = np.column_stack([expected[:, 0], np.ones(3)])
    solved = block_conjugate_gradient(lambda V: A @ V, B, 1e-10, initial=guess)
    np.testing.assert_allclose(solved, expected, atol=1e-12)
    assert (solved[:, 0] == expected[:, 0]).all()


def test_block_conjugate_gradient_in_float32_agrees_with_float64() -> None:
    """Float32 blocks: the same 3 x 3 system as above, solved to a relative residual of 1e-5
    (float32 carries about 7 digits), comes back in float32 and agrees with numpy's float64
    solution to 1e-5; a 200 x 200 random system (A = M M^T / 200 + I, eigenvalues between 1
    and about 5) agrees with the float64 solver's answer at the same tolerance to 1e-4 of the
    solution's size (the condition number times the tolerance)."""
    from labeling.ridge import block_conjugate_gradient

    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    B = np.array([[1.0, 2.0], [2.0, 0.0], [3.0, -1.0]])
    solved = block_conjugate_gradient(
        lambda V: (A @ V).astype(np.float32), B.astype(np.float32), 1e-5
    )
    assert solved.dtype == np.float32
    np.testing.assert_allclose(solved, np.linalg.solve(A, B), atol=1e-5)
    rng = np.random.default_rng(4)
    M = rng.standard_normal((200, 200))
    A = M @ M.T / 200 + np.eye(200)
    B = rng.standard_normal((200, 6))
    single = block_conjugate_gradient(
        lambda V: A.astype(np.float32) @ V, B.astype(np.float32), 1e-5
    )
    double = block_conjugate_gradient(lambda V: A @ V, B, 1e-5)
    assert np.abs(single - double).max() <= 1e-4 * np.abs(double).max()


@pytest.mark.parametrize("rows, features", [(60, 200), (200, 30)])
def test_single_precision_products_still_reach_a_tight_tolerance(
    rows: int, features: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The iterative solvers multiply and keep their blocks in float32; solved to a relative
    residual of 1e-6 they still agree with scikit-learn's float64 Cholesky solution to
    1e-5, so single precision costs nothing at the 1e-3 and 1e-4 the trainings stop at."""
    from scipy import sparse
    from sklearn.linear_model import Ridge

    import labeling.ridge as ridge

    rng = np.random.default_rng(1)
    X = sparse.random(rows, features, density=0.1, random_state=3, format="csr")
    T = np.where(rng.random((rows, 5)) < 0.3, 1.0, -1.0)
    expected = Ridge(alpha=1.0, solver="cholesky").fit(X.toarray(), T).predict(X.toarray())
    monkeypatch.setattr(ridge, "DUAL_FIT_UP_TO", 0)
    iterative = ridge.fit_ridge(X, T, 1.0, tol=1e-6)
    np.testing.assert_allclose(iterative.predict(X), expected, atol=1e-5)
