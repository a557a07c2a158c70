"""The Annotate and My history pages through AppTest: what an annotator sees and what the
database holds after submit, skip, undo and re-opening a judgement."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Annotation, ModelVersion, Prediction, Project
from db.session import SessionFactory
from labeling import io

HOSTILE = (
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) <img src=x onerror=alert(2)>"
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
    assert at.info[0].value == (
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
