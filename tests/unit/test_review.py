"""The conflict queue (orders and filters), one project's review view, and resolutions:
validation, concurrency between reviewers, idempotency, audit, and the resolution becoming
the effective label in export and training."""

from __future__ import annotations

import io as stdio
import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from db.models import (
    Annotation,
    AuditEvent,
    ModelVersion,
    Prediction,
    Project,
    Resolution,
    SourceTag,
    Tag,
    TagAlias,
    User,
)
from db.session import SessionFactory
from labeling import io, review, review_queue
from labeling.annotate import Suggestion
from labeling.annotations import TagVotes
from labeling.cli import main
from labeling.config import Settings
from labeling.corpus import load_corpus
from labeling.review import ResolutionConflict, majority_set, resolve, review_item
from labeling.review_queue import QueueRow, conflict_queue, queue_filter_choices

T0 = datetime(2026, 11, 1, 9, 0, 0)
USERS = (
    ("ann", "annotator"),
    ("bob", "annotator"),
    ("cat", "annotator"),
    ("rev", "reviewer"),
    ("rev2", "reviewer"),
    ("boss", "admin"),
    ("man", "manager"),
)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class World:
    """Projects p0..p6 in every interesting state (times in minutes after T0):

    p0 conflict: ann {a, b} @1, bob {} @6            -> disputed a, b; 2 annotators; since 6
    p1 conflict: ann {a} @2, bob {a} @3, cat {a, c} @4 -> disputed c; 3 annotators; since 4
    p2 conflict: ann {c} @0, cat {d} @3             -> disputed c, d; 2 annotators; since 3
    p3 reopened: ann {a} @1, bob {b} @2, resolved {a} @5, bob {b} again @7
                                                    -> disputed a, b; 2 annotators; since 7
    p4 agreed, p5 single, p6 resolved: never queued.
    """

    def __init__(self, make_session: SessionFactory) -> None:
        self.make_session = make_session
        with make_session.begin() as session:
            tags = {name: Tag(name=name) for name in ("a", "b", "c", "d")}
            tags["old"] = Tag(name="old", active=False)
            users = {name: User(username=name, password_hash="x", role=r) for name, r in USERS}
            projects = [
                Project(
                    external_id=f"p{i}",
                    title=f"Project {i}",
                    description=f"About {i}",
                    split="train",
                )
                for i in range(7)
            ]
            session.add_all([*tags.values(), *users.values(), *projects])
            session.flush()
            session.add(TagAlias(alias="alpha", tag_id=tags["a"].id))
            session.add_all(
                SourceTag(project_id=projects[1].id, tag_id=tags[name].id) for name in ("a", "d")
            )
            self.users = {name: user.id for name, user in users.items()}
            self.ids = [p.id for p in projects]
        for project, user, tags_, when in [
            (0, "ann", {"a", "b"}, 1),
            (0, "bob", set(), 6),
            (1, "ann", {"a"}, 2),
            (1, "bob", {"a"}, 3),
            (1, "cat", {"a", "c"}, 4),
            (2, "ann", {"c"}, 0),
            (2, "cat", {"d"}, 3),
            (3, "ann", {"a"}, 1),
            (3, "bob", {"b"}, 2),
            (3, "bob", {"b"}, 7),
            (4, "ann", {"a"}, 1),
            (4, "bob", {"a"}, 2),
            (5, "ann", {"a"}, 1),
            (6, "ann", {"a"}, 1),
            (6, "bob", {"b"}, 2),
        ]:
            self.judge(project, user, tags_, when)
        self.add_resolution(3, {"a"}, 5)
        self.add_resolution(6, {"a", "b"}, 3)

    def judge(self, project: int, user: str, tags: set[str], when: int) -> None:
        with self.make_session.begin() as session:
            session.add(
                Annotation(
                    project_id=self.ids[project],
                    user_id=self.users[user],
                    tags=sorted(tags),
                    created_at=at(when),
                )
            )

    def add_resolution(self, project: int, tags: set[str], when: int) -> None:
        with self.make_session.begin() as session:
            session.add(
                Resolution(
                    project_id=self.ids[project],
                    reviewer_id=self.users["rev"],
                    tags=sorted(tags),
                    note="first look",
                    created_at=at(when),
                )
            )

    def add_models(self) -> None:
        """An older ready version that must be ignored, the current one, and a newer failed
        one; the current version has scored p0, p1 and p3 but not p2."""
        with self.make_session.begin() as session:
            old = ModelVersion(status="ready")
            current = ModelVersion(status="ready", thresholds={"a": 0.5, "c": 0.4})
            failed = ModelVersion(status="failed")
            session.add_all([old, current, failed])
            session.flush()
            session.add(
                Prediction(
                    model_version_id=old.id,
                    project_id=self.ids[2],
                    probabilities={},
                    uncertainty=0.99,
                )
            )
            for project, uncertainty, probabilities in [
                (0, 0.2, {}),
                (1, 0.9, {"a": 0.8, "c": 0.3, "d": 0.6}),
                (3, 0.5, {}),
            ]:
                session.add(
                    Prediction(
                        model_version_id=current.id,
                        project_id=self.ids[project],
                        probabilities=probabilities,
                        uncertainty=uncertainty,
                    )
                )

    def queue(self, **kwargs: str) -> list[str]:
        with self.make_session() as session:
            return [row.external_id for row in conflict_queue(session, **kwargs)]

    def item(self, project: int) -> review.ReviewItem:
        with self.make_session() as session:
            return review_item(session, self.ids[project])

    def counts(self) -> tuple[int, int]:
        """(resolutions, audit events)."""
        with self.make_session() as session:
            return (
                session.scalar(select(func.count()).select_from(Resolution)) or 0,
                session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            )


