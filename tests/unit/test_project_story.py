"""A project's story, "label it now", "send to review" and what a searcher finds under a tag,
on the five-project catalogue of test_search (answers worked out by hand there)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.models import Prediction, Resolution, User, utcnow
from db.session import SessionFactory
from labeling import auth
from labeling.findability import findings_table, tag_findings
from labeling.project_actions import (
    ProjectActionError,
    lease_for_labelling,
    open_review_requests,
    request_review,
)
from labeling.project_story import ProjectNotFound, probability_table, project_story
from labeling.serving import serve_next
from tests.unit.test_search import build_catalogue


@pytest.fixture
def catalogue(make_session: SessionFactory) -> dict[str, int]:
    return build_catalogue(make_session)


def signed(make_session: SessionFactory, user_id: int) -> auth.SignedInUser:
    with make_session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return auth.SignedInUser(user.id, user.username, user.role)


def test_story_of_a_project_in_conflict(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    with make_session.begin() as session:
        prediction = session.get(Prediction, (1, 1))
        prediction.suspicions = {"wrong": {"transformers": 0.3}, "missing": {}}
    with make_session() as session:
        story = project_story(session, 1, True)
    assert (story.title, story.split, story.import_file) == (
        "Transformer models for text",
        "train",
        "first.json",
    )
    assert story.source_tags == ("nlp", "transformers")
    assert (story.state.status, story.state.tags) == ("conflict", ("nlp", "transformers"))
    assert [(j["who"], j["tags"], j["current"]) for j in story.judgements] == [
        ("alice", "nlp, transformers", True),
        ("bob", "nlp", True),
    ]
    assert story.resolutions == []
    assert story.label_error_score == 0.3
    assert story.label_error_reason == "transformers probably wrong (out-of-fold model 0.30)"
    table = probability_table(story.probabilities)
    assert table.to_dict("records") == [
        {"tag": "nlp", "v1": 0.9},
        {"tag": "transformers", "v1": 0.3},
    ]


def test_story_of_a_resolved_project_and_its_audit_trail(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    with make_session.begin() as session:
        request_review(session, 5, signed(make_session, catalogue["rita"]), "reviewer", "odd")
    with make_session() as session:
        story = project_story(session, 5, True)
    assert (story.state.status, story.state.tags) == ("resolved", ("graphs", "nlp"))
    assert [(r["reviewer"], r["tags"]) for r in story.resolutions] == [("rita", "graphs, nlp")]
    assert story.label_error_reason == "Model version 1 finds nothing suspect in its tags."
    assert [(r["by"], r["note"]) for r in story.review_requests] == [("rita", "odd")]
    assert [(e["who"], e["action"]) for e in story.audit_events] == [
        ("rita", "project.review_requested")
    ]


def test_an_unknown_project_is_named(make_session: SessionFactory) -> None:
    with make_session() as session, pytest.raises(ProjectNotFound) as error:
        project_story(session, 42, True)
    assert str(error.value) == "No project with id 42."


# --- label it now ------------------------------------------------------------------------------


def test_label_now_leases_the_project_and_annotate_serves_it(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    bob = catalogue["bob"]
    assert lease_for_labelling(make_session, bob, 4).leased
    served = serve_next(make_session, bob)
    assert served is not None and served.project_id == 4
    # another annotator cannot take it while bob holds it
    with make_session.begin() as session:
        carol = auth.create_user(session, "carol", "violet-kettle-42", "annotator").id
    outcome = lease_for_labelling(make_session, carol, 4)
    assert outcome == lease_for_labelling(make_session, carol, 4)
    assert not outcome.leased
    assert outcome.reason == (
        "Another annotator is labelling this project; it is free again within 10 min."
    )
    # ... and can once the lease has run out
    later = utcnow() + timedelta(minutes=11)
    assert lease_for_labelling(make_session, carol, 4, now=later).leased


@pytest.mark.parametrize(
    ("who", "project_id", "reason"),
    [
        ("alice", 1, "You already judged or skipped this project; change it on My history."),
        ("bob", 2, "You already judged or skipped this project; change it on My history."),
        (
            "rita",
            1,
            "This project already has 2 annotators' judgements, the most one project is given; "
            "a reviewer can send it to review instead.",
        ),
        ("rita", 99, "No project with id 99."),
    ],
)
def test_label_now_refusals(
    make_session: SessionFactory,
    catalogue: dict[str, int],
    who: str,
    project_id: int,
    reason: str,
) -> None:
    assert lease_for_labelling(make_session, catalogue[who], project_id).reason == reason


def test_a_manager_cannot_label(make_session: SessionFactory, catalogue: dict[str, int]) -> None:
    with make_session.begin() as session:
        manager = auth.create_user(session, "mona", "violet-kettle-42", "manager").id
    outcome = lease_for_labelling(make_session, manager, 4)
    assert outcome.reason == "Only annotators, reviewers and admins label projects."


# --- send to review ----------------------------------------------------------------------------


def test_send_to_review_until_a_resolution_answers_it(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    rita = signed(make_session, catalogue["rita"])
    with make_session.begin() as session:
        request_review(session, 1, rita, "reviewer")
    with make_session() as session:
        assert list(open_review_requests(session)) == [1]
    with pytest.raises(ProjectActionError) as error, make_session.begin() as session:
        request_review(session, 1, rita, "reviewer")
    assert str(error.value) == "This project is already waiting for review."
    with make_session.begin() as session:
        session.add(
            Resolution(
                project_id=1,
                reviewer_id=rita.id,
                tags=["nlp"],
                created_at=utcnow() + timedelta(seconds=1),
            )
        )
    with make_session() as session:
        assert open_review_requests(session) == {}


def test_annotators_cannot_send_to_review(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    alice = signed(make_session, catalogue["alice"])
    with pytest.raises(ProjectActionError) as error, make_session.begin() as session:
        request_review(session, 1, alice, "annotator")
    assert str(error.value) == "Only reviewers and admins can send a project to review."


# --- what a searcher finds ---------------------------------------------------------------------


def test_findings_under_a_tag_gained_by_labels_and_model(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    """nlp: source {1}; effective adds 5 (resolution); the model adds 4."""
    with make_session() as session:
        findings = tag_findings(session, "nlp", True)
        table = findings_table(session, findings)
    assert (findings.source, findings.effective, findings.predicted) == ({1}, {1, 5}, {1, 4})
    assert findings.changes() == {
        "effective labels": {"gained": 1, "lost": 0},
        "model predictions": {"gained": 1, "lost": 0},
    }
    assert table[["id", "effective change", "model change"]].to_dict("records") == [
        {"id": 5, "effective change": "gained", "model change": ""},
        {"id": 4, "effective change": "", "model change": "gained"},
    ]


def test_findings_under_a_tag_the_model_does_not_know(
    make_session: SessionFactory, catalogue: dict[str, int]
) -> None:
    with make_session() as session:
        findings = tag_findings(session, "computer-vision", True)
        table = findings_table(session, findings)
    assert findings.counts() == {
        "source tags": 2,
        "effective labels": 2,
        "model predictions": 0,
    }
    assert table[["id", "title", "model change"]].to_dict("records") == [
        {"id": 2, "title": "Image classification with CNNs", "model change": "lost"},
        {"id": 3, "title": "Object detection", "model change": "lost"},
    ]
