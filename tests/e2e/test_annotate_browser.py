"""An annotator labels in a real browser: add a tag, remove a tag, skip, undo; then the
database and My history show exactly that."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Annotation, Project, User
from db.session import SessionFactory
from tests.e2e.conftest import open_page, sign_in, wait_idle

pytestmark = pytest.mark.e2e


def _current_title(page) -> str:
    return page.locator('[data-testid="stMarkdownContainer"] h3').first.inner_text()


NEXT_PROJECT = (
    "t => document.querySelector('[data-testid=stMarkdownContainer] h3')?.innerText !== t"
)


def _wait_for_next_project(page, title: str) -> None:
    page.wait_for_function(NEXT_PROJECT, arg=title)
    wait_idle(page)


def _chips(page) -> list[str]:
    """The tag box's selected tags (every demo project starts with at least one, so waiting
    for the first chip means the box has rendered)."""
    chips = page.get_by_test_id("stMultiSelect").locator("[data-tag]")
    chips.first.wait_for()
    return [text.split(" (")[0].strip() for text in chips.all_inner_texts()]


def test_annotator_labels_three_projects_and_undoes_one(page, e2e_db: SessionFactory) -> None:
    sign_in(page, "demo-annotator")
    open_page(page, "Annotate", "Why this project")

    first_title = _current_title(page)
    first_tags = _chips(page)
    added = "audio" if "audio" not in first_tags else "mlops"
    page.get_by_test_id("stMultiSelect").locator("input").fill(added)
    page.get_by_role("option", name=added, exact=False).first.wait_for()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert _chips(page)[-1] == added
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("This session").wait_for()
    wait_idle(page)
    _wait_for_next_project(page, first_title)
    wait_idle(page)

    second_title = _current_title(page)
    second_tags = _chips(page)
    removed = second_tags[0]
    page.get_by_test_id("stMultiSelect").locator("[data-tag]").first.get_by_role("button").click()
    page.keyboard.press("Escape")
    assert removed not in _chips(page)
    page.get_by_role("button", name="Submit").click()
    _wait_for_next_project(page, second_title)
    wait_idle(page)

    third_title = _current_title(page)
    page.get_by_label("Skip reason (optional)").fill("cannot tell from the text")
    page.get_by_role("button", name="Skip").click()
    _wait_for_next_project(page, third_title)
    wait_idle(page)
    page.get_by_role("button", name="Undo last judgement").click()
    page.get_by_text("Your last judgement was undone.").wait_for()
    wait_idle(page)

    with e2e_db() as session:
        annotator = session.scalar(select(User.id).where(User.username == "demo-annotator"))
        rows = session.execute(
            select(
                Project.title,
                Annotation.tags,
                Annotation.added,
                Annotation.removed,
                Annotation.skipped,
                Annotation.skip_reason,
            )
            .join(Project, Project.id == Annotation.project_id)
            .where(Annotation.user_id == annotator)
            .order_by(Annotation.id)
        ).all()
    assert [row.title for row in rows] == [first_title, second_title, third_title, third_title]
    assert rows[0].added == [added] and rows[0].removed == []
    assert sorted(rows[0].tags) == sorted({*first_tags, added})
    assert rows[1].removed == [removed] and rows[1].added == []
    assert rows[2].skipped and rows[2].skip_reason == "cannot tell from the text"
    assert rows[3].skipped and rows[3].skip_reason == "undone"

    open_page(page, "My history", "Change a judgement")
    assert "4 of 4 judgements" in page.get_by_text("judgements, newest first").inner_text()
