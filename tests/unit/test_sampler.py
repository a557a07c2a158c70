"""Serving from stored scores: highest score first, skipping judged and others' leased ones."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from db.models import Annotation, Lease, ModelVersion, Prediction, Project, User, utcnow
from db.session import SessionFactory
from labeling.sampler import next_scored_project


def _setup(make_session: SessionFactory, scores: list[float]) -> tuple[int, int, int]:
    with make_session.begin() as session:
        alice = User(username="alice", password_hash="x", role="annotator")
        bob = User(username="bob", password_hash="x", role="annotator")
        version = ModelVersion(status="ready")
        session.add_all([alice, bob, version])
        session.flush()
        session.execute(
            insert(Project),
            [{"external_id": f"p{i}", "title": "t", "split": "train"} for i in range(len(scores))],
        )
        session.execute(
            insert(Prediction),
            [
                {"model_version_id": version.id, "project_id": i + 1, "uncertainty": s}
                for i, s in enumerate(scores)
            ],
        )
        return version.id, alice.id, bob.id


def test_serves_the_highest_score_first(make_session: SessionFactory) -> None:
    version, alice, _ = _setup(make_session, [0.2, 0.9, 0.5])
    with make_session() as session:
        assert next_scored_project(session, alice, version) == 2


def test_skips_judged_and_leased_to_others_but_not_own_lease(
    make_session: SessionFactory,
) -> None:
    version, alice, bob = _setup(make_session, [0.2, 0.9, 0.5, 0.8])
    now = utcnow()
    with make_session.begin() as session:
        session.add(Annotation(project_id=2, user_id=bob, tags=["x"]))
        session.add(Lease(project_id=4, user_id=bob, expires_at=now + timedelta(minutes=5)))
        session.add(Lease(project_id=3, user_id=alice, expires_at=now + timedelta(minutes=5)))
    with make_session() as session:
        assert next_scored_project(session, alice, version, now) == 3
        assert next_scored_project(session, bob, version, now) == 4


def test_expired_leases_do_not_block(make_session: SessionFactory) -> None:
    version, alice, bob = _setup(make_session, [0.2, 0.9])
    now = utcnow()
    with make_session.begin() as session:
        session.add(Lease(project_id=2, user_id=bob, expires_at=now - timedelta(seconds=1)))
    with make_session() as session:
        assert next_scored_project(session, alice, version, now) == 2


def test_none_when_everything_is_judged(make_session: SessionFactory) -> None:
    version, alice, _ = _setup(make_session, [0.2])
    with make_session.begin() as session:
        session.add(Annotation(project_id=1, user_id=alice, tags=[]))
    with make_session() as session:
        assert next_scored_project(session, alice, version) is None
