"""Serving, submitting and skipping against a real (migrated) database (undo, the overlap
seat of a stale submit and history: test_undo_and_history.py).

Catalogues are built row by row so that every expected project, reason and diff is known
exactly; randomness is the module's stable hashes, so every assertion is reproducible.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, insert, select

from db.models import (
    Annotation,
    Lease,
    ModelVersion,
    Prediction,
    Project,
    SourceTag,
    Tag,
    User,
    utcnow,
)
from db.session import SessionFactory
from labeling.config import Settings
from labeling.judgements import skip, submit
from labeling.serving import ServedProject, serve_next
from labeling.serving_policy import overlap_draw, stable_rank

TAGS = ("nlp", "pytorch", "transformers", "vision")
NO_OVERLAP = SimpleNamespace(overlap_share=0.0, overlap_k=2, lease_minutes=10)
ALWAYS_OVERLAP = SimpleNamespace(overlap_share=1.0, overlap_k=2, lease_minutes=10)


@dataclass
class Catalogue:
    users: dict[str, int]
    projects: dict[str, int]  # external id -> project id
    version: int | None


def _catalogue(
    make_session: SessionFactory,
    n_projects: int,
    uncertainties: list[float] | None = None,
    thresholds: dict[str, float] | None = None,
    probabilities: dict[int, dict[str, float]] | None = None,
    users: tuple[str, ...] = ("alice", "bob", "carol"),
) -> Catalogue:
    """Projects p0..p{n-1}; a ready model version only when uncertainties are given."""
    with make_session.begin() as session:
        people = [User(username=name, password_hash="x", role="annotator") for name in users]
        session.add_all(people)
        session.add_all([Tag(name=name) for name in TAGS])
        session.add(Tag(name="retired", active=False))
        session.execute(
            insert(Project),
            [
                {"external_id": f"p{i}", "title": f"Title {i}", "description": f"d{i}"}
                | {"split": "train"}
                for i in range(n_projects)
            ],
        )
        session.flush()
        projects = dict(session.execute(select(Project.external_id, Project.id)).all())
        version_id = None
        if uncertainties is not None:
            version = ModelVersion(status="ready", thresholds=thresholds or {})
            session.add(version)
            session.flush()
            version_id = version.id
            session.execute(
                insert(Prediction),
                [
                    {
                        "model_version_id": version.id,
                        "project_id": projects[f"p{i}"],
                        "uncertainty": u,
                        "probabilities": (probabilities or {}).get(i, {}),
                    }
                    for i, u in enumerate(uncertainties)
                ],
            )
        return Catalogue({u.username: u.id for u in people}, projects, version_id)


def _judge(
    make_session: SessionFactory, user_id: int, project_id: int, skipped: bool = False
) -> None:
    with make_session.begin() as session:
        session.add(
            Annotation(
                project_id=project_id,
                user_id=user_id,
                tags=[] if skipped else ["nlp"],
                skipped=skipped,
            )
        )


def _count(make_session: SessionFactory, model: type) -> int:
    with make_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _leases(make_session: SessionFactory) -> list[tuple[int, int, datetime]]:
    with make_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(Lease.project_id, Lease.user_id, Lease.expires_at).order_by(Lease.id)
            )
        ]


def _served(
    make_session: SessionFactory, user: int, settings_like: object, now: datetime
) -> ServedProject:
    served = serve_next(make_session, user, settings_like, now)
    assert served is not None
    return served


# --- serving ---------------------------------------------------------------------------------


def test_serves_highest_uncertainty_first_with_suggestions_reason_and_lease(
    make_session: SessionFactory, settings: Settings
) -> None:
    cat = _catalogue(
        make_session,
        3,
        uncertainties=[0.2, 0.9, 0.5],
        thresholds={"nlp": 0.3, "pytorch": 0.5, "transformers": 0.5, "vision": 0.5},
        probabilities={1: {"pytorch": 0.52, "transformers": 0.47, "nlp": 0.9, "vision": 0.01}},
    )
    with make_session.begin() as session:
        tag_ids = dict(session.execute(select(Tag.name, Tag.id)).all())
        for name in ("vision", "nlp"):
            session.add(SourceTag(project_id=cat.projects["p1"], tag_id=tag_ids[name]))
    now = utcnow()
    # A real Settings works whether or not it has the serving fields (default lease: 10 min).
    served = serve_next(make_session, cat.users["alice"], settings, now)
    assert served == ServedProject(
        project_id=cat.projects["p1"],
        external_id="p1",
        title="Title 1",
        description="d1",
        source_tags=("nlp", "vision"),
        suggestions={"nlp": 0.9, "pytorch": 0.52, "transformers": 0.47, "vision": 0.01},
        model_version_id=cat.version,
        reason="the model is unsure about: pytorch 0.52, transformers 0.47",
    )
    assert list(served.suggestions) == ["nlp", "pytorch", "transformers", "vision"]
    assert _leases(make_session) == [
        (cat.projects["p1"], cat.users["alice"], now + timedelta(minutes=10))
    ]
    # Bob asks next: p1 is leased to Alice, so he gets the next most uncertain.
    assert _served(make_session, cat.users["bob"], NO_OVERLAP, now).external_id == "p2"
    assert _served(make_session, cat.users["carol"], NO_OVERLAP, now).external_id == "p0"
    assert serve_next(make_session, cat.users["alice"] + 100, NO_OVERLAP, now) is None


def test_projects_the_user_judged_or_skipped_are_excluded(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 3, uncertainties=[0.2, 0.9, 0.5])
    alice = cat.users["alice"]
    _judge(make_session, alice, cat.projects["p1"])
    _judge(make_session, alice, cat.projects["p2"], skipped=True)
    assert _served(make_session, alice, NO_OVERLAP, utcnow()).external_id == "p0"


def test_a_reload_returns_the_same_leased_project_and_renews_the_lease(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 3, uncertainties=[0.2, 0.9, 0.5])
    alice = cat.users["alice"]
    now = utcnow()
    first = _served(make_session, alice, NO_OVERLAP, now)
    later = now + timedelta(minutes=3)
    again = _served(make_session, alice, NO_OVERLAP, later)
    assert again == first
    assert _leases(make_session) == [(cat.projects["p1"], alice, later + timedelta(minutes=10))]


def test_another_users_live_lease_excludes_but_an_expired_one_does_not(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 3, uncertainties=[0.2, 0.9, 0.5])
    alice, bob = cat.users["alice"], cat.users["bob"]
    now = utcnow()
    with make_session.begin() as session:
        session.add(
            Lease(project_id=cat.projects["p1"], user_id=bob, expires_at=now + timedelta(1))
        )
    assert _served(make_session, alice, NO_OVERLAP, now).external_id == "p2"

    later = now + timedelta(days=2)  # Bob's lease and Alice's have both expired by then
    carol = _served(make_session, cat.users["carol"], NO_OVERLAP, later)
    assert carol.external_id == "p1"
    assert _leases(make_session) == [
        (cat.projects["p1"], cat.users["carol"], later + timedelta(minutes=10))
    ]


def test_without_a_model_projects_come_in_a_stable_pseudo_random_order(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 12)
    expected = sorted(cat.projects, key=stable_rank)
    assert expected != sorted(cat.projects)  # the order is shuffled, not the import order
    now = utcnow()
    served = [_served(make_session, cat.users[u], NO_OVERLAP, now) for u in ("alice", "bob")]
    assert [s.external_id for s in served] == expected[:2]
    assert served[0].reason == "served in random order: no model yet"
    assert served[0].model_version_id is None
    assert served[0].suggestions == {}


def test_overlap_serves_a_second_opinion_only_when_the_draw_says_so(
    make_session: SessionFactory,
) -> None:
    # p0 (least uncertain) was judged by Bob; p1 is the unjudged first-opinion candidate.
    cat = _catalogue(make_session, 2, uncertainties=[0.1, 0.9])
    alice, bob = cat.users["alice"], cat.users["bob"]
    _judge(make_session, bob, cat.projects["p0"])
    now = utcnow()

    assert _served(make_session, alice, NO_OVERLAP, now).external_id == "p1"
    with make_session.begin() as session:
        session.execute(delete(Lease))
    second = _served(make_session, alice, ALWAYS_OVERLAP, now)
    assert second.external_id == "p0"
    assert second.reason == "second opinion: judged by 1 other annotator"
    # Never to someone who judged it: Bob gets the first-opinion project even at share 1.0.
    assert _served(make_session, bob, ALWAYS_OVERLAP, now).external_id == "p1"


def test_overlap_never_goes_past_k_judges_and_skips_do_not_count(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 3, uncertainties=[0.1, 0.2, 0.9], users=("a", "b", "c", "d"))
    a, b, c, d = (cat.users[name] for name in ("a", "b", "c", "d"))
    _judge(make_session, b, cat.projects["p0"])
    _judge(make_session, c, cat.projects["p0"])  # p0 has k = 2 judges
    _judge(make_session, b, cat.projects["p1"], skipped=True)  # a skip is no label
    now = utcnow()

    first = _served(make_session, a, ALWAYS_OVERLAP, now)
    assert first.external_id == "p2"  # no overlap candidate: falls back to a first opinion
    # p1 was only skipped by b: still a first-opinion project for d, not an overlap one.
    assert _served(make_session, d, NO_OVERLAP, now).external_id == "p1"

    with make_session.begin() as session:
        session.execute(delete(Lease))
    k3 = SimpleNamespace(overlap_share=1.0, overlap_k=3, lease_minutes=10)
    third = _served(make_session, a, k3, now)
    assert (third.external_id, third.reason) == (
        "p0",
        "second opinion: judged by 2 other annotators",
    )


def test_with_overlap_off_nothing_judged_by_others_is_served(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 1, uncertainties=[0.5])
    _judge(make_session, cat.users["bob"], cat.projects["p0"])
    assert serve_next(make_session, cat.users["alice"], NO_OVERLAP, utcnow()) is None
    assert _leases(make_session) == []


def test_overlap_share_over_many_requests(make_session: SessionFactory) -> None:
    """200 serve+submit cycles at share 0.2: the overlap count is exactly what the stable draw
    predicts and within the tolerance of the configured share."""
    cat = _catalogue(make_session, 320)
    alice, bob = cat.users["alice"], cat.users["bob"]
    with make_session.begin() as session:
        session.add_all(
            Annotation(project_id=cat.projects[f"p{i}"], user_id=bob, tags=["nlp"])
            for i in range(100)
        )
    policy = SimpleNamespace(overlap_share=0.2, overlap_k=2, lease_minutes=10)
    overlaps = 0
    for i in range(200):
        served = _served(make_session, alice, policy, utcnow())
        overlaps += served.reason.startswith("second opinion")
        assert (served.project_id <= cat.projects["p99"]) == served.reason.startswith("second")
        submit(make_session, alice, served.project_id, ["nlp"], [], None, 1.0, f"k{i}")
    expected = sum(overlap_draw(alice, n) < 0.2 for n in range(200))
    assert overlaps == expected
    assert 0.12 * 200 <= overlaps <= 0.28 * 200
    many = sum(overlap_draw(user, n) < 0.2 for user in range(1, 11) for n in range(1000))
    assert 0.19 <= many / 10_000 <= 0.21


# --- submit, skip, undo ----------------------------------------------------------------------


def _annotations(make_session: SessionFactory) -> list[Annotation]:
    with make_session() as session:
        return list(session.scalars(select(Annotation).order_by(Annotation.id)))


def test_submit_stores_the_diff_and_releases_the_lease(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 2, uncertainties=[0.2, 0.9])
    alice = cat.users["alice"]
    served = _served(make_session, alice, NO_OVERLAP, utcnow())
    annotation_id = submit(
        make_session,
        alice,
        served.project_id,
        ["pytorch", "nlp"],
        ["vision", "pytorch"],
        cat.version,
        4.5,
        "key-1",
    )
    [row] = _annotations(make_session)
    assert row.id == annotation_id
    assert (row.project_id, row.user_id, row.skipped) == (cat.projects["p1"], alice, False)
    assert (row.tags, row.shown_tags) == (["nlp", "pytorch"], ["pytorch", "vision"])
    assert (row.added, row.removed) == (["nlp"], ["vision"])
    assert (row.model_version_id, row.seconds_spent, row.submission_key) == (
        cat.version,
        4.5,
        "key-1",
    )
    assert _leases(make_session) == []
    assert _served(make_session, alice, NO_OVERLAP, utcnow()).external_id == "p0"


def test_the_same_submission_key_twice_stores_one_judgement(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 2)
    alice, project = cat.users["alice"], cat.projects["p0"]
    first = submit(make_session, alice, project, ["nlp"], [], None, 1.0, "dup")
    second = submit(make_session, alice, project, ["vision"], [], None, 2.0, "dup")
    skipped = skip(make_session, alice, project, "again", None, "dup")
    assert first == second == skipped
    [row] = _annotations(make_session)
    assert row.tags == ["nlp"]
    with pytest.raises(ValueError, match=r"^submission key already used by another user$"):
        submit(make_session, cat.users["bob"], project, ["nlp"], [], None, 1.0, "dup")


def test_an_unknown_or_inactive_tag_is_refused_and_nothing_is_written(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 1, uncertainties=[0.5])
    alice = cat.users["alice"]
    now = utcnow()
    served = _served(make_session, alice, NO_OVERLAP, now)
    with pytest.raises(ValueError) as error:
        submit(make_session, alice, served.project_id, ["nlp", "x"], [], None, 1.0, "k")
    assert str(error.value) == "unknown tag 'x'"
    with pytest.raises(ValueError) as error:
        submit(make_session, alice, served.project_id, ["retired"], [], None, 1.0, "k")
    assert str(error.value) == "unknown tag 'retired'"
    assert _count(make_session, Annotation) == 0
    assert _leases(make_session) == [(served.project_id, alice, now + timedelta(minutes=10))]


def test_skip_records_no_label_and_releases_the_lease(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 2, uncertainties=[0.2, 0.9])
    alice, bob = cat.users["alice"], cat.users["bob"]
    served = _served(make_session, alice, NO_OVERLAP, utcnow())
    annotation_id = skip(make_session, alice, served.project_id, " not ML ", cat.version, "s1")
    [row] = _annotations(make_session)
    assert (row.id, row.skipped, row.tags, row.skip_reason) == (annotation_id, True, [], "not ML")
    assert row.model_version_id == cat.version
    assert _leases(make_session) == []
    assert _served(make_session, alice, NO_OVERLAP, utcnow()).external_id == "p0"
    assert _served(make_session, bob, NO_OVERLAP, utcnow()).external_id == "p1"


# --- concurrency -----------------------------------------------------------------------------


SOME_OVERLAP = SimpleNamespace(overlap_share=0.2, overlap_k=2, lease_minutes=10)


@pytest.mark.parametrize(
    ("policy", "max_judges"), [(NO_OVERLAP, 1), (SOME_OVERLAP, 2)], ids=["no-overlap", "overlap"]
)
def test_concurrent_annotators_lose_nothing_and_respect_the_overlap_target(
    make_session: SessionFactory, policy: SimpleNamespace, max_judges: int
) -> None:
    """20 annotators x 30 serve+submit cycles at once, each submission sent twice."""
    names = tuple(f"user{i}" for i in range(20))
    cat = _catalogue(
        make_session,
        1200,
        uncertainties=[(i * 37 % 1200) / 1200 for i in range(1200)],
        users=names,
    )
    errors: list[BaseException] = []
    keys: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(names))

    def annotate(user_id: int) -> None:
        try:
            start.wait()
            for cycle in range(30):
                served = serve_next(make_session, user_id, policy)
                assert served is not None
                key = f"{user_id}-{cycle}"
                first = submit(make_session, user_id, served.project_id, ["nlp"], [], None, 1, key)
                again = submit(make_session, user_id, served.project_id, ["nlp"], [], None, 1, key)
                assert first == again
                with lock:
                    keys.append(key)
        except BaseException as error:  # reported below: a thread's failure must fail the test
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=annotate, args=(cat.users[n],)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == []
    assert len(keys) == 600
    with make_session() as session:
        stored = session.execute(select(Annotation.submission_key, Annotation.project_id)).all()
        judges = session.execute(
            select(Annotation.project_id, func.count(func.distinct(Annotation.user_id))).group_by(
                Annotation.project_id
            )
        ).all()
    assert sorted(k for k, _ in stored) == sorted(keys)
    assert max(count for _, count in judges) == max_judges
    assert _leases(make_session) == []
