"""An annotator labels in a real browser with the keyboard: a typed tag then Ctrl+Enter, a
second Enter that must add nothing, a skip, two undos that bring projects back, an empty
set refused until "No tag applies" is ticked; then the database and My history show exactly
that."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Annotation, Project, User
from db.session import SessionFactory
from tests.e2e.conftest import (
    open_page,
    sign_in,
    wait_idle,
    wait_option_highlighted,
    wait_tag_box_focused,
)

pytestmark = pytest.mark.e2e

TITLE = '[data-testid="stMarkdownContainer"] h3'
NEXT_PROJECT = f"t => document.querySelector('{TITLE}')?.innerText !== t"
SHOWS_PROJECT = f"t => document.querySelector('{TITLE}')?.innerText === t"


def _current_title(page) -> str:
    return page.locator(TITLE).first.inner_text()


def _wait_for_next_project(page, title: str) -> None:
    page.wait_for_function(NEXT_PROJECT, arg=title)
    wait_idle(page)


def _wait_for_project(page, title: str) -> None:
    page.wait_for_function(SHOWS_PROJECT, arg=title)
    wait_idle(page)


def _chips(page) -> list[str]:
    """The tag box's selected tags (every demo project starts with at least one, so waiting
    for the first chip means the box has rendered)."""
    chips = page.get_by_test_id("stMultiSelect").locator("[data-tag]")
    chips.first.wait_for()
    return [text.split(" (")[0].strip() for text in chips.all_inner_texts()]


def _type_and_pick(page, search: str, tag: str) -> None:
    """Type a search into the focused tag box and press Enter on the highlighted option."""
    page.keyboard.type(search)
    page.get_by_role("option", name=tag, exact=False).first.wait_for()
    wait_option_highlighted(page)
    page.keyboard.press("Enter")
    page.get_by_test_id("stMultiSelect").locator("[data-tag]").filter(has_text=tag).wait_for()


def _rows(e2e_db: SessionFactory) -> list:
    with e2e_db() as session:
        annotator = session.scalar(select(User.id).where(User.username == "demo-annotator"))
        return session.execute(
            select(
                Project.title,
                Annotation.tags,
                Annotation.added,
                Annotation.removed,
                Annotation.skipped,
                Annotation.skip_reason,
                Annotation.undoes_id,
                Annotation.no_tag_applies,
            )
            .join(Project, Project.id == Annotation.project_id)
            .where(Annotation.user_id == annotator)
            .order_by(Annotation.id)
        ).all()


def test_annotator_labels_with_the_keyboard_undoes_twice_and_submits_no_tags_on_purpose(
    page, e2e_db: SessionFactory
) -> None:
    sign_in(page, "demo-annotator")
    open_page(page, "Annotate", "Why this project")

    # 1. Type an alias as soon as the tag box has the focus, Enter picks the highlighted tag,
    # Ctrl+Enter at once submits: the menu is still open with another option highlighted, and
    # that option must not be added.
    first_title = _current_title(page)
    first_tags = _chips(page)
    wait_tag_box_focused(page)
    search, added = (
        ("gan", "generative-adversarial-networks")
        if "generative-adversarial-networks" not in first_tags
        else ("audio", "audio")
    )
    _type_and_pick(page, search, added)
    page.keyboard.press("Control+Enter")
    _wait_for_next_project(page, first_title)

    # 2. Remove a tag, pick one, press Enter again with nothing typed (adds nothing), submit.
    second_title = _current_title(page)
    second_tags = _chips(page)
    removed = second_tags[0]
    page.get_by_test_id("stMultiSelect").locator("[data-tag]").first.get_by_role("button").click()
    other = next(t for t in ("mlops", "audio", "embeddings") if t not in second_tags)
    page.get_by_test_id("stMultiSelect").locator("input").focus()
    _type_and_pick(page, other, other)
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    _wait_for_next_project(page, second_title)

    # 3. Skip with a reason.
    third_title = _current_title(page)
    third_tags = _chips(page)
    page.get_by_label("Skip reason (optional)").fill("cannot tell from the text")
    page.get_by_role("button", name="Skip").click()
    _wait_for_next_project(page, third_title)

    # 4. Alt+U twice: the skipped project comes back, then the second one, each with the tags
    # the box held before; nothing is re-applied.
    page.keyboard.press("Alt+u")
    _wait_for_project(page, third_title)
    assert _chips(page) == third_tags
    page.keyboard.press("Alt+u")
    _wait_for_project(page, second_title)
    assert _chips(page) == second_tags
    labelled_today = page.get_by_test_id("stMetric").filter(has_text="Labelled today")
    assert labelled_today.get_by_test_id("stMetricValue").inner_text() == "1"

    # 5. Empty the box: Ctrl+Enter is refused; with "No tag applies" ticked it is saved.
    page.get_by_test_id("stMultiSelect").locator("input").focus()
    for _ in second_tags:
        page.keyboard.press("Backspace")
    page.keyboard.press("Control+Enter")
    page.get_by_text("No tags chosen: tick").wait_for()
    wait_idle(page)
    assert _current_title(page) == second_title
    page.get_by_role("checkbox", name="No tag applies").check(force=True)
    page.keyboard.press("Control+Enter")
    _wait_for_next_project(page, second_title)

    rows = _rows(e2e_db)
    assert [row.title for row in rows] == [
        first_title,
        second_title,
        third_title,
        third_title,
        second_title,
        second_title,
    ]
    assert rows[0].added == [added] and rows[0].removed == []
    assert sorted(rows[0].tags) == sorted({*first_tags, added})
    assert (rows[1].added, rows[1].removed) == ([other], [removed])
    assert rows[2].skipped and rows[2].skip_reason == "cannot tell from the text"
    assert (rows[3].skipped, rows[3].skip_reason, rows[3].undoes_id is not None) == (
        True,
        "undone",
        True,
    )
    assert (rows[4].skipped, rows[4].tags, rows[4].undoes_id is not None) == (True, [], True)
    assert (rows[5].tags, rows[5].no_tag_applies, rows[5].removed) == (
        [],
        True,
        sorted(second_tags),
    )

    open_page(page, "My history", "Change a judgement")
    assert "6 of 6 rows" in page.get_by_text("rows, newest first").inner_text()
