"""The stored project states (labeling.project_state) against the states derived from the
judgements, after a mixed flow through the real write paths, on SQLite and PostgreSQL; and
the predicted tags stored with a version's predictions."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from db.models import AuditEvent, PredictedTag, ProjectState
from db.session import SessionFactory, alembic_config, upgrade_to_head
from labeling import tag_history
from labeling import tags as tag_actions
from labeling.annotations import all_label_states
from labeling.judgements import skip, submit
from labeling.project_state import (
    StoredState,
    drop_predicted_tags,
    store_predicted_tags,
    stored_label_states,
    stored_states,
)
from labeling.review import resolve
from labeling.undo import undo_last
from tests.unit.test_search import build_catalogue


def assert_consistent(make_session: SessionFactory) -> dict[int, StoredState]:
    """Stored and derived states agree for every project, with source tags trusted or not;
    returns the stored rows for the caller's hand-made expectations."""
    with make_session() as session:
        for trust in (True, False):
            assert stored_label_states(session, trust) == all_label_states(session, trust)
        return stored_states(session)


def statuses(make_session: SessionFactory) -> dict[int, str]:
    with make_session() as session:
        return dict(session.execute(select(ProjectState.project_id, ProjectState.status)).all())


def test_stored_states_follow_every_write_path(make_session: SessionFactory) -> None:
    """The catalogue of test_search: 1 conflict, 3 single, 5 resolved; 2 and 4 unlabeled."""
    users = build_catalogue(make_session)
    alice, bob, rita = users["alice"], users["bob"], users["rita"]
    assert statuses(make_session) == {1: "conflict", 3: "single", 5: "resolved"}
    assert_consistent(make_session)

    submit(make_session, alice, 2, ["computer-vision"], [], None, 3.0, "a2")
    assert assert_consistent(make_session)[2] == StoredState(
        "single", "single", ("computer-vision",)
    )
    submit(make_session, bob, 2, ["computer-vision", "object-detection"], [], None, 4.0, "b2")
    # A conflict decides no label: no stored tags, the source tags stand in when trusted.
    assert assert_consistent(make_session)[2] == StoredState("conflict", None, ())

    skip(make_session, bob, 4, "not sure", None, "b4-skip")
    assert 4 not in assert_consistent(make_session)
    submit(make_session, alice, 4, ["nlp"], [], None, 2.0, "a4")
    assert assert_consistent(make_session)[4].status == "single"
    undo_last(make_session, alice)
    assert 4 not in assert_consistent(make_session)

    resolve(make_session, rita, 2, ["computer-vision"], "", "edit", None)
    assert assert_consistent(make_session)[2] == StoredState(
        "resolved", "resolved", ("computer-vision",)
    )
    submit(make_session, alice, 2, ["object-detection"], [], None, 1.0, "a2-again")
    # Reopened: the resolution stays the label until a reviewer decides again.
    assert assert_consistent(make_session)[2] == StoredState(
        "reopened", "resolved", ("computer-vision",)
    )

    with make_session.begin() as session:
        tag_actions.rename_tag(session, None, "nlp", "language")
    stored = assert_consistent(make_session)
    assert stored[5].tags == ("graphs", "language")

    # alice {computer-vision, object-detection} on 3 becomes {computer-vision}.
    with make_session.begin() as session:
        tag_actions.merge(session, None, "object-detection", "computer-vision")
    assert assert_consistent(make_session)[3].tags == ("computer-vision",)
    with make_session.begin() as session:
        merge_event = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "tag.merge"))
        assert merge_event is not None
        tag_history.undo(session, None, merge_event)
    assert assert_consistent(make_session)[3].tags == ("computer-vision", "object-detection")
    assert statuses(make_session) == {1: "conflict", 2: "reopened", 3: "single", 5: "resolved"}


def test_audit_events_name_their_project_in_an_indexed_column(
    make_session: SessionFactory,
) -> None:
    users = build_catalogue(make_session)
    resolve(make_session, users["rita"], 3, ["computer-vision"], "looks right", "edit", None)
    with make_session() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.project_id)).all()
    assert rows == [("resolution.create", 3)]


def test_predicted_tags_are_those_at_or_above_the_threshold_and_go_with_the_version(
    make_session: SessionFactory,
) -> None:
    """test_search's version 1 (thresholds nlp 0.5, transformers 0.4): nlp for 1 (0.9) and
    4 (0.7), transformers for 4 (0.45); 5's nlp 0.4 is under its threshold."""
    build_catalogue(make_session)

    def stored() -> set[tuple[int, str, int]]:
        with make_session() as session:
            return set(
                session.execute(
                    select(PredictedTag.model_version_id, PredictedTag.tag, PredictedTag.project_id)
                ).all()
            )

    assert stored() == {(1, "nlp", 1), (1, "nlp", 4), (1, "transformers", 4)}
    with make_session.begin() as session:
        written = store_predicted_tags(
            session,
            1,
            [{"project_id": 5, "probabilities": {"nlp": 0.5, "graphs": 0.9}}],
            {"nlp": 0.5},
        )
    # Rewritten in place of the version's earlier rows; a tag without a threshold is not one.
    assert written == 1
    assert stored() == {(1, "nlp", 5)}
    with make_session.begin() as session:
        drop_predicted_tags(session, [])
    assert stored() == set()


@pytest.mark.parametrize("trust", [True, False])
def test_an_unlabeled_project_has_no_row_and_reads_its_source_tags_when_trusted(
    make_session: SessionFactory, trust: bool
) -> None:
    build_catalogue(make_session)
    with make_session() as session:
        state = stored_label_states(session, trust)[2]
    assert (state.status, state.tags) == ("unlabeled", ("computer-vision",) if trust else ())


def test_migration_0012_backfills_states_predicted_tags_and_audit_projects(
    engine: Engine, make_session: SessionFactory
) -> None:
    """Back to 0011 (the stored tables and column go) and up again: the backfill derives the
    same rows the write paths keep."""
    users = build_catalogue(make_session)
    resolve(make_session, users["rita"], 3, ["computer-vision"], "", "edit", None)
    with make_session() as session:
        before = stored_states(session)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    upgrade_to_head(engine)
    assert assert_consistent(make_session) == before
    with make_session() as session:
        assert session.scalar(select(AuditEvent.project_id)) == 3
        assert session.scalar(select(func.count()).select_from(PredictedTag)) == 3


def test_two_judgements_of_one_project_at_the_same_moment_leave_the_right_state(
    make_session: SessionFactory,
) -> None:
    """alice and bob submit different tag sets for the unlabeled projects 2 and 4 at once:
    each project ends in conflict, whichever transaction derived its state last."""
    users = build_catalogue(make_session)
    together = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def judge(name: str, tags: list[str]) -> None:
        try:
            for project_id in (2, 4):
                together.wait()
                submit(make_session, users[name], project_id, tags, [], None, None, None)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=judge, args=("alice", ["nlp"])),
        threading.Thread(target=judge, args=("bob", ["graphs"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = assert_consistent(make_session)
    assert (stored[2].status, stored[4].status) == ("conflict", "conflict")
