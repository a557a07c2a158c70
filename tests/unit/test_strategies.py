"""Query strategies: hand-computed rankings, thresholds, sparse pools, and the modAL defects
that labeling.strategies replaces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from modAL.batch import ranked_batch as modal_ranked_batch
from modAL.models import ActiveLearner
from modAL.multilabel import avg_confidence as modal_avg_confidence
from modAL.multilabel import max_score as modal_max_score
from modAL.multilabel import mean_max_loss as modal_mean_max_loss
from modAL.multilabel import min_confidence as modal_min_confidence
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from labeling import strategies
from labeling.strategies import (
    STRATEGIES,
    for_active_learner,
    get_strategy,
    probabilities_and_thresholds,
    seed_random,
    uncertainty_scores,
)


class FakeEstimator:
    """predict_proba returns a fixed matrix whatever X is (only its row count is checked)."""

    def __init__(self, proba: list[list[float]], thresholds: list[float] | None = None) -> None:
        self.proba = np.array(proba, dtype=float)
        if thresholds is not None:
            self.thresholds_ = np.array(thresholds, dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        assert X.shape[0] == self.proba.shape[0]
        return self.proba.copy()

    def predict(self, X: Any) -> np.ndarray:  # only modAL's own max_score needs it
        thresholds = getattr(self, "thresholds_", 0.5)
        return (self.predict_proba(X) > thresholds).astype(int)


# 5 projects x 3 tags, thresholds 0.5 unless a test says otherwise.
P = [
    [0.95, 0.02, 0.10],  # row 0: one sure tag, two sure non-tags
    [0.55, 0.40, 0.05],  # row 1: two tags near 0.5
    [0.70, 0.65, 0.30],  # row 2: everything moderately sure
    [0.08, 0.03, 0.01],  # row 3: no tag at all (every project has one, so something is wrong)
    [0.99, 0.88, 0.97],  # row 4: every tag surely present
]
X5 = np.zeros((5, 1))

# 3 projects x 2 tags, used with default thresholds and with tuned thresholds [0.2, 0.9].
Q = [
    [0.50, 0.10],
    [0.30, 0.90],
    [0.80, 0.45],
]
Q_THRESHOLDS = [0.2, 0.9]
X3 = np.zeros((3, 1))

SCORED = ["min_confidence", "avg_confidence", "max_score", "mean_max_loss", "threshold_margin"]


def full_ranking(name: str, proba: list[list[float]], thresholds: list[float] | None = None):
    n = len(proba)
    return get_strategy(name)(FakeEstimator(proba, thresholds), np.zeros((n, 1)), n).tolist()


# ------------------------------------------------------------------ hand-computed rankings (P)


def test_min_confidence_ranks_by_smallest_raw_probability() -> None:
    # row mins: r0 0.02, r1 0.05, r2 0.30, r3 0.01, r4 0.88 -> ascending 3, 0, 1, 2, 4
    assert full_ranking("min_confidence", P) == [3, 0, 1, 2, 4]


def test_avg_confidence_serves_lowest_mean_confidence_first() -> None:
    # conf = |2p - 1| at t = 0.5
    # r0: .90 .96 .80 -> .887   r1: .10 .20 .90 -> .400   r2: .40 .30 .40 -> .367
    # r3: .84 .94 .98 -> .920   r4: .98 .76 .94 -> .893   ascending: 2, 1, 0, 4, 3
    assert full_ranking("avg_confidence", P) == [2, 1, 0, 4, 3]


def test_max_score_serves_smallest_signed_top_score_first() -> None:
    # max_c (p - 0.5): r0 .45, r1 .05, r2 .20, r3 -.42, r4 .49
    # ascending: r3 -.42 (no tag passes), r1 .05, r2 .20, r0 .45, r4 .49
    assert full_ranking("max_score", P) == [3, 1, 2, 0, 4]


def test_mean_max_loss_serves_highest_mean_hinge_loss_first() -> None:
    # f = logit(p) at t = 0.5; loss = max(0, 1 - y f)
    # r0: f 2.94 -3.89 -2.20, y + - -          -> losses 0 0 0           -> 0
    # r1: f 0.20 -0.41 -2.94, y + - -          -> .799 .595 0            -> .465
    # r2: f 0.85  0.62 -0.85, y + + -          -> .153 .381 .153         -> .229
    # r3: f -2.44 -3.48 -4.60, none positive: tag 0 (largest f) set to +1
    #                                         -> 1 + 2.44 = 3.44, 0, 0  -> 1.147
    # r4: f 4.60 1.99 3.48, y + + +            -> 0 0 0                  -> 0
    # descending: 3, 1, 2, then the 0-0 tie between r0 and r4 goes to the lower index
    assert full_ranking("mean_max_loss", P) == [3, 1, 2, 0, 4]


def test_threshold_margin_serves_tag_nearest_threshold_first() -> None:
    # min_c |p - 0.5|: r0 .40, r1 .05, r2 .15, r3 .42, r4 .38 -> ascending 1, 2, 4, 0, 3
    assert full_ranking("threshold_margin", P) == [1, 2, 4, 0, 3]


def test_ranked_batch_uncertainty_is_clipped_threshold_margin() -> None:
    # 1 - 2 min_c |p - 0.5|: r0 1-.80, r1 1-.10, r2 1-.30, r3 1-.84, r4 1-.76
    scores = uncertainty_scores("ranked_batch", np.array(P), np.full(3, 0.5))
    np.testing.assert_allclose(scores, [0.20, 0.90, 0.70, 0.16, 0.24])
    # t = 0.9 and p = 0.0: |p - t| = 0.9 > 0.5 would give -0.8 without the clip
    assert uncertainty_scores("ranked_batch", np.array([[0.0]]), np.array([0.9])).tolist() == [0.0]


@pytest.mark.parametrize("name", SCORED)
def test_strategy_order_is_the_stored_score_order(name: str) -> None:
    # serving is ORDER BY score DESC over stored uncertainty_scores: it must agree with the query
    scores = uncertainty_scores(name, np.array(P), np.full(3, 0.5))
    assert full_ranking(name, P) == np.argsort(-scores, kind="stable").tolist()


@pytest.mark.parametrize("name", SCORED)
def test_ties_go_to_the_lower_index(name: str) -> None:
    same = [[0.3, 0.6]] * 4
    assert full_ranking(name, same) == [0, 1, 2, 3]


# ------------------------------------------------------------------ thresholds other than 0.5


@pytest.mark.parametrize(
    ("name", "default_order", "tuned_order"),
    [
        # default t = .5:  min |p - t|: q0 .00, q1 .20, q2 .05
        # tuned [.2, .9]:  q0 min(.30, .80) = .30, q1 min(.10, .00) = 0, q2 min(.60, .45) = .45
        ("threshold_margin", [0, 2, 1], [1, 0, 2]),
        # default: |2p - 1| means q0 (0 + .8)/2 = .40, q1 (.4 + .8)/2 = .60, q2 (.6 + .1)/2 = .35
        # tuned: tag 0 (p - .2)/.8 above t; tag 1 (.9 - p)/.9 below t, (p - .9)/.1 above
        #   q0 (.375 + .889)/2 = .632, q1 (.125 + 0)/2 = .0625, q2 (.75 + .5)/2 = .625
        ("avg_confidence", [2, 0, 1], [1, 2, 0]),
        # default max_c (p - .5): q0 max(0, -.4) = 0, q1 max(-.2, .4) = .4, q2 max(.3, -.05) = .3
        # tuned max_c (p - t):    q0 max(.3, -.8) = .3, q1 max(.1, 0) = .1, q2 max(.6, -.45) = .6
        ("max_score", [0, 2, 1], [1, 0, 2]),
        # default f = logit(p): q0 (0, -2.20) none > 0 -> tag 0 forced +: losses 1, 0 -> .5
        #   q1 (-.85, 2.20) -> .153, 0 -> .076;  q2 (1.39, -.20) -> 0, .799 -> .400
        # tuned f = logit(p) - logit(t), logit(.2) = -1.39, logit(.9) = 2.20:
        #   q0 (1.39, -4.39) -> 0, 0;  q1 (.54, 0) -> .461, 1 -> .731;  q2 (2.77, -2.40) -> 0, 0
        ("mean_max_loss", [0, 2, 1], [1, 0, 2]),
    ],
)
def test_tuned_thresholds_change_the_answer(
    name: str, default_order: list[int], tuned_order: list[int]
) -> None:
    assert full_ranking(name, Q) == default_order
    assert full_ranking(name, Q, Q_THRESHOLDS) == tuned_order


def test_min_confidence_ignores_thresholds() -> None:
    # row mins .10, .30, .45 whatever the thresholds: modAL's formula has no threshold in it
    assert full_ranking("min_confidence", Q) == [0, 1, 2]
    assert full_ranking("min_confidence", Q, Q_THRESHOLDS) == [0, 1, 2]


def test_tag_confidence_is_scaled_on_each_side_of_the_threshold() -> None:
    # t = .2: p = 0 is a certain "no" -> (.2 - 0)/.2 = 1; p = .6 -> (.6 - .2)/.8 = .5
    # (one denominator max(t, 1 - t) = .8 would call p = 0 only .25 confident and serve it first)
    scores = uncertainty_scores("avg_confidence", np.array([[0.0], [0.6]]), np.array([0.2]))
    np.testing.assert_allclose(scores, [-1.0, -0.5])


def test_thresholds_default_to_half_and_must_match_tags() -> None:
    _, thresholds = probabilities_and_thresholds(FakeEstimator(Q), X3)
    assert thresholds.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="thresholds_ must have shape"):
        probabilities_and_thresholds(FakeEstimator(Q, [0.5, 0.5, 0.5]), X3)


# ------------------------------------------------------------------ pool shapes


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_sparse_pool_is_accepted(name: str) -> None:
    pool = sp.csr_matrix(np.eye(5))
    picked = get_strategy(name)(FakeEstimator(P), pool, 3)
    assert picked.dtype.kind == "i"
    assert len(set(picked.tolist())) == 3
    assert set(picked.tolist()) <= set(range(5))
    if name in SCORED:
        assert picked.tolist() == full_ranking(name, P)[:3]


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_n_instances_larger_than_pool_returns_whole_pool(name: str) -> None:
    picked = get_strategy(name)(FakeEstimator(P), sp.csr_matrix(np.eye(5)), 10)
    assert sorted(picked.tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_empty_pool_and_zero_instances(name: str) -> None:
    assert get_strategy(name)(FakeEstimator(P), X5, 0).tolist() == []
    assert get_strategy(name)(FakeEstimator(np.zeros((0, 3))), np.zeros((0, 1)), 3).tolist() == []


@pytest.mark.parametrize("name", SCORED)
def test_active_learner_and_bare_estimator_give_the_same_answer(name: str) -> None:
    learner = ActiveLearner(estimator=FakeEstimator(P, [0.6, 0.4, 0.5]))
    bare = FakeEstimator(P, [0.6, 0.4, 0.5])
    assert get_strategy(name)(learner, X5, 5).tolist() == get_strategy(name)(bare, X5, 5).tolist()


# ------------------------------------------------------------------ what modAL gets wrong


def test_modal_avg_confidence_picks_the_most_confident_project() -> None:
    # modAL: argmax of mean p -> r4 (.99 + .88 + .97)/3 = .947, the project surely tagged
    modal_pick, _ = modal_avg_confidence(FakeEstimator(P), X5, n_instances=1)
    assert modal_pick.tolist() == [4]
    # ours: lowest mean confidence -> r2 (.367), see test_avg_confidence_serves_...
    assert strategies.avg_confidence(FakeEstimator(P), X5, 1).tolist() == [2]


def test_modal_max_score_picks_the_most_confident_project() -> None:
    # modAL: max_c p (prediction - 1/2): r0 .475, r1 .275, r2 .35, r3 -.005, r4 .495 -> r4
    # (its default random_tie_break=1 shuffles with the global numpy RNG, so we turn it off)
    modal_pick, _ = modal_max_score(FakeEstimator(P), X5, n_instances=1, random_tie_break=False)
    assert modal_pick.tolist() == [4]
    # ours: smallest max_c (p - .5) -> r3 (-.42)
    assert strategies.max_score(FakeEstimator(P), X5, 1).tolist() == [3]


def test_modal_mean_max_loss_fails_on_a_sparse_pool() -> None:
    # modAL asserts len(X_pool) >= n_instances; len() of a scipy sparse matrix raises
    with pytest.raises(TypeError, match="sparse array length is ambiguous"):
        modal_mean_max_loss(FakeEstimator(P), sp.csr_matrix(np.eye(5)), n_instances=1)
    assert strategies.mean_max_loss(FakeEstimator(P), sp.csr_matrix(np.eye(5)), 1).tolist() == [3]


def test_min_confidence_is_modal_own_result_in_a_fixed_order() -> None:
    modal_indices, _ = modal_min_confidence(FakeEstimator(P), X5, n_instances=5)
    assert sorted(modal_indices.tolist()) == [0, 1, 2, 3, 4]
    assert strategies.min_confidence(FakeEstimator(P), X5, 2).tolist() == [3, 0]


def test_modal_cold_start_ranked_batch_can_repeat_an_index() -> None:
    # three identical rows: modAL's cold start picks row 0 and leaves it selectable; every
    # distance is 0, so the next pick is the highest uncertainty (1 - 2|p - .5|): row 0 again
    pool = sp.csr_matrix(np.array([[1.0, 0.0, 0.0]] * 3))
    uncertainty = np.array([1.0, 0.6, 0.2])
    cold = type("Cold", (), {"X_training": None, "on_transformed": False})()
    modal_pick, _ = modal_ranked_batch(cold, pool, uncertainty, 2, "cosine", None)
    assert modal_pick.tolist() == [0, 0]
    # ours removes the cold-start row first, then the most uncertain of rows 1, 2 is row 1
    ours = strategies.ranked_batch(FakeEstimator([[0.5], [0.7], [0.9]]), pool, 2)
    assert ours.tolist() == [0, 1]


# ------------------------------------------------------------------ ranked batch diversity

# rows 0 and 1 are near-duplicates and the two most uncertain; row 2 is far away
NEAR_DUPLICATES = np.array(
    [[1.0, 0.0, 0.0], [1.0, 0.01, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
)
NEAR_DUPLICATE_PROBA = [[0.50], [0.52], [0.60], [0.95]]


class LabelledFake(FakeEstimator):
    X_training_ = np.array([[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("to_pool", [np.asarray, sp.csr_matrix])
def test_ranked_batch_skips_a_near_duplicate_that_threshold_margin_takes(to_pool: Any) -> None:
    pool = to_pool(NEAR_DUPLICATES)
    estimator = LabelledFake(NEAR_DUPLICATE_PROBA)
    # threshold margin |p - .5|: 0, .02, .10, .45 -> rows 0 and 1, the near-duplicates
    assert strategies.threshold_margin(estimator, pool, 2).tolist() == [0, 1]
    # ranked batch, u = 1 - 2|p - .5| = 1, .96, .8, .1; one labelled row [0, 1, 0]
    # pick 1: alpha = 4/5; cosine distance to labelled 1, ~.99, 1, 0 -> sim .5, ~.5025, .5, 1
    #   score .8(1 - sim) + .2u: r0 .6, r1 ~.59, r2 .56, r3 .02 -> row 0
    # pick 2: alpha = 3/6; r1 is ~0 away from row 0 -> .5(~0) + .5(.96) = .48
    #   r2 .5(.5) + .5(.8) = .65, r3 .5(0) + .5(.1) = .05 -> row 2
    assert strategies.ranked_batch(estimator, pool, 2).tolist() == [0, 2]


def test_ranked_batch_cold_start_without_labelled_set() -> None:
    picked = strategies.ranked_batch(FakeEstimator(NEAR_DUPLICATE_PROBA), NEAR_DUPLICATES, 4)
    assert sorted(picked.tolist()) == [0, 1, 2, 3]


# ------------------------------------------------------------------ random


def test_random_is_deterministic_for_a_seed_and_distinct() -> None:
    seed_random(3)
    first = strategies.random(FakeEstimator(P), X5, 4).tolist()
    seed_random(3)
    assert strategies.random(FakeEstimator(P), X5, 4).tolist() == first
    assert len(set(first)) == 4
    assert set(first) <= set(range(5))


def test_random_uses_the_estimator_random_state() -> None:
    estimator = FakeEstimator(P)
    estimator.random_state_ = 7
    expected = np.random.default_rng(7).choice(5, size=3, replace=False).tolist()
    assert strategies.random(estimator, X5, 3).tolist() == expected
    assert strategies.random(estimator, X5, 3).tolist() == expected


# ------------------------------------------------------------------ registry


def test_get_strategy_unknown_name_lists_the_choices() -> None:
    expected = (
        "unknown strategy 'x'; choose one of: random, min_confidence, avg_confidence, "
        "max_score, mean_max_loss, threshold_margin, ranked_batch"
    )
    with pytest.raises(ValueError) as error:
        get_strategy("x")
    assert str(error.value) == expected
    with pytest.raises(ValueError, match="unknown strategy 'x'"):
        uncertainty_scores("x", np.array(P), np.full(3, 0.5))


def test_random_has_no_stored_score() -> None:
    with pytest.raises(ValueError, match="no uncertainty score"):
        uncertainty_scores("random", np.array(P), np.full(3, 0.5))


# ------------------------------------------------------------------ through modAL ActiveLearner

TRAIN = [
    ("neural network for image classification", ["vision", "deep"]),
    ("convolutional network on images", ["vision", "deep"]),
    ("image segmentation with a unet", ["vision", "deep"]),
    ("text classification with transformers", ["nlp", "deep"]),
    ("language model for translation", ["nlp", "deep"]),
    ("sentiment analysis of product reviews", ["nlp"]),
    ("random forest on tabular data", ["tabular"]),
    ("gradient boosting for tables", ["tabular"]),
]
POOL = [
    "object detection in images",
    "named entity recognition in text",
    "boosting trees on tabular features",
    "deep network for speech",
    "image captioning with a language model",
    "translation of reviews",
    "forest of decision trees",
    "network for tables and images",
]


@pytest.fixture(scope="module")
def tfidf_data() -> tuple[Any, np.ndarray, Any]:
    vectorizer = TfidfVectorizer().fit([text for text, _ in TRAIN])
    X_train = vectorizer.transform([text for text, _ in TRAIN])
    y_train = MultiLabelBinarizer().fit_transform([tags for _, tags in TRAIN])
    return X_train, y_train, vectorizer.transform(POOL)


def make_learner(strategy: Any, data: tuple[Any, np.ndarray, Any]) -> ActiveLearner:
    X_train, y_train, _ = data
    return ActiveLearner(
        estimator=OneVsRestClassifier(LogisticRegression(solver="liblinear")),
        query_strategy=strategy,
        X_training=X_train,
        y_training=y_train,
    )


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategy_works_inside_active_learner(name: str, tfidf_data: Any) -> None:
    X_pool = tfidf_data[2]
    learner = make_learner(get_strategy(name), tfidf_data)
    indices, rows = learner.query(X_pool, n_instances=3)
    assert len(set(np.asarray(indices).tolist())) == 3
    assert all(0 <= i < X_pool.shape[0] for i in indices)
    assert rows.shape == (3, X_pool.shape[1])


def test_active_learner_unpacks_a_batch_of_two_unless_adapted(tfidf_data: Any) -> None:
    X_pool = tfidf_data[2]
    # ActiveLearner.query tries `indices, metrics = strategy(...)`: two indices fit that pattern
    raw = make_learner(strategies.threshold_margin, tfidf_data)
    indices, _ = raw.query(X_pool, n_instances=2)
    assert np.ndim(indices) == 0  # only the first index survives
    adapted = make_learner(for_active_learner(strategies.threshold_margin), tfidf_data)
    indices, rows = adapted.query(X_pool, n_instances=2)
    assert len(set(np.asarray(indices).tolist())) == 2
    assert rows.shape[0] == 2


# ------------------------------------------------------------------ warm start: label errors

# Current tags of the 5 projects of P. Contradictions (thresholds 0.5): row 1 has tag 2 with
# p 0.05 -> wrong (0.5 - 0.05) / 0.5 = 0.90 and lacks tag 0 at 0.55 -> missing 0.10; row 3 has
# tag 0 at 0.08 -> wrong 0.84; row 4 lacks tag 2 at 0.97 -> missing (0.97 - 0.5) / 0.5 = 0.94;
# rows 0 and 2 agree with the model -> 0.
P_LABELS = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 0], [1, 0, 0], [1, 1, 0]])
# threshold_margin on P (closest tag to 0.5): row 1 0.05, row 2 0.15, row 4 0.38, row 0 0.40,
# row 3 0.42 -> [1, 2, 4, 0, 3]


def test_label_errors_ranks_by_the_strongest_contradiction() -> None:
    strategy = strategies.warm_strategy("label_errors", P_LABELS)
    assert strategy(FakeEstimator(P), X5, 5).tolist() == [4, 1, 3, 0, 2]
    assert strategy(FakeEstimator(P), X5, 2).tolist() == [4, 1]


def test_label_errors_prefers_out_of_fold_probabilities() -> None:
    """The classifier saw these labels; out-of-fold probabilities say only row 2 is off (its
    tag 1 at 0.2 -> wrong (0.5 - 0.2) / 0.5 = 0.6)."""
    agreeing = np.where(P_LABELS == 1, 0.9, 0.1)
    agreeing[2, 1] = 0.2
    strategy = strategies.label_errors_strategy(P_LABELS, out_of_fold=agreeing)
    assert strategy(FakeEstimator(P), X5, 1).tolist() == [2]


def test_label_errors_refuses_labels_of_another_shape() -> None:
    strategy = strategies.label_errors_strategy(P_LABELS[:, :2])
    with pytest.raises(ValueError) as error:
        strategy(FakeEstimator(P), X5, 1)
    assert str(error.value) == "current labels have shape (5, 2); the pool's probabilities (5, 3)"


def test_mix_takes_its_share_from_uncertainty_without_duplicates() -> None:
    mix = strategies.warm_strategy("label_errors_mix", P_LABELS, mix_share=0.4)
    # n=5: round(2.0) = 2 from threshold_margin; label errors [4, 1, 3] first, then the most
    # uncertain rows not taken: [1, 2, 4, 0, 3] minus {4, 1, 3} -> [2, 0]
    assert mix(FakeEstimator(P), X5, 5).tolist() == [4, 1, 3, 2, 0]
    # n=3: round(1.2) = 1 from the partner; [4, 1] then 2
    assert mix(FakeEstimator(P), X5, 3).tolist() == [4, 1, 2]


def test_mix_shares_zero_and_one_are_the_pure_strategies() -> None:
    pure = strategies.warm_strategy("label_errors_mix", P_LABELS, mix_share=0.0)
    partner = strategies.warm_strategy("label_errors_mix", P_LABELS, mix_share=1.0)
    assert pure(FakeEstimator(P), X5, 5).tolist() == [4, 1, 3, 0, 2]
    assert partner(FakeEstimator(P), X5, 5).tolist() == [1, 2, 4, 0, 3]


def test_mix_with_random_is_reproducible_and_distinct() -> None:
    mix = strategies.warm_strategy("label_errors_mix", P_LABELS, mix_share=0.6, mix_with="random")
    estimator = FakeEstimator(P)
    estimator.random_state_ = 7
    picks = mix(estimator, X5, 5).tolist()
    assert picks[:2] == [4, 1]
    assert sorted(picks) == [0, 1, 2, 3, 4]
    assert mix(estimator, X5, 5).tolist() == picks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "entropy"},
            "unknown warm-start strategy 'entropy'; choose one of: label_errors, label_errors_mix",
        ),
        (
            {"name": "label_errors_mix", "mix_with": "entropy"},
            "unknown mix partner 'entropy'; choose one of: uncertainty, random",
        ),
        (
            {"name": "label_errors_mix", "mix_share": 1.5},
            "mix share must be between 0 and 1; got 1.5",
        ),
    ],
)
def test_warm_strategy_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        strategies.warm_strategy(current_labels=P_LABELS, **kwargs)
    assert str(error.value) == message
