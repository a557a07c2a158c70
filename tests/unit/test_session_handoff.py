"""One-time codes that hand a new session to the cookie route: stored hashed, used once,
refused after a minute or once the session is over; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import SessionHandoff, User, UserSession
from db.session import SessionFactory
from labeling import auth, session_handoff, sessions
from labeling.config import Settings

NOW = datetime(2030, 1, 1, 9, 0, 0)


@pytest.fixture
def token(make_session: SessionFactory, settings: Settings) -> str:
    with make_session.begin() as session:
        user = auth.create_user(session, "ada", "correct-horse-1", "annotator")
        return sessions.start(session, user, settings, now=NOW)


def issue(make_session: SessionFactory, token: str, at: datetime = NOW) -> str:
    with make_session.begin() as session:
        return session_handoff.issue(session, token, now=at)


def redeem(
    make_session: SessionFactory, code: str, settings: Settings, at: datetime
) -> session_handoff.Redeemed:
    with make_session.begin() as session:
        return session_handoff.redeem(session, code, settings, now=at)


def stored_rows(make_session: SessionFactory) -> list[SessionHandoff]:
    with make_session() as session:
        rows = session.scalars(select(SessionHandoff)).all()
        session.expunge_all()
        return list(rows)


def test_seal_is_the_token_xored_with_the_codes_shake256_keystream() -> None:
    keystream = hashlib.shake_256(b"labelloop-session-handoff-seal:" + b"code-1").digest(3)
    expected = bytes([ord("a") ^ keystream[0], ord("b") ^ keystream[1], ord("c") ^ keystream[2]])
    assert session_handoff.seal("abc", "code-1") == expected.hex()
    assert session_handoff.unseal(expected.hex(), "code-1") == "abc"


def test_each_code_seals_the_same_token_differently() -> None:
    sealed = session_handoff.seal("the-token", "code-1")
    assert session_handoff.unseal(sealed, "code-1") == "the-token"
    assert sealed != session_handoff.seal("the-token", "code-2")
    assert sealed != b"the-token".hex()


def test_issue_stores_the_codes_sha256_and_neither_code_nor_token_in_clear(
    make_session: SessionFactory, token: str
) -> None:
    code = issue(make_session, token)
    [row] = stored_rows(make_session)
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert row.expires_at == NOW + timedelta(seconds=60)
    assert token not in row.sealed_token and code not in row.sealed_token
    assert session_handoff.unseal(row.sealed_token, code) == token
    with make_session() as session:
        assert row.session_id == session.scalar(
            select(UserSession.id).where(UserSession.token_hash == sessions.hash_token(token))
        )


def test_a_code_hands_over_its_token_once(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    code = issue(make_session, token)
    assert redeem(make_session, code, settings, NOW + timedelta(seconds=1)).token == token
    assert stored_rows(make_session) == []
    again = redeem(make_session, code, settings, NOW + timedelta(seconds=2))
    assert again == session_handoff.Redeemed(None, session_handoff.UNKNOWN)


def test_a_code_is_good_for_60_seconds(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    last_second = issue(make_session, token)
    too_late = issue(make_session, token)
    assert redeem(make_session, last_second, settings, NOW + timedelta(seconds=59)).token == token
    late = redeem(make_session, too_late, settings, NOW + timedelta(seconds=60))
    assert late == session_handoff.Redeemed(None, session_handoff.EXPIRED)
    assert stored_rows(make_session) == []


def test_a_wrong_code_is_refused_and_spends_nothing(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    code = issue(make_session, token)
    for wrong in ["", "x" * 129, code[:-1], code + "A"]:
        refused = redeem(make_session, wrong, settings, NOW)
        assert refused == session_handoff.Redeemed(None, session_handoff.UNKNOWN)
    assert redeem(make_session, code, settings, NOW).token == token


def test_a_code_of_a_session_signed_out_since_is_refused(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    code = issue(make_session, token)
    with make_session.begin() as session:
        sessions.sign_out(session, token, None, now=NOW + timedelta(seconds=1))
    refused = redeem(make_session, code, settings, NOW + timedelta(seconds=2))
    assert refused == session_handoff.Redeemed(None, session_handoff.SESSION_OVER)
    assert stored_rows(make_session) == []


def test_a_code_of_a_deactivated_user_is_refused(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    code = issue(make_session, token)
    with make_session.begin() as session:
        session.scalar(select(User).where(User.username == "ada")).active = False
    refused = redeem(make_session, code, settings, NOW + timedelta(seconds=1))
    assert refused.refusal == session_handoff.SESSION_OVER


def test_issuing_a_code_deletes_the_expired_ones(make_session: SessionFactory, token: str) -> None:
    issue(make_session, token, NOW)
    second = issue(make_session, token, NOW + timedelta(seconds=30))
    newest = issue(make_session, token, NOW + timedelta(seconds=60))
    assert {row.code_hash for row in stored_rows(make_session)} == {
        session_handoff.hash_code(second),
        session_handoff.hash_code(newest),
    }


def test_issuing_for_a_token_that_opened_no_session_fails(make_session: SessionFactory) -> None:
    with make_session.begin() as session, pytest.raises(ValueError, match="no session"):
        session_handoff.issue(session, "not-a-token", now=NOW)


def test_deleting_an_old_session_deletes_its_unspent_code(
    make_session: SessionFactory, settings: Settings, token: str
) -> None:
    """A later sign-in deletes sessions 7 days past their expiry; a code nobody redeemed must
    not block that (a foreign key error) nor outlive its session."""
    issue(make_session, token, NOW)
    later = NOW + timedelta(hours=settings.session_hours) + sessions.RETENTION + timedelta(hours=1)
    with make_session.begin() as session:
        user = session.scalar(select(User).where(User.username == "ada"))
        sessions.start(session, user, settings, now=later)
    assert stored_rows(make_session) == []
    with make_session() as session:
        assert (
            session.scalar(
                select(UserSession.id).where(UserSession.token_hash == sessions.hash_token(token))
            )
            is None
        )
