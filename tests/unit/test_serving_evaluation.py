"""The evaluation serve share (LABELLOOP_EVAL_SERVE_SHARE): a share of first-opinion requests
goes to an evaluation project nobody has verified yet, so that the verified figures of the
Model page get their n. Every expectation below is worked out by hand from the module's
stable hashes (the draws are listed in the first test)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from db.models import Project, Resolution, utcnow
from db.session import SessionFactory
from labeling.config import ConfigError, load_settings
from labeling.judgements import submit
from labeling.serving import serve_next
from labeling.serving_policy import evaluation_draw, random_draw
from tests.unit.test_serving import Catalogue, _catalogue, _judge

EVALUATION_REASON = (
    "an evaluation project: a share of projects is served so that the model is checked "
    "against labels people gave"
)


def _share(share: float) -> SimpleNamespace:
    return SimpleNamespace(
        overlap_share=0.0, strategy="threshold_margin", lease_minutes=10, eval_serve_share=share
    )


def _with_evaluation_projects(make_session: SessionFactory) -> Catalogue:
    """p0..p3 train (uncertainty 0.9, 0.8, 0.7, 0.6); p4 and p5 evaluation projects, the least
    uncertain (0.1, 0.2), so the uncertainty order alone serves them last."""
    cat = _catalogue(make_session, 6, uncertainties=[0.9, 0.8, 0.7, 0.6, 0.1, 0.2])
    with make_session.begin() as session:
        session.execute(
            update(Project).where(Project.external_id.in_(["p4", "p5"])).values(split="eval")
        )
    return cat


def test_the_evaluation_draw_is_a_fixed_hash_of_user_and_judgement_count() -> None:
    def by_hand(user: int, n: int) -> float:
        digest = hashlib.sha256(f"evaluation:{user}:{n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    assert [evaluation_draw(1, n) for n in range(6)] == [by_hand(1, n) for n in range(6)]
    assert [round(evaluation_draw(1, n), 3) for n in range(6)] == [
        0.455,
        0.971,
        0.905,
        0.092,
        0.284,
        0.006,
    ]
    assert round(random_draw(1, 0), 3) == 0.128


def test_at_share_one_half_the_draws_below_it_go_to_unverified_evaluation_projects(
    make_session: SessionFactory,
) -> None:
    """Alice's draws 0.455, 0.971, 0.905, 0.092, 0.284, 0.006 against 0.5: judgements 0, 3, 4
    and 5 want an evaluation project. 0 gets p4 (random draw 0.128 over ids 1-6 starts at id
    1, the first evaluation project after it is p4), 3 gets p5, the last one; 4 and 5 find
    none left and fall back to the uncertainty order."""
    cat = _with_evaluation_projects(make_session)
    alice = cat.users["alice"]
    assert alice == 1 and cat.projects["p0"] == 1  # the draws above are user 1's
    served = []
    for n in range(6):
        project = serve_next(make_session, alice, _share(0.5), utcnow())
        assert project is not None
        served.append((project.external_id, project.reason == EVALUATION_REASON))
        submit(make_session, alice, project.project_id, ["nlp"], [], None, 1.0, f"k{n}")
    assert served == [
        ("p4", True),
        ("p0", False),
        ("p1", False),
        ("p5", True),
        ("p2", False),
        ("p3", False),
    ]


def test_at_share_zero_evaluation_projects_wait_for_their_turn(
    make_session: SessionFactory,
) -> None:
    cat = _with_evaluation_projects(make_session)
    alice = cat.users["alice"]
    served = []
    for n in range(6):
        project = serve_next(make_session, alice, _share(0.0), utcnow())
        assert project is not None
        served.append(project.external_id)
        submit(make_session, alice, project.project_id, ["nlp"], [], None, 1.0, f"k{n}")
    assert served == ["p0", "p1", "p2", "p3", "p5", "p4"]


def test_judged_or_resolved_evaluation_projects_are_not_served_for_the_share(
    make_session: SessionFactory,
) -> None:
    cat = _with_evaluation_projects(make_session)
    _judge(make_session, cat.users["bob"], cat.projects["p4"])
    with make_session.begin() as session:
        session.add(
            Resolution(project_id=cat.projects["p5"], reviewer_id=cat.users["carol"], tags=["nlp"])
        )
    project = serve_next(make_session, cat.users["alice"], _share(1.0), utcnow())
    assert project is not None
    assert project.external_id == "p0"
    assert project.reason == "served in random order: the model has not scored this project"


def test_a_reload_shows_the_held_evaluation_project_with_the_same_reason(
    make_session: SessionFactory,
) -> None:
    cat = _with_evaluation_projects(make_session)
    alice = cat.users["alice"]
    first = serve_next(make_session, alice, _share(0.5), utcnow())
    again = serve_next(make_session, alice, _share(0.5), utcnow())
    assert first is not None and again is not None
    assert (again.external_id, again.reason) == ("p4", EVALUATION_REASON)
    assert first == again


def test_the_setting_is_read_as_a_share() -> None:
    assert load_settings({}).eval_serve_share == 0.1
    assert load_settings({"LABELLOOP_EVAL_SERVE_SHARE": "0.3"}).eval_serve_share == 0.3
    with pytest.raises(ConfigError) as error:
        load_settings({"LABELLOOP_EVAL_SERVE_SHARE": "30%"})
    assert str(error.value) == "LABELLOOP_EVAL_SERVE_SHARE='30%' is not a number"
