"""New topics first (LABELLOOP_NEW_TOPICS_FIRST): the possible new topics the latest checked
import recorded (labeling.drift.check_import) are served before any other first opinion."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select

from db.models import ImportBatch, ModelVersion, NewTopic, utcnow
from db.session import SessionFactory
from labeling import drift
from labeling.judgements import submit
from labeling.serving import serve_next
from tests.unit.test_serving import Catalogue, _catalogue, _judge

NEW_TOPIC_REASON = (
    "a possible new topic: the model had no confident tag for it when it was imported"
)


def _policy(new_topics_first: bool) -> SimpleNamespace:
    return SimpleNamespace(
        overlap_share=0.0,
        strategy="threshold_margin",
        lease_minutes=10,
        eval_serve_share=0.0,
        new_topics_first=new_topics_first,
    )


def _with_new_topics(make_session: SessionFactory) -> Catalogue:
    """p0..p5 by uncertainty 0.9 down to 0.4. Batch 1 recorded p2 as a new topic; batch 2
    (the newest check) recorded p5 and p3: only batch 2's are served first, in import order."""
    cat = _catalogue(make_session, 6, uncertainties=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    with make_session.begin() as session:
        session.add_all(
            [
                ImportBatch(id=1, filename="a.json", file_format="json"),
                ImportBatch(id=2, filename="b.json", file_format="json"),
            ]
        )
        session.flush()
        session.execute(
            insert(NewTopic),
            [
                {"batch_id": 1, "project_id": cat.projects["p2"]},
                {"batch_id": 2, "project_id": cat.projects["p5"]},
                {"batch_id": 2, "project_id": cat.projects["p3"]},
            ],
        )
    return cat


def _serve_all(make_session: SessionFactory, user: int, policy: SimpleNamespace) -> list[str]:
    served = []
    for n in range(6):
        project = serve_next(make_session, user, policy, utcnow())
        assert project is not None
        served.append(project.external_id + (" new" if project.reason == NEW_TOPIC_REASON else ""))
        submit(make_session, user, project.project_id, ["nlp"], [], None, 1.0, f"{user}-{n}")
    return served


def test_the_newest_checks_new_topics_come_first_in_import_order(
    make_session: SessionFactory,
) -> None:
    cat = _with_new_topics(make_session)
    assert _serve_all(make_session, cat.users["alice"], _policy(True)) == [
        "p3 new",
        "p5 new",
        "p0",
        "p1",
        "p2",
        "p4",
    ]


def test_switched_off_new_topics_wait_for_the_uncertainty_order(
    make_session: SessionFactory,
) -> None:
    cat = _with_new_topics(make_session)
    assert _serve_all(make_session, cat.users["alice"], _policy(False)) == [
        "p0",
        "p1",
        "p2",
        "p3",
        "p4",
        "p5",
    ]


def test_a_new_topic_someone_judged_is_not_served_first_again(
    make_session: SessionFactory,
) -> None:
    cat = _with_new_topics(make_session)
    _judge(make_session, cat.users["bob"], cat.projects["p3"])
    first = serve_next(make_session, cat.users["alice"], _policy(True), utcnow())
    again = serve_next(make_session, cat.users["alice"], _policy(True), utcnow())
    assert first is not None and again is not None
    assert (first.external_id, first.reason) == ("p5", NEW_TOPIC_REASON)
    assert first == again  # a reload shows the held new topic with the same reason


def test_check_import_records_the_batchs_projects_with_no_confident_tag(
    make_session: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks themselves are drift.batch_report's (tested with a real model in test_cli
    and the Model/Insights AppTest); here: what check_import stores from them, and that
    checking a batch again replaces it."""
    cat = _catalogue(make_session, 3)
    with make_session.begin() as session:
        session.add(ImportBatch(id=7, filename="b.json", file_format="json"))
    found = {"batch": 7, "no_confident_tag": {"project_ids": [cat.projects["p2"]]}}
    monkeypatch.setattr(drift, "check_after_import", lambda session, batch_id: (found, ""))
    assert drift.check_import(make_session, 7) == (found, "")
    found = {"batch": 7, "no_confident_tag": {"project_ids": [cat.projects["p0"]]}}
    drift.check_import(make_session, 7)
    with make_session() as session:
        rows = session.execute(select(NewTopic.batch_id, NewTopic.project_id)).all()
    assert [tuple(r) for r in rows] == [(7, cat.projects["p0"])]
    with make_session() as session:
        # kept on the batch for Insights, without the full id list
        assert drift.stored_check(session) == (
            {"batch": 7, "no_confident_tag": {}},
            "",
        )
    monkeypatch.setattr(drift, "check_after_import", lambda session, batch_id: (None, "no model"))
    assert drift.check_import(make_session, 7) == (None, "no model")
    with make_session() as session:
        kept = session.scalars(select(NewTopic.project_id)).all()
        assert drift.stored_check(session) == (None, "no model")
    assert kept == [cat.projects["p0"]]  # an unchecked import leaves what was recorded


def test_an_import_never_checked_says_so(make_session: SessionFactory) -> None:
    with make_session() as session:
        assert drift.stored_check(session) == (None, "no import to check")
    with make_session.begin() as session:
        session.add(ImportBatch(id=3, filename="b.json", file_format="json", report={"a": 1}))
    with make_session() as session:
        assert drift.stored_check(session) == (
            None,
            "import batch 3 was not checked when it was imported; the Model page checks it "
            "against the serving model on demand",
        )


def test_an_import_made_before_any_model_says_so_truthfully_once_one_serves(
    make_session: SessionFactory,
) -> None:
    with make_session.begin() as session:
        session.add(ImportBatch(id=4, filename="b.json", file_format="json"))
    assert drift.check_import(make_session, 4) == (None, drift.NO_MODEL_YET)
    with make_session() as session:
        assert drift.stored_check(session) == (None, drift.NO_MODEL_YET)
    with make_session.begin() as session:
        session.add(ModelVersion(status="ready"))
    with make_session() as session:
        assert drift.stored_check(session) == (
            None,
            "no model version served when import batch 4 was imported; one serves now, and "
            'the Model page\'s "Check the latest import against the model" compares the batch '
            "with it",
        )
