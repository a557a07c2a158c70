"""Two annotators disagree on a project, a reviewer resolves the conflict in a real browser
with the keyboard, and the export then carries the reviewer's tags as a resolved label."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from db.models import Annotation, Lease, Project, Resolution, Tag, User
from db.session import SessionFactory
from labeling import auth
from labeling.cli import DEMO_PASSWORD
from tests.e2e.conftest import (
    open_page,
    sign_in,
    wait_idle,
    wait_option_highlighted,
    wait_tag_box_focused,
)
from tests.e2e.server import ROOT

pytestmark = pytest.mark.e2e

SCREENSHOTS = ROOT / "test-results"
ANNOTATOR = "review-annotator"


def _annotator_of_this_test(e2e_db: SessionFactory) -> int:
    """An annotator account of its own, so that the other browser tests sharing this database
    keep demo-annotator's judgements to themselves."""
    with e2e_db.begin() as session:
        user = auth.create_user(session, ANNOTATOR, DEMO_PASSWORD, "annotator")
        return user.id


def _user_id(e2e_db: SessionFactory, username: str) -> int:
    with e2e_db() as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def _served_project(e2e_db: SessionFactory, user_id: int) -> Project:
    """The project the Annotate page holds a lease on for this user: what it is showing."""
    with e2e_db() as session:
        project = session.scalar(
            select(Project)
            .join(Lease, Lease.project_id == Project.id)
            .where(Lease.user_id == user_id)
            .order_by(Lease.id.desc())
            .limit(1)
        )
    assert project is not None
    return project


def _chips(page) -> list[str]:
    chips = page.get_by_test_id("stMultiSelect").locator("[data-tag]")
    chips.first.wait_for()
    return [text.split(" (")[0].strip() for text in chips.all_inner_texts()]


