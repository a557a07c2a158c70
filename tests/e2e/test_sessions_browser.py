"""Sessions in the real browser: a reload or a new tab keeps the user and the page, and every
way a session ends reaches the other tabs at their next action. Each test has its own account,
so that the demo accounts other browser tests use are never signed out or deactivated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Lease, Project
from db.session import SessionFactory
from labeling import auth, sessions
from tests.e2e.conftest import IDLE, answer_of, open_page, sign_in, wait_idle
from ui.cookie_routes import CLEAR_PATH

pytestmark = pytest.mark.e2e

PASSWORD = "sessions-e2e-1"


def add_account(e2e_db: SessionFactory, username: str) -> None:
    with e2e_db.begin() as session:
        auth.create_user(session, username, PASSWORD, "annotator")


def session_cookie(context) -> dict:
    return next(c for c in context.cookies() if c["name"] == sessions.COOKIE_NAME)


def has_session_cookie(context) -> bool:
    return any(c["name"] == sessions.COOKIE_NAME for c in context.cookies())


def hidden_from_page_scripts(page, token: str) -> None:
    """HttpOnly: the browser holds the cookie, but no script on the page can read it, and the
    token is nowhere in the page (its DOM and scripts)."""
    assert sessions.COOKIE_NAME not in page.evaluate("document.cookie")
    assert token not in page.content()


def set_cookie_of(response) -> str | None:
    """The Set-Cookie header of a route's answer (headers, not the body: Chromium need not
    keep the body of a response the page's script never reads)."""
    return response.header_value("set-cookie")


CLEARED = f"{sessions.COOKIE_NAME}=; Max-Age=0; Path=/; SameSite=Strict; HttpOnly"


def sign_out_clearing_the_cookie(page) -> str | None:
    """Click Sign out; returns the Set-Cookie of the cookie route's answer to the page."""
    with page.expect_response(answer_of(CLEAR_PATH)) as cleared:
        page.get_by_role("button", name="Sign out", exact=True).click()
    assert cleared.value.status == 200
    return set_cookie_of(cleared.value)


def signed_in_as(page, username: str) -> None:
    page.get_by_text(f"Signed in as {username} (annotator)").wait_for()
    wait_idle(page)


def shows_sign_in_form(page) -> None:
    page.get_by_role("button", name="Sign in").wait_for()
    wait_idle(page)
    assert page.get_by_text("Signed in as").count() == 0


def leased_title(e2e_db: SessionFactory, username: str) -> str:
    with e2e_db() as session:
        user = auth.find_user(session, username)
        titles = session.scalars(
            select(Project.title)
            .join(Lease, Lease.project_id == Project.id)
            .where(Lease.user_id == user.id)
        ).all()
    assert len(titles) == 1
    return titles[0]


def test_reload_and_a_new_tab_keep_the_session_the_page_and_the_served_project(
    page, app_url: str, e2e_db: SessionFactory
) -> None:
    add_account(e2e_db, "e2e-reloader")
    sign_in(page, "e2e-reloader", PASSWORD)
    cookie = session_cookie(page.context)
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (
        True,
        "Strict",
        "/",
        False,
    )
    hidden_from_page_scripts(page, cookie["value"])
    assert cookie["value"] not in page.url
    open_page(page, "Annotate", "Labelled today")
    title = leased_title(e2e_db, "e2e-reloader")
    page.get_by_text(title, exact=True).wait_for()

    page.reload()
    signed_in_as(page, "e2e-reloader")
    assert page.url == f"{app_url}/annotate"
    page.get_by_text(title, exact=True).wait_for()
    assert leased_title(e2e_db, "e2e-reloader") == title
    assert cookie["value"] not in page.url
    hidden_from_page_scripts(page, cookie["value"])

    other_tab = page.context.new_page()
    other_tab.goto(app_url)
    signed_in_as(other_tab, "e2e-reloader")
    other_tab.close()


