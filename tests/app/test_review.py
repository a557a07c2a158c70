"""The Review page through AppTest: who may open it, what a reviewer sees of a conflict, the
three ways to decide, and another reviewer deciding between render and click."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Annotation, ModelVersion, Prediction, Project, Resolution, User
from db.session import SessionFactory
from labeling import auth, io, review
from labeling.text import escape_markdown

# Bare URLs, www., e-mail addresses and Streamlit's icon/emoji shortcodes become links and icons
# after Markdown parsing, so backslash escapes alone do not stop them.
AUTOLINKS_AND_SHORTCODES = (
    " http://evil.example/x www.evil.example mail@evil.example :material/warning: :smile:"
)
_LIVE_LINK_OR_ICON = re.compile(r"https?://|www\.|@\w|:[\w/+-]+:", re.IGNORECASE)


def makes_link_or_icon(markdown: str) -> bool:
    """What Streamlit's renderer would still see once the backslash escapes are gone."""
    return bool(_LIVE_LINK_OR_ICON.search(markdown.replace("\\", "")))


HOSTILE = (
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) <img src=x onerror=alert(2)>"
    + AUTOLINKS_AND_SHORTCODES
)
TAXONOMY = {
    "nlp-x": {"aliases": ["nx"], "parents": []},
    "vision-x": {"aliases": [], "parents": []},
    "audio-x": {"aliases": [], "parents": []},
}
T0 = datetime(2026, 11, 1, 9, 0, 0)


def _catalogue(make_session: SessionFactory) -> dict[str, int]:
    """Two conflicts: "a" (hostile text; annotator {nlp-x} vs admin {nlp-x, vision-x}, since
    minute 2) and "b" (annotator {vision-x} vs admin {}, since minute 4); "c" is agreed."""
    projects = [
        {"id": "a", "title": HOSTILE, "description": HOSTILE, "tags": ["nlp-x"]},
        {"id": "b", "title": "Second project", "description": "about images", "tags": []},
        {"id": "c", "title": "Agreed project", "description": "", "tags": ["audio-x"]},
    ]
    with make_session.begin() as session:
        io.import_catalogue(
            session,
            io.parse_projects(json.dumps(projects).encode(), "p.json"),
            "p.json",
            "json",
            taxonomy=io.parse_taxonomy(json.dumps(TAXONOMY).encode(), "t.json"),
        )
        ids = dict(session.execute(select(Project.external_id, Project.id)).all())
        users = dict(session.execute(select(User.username, User.id)).all())
        for project, username, tags, minute in [
            ("a", "annotator", ["nlp-x"], 1),
            ("a", "admin", ["nlp-x", "vision-x"], 2),
            ("b", "annotator", ["vision-x"], 3),
            ("b", "admin", [], 4),
            ("c", "annotator", ["audio-x"], 5),
            ("c", "admin", ["audio-x"], 6),
        ]:
            session.add(
                Annotation(
                    project_id=ids[project],
                    user_id=users[username],
                    tags=tags,
                    created_at=T0 + timedelta(minutes=minute),
                )
            )
        version = ModelVersion(status="ready", thresholds={"nlp-x": 0.4, "vision-x": 0.5})
        session.add(version)
        session.flush()
        session.add(
            Prediction(
                model_version_id=version.id,
                project_id=ids["a"],
                probabilities={"nlp-x": 0.91, "vision-x": 0.35},
                uncertainty=0.4,
            )
        )
    return ids


def _open_review(app_as: Callable[[str], AppTest], role: str = "reviewer") -> AppTest:
    at = app_as(role)
    at.switch_page("pages/review.py").run()
    assert not at.exception, at.exception
    return at