@pytest.fixture
def world(make_session: SessionFactory) -> World:
    return World(make_session)


# --- the queue -------------------------------------------------------------------------------


def test_queue_holds_conflicts_and_reopened_projects_only(world: World) -> None:
    with world.make_session() as session:
        rows = {row.external_id: row for row in conflict_queue(session)}
    assert set(rows) == {"p0", "p1", "p2", "p3"}
    assert rows["p3"] == QueueRow(
        project_id=world.ids[3],
        external_id="p3",
        title="Project 3",
        status="reopened",
        disputed_tags=("a", "b"),
        annotators=("ann", "bob"),
        since=at(7),
        uncertainty=None,
    )
    assert (rows["p0"].disputed_tags, rows["p0"].since) == (("a", "b"), at(6))
    assert (rows["p1"].disputed_tags, rows["p1"].annotators) == (("c",), ("ann", "bob", "cat"))
    assert (rows["p2"].status, rows["p2"].since) == ("conflict", at(3))


def test_queue_orders(world: World) -> None:
    world.add_models()
    assert world.queue(order="most_disputed") == ["p2", "p0", "p3", "p1"]
    assert world.queue(order="oldest") == ["p2", "p1", "p0", "p3"]
    assert world.queue(order="uncertainty") == ["p1", "p3", "p0", "p2"]


def test_uncertainty_order_without_a_model_falls_back_to_oldest(world: World) -> None:
    assert world.queue(order="uncertainty") == ["p2", "p1", "p0", "p3"]


def test_queue_filters_by_disputed_tag_and_by_annotator(world: World) -> None:
    assert world.queue(tag="c") == ["p2", "p1"]
    assert world.queue(tag="a") == ["p0", "p3"]
    assert world.queue(annotator="cat") == ["p2", "p1"]
    assert world.queue(tag="b", annotator="bob", order="oldest") == ["p0", "p3"]
    assert world.queue(annotator="rev") == []
    with world.make_session() as session:
        assert queue_filter_choices(conflict_queue(session)) == (
            ["a", "b", "c", "d"],
            ["ann", "bob", "cat"],
        )


def test_unknown_queue_order_is_refused(world: World) -> None:
    with pytest.raises(ValueError) as error:
        world.queue(order="newest")
    assert str(error.value) == (
        "unknown order 'newest'; choose one of: most_disputed, oldest, uncertainty"
    )


