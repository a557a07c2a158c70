"""Browser sessions that survive a reload: a random token per sign-in, kept by the browser in
a cookie and by the database only as its sha256, with an absolute expiry and an idle timeout.

Streamlit's session state lives and dies with one websocket connection, so a reload or a new
tab would sign the user out. The token is what a new connection presents instead. Every page
run checks it again here, so revoking a row (sign-out, sign out everywhere, deactivation, a role
or password change) ends every tab that uses it at its next action.

sha256 rather than a password hash: the token is 32 random bytes, so there is nothing to guess
and a slow hash would only slow every page run.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.orm import Session

from db.models import User, UserSession, utcnow
from labeling import audit
from labeling.config import Settings

COOKIE_NAME = "labelloop_session"
TOKEN_BYTES = 32
# A presented token longer than this is no token of ours; it is refused before hashing.
MAX_TOKEN_CHARS = 128
# last_used_at is written at most this often, so that a page run is a read, not a write; the
# idle timeout is therefore exact to within this interval.
TOUCH_INTERVAL = timedelta(seconds=60)
# Ended rows are kept this long after their expiry for the Users page, then deleted at the next
# sign-in, so the table holds about (sign-ins per day) x (session days + this) rows.
RETENTION = timedelta(days=7)

# Why a session ended, as stored in revoked_reason and shown to admins.
SIGN_OUT = "sign_out"
SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
DEACTIVATED = "deactivated"
ROLE_CHANGED = "role_changed"
PASSWORD_CHANGED = "password_changed"
EXPIRED = "expired"
IDLE = "idle"


def new_token() -> str:
    """32 random bytes, URL-safe base64 (43 characters that need no quoting in a cookie)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _idle_limit(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def start(
    session: Session, user: audit.Actor, settings: Settings, now: datetime | None = None
) -> str:
    """Open a session for a user who has just proved their password; returns the token, which
    exists in clear only in this return value and the browser's cookie."""
    now = now or utcnow()
    _forget_old_sessions(session, now)
    token = new_token()
    row = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(row)
    session.flush()
    audit.record(session, user, "session.start", session_id=row.id, expires_at=str(row.expires_at))
    return token


def _forget_old_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(UserSession).where(UserSession.expires_at < now - RETENTION))


@dataclass(frozen=True)
class Resumed:
    """What a presented token is worth: its user when it is live, else why it was refused
    ("unknown", "revoked: <reason>", "expired", "idle", "deactivated"). ``pending`` says that
    resume() has something to write (an end, a refusal to audit, a last-use time)."""

    user: User | None
    session_id: int | None = None
    refusal: str | None = None
    pending: bool = False


def _lookup(session: Session, token: str) -> UserSession | None:
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return None
    return session.scalar(select(UserSession).where(UserSession.token_hash == hash_token(token)))


def peek(session: Session, token: str, settings: Settings, now: datetime | None = None) -> Resumed:
    """resume()'s verdict without writing, for a read-only session: most page runs need no
    write at all, and on SQLite a write transaction would queue every page run behind any
    writer (an import, a training saving its predictions)."""
    now = now or utcnow()
    row = _lookup(session, token)
    if row is None:
        return Resumed(None, refusal="unknown")
    if row.revoked_at is not None:
        return Resumed(None, row.id, f"revoked: {row.revoked_reason}", pending=True)
    user = session.get(User, row.user_id)
    ended = _why_over(row, user, settings, now)
    if ended is not None:
        return Resumed(None, row.id, ended, pending=True)
    return Resumed(user, row.id, pending=now - row.last_used_at >= TOUCH_INTERVAL)


def resume(
    session: Session, token: str, settings: Settings, now: datetime | None = None
) -> Resumed:
    """Check a token on a page run, in a write transaction. A token that has just run out is
    ended (and audited once) here, so the Users page shows why; an unknown token writes
    nothing, so made-up cookies cannot fill the audit trail."""
    now = now or utcnow()
    row = _lookup(session, token)
    if row is None:
        return Resumed(None, refusal="unknown")
    if row.revoked_at is not None:
        audit.record(
            session,
            None,
            "session.refused",
            actor_name=_username(session, row.user_id),
            session_id=row.id,
            reason=row.revoked_reason,
        )
        return Resumed(None, row.id, f"revoked: {row.revoked_reason}")
    user = session.get(User, row.user_id)
    ended = _why_over(row, user, settings, now)
    if ended is not None:
        _end(row, ended, now)
        audit.record(session, user, "session.end", session_id=row.id, reason=ended)
        return Resumed(None, row.id, ended)
    if now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
    return Resumed(user, row.id)