def _resolutions(make_session: SessionFactory) -> list[tuple[str, list[str], str, str, str]]:
    with make_session() as session:
        rows = session.execute(
            select(
                Project.external_id,
                Resolution.tags,
                Resolution.method,
                Resolution.note,
                User.username,
            )
            .join(Project, Project.id == Resolution.project_id)
            .join(User, User.id == Resolution.reviewer_id)
            .order_by(Resolution.id)
        ).all()
    return [tuple(row) for row in rows]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_reviewer_sees_the_queue_and_the_first_conflict(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    at = _open_review(app_as)
    queue = at.dataframe[0].value
    assert list(queue["project"]) == ["a", "b"]
    assert list(queue["title"]) == [HOSTILE, "Second project"]
    assert list(queue["disputed tags"]) == ["vision-x", "vision-x"]
    assert list(queue["annotators"]) == ["admin, annotator", "admin, annotator"]
    assert at.caption[0].value == (
        "2 of 2 projects to review (2 conflicts, 0 reopened after a resolution)."
    )
    assert at.selectbox(key="review_project").value == ids["a"]
    markdown = [m.value for m in at.markdown]
    assert "**admin**" in markdown and "**annotator**" in markdown
    assert "- nlp\\-x\n- :orange[vision\\-x]" in markdown
    assert "Majority (more than half): nlp\\-x" in markdown
    assert "Source tags: nlp\\-x" in markdown
    votes = at.dataframe[1].value
    assert votes.to_dict("records")[0] == {
        "tag": "vision-x",
        "for": 1,
        "against": 1,
        "voted for": "admin",
        "voted against": "annotator",
        "majority": False,
        "source tag": False,
        "model p": 0.35,
        "threshold": 0.5,
    }
    assert at.multiselect[0].value == ["nlp-x"]
    labels = [b.label for b in at.button]
    assert {"Accept majority", "Accept admin's set", "Accept annotator's set"} <= set(labels)
    assert any(c.value.startswith("Keys: ") and "Alt+N" in c.value for c in at.caption)


def test_imported_text_is_shown_literally(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_review(app_as)
    markdown = [m.value for m in at.markdown]
    assert "### " + escape_markdown(HOSTILE) in markdown
    assert escape_markdown(HOSTILE) in markdown
    assert f"On project a: {escape_markdown(HOSTILE)}" in [c.value for c in at.caption]
    assert not any("<script>" in m or "](javascript" in m for m in markdown)
    assert not any(makes_link_or_icon(m) for m in markdown + [c.value for c in at.caption])
    assert not any("<script>" in c.value for c in at.caption)


def test_accept_majority_then_edit_resolve_the_whole_queue(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    at = _open_review(app_as)
    _button(at, "Accept majority").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == escape_markdown("Resolved a as: nlp-x.")
    assert at.selectbox(key="review_project").value == ids["b"]
    assert at.multiselect[0].value == []

    at.multiselect[0].select("vision-x")
    at.text_input(key=f"note-{ids['b']}-None").input("the description says images")
    _button(at, "Resolve with these tags").click().run()
    assert not at.exception, at.exception
    assert _resolutions(with_users) == [
        ("a", ["nlp-x"], "majority", "", "reviewer"),
        ("b", ["vision-x"], "edit", "the description says images", "reviewer"),
    ]
    assert at.success[0].value == escape_markdown("Resolved b as: vision-x.")
    assert at.success[1].value == (
        "No conflicts to review. Every project annotators disagreed on is resolved."
    )


def test_accepting_one_annotators_set_records_whose(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    at = _open_review(app_as, "admin")
    _button(at, "Accept admin's set").click().run()
    assert _resolutions(with_users) == [("a", ["nlp-x", "vision-x"], "annotator", "", "admin")]
    with with_users() as session:
        item = review.review_item(session, ids["a"])
    assert item.resolutions[0].how == "accepted admin's set"


def test_filters_and_next_conflict(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    at = _open_review(app_as)
    _button(at, "Next conflict").click().run()
    assert at.selectbox(key="review_project").value == ids["b"]
    at.selectbox[0].select("oldest").run()
    at.selectbox[2].select("annotator").run()
    assert list(at.dataframe[0].value["project"]) == ["a", "b"]
    at.selectbox[1].select("vision-x").run()
    assert at.caption[0].value.startswith("2 of 2 projects to review")
    with with_users.begin() as session:
        other = auth.create_user(session, "third", "correct-horse-1", "annotator")
        session.add(Annotation(project_id=ids["c"], user_id=other.id, tags=[]))
    at.run()
    at.selectbox[1].select("audio-x").run()
    assert list(at.dataframe[0].value["project"]) == ["c"]
    assert at.caption[0].value == (
        "1 of 3 projects to review (3 conflicts, 0 reopened after a resolution)."
    )


def test_another_reviewer_resolving_meanwhile_is_reported_not_overwritten(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    at = _open_review(app_as)
    with with_users() as session:
        admin = session.scalar(select(User.id).where(User.username == "admin"))
    review.resolve(with_users, admin, ids["a"], ["vision-x"], "mine", "edit", None)
    _button(at, "Accept majority").click().run()
    assert not at.exception, at.exception
    assert _resolutions(with_users) == [("a", ["vision-x"], "edit", "mine", "admin")]
    with with_users() as session:
        resolved_at = session.scalar(select(Resolution.created_at))
    assert at.warning[0].value == escape_markdown(
        f"admin resolved this project at {resolved_at:%Y-%m-%d %H:%M:%S} UTC (tags: vision-x) "
        "while you were looking at it. Your decision was not saved; the current state is shown."
    )
    assert at.selectbox(key="review_project").value == ids["a"]
    history = at.dataframe[-1].value
    assert list(history["reviewer"]) == ["admin"] and list(history["tags"]) == ["vision-x"]
    assert list(at.dataframe[0].value["project"]) == ["b"]

    _button(at, "Accept majority").click().run()
    assert _resolutions(with_users)[-1] == ("a", ["nlp-x"], "majority", "", "reviewer")


def test_empty_queue_says_so(with_users: SessionFactory, app_as: Callable[[str], AppTest]) -> None:
    at = _open_review(app_as)
    assert at.success[0].value == (
        "No conflicts to review. Every project annotators disagreed on is resolved."
    )
    assert len(at.dataframe) == 0


def test_annotator_and_manager_are_refused(app_as: Callable[[str], AppTest]) -> None:
    for role in ("annotator", "manager"):
        at = app_as(role)
        at.switch_page("pages/review.py").run()
        assert at.error[0].value == f"Not allowed: the Review page is not open to the {role} role."
        # Only the sidebar's two sign-out buttons.
        assert len(at.dataframe) == 0 and [b.label for b in at.button] == [
            "Sign out",
            "End all my sessions",
        ]


def test_a_reopened_project_shows_the_late_judgement_and_is_resolved_again(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    ids = _catalogue(with_users)
    with with_users() as session:
        admin = session.scalar(select(User.id).where(User.username == "admin"))
        annotator = session.scalar(select(User.id).where(User.username == "annotator"))
    first = review.resolve(with_users, admin, ids["a"], ["nlp-x"], "", "majority", None)
    review.resolve(with_users, admin, ids["b"], ["vision-x"], "", "edit", None)
    with with_users.begin() as session:
        session.add(Annotation(project_id=ids["a"], user_id=annotator, tags=["audio-x"]))
    at = _open_review(app_as)
    assert at.caption[0].value == (
        "1 of 1 project to review (0 conflicts, 1 reopened after a resolution)."
    )
    assert any(c.value.endswith("· after the last resolution") for c in at.caption)
    assert any("reopened" in c.value for c in at.caption)
    assert list(at.dataframe[-1].value["decision"]) == ["accepted the majority"]
    _button(at, "Accept annotator's set").click().run()
    assert not at.exception, at.exception
    with with_users() as session:
        latest = session.scalars(select(Resolution).order_by(Resolution.id.desc())).first()
    assert (latest.tags, latest.method, latest.accepted_user_id) == (
        ["audio-x"],
        "annotator",
        annotator,
    )
    assert latest.id > first
    assert at.success[-1].value.startswith("No conflicts to review.")


def test_agreement_section_shows_hand_computed_figures(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    """3 projects x 3 tags, two annotators each: 9 decision pairs, 2 disagreeing (vision-x on
    a and b). Positive agreement = sum p(p-1) / sum p(n-1) = (2 + 2) / (2 + 1 + 1 + 2) = 0.67.
    Alpha: 18 values (6 "present"); D_o = 4/18, D_e = 2 * 6 * 12 / (18 * 17) = 144/306;
    1 - (4/18) / (144/306) = 0.53."""
    _catalogue(with_users)
    at = _open_review(app_as)
    assert "Krippendorff's alpha" not in [m.label for m in at.metric]
    at.toggle(key="review_show_agreement").set_value(True).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Projects judged by 2+ annotators": "3",
        "Krippendorff's alpha": "0.53",
        "Positive agreement": "0.67",
        "Projects in dispute": "2",
    }


def test_agreement_section_without_overlap_says_nothing_yet(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = _open_review(app_as)
    at.toggle(key="review_show_agreement").set_value(True).run()
    assert at.info[-1].value.startswith(
        "Nothing yet: agreement is measured on projects that at least two annotators have judged."
    )


def test_an_empty_majority_disables_accept_majority_and_an_empty_resolve_needs_no_tag_applies(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    """Project b: annotator {vision-x} against admin {}, so no tag has a majority."""
    ids = _catalogue(with_users)
    at = _open_review(app_as)
    _button(at, "Next conflict").click().run()
    assert at.selectbox(key="review_project").value == ids["b"]
    assert _button(at, "Accept majority").disabled
    assert any(
        c.value == "Accept majority is off: no tag was chosen by more than half of the "
        'annotators. Pick the final tags, or tick "No tag applies" to resolve as no tags.'
        for c in at.caption
    )
    assert at.multiselect[0].value == []
    _button(at, "Resolve with these tags").click().run()
    assert not at.exception, at.exception
    assert at.warning[0].value == escape_markdown(
        'No tags chosen: tick "No tag applies" to resolve as no tags, or add a tag. '
        "Nothing was saved."
    )
    assert at.selectbox(key="review_project").value == ids["b"]
    _button(at, "Accept admin's set").click().run()  # admin's set is empty: refused as well
    assert at.warning[0].value.startswith("No tags chosen")
    assert _resolutions(with_users) == []

    at.checkbox(key=f"no-tag-{ids['b']}-None").check()
    _button(at, "Resolve with these tags").click().run()
    assert _resolutions(with_users) == [("b", [], "edit", "", "reviewer")]
    assert at.success[0].value == escape_markdown("Resolved b as: no tags.")