def test_a_resolution_takes_the_project_out_of_the_queue(world: World) -> None:
    resolve(world.make_session, world.users["rev"], world.ids[0], ["a"], "", "edit", None)
    assert world.queue() == ["p2", "p3", "p1"]


# --- one project -----------------------------------------------------------------------------


def test_review_item_shows_sets_votes_majority_source_and_model(world: World) -> None:
    world.add_models()
    item = world.item(1)
    assert (item.external_id, item.title, item.description, item.status) == (
        "p1",
        "Project 1",
        "About 1",
        "conflict",
    )
    assert [(s.username, s.tags, s.judged_at) for s in item.annotator_sets] == [
        ("ann", ("a",), at(2)),
        ("bob", ("a",), at(3)),
        ("cat", ("a", "c"), at(4)),
    ]
    assert item.votes == (
        TagVotes("c", ("cat",), ("ann", "bob")),
        TagVotes("a", ("ann", "bob", "cat"), ()),
    )
    assert item.majority == ("a",)
    assert item.source_tags == ("a", "d")
    assert list(item.probabilities.values()) == [
        Suggestion("a", 0.8, 0.5),
        Suggestion("d", 0.6, 0.5),
        Suggestion("c", 0.3, 0.4),
    ]
    assert item.resolutions == () and item.latest_resolution_id is None
    assert review.votes_table(item) == [
        {
            "tag": "c",
            "for": 1,
            "against": 2,
            "voted for": "cat",
            "voted against": "ann, bob",
            "majority": False,
            "source tag": False,
            "model p": 0.3,
            "threshold": 0.4,
        },
        {
            "tag": "a",
            "for": 3,
            "against": 0,
            "voted for": "ann, bob, cat",
            "voted against": "",
            "majority": True,
            "source tag": True,
            "model p": 0.8,
            "threshold": 0.5,
        },
        {
            "tag": "d",
            "for": 0,
            "against": 3,
            "voted for": "",
            "voted against": "ann, bob, cat",
            "majority": False,
            "source tag": True,
            "model p": 0.6,
            "threshold": 0.5,
        },
    ]


def test_review_item_of_a_reopened_project_marks_late_judgements_and_history(
    world: World,
) -> None:
    item = world.item(3)
    assert item.status == "reopened"
    assert [(s.username, s.after_resolution) for s in item.annotator_sets] == [
        ("ann", False),
        ("bob", True),
    ]
    assert [(p.reviewer, p.tags, p.note, p.how) for p in item.resolutions] == [
        ("rev", ("a",), "first look", "resolved")
    ]
    assert item.latest_resolution_id == item.resolutions[0].id
    assert item.probabilities == {} and item.model_version_id is None


def test_unknown_project_is_refused(world: World) -> None:
    with world.make_session() as session, pytest.raises(ValueError) as error:
        review_item(session, 999_999)
    assert str(error.value) == "unknown project id 999999"


@pytest.mark.parametrize(
    ("judgements", "expected"),
    [
        pytest.param({"x": {"a", "b"}, "y": {"a"}}, ("a",), id="one-of-two-is-a-tie"),
        pytest.param({"x": {"a", "b"}, "y": {"a"}, "z": {"b"}}, ("a", "b"), id="two-of-three"),
        pytest.param({"w": {"a"}, "x": {"a"}, "y": set(), "z": set()}, (), id="two-of-four"),
        pytest.param({"w": {"a"}, "x": {"a"}, "y": {"a"}, "z": set()}, ("a",), id="3-of-4"),
        pytest.param({"x": set(), "y": {"c"}}, (), id="nothing-chosen-by-most"),
    ],
)
def test_majority_set_needs_more_than_half(
    judgements: dict[str, set[str]], expected: tuple[str, ...]
) -> None:
    assert majority_set({k: frozenset(v) for k, v in judgements.items()}) == expected


# --- resolving -------------------------------------------------------------------------------


