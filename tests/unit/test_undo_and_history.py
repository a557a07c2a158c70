"""Undo that undoes, the overlap seat of a submit whose lease ran out, the Annotate counters
and My history, against a real (migrated) database.

Every catalogue is built row by row, so each expected project, row and message is known."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from db.models import Annotation, Lease, Project, SourceTag, Tag, User, utcnow
from db.session import SessionFactory
from labeling.annotate import filter_history, history, history_table, progress
from labeling.annotations import EmptyLabelRefused, latest_judgements
from labeling.judgements import ReservationLost, skip, submit
from labeling.serving import serve_next
from labeling.undo import Undone, last_undoable, undo_last

POLICY = SimpleNamespace(overlap_share=1.0, overlap_k=2, lease_minutes=10)


@dataclass
class Catalogue:
    users: dict[str, int]
    projects: dict[str, int]


def _catalogue(make_session: SessionFactory, n_projects: int = 2) -> Catalogue:
    """Projects p0..p{n-1}, no model (stable pseudo-random order); p0 carries source tag nlp."""
    with make_session.begin() as session:
        people = [User(username=n, password_hash="x", role="annotator") for n in "abcd"]
        tags = {name: Tag(name=name) for name in ("nlp", "pytorch", "vision")}
        session.add_all([*people, *tags.values()])
        projects = [
            Project(external_id=f"p{i}", title=f"Title {i}", description="", split="train")
            for i in range(n_projects)
        ]
        session.add_all(projects)
        session.flush()
        session.add(SourceTag(project_id=projects[0].id, tag_id=tags["nlp"].id))
        return Catalogue(
            {u.username: u.id for u in people}, {p.external_id: p.id for p in projects}
        )


def _rows(make_session: SessionFactory) -> list[tuple[int, list[str], bool, str | None]]:
    with make_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Annotation.project_id,
                    Annotation.tags,
                    Annotation.skipped,
                    Annotation.skip_reason,
                ).order_by(Annotation.id)
            )
        ]


def _leases(make_session: SessionFactory) -> list[tuple[int, int]]:
    with make_session() as session:
        return [tuple(r) for r in session.execute(select(Lease.project_id, Lease.user_id))]


# --- undo ------------------------------------------------------------------------------------


def test_undo_of_a_first_judgement_brings_the_project_back_and_serves_it_again(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session)
    a = cat.users["a"]
    first = serve_next(make_session, a, POLICY)
    assert first is not None
    judged = submit(make_session, a, first.project_id, ["pytorch"], ["nlp"], None, 3.0, "k1")
    second = serve_next(make_session, a, POLICY)
    assert second is not None and second.project_id != first.project_id

    undone = undo_last(make_session, a, POLICY, target_id=judged)

    assert undone == Undone(
        undone.annotation_id, judged, first.project_id, first.title, True, ("nlp",)
    )
    with make_session() as session:
        row = session.get(Annotation, undone.annotation_id)
        assert (row.undoes_id, row.skipped, row.skip_reason, row.tags) == (
            judged,
            True,
            "undone",
            [],
        )
        assert latest_judgements(session) == {}
        assert last_undoable(session, a) is None  # an undo is never undone
    # the undone project is leased back (on screen); the one that was showing is released
    assert _leases(make_session) == [(first.project_id, a)]
    again = serve_next(make_session, a, POLICY)
    assert again is not None and again.project_id == first.project_id
    # and once the lease is gone it is still served again, not excluded as judged
    later = utcnow() + timedelta(minutes=30)
    assert serve_next(make_session, a, POLICY, later).project_id == first.project_id


def test_a_second_undo_never_reapplies_the_undone_judgement(
    make_session: SessionFactory,
) -> None:
    """Issue 18 item 7: Submit, Undo, Undo gave "9 tags, skip, 9 tags again"."""
    cat = _catalogue(make_session)
    a, p0, p1 = cat.users["a"], cat.projects["p0"], cat.projects["p1"]
    submit(make_session, a, p0, ["nlp", "pytorch", "vision"], [], None, 1.0, "k0")
    submit(make_session, a, p1, ["vision"], [], None, 1.0, "k1")
    first = undo_last(make_session, a)
    second = undo_last(make_session, a)
    # the rows first: on the old code the second undo re-applied p1's ["vision"]
    assert _rows(make_session) == [
        (p0, ["nlp", "pytorch", "vision"], False, None),
        (p1, ["vision"], False, None),
        (p1, [], True, "undone"),
        (p0, [], True, "undone"),
    ]
    assert undo_last(make_session, a) is None
    assert (first.project_id, first.withdrawn) == (p1, True)
    assert (second.project_id, second.withdrawn) == (p0, True)
    with make_session() as session:
        assert latest_judgements(session) == {}
    # the last undo leased its project back; the first one's project is served again later
    assert _leases(make_session) == [(p0, a)]


def test_the_same_undo_offer_twice_undoes_once_and_a_stale_offer_is_refused(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session)
    a, p0, p1 = cat.users["a"], cat.projects["p0"], cat.projects["p1"]
    older = submit(make_session, a, p0, ["nlp"], [], None, 1.0, "k0")
    newer = submit(make_session, a, p1, ["vision"], [], None, 1.0, "k1")
    once = undo_last(make_session, a, POLICY, target_id=newer)
    assert undo_last(make_session, a, POLICY, target_id=newer) == once  # a double click
    assert len(_rows(make_session)) == 3
    submit(make_session, a, p1, ["pytorch"], [], None, 1.0, "k2")
    with pytest.raises(ValueError) as error:
        undo_last(make_session, a, POLICY, target_id=older)
    assert str(error.value) == (
        "Not undone: your latest judgement changed since this page was drawn (another tab?). "
        "Press Undo again to take back the latest one."
    )
    assert len(_rows(make_session)) == 4


def test_undo_of_a_change_of_mind_restores_the_earlier_judgement(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session)
    a, p0 = cat.users["a"], cat.projects["p0"]
    submit(make_session, a, p0, ["vision"], ["nlp"], None, 1.0, "v1")
    submit(make_session, a, p0, ["pytorch"], ["vision"], None, 2.0, "v2")
    undone = undo_last(make_session, a, POLICY)
    assert undone.withdrawn is False
    with make_session() as session:
        restored = session.get(Annotation, undone.annotation_id)
        assert (restored.tags, restored.shown_tags, restored.added, restored.removed) == (
            ["vision"],
            ["nlp"],
            ["vision"],
            ["nlp"],
        )
        assert latest_judgements(session) == {p0: {a: frozenset({"vision"})}}
    assert _leases(make_session) == []  # nothing to bring back on screen
    # the next undo takes back the first judgement (v1), not the undo
    assert undo_last(make_session, a, POLICY).withdrawn is True
    with make_session() as session:
        assert latest_judgements(session) == {}


def test_undo_of_a_skip_serves_it_again_with_the_tags_that_were_shown(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 1)
    a, p0 = cat.users["a"], cat.projects["p0"]
    skip(make_session, a, p0, "unclear", None, "s1", shown_tags=["nlp", "vision"])
    assert serve_next(make_session, a, POLICY) is None
    undone = undo_last(make_session, a, POLICY)
    assert (undone.withdrawn, undone.shown_tags, undone.skipped) == (True, ("nlp", "vision"), True)
    assert serve_next(make_session, a, POLICY).project_id == p0


def test_a_judgement_after_an_undo_can_be_undone_again(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 1)
    a, p0 = cat.users["a"], cat.projects["p0"]
    submit(make_session, a, p0, ["nlp"], [], None, 1.0, "k0")
    undo_last(make_session, a, POLICY)
    submit(make_session, a, p0, ["vision"], [], None, 1.0, "k1")
    assert undo_last(make_session, a, POLICY).withdrawn is True
    assert undo_last(make_session, a, POLICY) is None
    with make_session() as session:
        assert latest_judgements(session) == {}


# --- a submit whose lease is gone (issue 18 item 5) ------------------------------------------


def test_a_stale_tab_cannot_push_a_project_past_the_overlap_cap(
    make_session: SessionFactory,
) -> None:
    """A's lease runs out, B and C are served the project and submit; A's old tab submits:
    refused, nothing written, and the project stays at k = 2 annotators."""
    cat = _catalogue(make_session, 1)
    a, b, c, p0 = cat.users["a"], cat.users["b"], cat.users["c"], cat.projects["p0"]
    start = utcnow()
    assert serve_next(make_session, a, POLICY, start).project_id == p0
    later = start + timedelta(minutes=11)
    for user in (b, c):
        assert serve_next(make_session, user, POLICY, later).project_id == p0
        submit(make_session, user, p0, ["nlp"], [], None, 1.0, f"k{user}", now=later)
    with pytest.raises(ReservationLost) as error:
        submit(make_session, a, p0, ["vision"], [], None, 1.0, "ka", settings_like=POLICY)
    assert str(error.value) == (
        "Not saved: this project was reserved for you for 10 minutes and the reservation ran "
        "out; since then 2 other annotators judged it. One project gets at most 2 annotators "
        "(LABELLOOP_OVERLAP_K), so your judgement would be one too many."
    )
    with make_session() as session:
        judges = session.scalar(select(func.count(Annotation.user_id.distinct())))
    assert judges == 2


def test_a_stale_submit_counts_within_the_cap_when_a_seat_is_free(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 1)
    a, b, c, p0 = cat.users["a"], cat.users["b"], cat.users["c"], cat.projects["p0"]
    start = utcnow()
    serve_next(make_session, a, POLICY, start)
    later = start + timedelta(minutes=11)
    serve_next(make_session, b, POLICY, later)
    submit(make_session, b, p0, ["nlp"], [], None, 1.0, "kb", now=later)
    # one other judge: A's late judgement is the second, within k = 2
    submit(make_session, a, p0, ["vision"], [], None, 1.0, "ka", now=later)
    assert len(_rows(make_session)) == 2
    # a third person's stale submit is refused, and so is one while a seat is leased
    with pytest.raises(ReservationLost):
        submit(make_session, c, p0, ["nlp"], [], None, 1.0, "kc", now=later)


def test_a_live_lease_of_someone_else_takes_a_seat(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 1)
    a, b, c, p0 = cat.users["a"], cat.users["b"], cat.users["c"], cat.projects["p0"]
    start = utcnow()
    serve_next(make_session, a, POLICY, start)
    submit(make_session, a, p0, ["nlp"], [], None, 1.0, "ka", now=start)
    serve_next(make_session, b, POLICY, start)  # b holds the second seat
    with pytest.raises(ReservationLost) as error:
        submit(make_session, c, p0, ["nlp"], [], None, 1.0, "kc", now=start)
    assert "since then 1 other annotator judged it and 1 is judging it now." in str(error.value)
    # a change of mind of someone already counted adds nobody
    submit(make_session, a, p0, ["vision"], [], None, 1.0, "ka2", now=start)
    assert len(_rows(make_session)) == 2


# --- empty labels ----------------------------------------------------------------------------


def test_an_empty_submit_needs_no_tag_applies_and_is_stored_as_such(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 1)
    a, p0 = cat.users["a"], cat.projects["p0"]
    with pytest.raises(EmptyLabelRefused) as error:
        submit(make_session, a, p0, [], ["nlp"], None, 1.0, "k")
    assert str(error.value) == (
        'No tags chosen: tick "No tag applies" to submit an empty judgement, or add a tag. '
        "Nothing was saved."
    )
    with pytest.raises(EmptyLabelRefused):
        submit(make_session, a, p0, ["nlp"], ["nlp"], None, 1.0, "k", no_tag_applies=True)
    assert _rows(make_session) == []
    submit(make_session, a, p0, [], ["nlp"], None, 1.0, "k", no_tag_applies=True)
    with make_session() as session:
        row = session.scalar(select(Annotation))
        assert (row.tags, row.removed, row.no_tag_applies, row.project_tags) == (
            [],
            ["nlp"],
            True,
            ["nlp"],
        )


# --- counters and My history -----------------------------------------------------------------


def test_counters_count_judgements_not_skips_or_undos(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 3)
    a, b = cat.users["a"], cat.users["b"]
    p0, p1, p2 = (cat.projects[f"p{i}"] for i in range(3))
    started = utcnow()
    submit(make_session, a, p0, ["nlp"], [], None, 1.0, "k0")
    submit(make_session, a, p1, [], [], None, 1.0, "k1", no_tag_applies=True)
    skip(make_session, a, p2, None, None, "k2")
    undo_last(make_session, a, POLICY)  # takes back the skip
    undo_last(make_session, a, POLICY)  # takes back the p1 judgement
    submit(make_session, b, p2, ["vision"], [], None, 1.0, "kb")
    with make_session() as session:
        counts = progress(session, a, since=started)
    assert (counts.judged_today, counts.skipped_today, counts.undone_today) == (1, 0, 2)
    assert (counts.judged_since, counts.judged_total) == (1, 1)
    # p0 (a) and p2 (b) are labelled; p1's only judgement was undone
    assert (counts.unjudged_projects, counts.projects) == (1, 3)


def test_history_tells_kind_status_tags_and_both_changes(make_session: SessionFactory) -> None:
    cat = _catalogue(make_session, 2)
    a, p0, p1 = cat.users["a"], cat.projects["p0"], cat.projects["p1"]
    # p0 carries nlp; the page pre-selected vision (a suggested fix) and a kept it: against
    # the pre-selection nothing changed, against the project nlp went and vision came
    first = submit(make_session, a, p0, ["vision"], ["vision"], None, 1.0, "k0")
    empty = submit(make_session, a, p1, [], ["pytorch"], None, 1.0, "k1", no_tag_applies=True)
    skip(make_session, a, p0, "unclear", None, "k2")
    undo = undo_last(make_session, a, POLICY)
    with make_session() as session:
        rows = history(session, a)
    table = [{k: v for k, v in row.items() if k != "when"} for row in history_table(rows)]
    assert table == [
        {
            "project": "p0",
            "title": "Title 0",
            "kind": "undo",
            "tags saved": "vision",
            "vs project tags": "+vision, -nlp",
            "vs pre-selected": "",
            "status": "current",
        },
        {
            "project": "p0",
            "title": "Title 0",
            "kind": "skip",
            "tags saved": "(skipped: unclear)",
            "vs project tags": "",
            "vs pre-selected": "",
            "status": "undone",
        },
        {
            "project": "p1",
            "title": "Title 1",
            "kind": "judgement",
            "tags saved": "(no tag applies)",
            "vs project tags": "",
            "vs pre-selected": "-pytorch",
            "status": "current",
        },
        {
            "project": "p0",
            "title": "Title 0",
            "kind": "judgement",
            "tags saved": "vision",
            "vs project tags": "+vision, -nlp",
            "vs pre-selected": "",
            "status": "superseded",
        },
    ]
    assert [r["annotation_id"] for r in rows] == [undo.annotation_id, undo.target_id, empty, first]
    assert [r["annotation_id"] for r in filter_history(rows, status="undone")] == [undo.target_id]
    assert [r["annotation_id"] for r in filter_history(rows, status="undo")] == [undo.annotation_id]
    assert [r["annotation_id"] for r in filter_history(rows, tag="nlp")] == [
        undo.annotation_id,
        undo.target_id,
        first,
    ]


def test_history_of_a_withdrawn_judgement_says_it_is_served_again(
    make_session: SessionFactory,
) -> None:
    cat = _catalogue(make_session, 1)
    a, p0 = cat.users["a"], cat.projects["p0"]
    submit(make_session, a, p0, ["nlp"], ["nlp"], None, 1.0, "k0")
    undo_last(make_session, a, POLICY)
    with make_session() as session:
        rows = history(session, a)
    assert [(r["kind"], r["tags saved"], r["status"]) for r in history_table(rows)] == [
        ("undo", "(withdrawn: Annotate serves it to you again)", "current"),
        ("judgement", "nlp", "undone"),
    ]


def test_two_stale_submits_at_the_same_moment_take_one_free_seat(
    make_session: SessionFactory,
) -> None:
    """One judge and one free seat: two annotators whose leases ran out submit at once. The
    seat check runs in turn with serving (BEGIN IMMEDIATE on SQLite, an advisory lock on
    PostgreSQL), so exactly one of them gets the seat, whatever the timing."""
    cat = _catalogue(make_session, 1)
    a, b, c, p0 = cat.users["a"], cat.users["b"], cat.users["c"], cat.projects["p0"]
    submit(make_session, a, p0, ["nlp"], [], None, 1.0, "ka")
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def late_submit(user: int) -> None:
        start.wait()
        try:
            submit(make_session, user, p0, ["vision"], [], None, 1.0, f"k{user}")
            outcomes[user] = "saved"
        except ReservationLost:
            outcomes[user] = "refused"

    threads = [threading.Thread(target=late_submit, args=(user,)) for user in (b, c)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["refused", "saved"]
    with make_session() as session:
        judges = session.scalar(select(func.count(Annotation.user_id.distinct())))
    assert judges == 2
