"""The Tags page (admin): overview, a suggested merge in one click, identifiers discarded in one
step, an action refused with its reason, history with undo; other roles are refused."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import SourceTag, Tag, TagAlias
from db.session import SessionFactory
from labeling import io
from labeling.text import escape_markdown

PROJECTS = [
    {"id": 1, "title": "a", "tags": ["yolov4"]},
    {"id": 2, "title": "b", "tags": ["yolov4"]},
    {"id": 3, "title": "c", "tags": ["yolo-v4", "arxiv:2005.10872"]},
]


def seed(make_session: SessionFactory) -> None:
    projects = io.parse_projects(json.dumps(PROJECTS).encode(), "p.json")
    taxonomy = io.parse_taxonomy(json.dumps({"yolov4": {}}).encode(), "t.json")
    with make_session.begin() as session:
        io.import_catalogue(
            session, projects, "p.json", "json", unknown_tags="candidate", taxonomy=taxonomy
        )


def test_admin_merges_a_suggestion_discards_identifiers_and_undoes(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    seed(with_users)
    at = app_as("admin")
    at.switch_page("pages/tags.py").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric} == {
        "Tags": "1",
        "Candidates": "2",
        "Merge suggestions": "1",
        "Identifier candidates": "1",
    }
    assert at.text[0].value.startswith("yolo-v4 → yolov4  (candidate, 1 projects, score 1.00)")
    next(b for b in at.button if b.label == "Merge").click().run()
    assert at.success[0].value == "merged yolo\\-v4 into yolov4; a retrain is queued"
    with with_users() as session:
        assert session.scalar(select(TagAlias.tag_id).where(TagAlias.alias == "yolo-v4"))
        assert session.scalar(select(Tag.id).where(Tag.name == "yolo-v4")) is None
    next(b for b in at.button if b.label.startswith("Discard all 1 identifier")).click().run()
    assert at.success[0].value == "Discarded 1 identifier candidates\\."
    with with_users() as session:
        assert [n for n in session.scalars(select(Tag.name))] == ["yolov4"]
        assert len(session.scalars(select(SourceTag)).all()) == 3

    at.selectbox(key="history_tag").select("yolov4").run()
    assert at.dataframe[-1].value["what"].tolist() == ["merged yolo-v4 into yolov4 (1 projects)"]
    next(b for b in at.button if b.label == "Undo this event").click().run()
    with with_users() as session:
        assert session.scalar(select(Tag.candidate).where(Tag.name == "yolo-v4")) is True


def test_refused_action_shows_its_reason(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    seed(with_users)
    at = app_as("admin")
    at.switch_page("pages/tags.py").run()
    at.selectbox(key="tag_action_name").select("merge")
    at.selectbox(key="tag_action_first").select("yolov4")
    at.text_input(key="tag_action_second").input("yolo-v4")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert at.error[0].value == escape_markdown(
        "cannot merge into 'yolo-v4': it is a candidate tag; promote it first"
    )


def test_reviewer_is_refused(with_users: SessionFactory, app_as: Callable[[str], AppTest]) -> None:
    at = app_as("reviewer")
    at.switch_page("pages/tags.py").run()
    assert at.error[0].value == "Not allowed: the Tags page is not open to the reviewer role."


def test_admin_adds_the_parents_the_taxonomy_implies_in_one_click(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    projects = [
        {"id": 1, "title": "a", "tags": ["yolo"]},
        {"id": 2, "title": "b", "tags": ["detection"]},
        {"id": 3, "title": "c", "tags": ["detection", "cv"]},
    ]
    taxonomy = {"cv": {}, "detection": {"parents": ["cv"]}, "yolo": {"parents": ["detection"]}}
    with with_users.begin() as session:
        io.import_catalogue(
            session,
            io.parse_projects(json.dumps(projects).encode(), "p.json"),
            "p.json",
            "json",
            taxonomy=io.parse_taxonomy(json.dumps(taxonomy).encode(), "t.json"),
        )
    at = app_as("admin")
    at.switch_page("pages/tags.py").run()
    assert not at.exception, at.exception
    assert any(
        c.value.startswith("2 projects lack a parent their own tags imply") for c in at.caption
    )
    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {"parent": "cv", "projects lacking it": 2, "left to annotators (implying tag doubted)": 0},
        {
            "parent": "detection",
            "projects lacking it": 1,
            "left to annotators (implying tag doubted)": 0,
        },
    ]
    next(b for b in at.button if b.label == "Add 3 implied parent tags to 2 projects").click().run()
    assert at.success[0].value == (
        "Added 3 implied parent tags to 2 projects; a retrain is queued\\."
    )
    with with_users() as session:
        links = session.execute(
            select(SourceTag.project_id, Tag.name).join(Tag, Tag.id == SourceTag.tag_id)
        ).all()
    assert len(links) == 7  # 4 imported + cv and detection on 1, cv on 2
    assert "Every project carries the parents its tags imply." in [i.value for i in at.info]