def test_resolve_appends_a_resolution_and_an_audit_event(world: World) -> None:
    resolution_id = resolve(
        world.make_session, world.users["rev"], world.ids[0], ["b", "a", "a"], " why ", "edit", None
    )
    with world.make_session() as session:
        stored = session.get(Resolution, resolution_id)
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert stored is not None
    assert (stored.tags, stored.note, stored.method, stored.reviewer_id) == (
        ["a", "b"],
        "why",
        "edit",
        world.users["rev"],
    )
    assert event is not None
    assert (event.actor, event.user_id, event.action) == (
        "rev",
        world.users["rev"],
        "resolution.create",
    )
    assert event.details == {
        "project_id": world.ids[0],
        "external_id": "p0",
        "resolution_id": resolution_id,
        "replaces": None,
        "tags": ["a", "b"],
        "method": "edit",
        "accepted_user_id": None,
        "note": "why",
    }
    item = world.item(0)
    assert item.status == "resolved"
    assert [(p.reviewer, p.how) for p in item.resolutions] == [("rev", "edited the set")]


def test_accepting_an_annotators_set_records_whose(world: World) -> None:
    resolve(
        world.make_session,
        world.users["boss"],
        world.ids[1],
        ["a", "c"],
        "",
        "annotator",
        None,
        accepted_user_id=world.users["cat"],
    )
    assert [(p.reviewer, p.how) for p in world.item(1).resolutions] == [
        ("boss", "accepted cat's set")
    ]


@pytest.mark.parametrize(
    ("tags", "method", "accepted", "reviewer", "message"),
    [
        pytest.param(["a", "zzz"], "edit", None, "rev", "unknown tag 'zzz'", id="unknown-tag"),
        pytest.param(["alpha"], "edit", None, "rev", "unknown tag 'alpha'", id="alias"),
        pytest.param(
            ["old"],
            "edit",
            None,
            "rev",
            "tag 'old' is retired; resolutions use active tags only",
            id="retired-tag",
        ),
        pytest.param(
            ["a"],
            "vote",
            None,
            "rev",
            "unknown method 'vote'; choose one of: majority, annotator, edit",
            id="unknown-method",
        ),
        pytest.param(
            ["a"],
            "annotator",
            None,
            "rev",
            "name the annotator whose set is accepted, and only with 'annotator'",
            id="annotator-unnamed",
        ),
        pytest.param(
            ["a"],
            "annotator",
            "cat",
            "rev",
            "user id {cat} has no current judgement of this project",
            id="annotator-did-not-judge",
        ),
        pytest.param(
            [],
            "edit",
            None,
            "rev",
            'No tags chosen: tick "No tag applies" to resolve as no tags, or add a tag. '
            "Nothing was saved.",
            id="empty-without-no-tag-applies",
        ),
        pytest.param(
            [],
            "majority",
            None,
            "rev",
            'No tags chosen: tick "No tag applies" to resolve as no tags, or add a tag. '
            "Nothing was saved.",
            id="empty-majority",
        ),
        pytest.param(
            ["a"], "edit", None, "man", "man (manager) may not resolve conflicts", id="manager"
        ),
        pytest.param(
            ["a"], "edit", None, "ann", "ann (annotator) may not resolve conflicts", id="annotator"
        ),
    ],
)
def test_bad_resolutions_are_refused_and_write_nothing(
    world: World,
    tags: list[str],
    method: str,
    accepted: str | None,
    reviewer: str,
    message: str,
) -> None:
    before = world.counts()
    with pytest.raises(ValueError) as error:
        resolve(
            world.make_session,
            world.users[reviewer],
            world.ids[0],
            tags,
            "",
            method,
            None,
            accepted_user_id=world.users[accepted] if accepted else None,
        )
    assert str(error.value) == message.format(cat=world.users["cat"])
    assert world.counts() == before


def test_resolving_an_unknown_project_is_refused(world: World) -> None:
    with pytest.raises(ValueError) as error:
        resolve(world.make_session, world.users["rev"], 999_999, ["a"], "", "edit", None)
    assert str(error.value) == "unknown project id 999999"


