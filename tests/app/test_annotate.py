"""The Annotate and My history pages through AppTest: what an annotator sees and what the
database holds after submit, skip, undo and re-opening a judgement."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from db.models import Annotation, Lease, ModelVersion, Prediction, Project, User
from db.session import SessionFactory
from labeling import io
from labeling.text import WORD_JOINER, escape_markdown

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
TAXONOMY = {"nlp-x": {"aliases": ["nx"], "parents": []}, "vision-x": {"aliases": [], "parents": []}}


def _catalogue(make_session: SessionFactory, with_model: bool = True) -> None:
    projects = [
        {"id": "a", "title": HOSTILE, "description": HOSTILE, "tags": ["nlp-x"]},
        {"id": "b", "title": "Second project", "description": "about images", "tags": ["vision-x"]},
    ]
    with make_session.begin() as session:
        io.import_catalogue(
            session,
            io.parse_projects(json.dumps(projects).encode(), "p.json"),
            "p.json",
            "json",
            taxonomy=io.parse_taxonomy(json.dumps(TAXONOMY).encode(), "t.json"),
        )
        if with_model:
            version = ModelVersion(status="ready", thresholds={"nlp-x": 0.4, "vision-x": 0.4})
            session.add(version)
            session.flush()
            ids = dict(session.execute(select(Project.external_id, Project.id)).all())
            session.add(
                Prediction(
                    model_version_id=version.id,
                    project_id=ids["a"],
                    probabilities={"nlp-x": 0.9, "vision-x": 0.45},
                    uncertainty=0.9,
                )
            )
            session.add(
                Prediction(
                    model_version_id=version.id,
                    project_id=ids["b"],
                    probabilities={"vision-x": 0.8},
                    uncertainty=0.1,
                )
            )


def _open_annotate(app_as: Callable[[str], AppTest]) -> AppTest:
    at = app_as("annotator")
    at.switch_page("pages/annotate.py").run()
    assert not at.exception, at.exception
    return at


def _judgements(
    make_session: SessionFactory,
) -> list[tuple[str, list[str], list[str], list[str], bool]]:
    with make_session() as session:
        rows = session.execute(
            select(
                Project.external_id,
                Annotation.tags,
                Annotation.added,
                Annotation.removed,
                Annotation.skipped,
            )
            .join(Project, Project.id == Annotation.project_id)
            .order_by(Annotation.id)
        ).all()
    return [tuple(row) for row in rows]


def test_annotate_shows_imported_text_literally_with_reason_and_suggestions(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_annotate(app_as)
    markdown = [m.value for m in at.markdown]
    assert any(m.startswith("### ") and "\\<script\\>" in m for m in markdown)
    assert not any("<script>" in m for m in markdown)
    assert not any(makes_link_or_icon(m) for m in markdown + [c.value for c in at.caption])
    reason = next(c.value for c in at.caption if c.value.startswith("Why this project"))
    assert "vision\\-x 0\\.45" in reason
    assert (
        "Served model \\(trained on the current tags\\)\\: "
        "suggests nlp\\-x 0\\.90, vision\\-x 0\\.45" in markdown
    )
    # the current tags only: the served model's suggestion is a hint, not a pre-selection
    assert at.multiselect[0].value == ["nlp-x"]


def test_submit_records_the_diff_and_serves_the_next_project(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_annotate(app_as)
    at.multiselect[0].select("vision-x")
    next(b for b in at.button if b.label == "Submit").click().run()
    assert not at.exception
    assert _judgements(with_users) == [("a", ["nlp-x", "vision-x"], ["vision-x"], [], False)]
    assert any("Second project" in m.value for m in at.markdown)
    assert {m.label: m.value for m in at.metric}["This session"] == "1"


def test_skip_then_undo_appends_and_nothing_is_deleted(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_annotate(app_as)
    at.text_input[0].input("not sure what this is")
    next(b for b in at.button if b.label == "Skip").click().run()
    next(b for b in at.button if b.label == "Submit").click().run()
    next(b for b in at.button if b.label == "Undo last judgement").click().run()
    assert not at.exception
    judgements = _judgements(with_users)
    assert [row[0] for row in judgements] == ["a", "b", "b"]
    assert judgements[0][4] is True
    assert judgements[1] == ("b", ["vision-x"], [], [], False)
    assert judgements[2] == ("b", [], [], [], True)


def test_nothing_left_to_label(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = _open_annotate(app_as)
    assert at.success[0].value == "Nothing left for you to label right now. Thank you!"


def test_history_lists_and_reopens_a_judgement(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users, with_model=False)
    at = _open_annotate(app_as)
    next(b for b in at.button if b.label == "Submit").click().run()
    at.switch_page("pages/history.py").run()
    assert not at.exception
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any(makes_link_or_icon(text) for text in shown)
    table = at.dataframe[0].value
    assert len(table) == 1 and list(table["status"]) == ["current"]
    first = _judgements(with_users)[0]
    (other_tag,) = {"nlp-x", "vision-x"} - set(first[1])
    at.multiselect[0].select(other_tag)
    next(b for b in at.button if b.label == "Save new judgement").click().run()
    judgements = _judgements(with_users)
    assert len(judgements) == 2
    assert judgements[1][0] == first[0]
    assert judgements[1][1] == sorted([*first[1], other_tag])
    assert judgements[1][2] == [other_tag]
    at.run()
    assert sorted(at.dataframe[0].value["status"]) == ["current", "superseded"]


def test_manager_cannot_annotate(app_as: Callable[[str], AppTest]) -> None:
    at = app_as("manager")
    at.switch_page("pages/annotate.py").run()
    assert at.error[0].value == "Not allowed: the Annotate page is not open to the manager role."
    assert len(at.multiselect) == 0


def test_a_likely_label_error_says_why_and_preselects_the_fix(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    """Project b carries vision-x; the detector says vision-x is wrong and nlp-x missing, so
    b is served first (default strategy) and submitting unchanged confirms the fix."""
    _catalogue(with_users)
    with with_users.begin() as session:
        ids = dict(session.execute(select(Project.external_id, Project.id)).all())
        prediction = session.get(Prediction, (1, ids["b"]))
        prediction.label_error_score = 0.7
        prediction.suspicions = {
            "wrong": {"vision-x": 0.05},
            "missing": {"nlp-x": 0.88},
            "preselect": {"vision-x": True, "nlp-x": True},
        }
    at = _open_annotate(app_as)
    assert any("Second project" in m.value for m in at.markdown)
    assert at.info[0].value.replace(WORD_JOINER, "") == (
        "Why this project: tags probably need fixing\\: vision\\-x probably wrong "
        "\\(out\\-of\\-fold model 0\\.05\\); nlp\\-x probably missing \\(out\\-of\\-fold model "
        "0\\.88\\). That model was trained without this project, so its current tags could "
        "not vouch for themselves. Only changes likely to be right are pre-selected; the rest "
        "are hints."
    )
    assert at.multiselect[0].value == ["nlp-x"]
    next(b for b in at.button if b.label == "Submit").click().run()
    # added/removed are relative to what was shown, and the fix was shown pre-selected
    assert _judgements(with_users) == [("b", ["nlp-x"], [], [], False)]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_an_empty_submit_is_refused_until_no_tag_applies_is_ticked(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_annotate(app_as)
    at.multiselect[0].set_value([])
    _button(at, "Submit").click().run()
    assert not at.exception, at.exception
    assert at.error[0].value == escape_markdown(
        'No tags chosen: tick "No tag applies" to submit an empty judgement, or add a tag. '
        "Nothing was saved."
    )
    assert _judgements(with_users) == []
    assert any(m.value.startswith("### ") and "script" in m.value for m in at.markdown)

    at.multiselect[0].set_value([])
    next(c for c in at.checkbox if c.label == "No tag applies").check()
    _button(at, "Submit").click().run()
    assert _judgements(with_users) == [("a", [], [], ["nlp-x"], False)]
    assert any("Second project" in m.value for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Labelled today"], metrics["This session"]) == ("1", "1")

    at.switch_page("pages/history.py").run()
    [row] = at.dataframe[0].value.to_dict("records")
    assert (row["kind"], row["tags saved"], row["status"]) == (
        "judgement",
        "(no tag applies)",
        "current",
    )
    assert (row["vs project tags"], row["vs pre-selected"]) == ("-nlp-x", "-nlp-x")


def test_undo_brings_the_project_back_with_its_tags_and_a_second_undo_does_not_redo(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _catalogue(with_users)
    at = _open_annotate(app_as)
    at.multiselect[0].select("vision-x")
    _button(at, "Submit").click().run()
    assert any("Second project" in m.value for m in at.markdown)
    offer = "Undo (Alt+U) takes back your judgement of: "
    assert any(c.value.startswith(offer) for c in at.caption)

    _button(at, "Undo last judgement").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith(escape_markdown("Undone: your judgement of"))
    assert any(m.value.startswith("### ") and "script" in m.value for m in at.markdown)
    assert at.multiselect[0].value == ["nlp-x"]  # as before the judgement
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Labelled today"], metrics["This session"]) == ("0", "0")
    assert any(
        c.value.startswith("Counters count judgements") and "undid 1" in c.value for c in at.caption
    )
    assert _button(at, "Undo last judgement").disabled  # an undo is never undone

    _button(at, "Submit").click().run()  # judged again, as it was served again
    rows = _judgements(with_users)
    assert rows == [
        ("a", ["nlp-x", "vision-x"], ["vision-x"], [], False),
        ("a", [], [], [], True),
        ("a", ["nlp-x"], [], [], False),
    ]


def test_a_submit_after_the_reservation_ran_out_past_the_cap_is_refused(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    """The annotator's lease on a is gone and two others judged a meanwhile (k = 2)."""
    _catalogue(with_users)
    at = _open_annotate(app_as)
    with with_users.begin() as session:
        ids = dict(session.execute(select(Project.external_id, Project.id)).all())
        users = dict(session.execute(select(User.username, User.id)).all())
        session.execute(delete(Lease))
        for other in ("reviewer", "admin"):
            session.add(Annotation(project_id=ids["a"], user_id=users[other], tags=["nlp-x"]))
    _button(at, "Submit").click().run()
    assert not at.exception, at.exception
    assert at.warning[0].value == escape_markdown(
        "Not saved: this project was reserved for you for 10 minutes and the reservation ran "
        "out; since then 2 other annotators judged it. One project gets at most 2 annotators "
        "(LABELLOOP_OVERLAP_K), so your judgement would be one too many. Here is the next "
        "project."
    )
    assert any("Second project" in m.value for m in at.markdown)
    with with_users() as session:
        mine = session.scalar(select(func.count()).where(Annotation.user_id == users["annotator"]))
    assert mine == 0