def _export(data_dir: Path) -> list[dict[str, object]]:
    env = {
        **os.environ,
        "LABELLOOP_DATA_DIR": str(data_dir),
        "LABELLOOP_DATABASE_URL": f"sqlite:///{data_dir / 'e2e.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "labeling", "export", "--status", "resolved", "--format", "jsonl"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_two_annotators_disagree_and_a_reviewer_resolves_with_the_keyboard(
    page, browser, app_url: str, e2e_db: SessionFactory, e2e_data_dir: Path
) -> None:
    annotator = _annotator_of_this_test(e2e_db)
    second = _user_id(e2e_db, "demo-reviewer")
    judged_projects = select(Annotation.project_id)

    # The annotator is served a project; the second annotator's judgement of that same project
    # is written straight into the database (serving would rarely give both the same one).
    sign_in(page, ANNOTATOR)
    open_page(page, "Annotate", "Why this project")
    shown = _chips(page)
    project = _served_project(e2e_db, annotator)
    with e2e_db() as session:
        tags = set(session.scalars(select(Tag.name).where(Tag.active.is_(True))))
    extra = sorted(tags - set(shown))[:3]
    with e2e_db.begin() as session:
        session.add(Annotation(project_id=project.id, user_id=second, tags=[*shown, *extra]))
        # a second conflict with disjoint sets, so an empty majority, on a project nobody holds
        disjoint = session.scalar(
            select(Project)
            .where(~Project.id.in_(select(Lease.project_id)), ~Project.id.in_(judged_projects))
            .order_by(Project.id.desc())
            .limit(1)
        )
        session.add(Annotation(project_id=disjoint.id, user_id=annotator, tags=["audio"]))
        session.add(Annotation(project_id=disjoint.id, user_id=second, tags=["pytorch"]))
        session.flush()
        # a third conflict, disputed on one tag only, so that it comes last in the queue
        third = session.scalar(
            select(Project)
            .where(~Project.id.in_(select(Lease.project_id)), ~Project.id.in_(judged_projects))
            .order_by(Project.id.desc())
            .limit(1)
        )
        session.add(Annotation(project_id=third.id, user_id=annotator, tags=["audio", "pytorch"]))
        session.add(Annotation(project_id=third.id, user_id=second, tags=["pytorch"]))

    # The annotator confirms what the page pre-selected with Ctrl+Enter.
    page.keyboard.press("Control+Enter")
    page.get_by_text("This session").wait_for()
    wait_idle(page)
    page.wait_for_function(
        "t => document.querySelector('[data-testid=stMarkdownContainer] h3')?.innerText !== t",
        arg=project.title,
    )
    with e2e_db() as session:
        judged = session.scalar(
            select(Annotation.tags)
            .where(Annotation.user_id == annotator, Annotation.project_id == project.id)
            .order_by(Annotation.id.desc())
            .limit(1)
        )
    assert judged is not None and sorted(judged) == sorted(shown)

    # A reviewer (here the admin) sees the conflict first in the queue.
    reviewer_page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    reviewer_page.set_default_timeout(20_000)
    reviewer_page.goto(app_url)
    sign_in(reviewer_page, "demo-admin")
    open_page(reviewer_page, "Review", "Votes per tag")
    heading = reviewer_page.locator('[data-testid="stMarkdownContainer"] h3').first
    assert heading.inner_text() == project.title
    for name in (ANNOTATOR, "demo-reviewer"):
        reviewer_page.get_by_role("button", name=f"Accept {name}'s set").wait_for()
    majority = sorted(shown)
    assert sorted(_chips(reviewer_page)) == majority
    wait_tag_box_focused(reviewer_page)
    SCREENSHOTS.mkdir(exist_ok=True)
    reviewer_page.screenshot(path=str(SCREENSHOTS / "review.png"), full_page=True)

    # The tag box has focus and holds the majority (the tags both annotators chose). A tag
    # typed and picked with Enter at once, as the page has loaded, is kept (the box sits below
    # the fold: it used to lose the first letter or close its menu), and Ctrl+Enter resolves.
    search, added = (
        ("gan", "generative-adversarial-networks")
        if "generative-adversarial-networks" not in majority
        else ("mlops", "mlops")
    )
    reviewer_page.keyboard.type(search)
    reviewer_page.get_by_role("option", name=added, exact=False).first.wait_for()
    wait_option_highlighted(reviewer_page)
    reviewer_page.keyboard.press("Enter")
    tag_box = reviewer_page.get_by_test_id("stMultiSelect")
    tag_box.locator("[data-tag]").filter(has_text=added).wait_for()
    assert sorted(_chips(reviewer_page)) == sorted([*majority, added])
    reviewer_page.keyboard.press("Control+Enter")
    expected = sorted([*majority, added])
    reviewer_page.get_by_text(
        f"Resolved {project.external_id} as: {', '.join(expected)}."
    ).wait_for()
    wait_idle(reviewer_page)

    admin = _user_id(e2e_db, "demo-admin")
    with e2e_db() as session:
        stored = session.execute(
            select(Resolution.tags, Resolution.reviewer_id, Resolution.method).where(
                Resolution.project_id == project.id
            )
        ).all()
    assert [tuple(row) for row in stored] == [(expected, admin, "edit")]
    exported = {str(row["id"]): row for row in _export(e2e_data_dir)}
    row = exported[project.external_id]
    assert (row["tags"], row["label_source"], row["status"]) == (expected, "resolved", "resolved")

    # The next conflict has no majority: Alt+M says why and does nothing, Ctrl+Enter on the
    # empty box is refused, and "No tag applies" makes the empty resolution deliberate.
    heading.filter(has_text=disjoint.title).wait_for()
    wait_idle(reviewer_page)
    assert reviewer_page.get_by_role("button", name="Accept majority").is_disabled()
    reviewer_page.keyboard.press("Alt+m")
    reviewer_page.get_by_role("status").filter(has_text="Accept majority is off").wait_for()
    reviewer_page.keyboard.press("Control+Enter")
    reviewer_page.get_by_text("No tags chosen: tick").wait_for()
    wait_idle(reviewer_page)
    assert _resolution_tags(e2e_db, disjoint.id) == []
    reviewer_page.get_by_role("checkbox", name="No tag applies").check(force=True)
    reviewer_page.keyboard.press("Control+Enter")
    reviewer_page.get_by_text(f"Resolved {disjoint.external_id} as: no tags.").wait_for()
    assert _resolution_tags(e2e_db, disjoint.id) == [([], "edit")]

    # The last conflict: a tag picked by mouse as soon as it shows is kept and resolved (one
    # near the top of the list: the menu draws only the options in sight).
    heading.filter(has_text=third.title).wait_for()
    wait_idle(reviewer_page)
    assert _chips(reviewer_page) == ["pytorch"]
    tag_box.locator("input").click()
    tag_box_menu = reviewer_page.get_by_test_id("stMultiSelectDropdown")
    tag_box_menu.get_by_role("option", name="data-augmentation", exact=False).first.click()
    tag_box.locator("[data-tag]").filter(has_text="data-augmentation").wait_for()
    reviewer_page.keyboard.press("Control+Enter")
    reviewer_page.get_by_text(
        f"Resolved {third.external_id} as: data-augmentation, pytorch."
    ).wait_for()
    assert _resolution_tags(e2e_db, third.id) == [(["data-augmentation", "pytorch"], "edit")]
    reviewer_page.context.close()


def _resolution_tags(e2e_db: SessionFactory, project_id: int) -> list[tuple[list[str], str]]:
    with e2e_db() as session:
        rows = session.execute(
            select(Resolution.tags, Resolution.method).where(Resolution.project_id == project_id)
        ).all()
    return [tuple(row) for row in rows]