def test_another_reviewers_resolution_is_never_overwritten(world: World) -> None:
    seen = world.item(0).latest_resolution_id
    first = resolve(world.make_session, world.users["rev"], world.ids[0], ["a"], "", "edit", seen)
    before = world.counts()
    with pytest.raises(ResolutionConflict) as error:
        resolve(world.make_session, world.users["rev2"], world.ids[0], ["b"], "", "edit", seen)
    with world.make_session() as session:
        resolved_at = session.get(Resolution, first).created_at
    assert error.value.reviewer == "rev"
    assert error.value.resolved_at == resolved_at
    assert str(error.value) == (
        f"rev resolved this project at {resolved_at:%Y-%m-%d %H:%M:%S} UTC (tags: a) while "
        "you were looking at it. Your decision was not saved; the current state is shown."
    )
    assert world.counts() == before
    fresh = world.item(0)
    assert fresh.latest_resolution_id == first
    second = resolve(
        world.make_session, world.users["rev2"], world.ids[0], ["b"], "", "edit", first
    )
    assert [p.id for p in world.item(0).resolutions] == [second, first]


def test_a_double_click_saves_one_resolution(world: World) -> None:
    args = (world.make_session, world.users["rev"], world.ids[0], ["a"], "ok", "majority", None)
    first = resolve(*args)
    before = world.counts()
    assert resolve(*args) == first
    assert world.counts() == before


def test_the_same_reviewer_deciding_differently_on_a_stale_view_is_a_conflict(
    world: World,
) -> None:
    resolve(world.make_session, world.users["rev"], world.ids[0], ["a"], "", "edit", None)
    with pytest.raises(ResolutionConflict):
        resolve(world.make_session, world.users["rev"], world.ids[0], ["b"], "", "edit", None)


def test_expecting_a_resolution_the_project_does_not_have_is_refused(world: World) -> None:
    with pytest.raises(ValueError) as error:
        resolve(world.make_session, world.users["rev"], world.ids[0], ["a"], "", "edit", 12345)
    assert str(error.value) == f"project {world.ids[0]} has no resolution 12345 to replace"