def _why_over(row: UserSession, user: User | None, settings: Settings, now: datetime) -> str | None:
    if user is None or not user.active:
        return DEACTIVATED
    if now >= row.expires_at:
        return EXPIRED
    if now - row.last_used_at > _idle_limit(settings):
        return IDLE
    return None


def _end(row: UserSession, reason: str, now: datetime) -> None:
    row.revoked_at = now
    row.revoked_reason = reason


def _username(session: Session, user_id: int) -> str:
    return session.scalar(select(User.username).where(User.id == user_id)) or "?"


def sign_out(
    session: Session, token: str, actor: audit.Actor | None, now: datetime | None = None
) -> bool:
    """End the one session this token belongs to; True when there was a live one."""
    now = now or utcnow()
    row = _lookup(session, token)
    if row is None or row.revoked_at is not None:
        return False
    _end(row, SIGN_OUT, now)
    audit.record(session, actor, "session.revoke", session_id=row.id, reason=SIGN_OUT)
    return True


def revoke_user_sessions(
    session: Session,
    user_id: int,
    reason: str,
    actor: audit.Actor | None = None,
    now: datetime | None = None,
) -> int:
    """End every live session of a user (sign out everywhere, deactivation, role or password
    change); returns how many ended. Audited when any did, or when the user asked for it."""
    now = now or utcnow()
    ended = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended or reason == SIGN_OUT_EVERYWHERE:
        audit.record(
            session,
            actor,
            "session.revoke_all",
            username=_username(session, user_id),
            reason=reason,
            sessions=ended,
        )
    return ended


# session.info key: the token of the browser that is changing its own password, whose session
# survives the change (every other one ends).
KEEP_TOKEN = "labelloop_keep_session_token"


@event.listens_for(Session, "before_flush")
def _end_sessions_on_password_change(session: Session, _context: Any, _instances: Any) -> None:
    """Whatever code changes a password (own change, admin reset, ``users passwd``), the
    account's sessions end in the same transaction: a password change is how a user locks out
    someone who learnt the old one, and a session started with the old one must not outlive it.
    A flush hook rather than a call in each function, so that no path can forget it."""
    for user in [obj for obj in session.dirty if isinstance(obj, User) and obj.id is not None]:
        if not inspect(user).attrs.password_hash.history.has_changes():
            continue
        keep = session.info.get(KEEP_TOKEN)
        query = update(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
        )
        if keep:
            query = query.where(UserSession.token_hash != hash_token(keep))
        ended = session.execute(
            query.values(revoked_at=utcnow(), revoked_reason=PASSWORD_CHANGED).execution_options(
                synchronize_session=False
            )
        ).rowcount
        if ended:
            audit.record(
                session,
                None,
                "session.revoke_all",
                username=user.username,
                reason=PASSWORD_CHANGED,
                sessions=ended,
            )


@dataclass(frozen=True)
class SessionView:
    """One session as the Users page lists it (never the token or its hash)."""

    id: int
    username: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    state: str


def _state(row: UserSession, settings: Settings, now: datetime) -> str:
    if row.revoked_at is not None:
        return f"ended ({row.revoked_reason})"
    if now >= row.expires_at:
        return "ended (expired)"
    if now - row.last_used_at > _idle_limit(settings):
        return "ended (idle)"
    return "active"


def list_sessions(
    session: Session, settings: Settings, user_id: int | None = None, now: datetime | None = None
) -> list[SessionView]:
    """Sessions newest first, for one user or everyone; rows past RETENTION are gone."""
    now = now or utcnow()
    query = (
        select(UserSession, User.username)
        .join(User, User.id == UserSession.user_id)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    )
    if user_id is not None:
        query = query.where(UserSession.user_id == user_id)
    return [
        SessionView(
            id=row.id,
            username=username,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            state=_state(row, settings, now),
        )
        for row, username in session.execute(query).all()
    ]


def ended_message(refusal: str | None, settings: Settings) -> str | None:
    """What the sign-in form tells someone whose tab found its session over, so that being
    signed out is never a mystery; None when there is nothing to explain (no session, or an
    unknown token)."""
    reason = (refusal or "").removeprefix("revoked: ")
    messages = {
        SIGN_OUT: "You signed out in another tab or window. Sign in again to go on.",
        SIGN_OUT_EVERYWHERE: "All your sessions were ended. Sign in again to go on.",
        DEACTIVATED: "This account was deactivated or changed. Sign in again to go on.",
        ROLE_CHANGED: "Your role was changed. Sign in again to go on with your new role.",
        PASSWORD_CHANGED: "Your password was changed. Sign in again with the new one.",
        EXPIRED: f"Sessions last {settings.session_hours} h at most. Sign in again to go on.",
        IDLE: (
            f"You were signed out after {settings.session_idle_minutes} minutes without "
            "activity. Sign in again to go on."
        ),
    }
    return messages.get(reason)
