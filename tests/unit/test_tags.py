"""Tag curation: every action, its exact errors, its audit event, and its inverse action,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from db.models import (
    Annotation,
    AuditEvent,
    ModelVersion,
    Project,
    Resolution,
    SourceTag,
    Tag,
    TagAlias,
    TagParent,
    User,
)
from db.session import SessionFactory
from labeling import io, tag_history, tag_overview, tags
from labeling.annotations import all_label_states

TAXONOMY = {
    "computer-vision": {"aliases": ["cv"]},
    "object-detection": {"parents": ["computer-vision"]},
    "yolov4": {"aliases": ["yolo4"], "parents": ["object-detection"]},
    "tracking": {"parents": ["yolov4"]},
    "natural-language-processing": {},
}
PROJECTS = [
    {"id": 1, "title": "a", "tags": ["yolov4", "computer-vision"]},
    {"id": 2, "title": "b", "tags": ["yolo-v4"]},
    {"id": 3, "title": "c", "tags": ["yolo-v4", "yolov4"]},
    {"id": 4, "title": "d", "tags": ["natural-language-processing", "arxiv:2005.10872"]},
]


@pytest.fixture
def catalogue(make_session: SessionFactory) -> SessionFactory:
    projects = io.parse_projects(json.dumps(PROJECTS).encode(), "p.json")
    taxonomy = io.parse_taxonomy(json.dumps(TAXONOMY).encode(), "t.json")
    with make_session.begin() as session:
        io.import_catalogue(
            session, projects, "p.json", "json", unknown_tags="candidate", taxonomy=taxonomy
        )
        user = User(username="ann", password_hash="x", role="annotator")
        session.add(user)
        session.flush()
        project_2 = session.scalar(select(Project.id).where(Project.external_id == "2"))
        session.add(
            Annotation(
                project_id=project_2,
                user_id=user.id,
                tags=["yolo-v4", "tracking"],
                shown_tags=["yolo-v4"],
                added=["tracking"],
                removed=[],
            )
        )
        session.add(Resolution(project_id=project_2, reviewer_id=user.id, tags=["yolo-v4"]))
    return make_session


def snapshot(make_session: SessionFactory) -> dict[str, Any]:
    with make_session() as session:
        names = dict(session.execute(select(Tag.id, Tag.name)).all())
        return {
            "tags": sorted(session.execute(select(Tag.name, Tag.active, Tag.candidate)).all()),
            "aliases": sorted(
                (a, names[t]) for a, t in session.execute(select(TagAlias.alias, TagAlias.tag_id))
            ),
            "parents": sorted(
                (names[t], names[p])
                for t, p in session.execute(select(TagParent.tag_id, TagParent.parent_id))
            ),
            "source": sorted(
                (p, names[t])
                for p, t in session.execute(select(SourceTag.project_id, SourceTag.tag_id))
            ),
            "annotations": [
                (a.tags, a.shown_tags, a.added, a.removed)
                for a in session.scalars(select(Annotation).order_by(Annotation.id))
            ],
            "resolutions": list(session.scalars(select(Resolution.tags))),
        }


def act(make_session: SessionFactory, action: Any, *args: Any) -> Any:
    with make_session.begin() as session:
        return action(session, None, *args)


def error_of(make_session: SessionFactory, action: Any, *args: Any) -> str:
    before = snapshot(make_session)
    with pytest.raises(tags.TagError) as caught, make_session.begin() as session:
        action(session, None, *args)
    assert snapshot(make_session) == before
    return str(caught.value)


def exported_tags(make_session: SessionFactory) -> dict[Any, list[str]]:
    with make_session() as session:
        return {row["id"]: row["tags"] for row in io.export_rows(session, True)}


def test_merge_reaches_source_tags_judgements_resolutions_and_export(
    catalogue: SessionFactory,
) -> None:
    assert exported_tags(catalogue) == {
        1: ["computer-vision", "yolov4"],
        2: ["yolo-v4"],
        3: ["yolov4"],
        4: ["natural-language-processing"],
    }  # project 2's resolution names yolo-v4, a candidate: judgements are kept as given
    act(catalogue, tags.promote, "yolo-v4")
    details = act(catalogue, tags.merge, "yolo-v4", "yolov4")
    assert (details["projects_moved"], details["projects_with_both"]) == ([2], [3])
    state = snapshot(catalogue)
    assert ("yolo-v4", "yolov4") in state["aliases"]
    assert [name for name, *_ in state["tags"]].count("yolo-v4") == 0
    assert [(p, t) for p, t in state["source"] if t == "yolov4"] == [
        (1, "yolov4"),
        (2, "yolov4"),
        (3, "yolov4"),
    ]
    assert state["annotations"] == [(["yolov4", "tracking"], ["yolov4"], ["tracking"], [])]
    assert state["resolutions"] == [["yolov4"]]
    assert exported_tags(catalogue)[2] == ["yolov4"]
    with catalogue() as session:
        assert session.scalar(select(ModelVersion.status)) == "queued"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "tag.merge")).one()
        assert event.details["retrain"] == session.scalar(select(ModelVersion.id))
        assert [e.summary for e in tag_history.tag_history(session, "yolov4")] == [
            "merged yolo-v4 into yolov4 (2 projects)"
        ]
        states = all_label_states(session, trust_source_tags=True)
        assert {s.tags for s in states.values()} >= {("yolov4",), ("computer-vision", "yolov4")}


def test_undoing_a_merge_puts_every_row_back(catalogue: SessionFactory) -> None:
    act(catalogue, tags.promote, "yolo-v4")
    act(catalogue, tags.set_parent, "yolo-v4", "object-detection")
    act(catalogue, tags.add_alias, "yolo-v4", "yolo-4")
    before = snapshot(catalogue)
    act(catalogue, tags.merge, "yolo-v4", "yolov4")
    assert snapshot(catalogue) != before
    with catalogue() as session:
        event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "tag.merge"))
    assert (
        act(catalogue, tag_history.undo, event_id)
        == "undid: merged yolo-v4 into yolov4 (2 projects)"
    )
    assert snapshot(catalogue) == before


def test_merging_a_tag_with_children_and_aliases_moves_them_to_the_target(
    catalogue: SessionFactory,
) -> None:
    before = snapshot(catalogue)
    act(catalogue, tags.merge, "yolov4", "object-detection")
    state = snapshot(catalogue)
    assert ("tracking", "object-detection") in state["parents"]
    assert {("yolo4", "object-detection"), ("yolov4", "object-detection")} <= set(state["aliases"])
    with catalogue() as session:
        event_id = session.scalar(select(AuditEvent.id).where(AuditEvent.action == "tag.merge"))
    act(catalogue, tag_history.undo, event_id)
    assert snapshot(catalogue) == before


@pytest.mark.parametrize(
    ("action", "args", "message"),
    [
        (tags.merge, ("yolov4", "yolov4"), "cannot merge 'yolov4' into itself"),
        (
            tags.merge,
            ("yolov4", "yolo-v4"),
            "cannot merge into 'yolo-v4': it is a candidate tag; promote it first",
        ),
        (tags.merge, ("nope", "yolov4"), "no tag named 'nope'"),
        (tags.merge, ("cv", "yolov4"), "'cv' is an alias of 'computer-vision', not a tag"),
        (
            tags.set_parent,
            ("computer-vision", "tracking"),
            "'tracking' cannot be a parent of 'computer-vision': computer-vision -> tracking "
            "-> yolov4 -> object-detection -> computer-vision",
        ),
        (
            tags.add_alias,
            ("yolov4", "tracking"),
            "'tracking' is the name of another tag; merge 'tracking' into 'yolov4' instead",
        ),
        (tags.add_alias, ("yolov4", "cv"), "'cv' is already an alias of 'computer-vision'"),
        (tags.create_tag, ("Computer Vision",), "'computer-vision' is already a tag"),
        (tags.rename_tag, ("yolov4", "CV"), "'cv' is already an alias of 'computer-vision'"),
        (tags.promote, ("yolov4",), "'yolov4' is not a candidate tag"),
        (tags.discard, ("yolov4",), "'yolov4' is not a candidate tag; deactivate it instead"),
        (tags.remove_alias, ("zzz",), "no alias 'zzz'"),
    ],
)
def test_refused_actions_say_why_and_change_nothing(
    catalogue: SessionFactory, action: Any, args: tuple[str, ...], message: str
) -> None:
    assert error_of(catalogue, action, *args) == message


def test_every_action_is_undone_by_its_inverse(catalogue: SessionFactory) -> None:
    steps = [
        (tags.create_tag, ("speech",)),
        (tags.rename_tag, ("yolov4", "yolo-v-four")),
        (tags.add_alias, ("tracking", "mot")),
        (tags.remove_alias, ("cv",)),
        (tags.set_parent, ("natural-language-processing", "computer-vision")),
        (tags.remove_parent, ("tracking", "yolov4")),
        (tags.set_active, ("tracking", False)),
        (tags.promote, ("yolo-v4",)),
        (tags.discard, ("arxiv:2005.10872",)),
    ]
    for action, args in steps:
        before = snapshot(catalogue)
        act(catalogue, action, *args)
        assert snapshot(catalogue) != before, action.__name__
        with catalogue() as session:
            event_id = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
        act(catalogue, tag_history.undo, event_id)
        assert snapshot(catalogue) == before, action.__name__


def test_overview_counts_tags_and_candidates(catalogue: SessionFactory) -> None:
    with catalogue() as session:
        rows = {row.name: row for row in tag_overview.tag_overview(session, trust_source_tags=True)}
    assert rows["yolo-v4"].to_dict() == {
        "name": "yolo-v4",
        "kind": "candidate",
        "active": False,
        "aliases": [],
        "parents": [],
        "source": 2,
        "effective": 0,
        "predicted": 0,
    }
    assert (rows["yolov4"].source, rows["yolov4"].aliases, rows["yolov4"].parents) == (
        2,
        ("yolo4",),
        ("object-detection",),
    )
    assert [r.name for r in tag_overview.filter_overview(rows.values(), "YOLO")] == [
        "yolo-v4",
        "yolov4",
    ]
    assert [r.name for r in tag_overview.filter_overview(rows.values(), kind="candidate")] == [
        "arxiv:2005.10872",
        "yolo-v4",
    ]


def test_a_merge_reaches_every_place_a_label_is_read(catalogue: SessionFactory) -> None:
    """Source tags, effective labels, export, the next training's labels and the Insights
    counts all name the target after a merge, and none names the merged tag."""
    from labeling.corpus import load_corpus
    from labeling.insights import label_summary

    act(catalogue, tags.promote, "yolo-v4")
    with catalogue() as session:
        before = label_summary(session, trust_source_tags=True)
    assert (before.source_per_tag["yolo-v4"], before.source_per_tag["yolov4"]) == (2, 2)
    act(catalogue, tags.merge, "yolo-v4", "yolov4")
    with catalogue() as session:
        summary = label_summary(session, trust_source_tags=True)
        corpus = load_corpus(session, trust_source_tags=True, title_repeats=1)
        states = all_label_states(session, trust_source_tags=True)
        exported = io.export_rows(session, trust_source_tags=True)
        source_names = set(
            session.scalars(select(Tag.name).join(SourceTag, SourceTag.tag_id == Tag.id))
        )
    assert "yolo-v4" not in source_names
    # projects 1, 2 (its resolution) and 3 carry yolov4; none carries yolo-v4 anywhere
    assert (summary.source_per_tag["yolov4"], summary.effective_per_tag["yolov4"]) == (3, 3)
    assert "yolo-v4" not in summary.source_per_tag and "yolo-v4" not in summary.effective_per_tag
    training = [labels for labels in corpus.labels if labels is not None]
    assert sum("yolov4" in labels for labels in training) == 3
    assert not any("yolo-v4" in labels for labels in training)
    assert sum("yolov4" in state.tags for state in states.values()) == 3
    assert [row["tags"] for row in exported] == [
        ["computer-vision", "yolov4"],
        ["yolov4"],
        ["yolov4"],
        ["natural-language-processing"],
    ]