def test_sign_out_ends_the_other_tab_and_a_copied_token_is_refused(
    page, browser, app_url: str, e2e_db: SessionFactory
) -> None:
    add_account(e2e_db, "e2e-two-tabs")
    sign_in(page, "e2e-two-tabs", PASSWORD)
    token = session_cookie(page.context)["value"]
    other_tab = page.context.new_page()
    other_tab.goto(app_url)
    signed_in_as(other_tab, "e2e-two-tabs")

    assert sign_out_clearing_the_cookie(page) == CLEARED
    shows_sign_in_form(page)
    assert not has_session_cookie(page.context)
    # The other tab still shows its page until its next action, which finds the session over.
    other_tab.get_by_test_id("stSidebar").get_by_role("link", name="My history").click()
    shows_sign_in_form(other_tab)
    other_tab.get_by_text("You signed out in another tab or window.").wait_for()

    thief = browser.new_context()
    thief.add_cookies([{"name": sessions.COOKIE_NAME, "value": token, "url": app_url}])
    stolen = thief.new_page()
    stolen.goto(app_url)
    shows_sign_in_form(stolen)
    thief.close()
    with e2e_db() as session:
        refused = session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.action == "session.refused", AuditEvent.actor == "e2e-two-tabs"
            )
        ).all()
    assert refused and all(details["reason"] == "sign_out" for details in refused)


def test_a_deactivated_user_is_out_at_the_next_action(page, e2e_db: SessionFactory) -> None:
    add_account(e2e_db, "e2e-leaver")
    sign_in(page, "e2e-leaver", PASSWORD)
    open_page(page, "My history", "My history")
    with e2e_db.begin() as session:
        auth.deactivate(session, "e2e-leaver")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Home").click()
    shows_sign_in_form(page)
    page.reload()
    page.wait_for_selector(IDLE)
    shows_sign_in_form(page)


def test_a_stale_tab_cannot_clear_the_cookie_of_a_newer_sign_in(
    page, app_url: str, e2e_db: SessionFactory
) -> None:
    add_account(e2e_db, "e2e-stale")
    sign_in(page, "e2e-stale", PASSWORD)
    stale = page.context.new_page()
    stale.goto(app_url)
    signed_in_as(stale, "e2e-stale")
    assert sign_out_clearing_the_cookie(page) == CLEARED
    shows_sign_in_form(page)
    sign_in(page, "e2e-stale", PASSWORD)
    newer = session_cookie(page.context)["value"]

    # The stale tab finds its old session over and asks for its cookie to go: the route sees
    # the newer token, still live, and keeps it.
    with stale.expect_response(answer_of(CLEAR_PATH)) as kept:
        stale.get_by_test_id("stSidebar").get_by_role("link", name="My history").click()
    assert (kept.value.status, set_cookie_of(kept.value)) == (200, None)
    shows_sign_in_form(stale)
    assert session_cookie(page.context)["value"] == newer
    fresh = page.context.new_page()
    fresh.goto(app_url)
    signed_in_as(fresh, "e2e-stale")


def test_ending_all_my_sessions_clears_the_cookie_and_ends_the_other_tab(
    page, app_url: str, e2e_db: SessionFactory
) -> None:
    add_account(e2e_db, "e2e-everywhere")
    sign_in(page, "e2e-everywhere", PASSWORD)
    other_tab = page.context.new_page()
    other_tab.goto(app_url)
    signed_in_as(other_tab, "e2e-everywhere")
    with page.expect_response(answer_of(CLEAR_PATH)) as cleared:
        page.get_by_role("button", name="End all my sessions").click()
    assert set_cookie_of(cleared.value) == CLEARED
    page.get_by_text("Ended 1 session, this one included.").wait_for()
    assert not has_session_cookie(page.context)
    other_tab.get_by_test_id("stSidebar").get_by_role("link", name="My history").click()
    shows_sign_in_form(other_tab)
    other_tab.get_by_text("All your sessions were ended.").wait_for()
