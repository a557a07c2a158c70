"""Browser sessions: token hashing, absolute expiry, idle timeout and every way a session is
revoked, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, User, UserSession
from db.session import SessionFactory
from labeling import auth, sessions
from labeling.config import Settings, load_settings

NOW = datetime(2030, 1, 1, 9, 0, 0)
PASSWORD = "correct-horse-1"


@pytest.fixture
def short(settings: Settings) -> Settings:
    """Sessions of 2 hours that end after 30 idle minutes."""
    return replace(settings, session_hours=2, session_idle_minutes=30)


def add_user(make_session: SessionFactory, username: str, role: str = "annotator") -> int:
    with make_session.begin() as session:
        return auth.create_user(session, username, PASSWORD, role).id


def start(
    make_session: SessionFactory, user_id: int, settings: Settings, at: datetime = NOW
) -> str:
    with make_session.begin() as session:
        user = session.get(User, user_id)
        return sessions.start(session, user, settings, now=at)


def resume(
    make_session: SessionFactory, token: str, settings: Settings, at: datetime
) -> tuple[str | None, str | None]:
    """(username, refusal) of a page run at ``at``, committed as the app commits it."""
    with make_session.begin() as session:
        resumed = sessions.resume(session, token, settings, now=at)
        return (resumed.user.username if resumed.user else None), resumed.refusal


def audit_rows(make_session: SessionFactory, prefix: str = "session.") -> list[tuple[str, dict]]:
    with make_session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
        )
        return [(row.action, row.details) for row in rows]


def stored(make_session: SessionFactory) -> list[dict[str, Any]]:
    with make_session() as session:
        return [
            {
                "user_id": row.user_id,
                "token_hash": row.token_hash,
                "revoked_reason": row.revoked_reason,
                "last_used_at": row.last_used_at,
            }
            for row in session.scalars(select(UserSession).order_by(UserSession.id))
        ]


def test_token_is_random_and_stored_only_as_its_sha256(
    make_session: SessionFactory, settings: Settings
) -> None:
    assert sessions.hash_token("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    ann = add_user(make_session, "ann")
    first, second = start(make_session, ann, settings), start(make_session, ann, settings)
    assert first != second
    assert len(first) == 43 and all(c.isalnum() or c in "-_" for c in first)
    rows = stored(make_session)
    assert [row["token_hash"] for row in rows] == [
        sessions.hash_token(first),
        sessions.hash_token(second),
    ]
    assert all(first not in str(row) and second not in str(row) for row in rows)
    with make_session() as session:
        row = session.scalars(select(UserSession)).first()
        assert row.expires_at - row.created_at == timedelta(hours=24)


def test_live_token_finds_its_user_and_use_is_recorded_at_most_once_a_minute(
    make_session: SessionFactory, settings: Settings
) -> None:
    ann = add_user(make_session, "ann")
    token = start(make_session, ann, settings)
    assert resume(make_session, token, settings, NOW + timedelta(seconds=59)) == ("ann", None)
    assert stored(make_session)[0]["last_used_at"] == NOW
    assert resume(make_session, token, settings, NOW + timedelta(minutes=5)) == ("ann", None)
    assert stored(make_session)[0]["last_used_at"] == NOW + timedelta(minutes=5)


def test_session_ends_at_its_absolute_expiry_and_is_audited_once(
    make_session: SessionFactory, short: Settings
) -> None:
    ann = add_user(make_session, "ann")
    token = start(make_session, ann, short)
    # Used every 20 minutes, so never idle; still over after 2 hours.
    for minutes in (20, 40, 60, 80, 100):
        assert resume(make_session, token, short, NOW + timedelta(minutes=minutes))[0] == "ann"
    assert resume(make_session, token, short, NOW + timedelta(hours=2)) == (None, "expired")
    assert resume(make_session, token, short, NOW + timedelta(hours=2, minutes=1)) == (
        None,
        "revoked: expired",
    )
    actions = [action for action, _ in audit_rows(make_session)]
    assert actions == ["session.start", "session.end", "session.refused"]
    assert audit_rows(make_session)[1][1]["reason"] == "expired"


def test_session_ends_after_the_idle_timeout(make_session: SessionFactory, short: Settings) -> None:
    ann = add_user(make_session, "ann")
    token = start(make_session, ann, short)
    assert resume(make_session, token, short, NOW + timedelta(minutes=20))[0] == "ann"
    # 25 idle minutes since the last use at +20: still in.
    assert resume(make_session, token, short, NOW + timedelta(minutes=45))[0] == "ann"
    # 31 idle minutes since +45: out, although the 2 hours are not over.
    assert resume(make_session, token, short, NOW + timedelta(minutes=76)) == (None, "idle")
    assert stored(make_session)[0]["revoked_reason"] == "idle"


def test_sign_out_revokes_only_that_token_and_a_copy_of_it_is_refused(
    make_session: SessionFactory, settings: Settings
) -> None:
    ann = add_user(make_session, "ann")
    laptop, phone = start(make_session, ann, settings), start(make_session, ann, settings)
    with make_session.begin() as session:
        assert sessions.sign_out(session, laptop, None, now=NOW) is True
        assert sessions.sign_out(session, laptop, None, now=NOW) is False
    later = NOW + timedelta(minutes=1)
    assert resume(make_session, laptop, settings, later) == (None, "revoked: sign_out")
    assert resume(make_session, phone, settings, later) == ("ann", None)
    refused = [d for action, d in audit_rows(make_session) if action == "session.refused"]
    assert [d["reason"] for d in refused] == ["sign_out"]


def test_unknown_or_oversized_tokens_are_refused_without_writing(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "ann")
    for token in ("", "not-a-token", "x" * 129, sessions.hash_token("abc")):
        assert resume(make_session, token, settings, NOW) == (None, "unknown")
    assert audit_rows(make_session) == []


def test_sign_out_everywhere_ends_every_session_of_that_user_only(
    make_session: SessionFactory, settings: Settings
) -> None:
    ann, bob = add_user(make_session, "ann"), add_user(make_session, "bob")
    ann_tokens = [start(make_session, ann, settings) for _ in range(3)]
    bob_token = start(make_session, bob, settings)
    with make_session.begin() as session:
        assert sessions.revoke_user_sessions(session, ann, sessions.SIGN_OUT_EVERYWHERE) == 3
        # Nothing left to end, but a user's own request is still on the record.
        assert sessions.revoke_user_sessions(session, ann, sessions.SIGN_OUT_EVERYWHERE) == 0
    for token in ann_tokens:
        assert resume(make_session, token, settings, NOW) == (
            None,
            "revoked: sign_out_everywhere",
        )
    assert resume(make_session, bob_token, settings, NOW) == ("bob", None)
    everywhere = [d for action, d in audit_rows(make_session) if action == "session.revoke_all"]
    assert [(d["username"], d["sessions"]) for d in everywhere] == [("ann", 3), ("ann", 0)]


def test_deactivation_and_a_role_change_revoke_sessions(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "root", "admin")
    ann, bob = add_user(make_session, "ann"), add_user(make_session, "bob")
    ann_token, bob_token = start(make_session, ann, settings), start(make_session, bob, settings)
    with make_session.begin() as session:
        auth.set_role(session, "bob", "annotator")  # no change: sessions kept
    assert resume(make_session, bob_token, settings, NOW)[0] == "bob"
    with make_session.begin() as session:
        auth.deactivate(session, "ann")
        auth.set_role(session, "bob", "reviewer")
    assert resume(make_session, ann_token, settings, NOW) == (None, "revoked: deactivated")
    assert resume(make_session, bob_token, settings, NOW) == (None, "revoked: role_changed")
    revoked = [
        (d["username"], d["reason"], d["sessions"])
        for action, d in audit_rows(make_session)
        if action == "session.revoke_all"
    ]
    assert revoked == [("ann", "deactivated", 1), ("bob", "role_changed", 1)]


def test_sessions_are_listed_per_user_with_their_state_and_old_ones_are_forgotten(
    make_session: SessionFactory, short: Settings
) -> None:
    ann, bob = add_user(make_session, "ann"), add_user(make_session, "bob")
    ancient = start(make_session, ann, short, at=NOW - timedelta(days=8))
    idle = start(make_session, ann, short, at=NOW - timedelta(minutes=40))
    signed_out = start(make_session, ann, short, at=NOW - timedelta(minutes=10))
    live = start(make_session, ann, short, at=NOW - timedelta(minutes=5))
    start(make_session, bob, short, at=NOW)
    with make_session.begin() as session:
        sessions.sign_out(session, signed_out, None, now=NOW)
    with make_session() as session:
        listed = sessions.list_sessions(session, short, user_id=ann, now=NOW)
        everyone = sessions.list_sessions(session, short, now=NOW)
        remaining = session.scalar(select(func.count()).select_from(UserSession))
    assert [(view.username, view.state) for view in listed] == [
        ("ann", "active"),
        ("ann", "ended (sign_out)"),
        ("ann", "ended (idle)"),
    ]
    assert [view.username for view in everyone] == ["bob", "ann", "ann", "ann"]
    # The 8-day-old session expired more than 7 days ago and went at a later sign-in.
    assert remaining == 4
    assert resume(make_session, ancient, short, NOW) == (None, "unknown")
    assert resume(make_session, idle, short, NOW) == (None, "idle")
    assert resume(make_session, live, short, NOW) == ("ann", None)


def test_session_settings_come_from_the_environment() -> None:
    defaults = load_settings({})
    assert (defaults.session_hours, defaults.session_idle_minutes) == (24, 120)
    custom = load_settings({"LABELLOOP_SESSION_HOURS": "8", "LABELLOOP_SESSION_IDLE_MINUTES": "15"})
    assert (custom.session_hours, custom.session_idle_minutes) == (8, 15)


def test_peek_writes_nothing_and_says_when_resume_has_something_to_write(
    make_session: SessionFactory, short: Settings
) -> None:
    ann = add_user(make_session, "ann")
    token = start(make_session, ann, short)

    def peek(at: datetime) -> tuple[str | None, str | None, bool]:
        with make_session() as session:
            seen = sessions.peek(session, token, short, now=at)
            return (seen.user.username if seen.user else None), seen.refusal, seen.pending

    assert peek(NOW + timedelta(seconds=30)) == ("ann", None, False)
    assert peek(NOW + timedelta(minutes=5)) == ("ann", None, True)
    assert peek(NOW + timedelta(minutes=31)) == (None, "idle", True)
    assert peek(NOW + timedelta(hours=3)) == (None, "expired", True)
    with make_session() as session:
        assert sessions.peek(session, "made-up", short, now=NOW).pending is False
    assert stored(make_session)[0]["last_used_at"] == NOW
    assert stored(make_session)[0]["revoked_reason"] is None
    assert [action for action, _ in audit_rows(make_session)] == ["session.start"]
    with make_session.begin() as session:
        sessions.sign_out(session, token, None, now=NOW)
    assert peek(NOW) == (None, "revoked: sign_out", True)
    assert [action for action, _ in audit_rows(make_session)] == [
        "session.start",
        "session.revoke",
    ]


def test_the_sign_in_form_says_why_a_session_ended(short: Settings) -> None:
    assert sessions.ended_message("idle", short) == (
        "You were signed out after 30 minutes without activity. Sign in again to go on."
    )
    assert sessions.ended_message("expired", short) == (
        "Sessions last 2 h at most. Sign in again to go on."
    )
    assert sessions.ended_message("revoked: role_changed", short) == (
        "Your role was changed. Sign in again to go on with your new role."
    )
    assert sessions.ended_message("unknown", short) is None
    assert sessions.ended_message(None, short) is None


def test_a_password_change_ends_the_accounts_sessions_except_the_one_making_it(
    make_session: SessionFactory, settings: Settings
) -> None:
    ann, bob = add_user(make_session, "ann"), add_user(make_session, "bob")
    laptop, phone = start(make_session, ann, settings), start(make_session, ann, settings)
    bob_token = start(make_session, bob, settings)
    with make_session.begin() as session:
        # As the account code stores a new password; the laptop is the browser changing it.
        session.info[sessions.KEEP_TOKEN] = laptop
        session.get(User, ann).password_hash = auth.hash_password("a-new-password-1")
    assert resume(make_session, laptop, settings, NOW)[0] == "ann"
    assert resume(make_session, phone, settings, NOW) == (None, "revoked: password_changed")
    assert resume(make_session, bob_token, settings, NOW)[0] == "bob"
    with make_session.begin() as session:
        # An operator's reset keeps nothing.
        session.get(User, ann).password_hash = auth.hash_password("a-reset-password-1")
        session.get(User, ann).role = "annotator"  # unrelated changes end nothing by themselves
        session.get(User, bob).role = "annotator"
    assert resume(make_session, laptop, settings, NOW) == (None, "revoked: password_changed")
    assert resume(make_session, bob_token, settings, NOW)[0] == "bob"
    revoked = [
        (d["username"], d["reason"], d["sessions"])
        for action, d in audit_rows(make_session)
        if action == "session.revoke_all"
    ]
    assert revoked == [("ann", "password_changed", 1), ("ann", "password_changed", 1)]
