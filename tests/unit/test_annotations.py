"""Label status from hand-made judgements: every transition including reopen, per-tag votes
and disputes, and the bulk read staying a fixed number of queries."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from db.models import Annotation, Project, Resolution, SourceTag, Tag, User
from db.session import SessionFactory
from labeling.annotations import (
    STATUSES,
    EmptyLabelRefused,
    Judgement,
    LabelState,
    LatestResolution,
    TagVotes,
    all_label_states,
    check_tag_choice,
    current_judgements,
    disputed_tags,
    judged_since,
    label_state,
    label_status,
    latest_judgements,
    status_counts,
    tag_votes,
)

A = frozenset({"a"})
B = frozenset({"b"})
AB = frozenset({"a", "b"})
SOURCE = frozenset({"s"})
T0 = datetime(2026, 11, 1, 9, 0, 0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("judgements", "resolution", "late", "expected"),
    [
        pytest.param({}, None, (), "unlabeled", id="unlabeled"),
        pytest.param({1: A}, None, (), "single", id="single"),
        pytest.param({1: A, 2: A}, None, (), "agreed", id="agreed"),
        pytest.param({1: A, 2: B}, None, (), "conflict", id="conflict"),
        pytest.param({1: A, 2: B}, AB, (), "resolved", id="resolved"),
        pytest.param({1: A, 2: B}, AB, (2,), "reopened", id="late-judgement-differs"),
        pytest.param({1: A, 2: AB}, AB, (2,), "resolved", id="late-judgement-agrees"),
        pytest.param({1: A}, AB, (2,), "resolved", id="late-judge-withdrew-by-skip"),
        pytest.param({}, AB, (), "resolved", id="resolved-without-judgements"),
        pytest.param({1: A, 2: A, 3: B}, A, (3,), "reopened", id="third-opinion-after"),
    ],
)
def test_label_status(
    judgements: dict[int, frozenset[str]],
    resolution: frozenset[str] | None,
    late: tuple[int, ...],
    expected: str,
) -> None:
    assert label_status(judgements, resolution, late) == expected


def test_reopened_keeps_the_resolution_as_effective_label() -> None:
    state = label_state({1: A, 2: B}, AB, SOURCE, True, judged_since_resolution={2})
    assert state == LabelState("reopened", ("a", "b"), "resolved")


def test_conflict_falls_back_to_source_then_nothing() -> None:
    assert label_state({1: A, 2: B}, None, SOURCE, True) == LabelState("conflict", ("s",), "source")
    assert label_state({1: A, 2: B}, None, SOURCE, False) == LabelState("conflict", (), "none")


def test_reopened_is_a_known_status() -> None:
    assert STATUSES == ("unlabeled", "single", "agreed", "conflict", "resolved", "reopened")


def test_judged_since_compares_with_the_latest_resolution_time() -> None:
    judged = {1: Judgement(A, at(0)), 2: Judgement(B, at(10)), 3: Judgement(B, at(5))}
    resolution = LatestResolution(id=7, tags=AB, reviewer_id=9, at=at(5))
    assert judged_since(judged, resolution) == {2}
    assert judged_since(judged, None) == frozenset()


def test_tag_votes_and_disputes_per_tag() -> None:
    judgements = {
        "cat": frozenset({"nlp", "pytorch"}),
        "ann": frozenset({"nlp"}),
        "bob": frozenset({"nlp", "vision"}),
    }
    assert tag_votes(judgements) == {
        "nlp": TagVotes("nlp", ("ann", "bob", "cat"), ()),
        "pytorch": TagVotes("pytorch", ("cat",), ("ann", "bob")),
        "vision": TagVotes("vision", ("bob",), ("ann", "cat")),
    }
    assert list(disputed_tags(judgements)) == ["pytorch", "vision"]
    assert disputed_tags({"ann": AB, "bob": AB}) == {}
    assert disputed_tags({"ann": AB}) == {}
    assert tag_votes({}) == {}


def test_an_empty_set_votes_against_every_tag() -> None:
    assert disputed_tags({1: frozenset(), 2: A}) == {"a": TagVotes("a", (2,), (1,))}


# --- from the database -----------------------------------------------------------------------


class World:
    """A handful of projects, tags and annotators, with judgements written at chosen times."""

    def __init__(self, make_session: SessionFactory, projects: int = 1) -> None:
        self.make_session = make_session
        with make_session.begin() as session:
            tags = [Tag(name=name) for name in ("a", "b", "s")]
            users = [
                User(username=name, password_hash="x", role=role)
                for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rev", "reviewer"))
            ]
            items = [
                Project(external_id=f"p{i}", title=f"P{i}", split="train") for i in range(projects)
            ]
            session.add_all([*tags, *users, *items])
            session.flush()
            session.add_all(SourceTag(project_id=p.id, tag_id=tags[2].id) for p in items)
            self.users = {u.username: u.id for u in users}
            self.projects = [p.id for p in items]

    def judge(self, user: str, tags: set[str], when: int, project: int = 0, skip=False) -> None:
        with self.make_session.begin() as session:
            session.add(
                Annotation(
                    project_id=self.projects[project],
                    user_id=self.users[user],
                    tags=sorted(tags),
                    skipped=skip,
                    created_at=at(when),
                )
            )

    def resolve(self, tags: set[str], when: int, project: int = 0) -> None:
        with self.make_session.begin() as session:
            session.add(
                Resolution(
                    project_id=self.projects[project],
                    reviewer_id=self.users["rev"],
                    tags=sorted(tags),
                    created_at=at(when),
                )
            )

    def state(self, project: int = 0) -> LabelState:
        with self.make_session() as session:
            return all_label_states(session, trust_source_tags=True)[self.projects[project]]


def test_every_transition_from_unlabeled_to_reopened_and_back(
    make_session: SessionFactory,
) -> None:
    world = World(make_session)
    assert world.state() == LabelState("unlabeled", ("s",), "source")
    world.judge("ann", {"a"}, when=1)
    assert world.state() == LabelState("single", ("a",), "single")
    world.judge("bob", {"a"}, when=2)
    assert world.state() == LabelState("agreed", ("a",), "agreed")
    world.judge("bob", {"a", "b"}, when=3)
    assert world.state() == LabelState("conflict", ("s",), "source")
    world.resolve({"b"}, when=4)
    assert world.state() == LabelState("resolved", ("b",), "resolved")
    world.judge("ann", {"b"}, when=5)
    assert world.state() == LabelState("resolved", ("b",), "resolved")
    world.judge("ann", {"a"}, when=6)
    assert world.state() == LabelState("reopened", ("b",), "resolved")
    world.resolve({"a", "b"}, when=7)
    assert world.state() == LabelState("resolved", ("a", "b"), "resolved")


def test_a_skip_after_the_resolution_withdraws_the_late_disagreement(
    make_session: SessionFactory,
) -> None:
    world = World(make_session)
    world.judge("ann", {"a"}, when=1)
    world.judge("bob", {"b"}, when=2)
    world.resolve({"a"}, when=3)
    world.judge("bob", {"b"}, when=4)
    assert world.state().status == "reopened"
    world.judge("bob", set(), when=5, skip=True)
    assert world.state() == LabelState("resolved", ("a",), "resolved")


def test_judgements_before_the_resolution_never_reopen_it(make_session: SessionFactory) -> None:
    world = World(make_session)
    world.judge("ann", {"a"}, when=1)
    world.judge("bob", {"b"}, when=2)
    world.resolve({"a", "b"}, when=3)
    assert world.state().status == "resolved"


def test_current_judgements_carry_their_time_and_drop_skips(make_session: SessionFactory) -> None:
    world = World(make_session, projects=2)
    world.judge("ann", {"a"}, when=1)
    world.judge("ann", {"b"}, when=2)
    world.judge("bob", {"a"}, when=3)
    world.judge("bob", set(), when=4, skip=True)
    world.judge("bob", {"b"}, when=5, project=1)
    ann, bob = world.users["ann"], world.users["bob"]
    first, second = world.projects
    with make_session() as session:
        assert current_judgements(session) == {
            first: {ann: Judgement(B, at(2))},
            second: {bob: Judgement(B, at(5))},
        }
        assert latest_judgements(session, [second]) == {second: {bob: B}}


def test_status_counts(make_session: SessionFactory) -> None:
    world = World(make_session, projects=4)
    world.judge("ann", {"a"}, when=1, project=0)
    world.judge("bob", {"b"}, when=2, project=0)
    world.judge("ann", {"a"}, when=1, project=1)
    world.judge("bob", {"a"}, when=2, project=1)
    world.judge("ann", {"a"}, when=1, project=2)
    world.resolve({"b"}, when=2, project=2)
    world.judge("bob", {"a"}, when=3, project=2)
    with make_session() as session:
        assert status_counts(session, True) == {
            "unlabeled": 1,
            "single": 0,
            "agreed": 1,
            "conflict": 1,
            "resolved": 0,
            "reopened": 1,
        }


def _count_queries(engine: Engine, make_session: SessionFactory) -> int:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with make_session() as session:
            all_label_states(session, trust_source_tags=True)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_all_label_states_reads_in_five_queries_whatever_the_size(
    engine: Engine, make_session: SessionFactory
) -> None:
    world = World(make_session, projects=30)
    for project in range(30):
        world.judge("ann", {"a"}, when=1, project=project)
        world.judge("bob", {"b"}, when=2, project=project)
        world.resolve({"a"}, when=3, project=project)
    assert _count_queries(engine, make_session) == 5


@pytest.mark.parametrize(
    ("tags", "no_tag_applies", "message"),
    [
        pytest.param(
            [],
            False,
            'No tags chosen: tick "No tag applies" to submit an empty judgement, or add a tag. '
            "Nothing was saved.",
            id="empty",
        ),
        pytest.param(
            ["b", "a"],
            True,
            '"No tag applies" is ticked but tags are chosen (a, b): untick it or remove the '
            "tags. Nothing was saved.",
            id="contradiction",
        ),
    ],
)
def test_an_empty_label_needs_the_explicit_choice(
    tags: list[str], no_tag_applies: bool, message: str
) -> None:
    with pytest.raises(EmptyLabelRefused) as error:
        check_tag_choice(tags, no_tag_applies, "submit an empty judgement")
    assert str(error.value) == message


def test_tags_or_the_explicit_empty_choice_pass() -> None:
    check_tag_choice(["a"], False, "submit an empty judgement")
    check_tag_choice([], True, "submit an empty judgement")