def test_two_reviewers_deciding_at_once_save_exactly_one(world: World) -> None:
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def decide(reviewer: str, tags: list[str]) -> None:
        start.wait()
        try:
            outcomes[reviewer] = resolve(
                world.make_session, world.users[reviewer], world.ids[2], tags, "", "edit", None
            )
        except ResolutionConflict as conflict:
            outcomes[reviewer] = conflict

    threads = [
        threading.Thread(target=decide, args=("rev", ["c"])),
        threading.Thread(target=decide, args=("rev2", ["d"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = [o for o in outcomes.values() if isinstance(o, int)]
    refused = [o for o in outcomes.values() if isinstance(o, ResolutionConflict)]
    assert len(saved) == 1 and len(refused) == 1
    assert [p.id for p in world.item(2).resolutions] == saved


def test_resolving_a_reopened_project_closes_it(world: World) -> None:
    item = world.item(3)
    resolve(
        world.make_session,
        world.users["rev"],
        world.ids[3],
        ["b"],
        "bob was right",
        "annotator",
        item.latest_resolution_id,
        accepted_user_id=world.users["bob"],
    )
    assert world.item(3).status == "resolved"
    assert "p3" not in world.queue()


# --- the resolution is the effective label ---------------------------------------------------


def _exported(make_session: SessionFactory, status: str | None = None) -> dict[str, dict]:
    with make_session() as session:
        return {row["id"]: row for row in io.export_rows(session, True, status)}


def test_resolution_is_exported_and_trained_on(world: World) -> None:
    resolve(world.make_session, world.users["rev"], world.ids[0], ["b", "c"], "", "edit", None)
    row = _exported(world.make_session)["p0"]
    assert (row["status"], row["tags"], row["label_source"]) == ("resolved", ["b", "c"], "resolved")
    assert sorted(_exported(world.make_session, "resolved")) == ["p0", "p6"]
    reopened = _exported(world.make_session, "reopened")
    assert list(reopened) == ["p3"]
    assert (reopened["p3"]["tags"], reopened["p3"]["label_source"]) == (["a"], "resolved")
    with world.make_session() as session:
        corpus = load_corpus(session, trust_source_tags=True, title_repeats=1)
    labels = dict(zip(corpus.ids, corpus.labels, strict=True))
    assert labels[world.ids[0]] == frozenset({"b", "c"})
    assert labels[world.ids[3]] == frozenset({"a"})


def test_export_cli_shows_the_resolution(world: World, cli_env: Settings) -> None:
    resolve(world.make_session, world.users["rev"], world.ids[2], ["d"], "", "majority", None)
    out = stdio.StringIO()
    assert main(["export", "--status", "resolved", "--format", "jsonl"], out=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["id"], r["tags"], r["label_source"]) for r in rows] == [
        ("p2", ["d"], "resolved"),
        ("p6", ["a", "b"], "resolved"),
    ]


# --- small helpers the page relies on ----------------------------------------------------------


def _row(project_id: int, status: str = "conflict") -> QueueRow:
    return QueueRow(project_id, f"p{project_id}", "t", status, ("a",), ("ann",), at(0), None)


def test_queue_summary_counts_and_plurals() -> None:
    whole = [_row(1), _row(2, "reopened"), _row(3)]
    assert review_queue.queue_summary(whole[:1], whole) == (
        "1 of 3 projects to review (2 conflicts, 1 reopened after a resolution)."
    )
    assert review_queue.queue_summary(whole[:1], whole[:1]) == (
        "1 of 1 project to review (1 conflict, 0 reopened after a resolution)."
    )


@pytest.mark.parametrize(
    ("queue", "current", "expected"),
    [
        pytest.param([1, 2, 3], 1, 2, id="the-one-below"),
        pytest.param([1, 2, 3], 3, 1, id="wraps-round"),
        pytest.param([1, 2, 3], 9, 1, id="gone-from-the-queue"),
        pytest.param([1], 1, None, id="nothing-else"),
        pytest.param([], None, None, id="empty"),
    ],
)
def test_next_project(queue: list[int], current: int | None, expected: int | None) -> None:
    assert review.next_project(queue, current) == expected


def test_an_unchanged_edit_box_is_accepting_the_majority() -> None:
    assert review.method_for_edit(["b", "a"], ("a", "b")) == "majority"
    assert review.method_for_edit(["a"], ("a", "b")) == "edit"
    assert review.method_for_edit([], ()) == "edit"  # an empty majority is no majority


def test_an_empty_resolution_with_no_tag_applies_is_stored(world: World) -> None:
    resolution_id = resolve(
        world.make_session,
        world.users["rev"],
        world.ids[0],
        [],
        "",
        "edit",
        None,
        no_tag_applies=True,
    )
    with world.make_session() as session:
        assert session.get(Resolution, resolution_id).tags == []
    with pytest.raises(ValueError) as error:
        resolve(
            world.make_session,
            world.users["rev"],
            world.ids[1],
            ["a"],
            "",
            "edit",
            None,
            no_tag_applies=True,
        )
    assert str(error.value) == (
        '"No tag applies" is ticked but tags are chosen (a): untick it or remove the tags. '
        "Nothing was saved."
    )


def test_majority_unavailable_says_why_only_when_the_majority_is_empty() -> None:
    assert review.majority_unavailable(("a",)) is None
    assert review.majority_unavailable(()) == (
        "Accept majority is off: no tag was chosen by more than half of the annotators. "
        'Pick the final tags, or tick "No tag applies" to resolve as no tags.'
    )


def test_queue_and_history_tables(world: World) -> None:
    resolve(
        world.make_session,
        world.users["rev2"],
        world.ids[3],
        ["b"],
        "ok",
        "edit",
        world.item(3).latest_resolution_id,
    )
    assert review.history_table(world.item(3))[0] | {"when": None} == {
        "when": None,
        "reviewer": "rev2",
        "decision": "edited the set",
        "tags": "b",
        "note": "ok",
    }
    with world.make_session() as session:
        table = review_queue.queue_table(conflict_queue(session, order="oldest"))
    assert table[0] == {
        "project": "p2",
        "title": "Project 2",
        "status": "conflict",
        "disputed tags": "c, d",
        "annotators": "ann, cat",
        "since": at(3),
        "model uncertainty": None,
    }
