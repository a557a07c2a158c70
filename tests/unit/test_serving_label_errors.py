"""Serving the projects whose tags are most likely wrong: the label_errors and mixed strategies,
their fall-backs, the reason line and the pre-selected fix."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import select, update

from db.models import Prediction, SourceTag, Tag, utcnow
from db.session import SessionFactory
from labeling.annotate import annotation_form
from labeling.judgements import submit
from labeling.registry import TrainingError, _scores, serving_strategy_name
from labeling.serving import ServedProject, serve_next, serving_reason
from labeling.serving_policy import mix_draw, random_draw
from tests.unit.test_serving import _catalogue, _judge

LABEL_ERRORS = SimpleNamespace(overlap_share=0.0, strategy="label_errors")
# p3 is the most uncertain project; p1, then p0, are the most likely label errors.
UNCERTAINTIES = [0.1, 0.2, 0.3, 0.9]
# nlp's removal and transformers' addition are strong enough to pre-select; pytorch is a hint.
SUSPECT_P1 = {
    "wrong": {"nlp": 0.06},
    "missing": {"transformers": 0.93, "pytorch": 0.71},
    "preselect": {"nlp": True, "transformers": True},
    "implied": {},
}


def _with_scores(make_session: SessionFactory) -> SimpleNamespace:
    """Four projects; p1 carries nlp + vision and is the strongest suspect (score 0.8), p0 a
    weaker one (0.4), p2 has score 0 (no contradiction), p3 none (unlabelled)."""
    cat = _catalogue(
        make_session,
        4,
        uncertainties=UNCERTAINTIES,
        thresholds={"nlp": 0.3, "pytorch": 0.5, "transformers": 0.5, "vision": 0.5},
        probabilities={1: {"nlp": 0.35, "vision": 0.8, "pytorch": 0.55}},
    )
    rows = {
        0: (0.4, {"wrong": {}, "missing": {"transformers": 0.93}}),
        1: (0.8, SUSPECT_P1),
        2: (0.0, None),
    }
    with make_session.begin() as session:
        for i, (score, suspicions) in rows.items():
            session.execute(
                update(Prediction)
                .where(Prediction.project_id == cat.projects[f"p{i}"])
                .values(label_error_score=score, suspicions=suspicions)
            )
        tag_ids = dict(session.execute(select(Tag.name, Tag.id)).all())
        for name in ("nlp", "vision"):
            session.add(SourceTag(project_id=cat.projects["p1"], tag_id=tag_ids[name]))
    return cat


def test_label_errors_serves_the_strongest_suspect_with_its_reason_and_fix(
    make_session: SessionFactory,
) -> None:
    cat = _with_scores(make_session)
    served = serve_next(make_session, cat.users["alice"], LABEL_ERRORS, utcnow())
    assert served == ServedProject(
        project_id=cat.projects["p1"],
        external_id="p1",
        title="Title 1",
        description="d1",
        source_tags=("nlp", "vision"),
        suggestions={"vision": 0.8, "pytorch": 0.55, "nlp": 0.35},
        model_version_id=cat.version,
        reason=(
            "tags probably need fixing: nlp probably wrong (out-of-fold model 0.06); "
            "transformers probably missing (out-of-fold model 0.93); "
            "pytorch probably missing (out-of-fold model 0.71)"
        ),
        suspected_wrong={"nlp": 0.06},
        suspected_missing={"transformers": 0.93, "pytorch": 0.71},
        preselect=("nlp", "transformers"),
    )
    with make_session() as session:
        form = annotation_form(session, served)
    # the source tags with only the pre-selected changes applied: the served model's
    # suggestion (pytorch 0.55) and the weaker suspicion (pytorch missing) are hints
    assert form.preselected == ("vision", "transformers")
    assert form.lines == (
        "Pre-selected changes (likely right; check it): − nlp (out-of-fold model 0.06), "
        "+ transformers (out-of-fold model 0.93)",
        "Hints, not selected (add or remove them yourself): + pytorch (out-of-fold model 0.71)",
        "Served model (trained on the current tags): suggests vision 0.80",
    )


def test_a_suspect_with_nothing_confident_starts_from_its_current_tags(
    make_session: SessionFactory,
) -> None:
    """p0's only suspicion is too weak to pre-select: nothing changes, and since p0 has no
    source tags the page says plainly that nothing is pre-selected."""
    cat = _with_scores(make_session)
    alice = cat.users["alice"]
    first = serve_next(make_session, alice, LABEL_ERRORS, utcnow())
    assert first is not None
    submit(make_session, alice, first.project_id, ["nlp"], [], None, 1.0, None)
    served = serve_next(make_session, alice, LABEL_ERRORS, utcnow())
    assert served is not None and served.external_id == "p0"
    with make_session() as session:
        form = annotation_form(session, served)
    assert form.preselected == ()
    assert form.lines == (
        "Hints, not selected (add or remove them yourself): "
        "+ transformers (out-of-fold model 0.93)",
        "Nothing is pre-selected: choose the tags that apply.",
    )


def test_label_errors_goes_down_the_suspects_then_falls_back_to_uncertainty(
    make_session: SessionFactory,
) -> None:
    cat = _with_scores(make_session)
    alice = cat.users["alice"]
    order = []
    for _ in range(4):
        served = serve_next(make_session, alice, LABEL_ERRORS, utcnow())
        assert served is not None
        order.append((served.external_id, served.reason.split(":")[0]))
        submit(make_session, alice, served.project_id, ["nlp"], [], None, 1.0, None)
    # p1 (0.8) and p0 (0.4) as suspects; then p3 (no score) and p2 (score 0) by uncertainty
    # (the test stored no probabilities for them, hence their reason)
    assert order == [
        ("p1", "tags probably need fixing"),
        ("p0", "tags probably need fixing"),
        ("p3", "served in random order"),
        ("p2", "served in random order"),
    ]
    assert serve_next(make_session, alice, LABEL_ERRORS, utcnow()) is None


def test_a_second_opinion_on_a_suspect_is_blind_to_the_suspicion(
    make_session: SessionFactory,
) -> None:
    cat = _with_scores(make_session)
    _judge(make_session, cat.users["bob"], cat.projects["p1"])
    policy = SimpleNamespace(overlap_share=1.0, overlap_k=2, strategy="label_errors")
    served = serve_next(make_session, cat.users["alice"], policy, utcnow())
    assert served is not None
    assert (served.external_id, served.reason) == (
        "p1",
        "second opinion: judged by 1 other annotator",
    )
    assert (served.suspected_wrong, served.suspected_missing) == ({}, {})


def test_uncertainty_strategies_ignore_label_error_scores(make_session: SessionFactory) -> None:
    cat = _with_scores(make_session)
    policy = SimpleNamespace(overlap_share=0.0, strategy="threshold_margin")
    served = serve_next(make_session, cat.users["alice"], policy, utcnow())
    assert served is not None
    assert (served.external_id, served.suspected_missing) == ("p3", {})


def test_auto_without_any_suspect_serves_by_uncertainty(make_session: SessionFactory) -> None:
    """A catalogue without source tags has no label-error scores: the warm default then
    behaves as the cold-start default."""
    cat = _catalogue(make_session, 3, uncertainties=[0.5, 0.9, 0.1])
    served = serve_next(make_session, cat.users["alice"], SimpleNamespace(overlap_share=0.0))
    assert served is not None
    assert served.external_id == "p1"


@pytest.mark.parametrize(("share", "expected"), [(0.0, "p1"), (1.0, "p3")])
def test_the_mix_share_decides_between_suspects_and_uncertainty(
    make_session: SessionFactory, share: float, expected: str
) -> None:
    cat = _with_scores(make_session)
    policy = SimpleNamespace(
        overlap_share=0.0, strategy="label_errors_mix", mix_share=share, mix_with="uncertainty"
    )
    served = serve_next(make_session, cat.users["alice"], policy, utcnow())
    assert served is not None
    assert served.external_id == expected


def test_the_mix_draw_sends_about_its_share_to_the_partner() -> None:
    draws = [mix_draw(user, n) for user in range(1, 5) for n in range(50)]
    assert draws == [mix_draw(user, n) for user in range(1, 5) for n in range(50)]
    share = sum(d < 0.2 for d in draws) / len(draws)
    assert 0.12 <= share <= 0.28


def test_a_random_pick_takes_the_first_free_project_at_or_after_the_drawn_point(
    make_session: SessionFactory,
) -> None:
    cat = _with_scores(make_session)
    alice = cat.users["alice"]
    policy = SimpleNamespace(
        overlap_share=0.0, strategy="label_errors_mix", mix_share=1.0, mix_with="random"
    )
    ids = sorted(cat.projects.values())
    start = ids[0] + int(random_draw(alice, 0) * len(ids))
    expected = next((i for i in ids if i >= start), ids[0])
    served = serve_next(make_session, alice, policy, utcnow())
    assert served is not None
    assert served.project_id == expected
    assert served.reason == (
        "a random pick: a share of projects is served at random to check the model"
    )
    assert (served.suspected_wrong, served.suspected_missing) == ({}, {})


def test_a_random_pick_wraps_round_when_everything_after_the_point_is_taken(
    make_session: SessionFactory,
) -> None:
    cat = _with_scores(make_session)
    alice = cat.users["alice"]
    policy = SimpleNamespace(
        overlap_share=0.0, strategy="label_errors_mix", mix_share=1.0, mix_with="random"
    )
    ids = sorted(cat.projects.values())
    # Bob judges every project but the first: whatever the draw, only p0 is left for Alice.
    for project_id in ids[1:]:
        _judge(make_session, cat.users["bob"], project_id)
    served = serve_next(make_session, alice, policy, utcnow())
    assert served is not None
    assert served.project_id == ids[0]


def test_reason_without_suspicions_keeps_the_uncertainty_explanation() -> None:
    assert (
        serving_reason(0, True, {"nlp": 0.45}, {"nlp": 0.5}, {"wrong": {}, "missing": {}})
        == "the model is unsure about: nlp 0.45"
    )


def test_serving_strategy_names() -> None:
    assert serving_strategy_name("auto") == "label_errors"
    assert serving_strategy_name("label_errors") == "label_errors"
    assert serving_strategy_name("random") == "random"
    with pytest.raises(TrainingError) as error:
        serving_strategy_name("entropy")
    assert str(error.value).startswith(
        "unknown strategy 'entropy' in LABELLOOP_STRATEGY; choose one of: auto, label_errors, "
        "label_errors_mix, random,"
    )


@pytest.mark.parametrize("strategy", ["auto", "label_errors", "label_errors_mix"])
def test_a_warm_strategy_stores_threshold_margin_uncertainty(strategy: str) -> None:
    """The stored score of a label-error strategy is the threshold margin, so its uncertainty
    share and its fall-back order are real uncertainty: minus the distance of the closest
    tag to its threshold."""
    model = SimpleNamespace(thresholds_=np.array([0.5, 0.2]), params=SimpleNamespace(seed=0))
    probabilities = np.array([[0.5, 0.9], [0.1, 0.1]])
    settings = SimpleNamespace(strategy=strategy)
    scores = _scores(settings, model, probabilities)  # type: ignore[arg-type]
    # row 0: tag 0 sits on its threshold -> -0.0; row 1: tag 1 is 0.1 below 0.2 -> -0.1
    assert scores.tolist() == pytest.approx([0.0, -0.1])
