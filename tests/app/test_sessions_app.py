"""Sessions through the app's own forms and buttons. AppTest cannot send cookies, so a second
tab is an AppTest handed the first one's token, as a reload hands it over in a cookie; the
cookie itself is tested in the browser (tests/e2e/test_sessions_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent, SessionHandoff, UserSession
from db.session import SessionFactory
from labeling import session_handoff
from tests.app.conftest import APP
from ui.app import TOKEN_KEY


def second_tab(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[TOKEN_KEY] = token
    return at.run()


def session_rows(make_session: SessionFactory) -> list[tuple[str | None, str]]:
    with make_session() as session:
        return [
            (row.revoked_reason, row.token_hash)
            for row in session.scalars(select(UserSession).order_by(UserSession.id))
        ]


def actions(make_session: SessionFactory) -> list[str]:
    with make_session() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.in_(["sign_out", "session.start", "session.revoke"]))
                .order_by(AuditEvent.id)
            )
        )


def test_sign_out_in_one_tab_ends_the_other_tab_at_its_next_action(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    first = app_as("annotator")
    token = first.session_state[TOKEN_KEY]
    other = second_tab(token)
    assert "Signed in as annotator (annotator)" in [t.value for t in other.sidebar.text]
    next(b for b in first.sidebar.button if b.label == "Sign out").click().run()
    assert [b.label for b in first.button] == ["Sign in"]
    other.run()
    assert [b.label for b in other.button] == ["Sign in"]
    assert other.info[0].value == "You signed out in another tab or window. Sign in again to go on."
    assert [reason for reason, _ in session_rows(with_users)] == ["sign_out"]
    assert actions(with_users) == ["session.start", "session.revoke", "sign_out"]


def test_admin_sees_an_accounts_sessions_and_signs_it_out_everywhere(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    annotator = app_as("annotator")
    admin = app_as("admin")
    admin.switch_page("pages/users.py").run()
    admin.selectbox(key="sessions_of").select("annotator").run()
    listed = admin.dataframe[1].value
    assert list(listed["state"]) == ["active"]
    admin.button(key="revoke_all_of").click().run()
    assert admin.success[0].value == "Every session of annotator has ended."
    assert list(admin.dataframe[1].value["state"]) == ["ended (sign_out_everywhere)"]
    annotator.run()
    assert [b.label for b in annotator.button] == ["Sign in"]
    assert annotator.info[0].value == "All your sessions were ended. Sign in again to go on."
    # The admin's own session is untouched.
    assert not admin.exception and admin.sidebar.button[0].label == "Sign out"


def test_ending_all_my_sessions_ends_this_tab_and_the_others(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    first = app_as("reviewer")
    other = second_tab(first.session_state[TOKEN_KEY])
    laptop = app_as("reviewer")
    next(b for b in first.sidebar.button if b.label == "End all my sessions").click().run()
    assert first.info[0].value == "Ended 2 sessions, this one included."
    for tab in (other, laptop):
        tab.run()
        assert [b.label for b in tab.button] == ["Sign in"]
    assert [reason for reason, _ in session_rows(with_users)] == ["sign_out_everywhere"] * 2


def test_sign_in_hands_the_page_a_one_time_code_never_the_token(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("annotator")
    token = at.session_state[TOKEN_KEY]
    [script] = [element.value for element in at.html]
    assert token not in script
    code = re.search(r'\\"code\\": \\"([A-Za-z0-9_-]{43})\\"', script).group(1)
    assert 'fetch("/api/session-cookie", {' in script and 'credentials: "same-origin"' in script
    with with_users() as session:
        [handoff] = session.scalars(select(SessionHandoff)).all()
        assert handoff.code_hash == session_handoff.hash_code(code)
        assert session_handoff.unseal(handoff.sealed_token, code) == token
    # The script is placed once: the next run of the page has none.
    at.run()
    assert len(at.html) == 0


def test_sign_out_asks_the_route_to_clear_the_cookie_without_naming_the_token(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("annotator")
    token = at.session_state[TOKEN_KEY]
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    [script] = [element.value for element in at.html]
    assert 'fetch("/api/session-cookie/clear", {' in script
    assert token not in script and '"{}"' in script
