"""One-time codes that hand a new session from the sign-in page to the cookie route.

A Streamlit page run talks to the browser over a websocket and cannot send a ``Set-Cookie``
header, and a cookie written by page JavaScript cannot be HttpOnly. So the page run issues a
code here, places it in a tiny script, and the script POSTs it to an HTTP route that redeems it
and answers with the HttpOnly cookie. The code, not the token, is what the page shows.

The database keeps the code's sha256 (to find the row) and the token XORed with a keystream
derived from the code by SHAKE-256 (so the route can recover the token): a copy of the table
opens nothing without the code, and each code is 32 fresh random bytes used once, so no
keystream is ever reused. Codes live in the database, not in memory, so that the page run and
the route may be served by different replicas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.models import SessionHandoff, UserSession, utcnow
from labeling import sessions
from labeling.config import Settings

# Long enough for a slow page to load its script and POST, short enough that a code read off
# the page by an injected script is soon worthless.
LIFETIME = timedelta(seconds=60)
# A presented code longer than this is no code of ours; it is refused before hashing.
MAX_CODE_CHARS = 128
_SEAL_DOMAIN = b"labelloop-session-handoff-seal:"

# Why a code was refused.
UNKNOWN = "unknown"
EXPIRED = "expired"
SESSION_OVER = "session_over"


# A code is made and stored like a session token: 32 random bytes, kept as its SHA-256.
new_code = sessions.new_token
hash_code = sessions.hash_token


def _keystream(code: str, length: int) -> bytes:
    return hashlib.shake_256(_SEAL_DOMAIN + code.encode("utf-8")).digest(length)


def seal(token: str, code: str) -> str:
    """The token XORed with the code's keystream, as hex; only the code opens it."""
    data = token.encode("ascii")
    return bytes(a ^ b for a, b in zip(data, _keystream(code, len(data)), strict=True)).hex()


def unseal(sealed: str, code: str) -> str:
    """The token seal() sealed with this code (XOR is its own inverse)."""
    data = bytes.fromhex(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(code, len(data)), strict=True)).decode(
        "ascii"
    )


def issue(session: Session, token: str, now: datetime | None = None) -> str:
    """A new code for the session this token has just opened, valid for LIFETIME; expired
    codes are deleted first, so the table holds about one row per sign-in of the last minute."""
    now = now or utcnow()
    session.execute(delete(SessionHandoff).where(SessionHandoff.expires_at <= now))
    session_id = session.scalar(
        select(UserSession.id).where(UserSession.token_hash == sessions.hash_token(token))
    )
    if session_id is None:
        raise ValueError("no session has this token")
    code = new_code()
    session.add(
        SessionHandoff(
            code_hash=hash_code(code),
            session_id=session_id,
            sealed_token=seal(token, code),
            expires_at=now + LIFETIME,
        )
    )
    session.flush()
    return code


@dataclass(frozen=True)
class Redeemed:
    """The session token a code hands over, or why it was refused (UNKNOWN also covers a code
    already used: redeeming deletes its row)."""

    token: str | None
    refusal: str | None = None


def redeem(
    session: Session, code: str, settings: Settings, now: datetime | None = None
) -> Redeemed:
    """Spend a code: its row is deleted by the same statement that reads it, so of two
    requests racing with one code exactly one gets the row. The token is handed over only
    while its session is live (a sign-out in the minute since the code was issued wins)."""
    now = now or utcnow()
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_CHARS:
        return Redeemed(None, UNKNOWN)
    row = session.execute(
        delete(SessionHandoff)
        .where(SessionHandoff.code_hash == hash_code(code))
        .returning(SessionHandoff.sealed_token, SessionHandoff.expires_at)
    ).first()
    if row is None:
        return Redeemed(None, UNKNOWN)
    sealed_token, expires_at = row
    if now >= expires_at:
        return Redeemed(None, EXPIRED)
    token = unseal(sealed_token, code)
    if sessions.peek(session, token, settings, now).user is None:
        return Redeemed(None, SESSION_OVER)
    return Redeemed(token)
