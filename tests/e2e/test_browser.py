"""The real app in a real browser: sign-in, every page, an upload with its report, and role
refusal."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from db.models import AuditEvent, Project
from db.session import SessionFactory
from tests.e2e.conftest import open_page, sidebar_links, sign_in, wait_idle

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _projects_metric(page):
    """Home's "Projects" figure, found by its label: right after a page change the previous
    page's metrics can still be in the DOM (the Data page's "Added 2" was read once as the
    first metric on a loaded machine), so neither "the first metric" nor a single read is
    safe; ``expect`` retries until the figure shows."""
    return (
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_test_id("stMetricLabel").get_by_text("Projects", exact=True))
        .get_by_test_id("stMetricValue")
    )


def _projects(e2e_db: SessionFactory) -> int:
    with e2e_db() as session:
        return session.scalar(select(func.count()).select_from(Project)) or 0


def test_admin_visits_every_page_and_imports_a_file(
    page, tmp_path: Path, e2e_db: SessionFactory
) -> None:
    before = _projects(e2e_db)  # 320 on the fresh demo; other browser tests may import more
    sign_in(page, "demo-admin")
    page.get_by_text("You are signed in as demo-admin, with the admin role").wait_for()
    expect(_projects_metric(page)).to_have_text(f"{before:,}")
    assert sidebar_links(page) == [
        "Home",
        "Projects",
        "Annotate",
        "My history",
        "Review",
        "Model",
        "Insights",
        "Data",
        "Tags",
        "Users",
        "My account",
    ]

    open_page(page, "Users", "Audit trail")
    open_page(page, "Data", "Import a catalogue")
    upload = tmp_path / "new_projects.json"
    upload.write_text(
        json.dumps(
            [
                {
                    "id": "e2e-1",
                    "title": "Browser test project",
                    "description": "d",
                    "tags": ["nlp"],
                },
                {
                    "id": "e2e-2",
                    "title": "Another one",
                    "description": "e",
                    "tags": ["Computer Vision", "brand-new-tag"],
                },
            ]
        )
    )
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(upload)
    )
    page.get_by_text("Preview: 2 valid projects").wait_for()
    wait_idle(page)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="create").click()
    wait_idle(page)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Import finished.").wait_for()
    wait_idle(page)
    report = page.get_by_test_id("stText").filter(has_text="projects added").inner_text()
    assert "projects added: 2" in report
    assert "brand-new-tag" in report
    assert "nlp -> natural-language-processing" in report
    _shot(page, "data-import-report")

    open_page(page, "Home", "The catalogue")
    expect(_projects_metric(page)).to_have_text(f"{before + 2:,}")


def test_bad_upload_shows_the_error_and_imports_nothing(page, tmp_path: Path) -> None:
    sign_in(page, "demo-admin")
    open_page(page, "Data", "Import a catalogue")
    bad = tmp_path / "broken.json"
    bad.write_text('[{"id": 1, "title": "ok"},\n {"id": 1, "title": "dup"}]')
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(bad)
    )
    error = page.get_by_test_id("stAlertContentError")
    error.wait_for()
    assert error.inner_text().split("\n")[-1] == (
        "broken.json: item 1: duplicate id '1' (first at item 0)"
    )
    assert page.get_by_role("button", name="Import", exact=True).count() == 0


def test_annotator_is_refused_the_data_page(page, app_url: str) -> None:
    sign_in(page, "demo-annotator")
    assert sidebar_links(page) == ["Home", "Projects", "Annotate", "My history", "My account"]
    # A page URL opens a new connection, which the session cookie signs in again.
    page.goto(f"{app_url}/data")
    page.get_by_text("Not allowed").wait_for()
    wait_idle(page)
    assert (
        page.get_by_test_id("stAlertContentError").inner_text()
        == "Not allowed: the Data page is not open to the annotator role."
    )
    assert page.get_by_text("Import a catalogue").count() == 0
    assert page.locator('[data-testid="stFileUploader"]').count() == 0


def _sign_in_attempts(e2e_db: SessionFactory) -> int:
    with e2e_db() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.actor == "demo-reviewer", AuditEvent.action.like("sign_in.%"))
        )


def test_wrong_password_then_lockout(page, e2e_db: SessionFactory) -> None:
    """Each attempt is waited for in the audit trail, so that a slow rerun cannot leave the
    previous attempt's message on screen when the next one is read."""
    recorded = _sign_in_attempts(e2e_db)
    for attempt, password in enumerate([*(f"wrong-{n}" for n in range(5)), "labelloop-demo"]):
        page.get_by_label("Username").fill("demo-reviewer")
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        # one event per attempt, and the 5th failure records the lockout as well
        needed = recorded + attempt + 1 + (1 if attempt >= 4 else 0)
        deadline = time.monotonic() + 20
        while _sign_in_attempts(e2e_db) < needed and time.monotonic() < deadline:
            time.sleep(0.1)
        page.get_by_test_id("stAlertContentError").wait_for()
        wait_idle(page)
    # 5 failures lock the username; the right password is refused while locked.
    assert "Too many failed sign-ins" in page.get_by_test_id("stAlertContentError").inner_text()
    assert _sign_in_attempts(e2e_db) >= recorded + 7  # 5 failed, 1 lockout, 1 refused while locked
