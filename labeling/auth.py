"""Accounts, sign-in with a per-username lockout, and which role may open which page.

Page access lives here rather than in the pages so that the navigation, the page guards and
the tests all read one table.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import ROLES, SignInThrottle, User, utcnow
from labeling import audit, sessions
from labeling.config import Settings

# Pages that exist, in navigation order, with the roles that may open them. A page is added
# here when it works, so that nobody is shown a placeholder.
PAGE_ACCESS: dict[str, frozenset[str]] = {
    "home": frozenset(ROLES),
    "projects": frozenset(ROLES),
    "annotate": frozenset({"annotator", "reviewer", "admin"}),
    "history": frozenset({"annotator", "reviewer", "admin"}),
    "review": frozenset({"reviewer", "admin"}),
    "model": frozenset({"manager", "admin"}),
    "insights": frozenset({"manager", "admin"}),
    "data": frozenset({"admin"}),
    "tags": frozenset({"admin"}),
    "users": frozenset({"admin"}),
    "account": frozenset(ROLES),
}

ROLE_SUMMARY = {
    "annotator": "label the projects the sampler serves you: add or remove tags, or skip",
    "reviewer": "label projects, and resolve conflicts between annotators",
    "manager": "read model quality, agreement and discoverability, and start retraining",
    "admin": "do everything: import and export data, manage the tag taxonomy and users",
}

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MAX_USERNAME_LENGTH = 64
MAX_PASSWORD_LENGTH = 1024
MIN_PASSWORD_LENGTH = 8
# The accounts `init --demo` creates, with their published password; while one of them still
# has it, the app warns every admin.
DEMO_PASSWORD = "labelloop-demo"
DEMO_USERNAMES = ("demo-admin", "demo-reviewer", "demo-annotator", "demo-manager")
# Failed-sign-in rows are dropped once their name has not failed for this long, and the table
# never keeps more than THROTTLE_MAX_ROWS (the oldest go first), so that a flood of made-up
# names cannot grow it without end.
THROTTLE_EXPIRY = timedelta(days=1)
THROTTLE_MAX_ROWS = 10_000
UNKNOWN_NAME_MARKER = "?unknown:"

_hasher = PasswordHasher()


class AuthError(ValueError):
    """A sign-in or account change that cannot go ahead; the message is shown to the user."""


@dataclass(frozen=True)
class SignedInUser:
    """What a browser session keeps about its user: small, immutable and free of ORM state."""

    id: int
    username: str
    role: str


def can_open(role: str, page: str) -> bool:
    return role in PAGE_ACCESS.get(page, frozenset())


def pages_for(role: str) -> list[str]:
    return [page for page, roles in PAGE_ACCESS.items() if role in roles]


@functools.lru_cache(maxsize=2)
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    return hasher.hash("labelloop: no such account")


def _dummy_hash() -> str:
    """Verified when the typed name has no usable account, so that an unknown name costs as
    much time as a wrong password and timing does not tell which usernames exist. Made with
    the current hasher's parameters, so both take the same work."""
    return _dummy_hash_for(_hasher)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_account(username: str, password: str, role: str) -> None:
    if not USERNAME_PATTERN.match(username):
        raise AuthError(
            "Username must be 2-64 characters: letters, digits, dot, dash or underscore."
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if role not in ROLES:
        raise AuthError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def canonical_username(username: str) -> str:
    """The form every username comparison uses (surrounding spaces and case ignored), so that
    "Alice ", "alice" and "ALICE" are one account and share one failure counter."""
    return username.strip().lower()


def find_user(session: Session, username: str) -> User | None:
    """Usernames are matched without regard to case, so "Alice" and "alice" are one account."""
    return session.scalar(
        select(User).where(func.lower(User.username) == canonical_username(username))
    )


def create_user(
    session: Session, username: str, password: str, role: str, actor: audit.Actor | None = None
) -> User:
    username = username.strip()
    validate_new_account(username, password, role)
    if find_user(session, username) is not None:
        raise AuthError(f"User {username!r} already exists.")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", username=username, role=role)
    return user


def create_first_admin(session: Session, username: str, password: str) -> User:
    """Only allowed while there are no users at all, so the open first-run form cannot be used
    to add a second admin later."""
    if user_count(session) > 0:
        raise AuthError("An administrator already exists; sign in instead.")
    return create_user(session, username, password, "admin")


def _existing_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise AuthError(f"No user named {username!r}.")
    return user


def set_role(session: Session, username: str, role: str, actor: audit.Actor | None = None) -> User:
    if role not in ROLES:
        raise AuthError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    user = _existing_user(session, username)
    if user.role == "admin" and role != "admin":
        _refuse_removing_last_admin(session, user)
    previous, user.role = user.role, role
    audit.record(session, actor, "user.set_role", username=username, role=role, previous=previous)
    if role != previous:
        # Open tabs must not keep the old role's pages: the user signs in again as the new role.
        sessions.revoke_user_sessions(session, user.id, sessions.ROLE_CHANGED, actor)
    return user


def deactivate(session: Session, username: str, actor: audit.Actor | None = None) -> User:
    user = _existing_user(session, username)
    if user.role == "admin":
        _refuse_removing_last_admin(session, user)
    user.active = False
    audit.record(session, actor, "user.deactivate", username=username)
    sessions.revoke_user_sessions(session, user.id, sessions.DEACTIVATED, actor)
    return user


def _refuse_removing_last_admin(session: Session, user: User) -> None:
    other_admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )
    if not other_admins:
        raise AuthError(f"{user.username!r} is the last active admin; make another admin first.")


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def unknown_name_key(canonical: str) -> str:
    """What is stored for a typed name that is no account: a fixed marker and a hash, so that
    a password typed into the Username box is never kept in the clear."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
    return f"{UNKNOWN_NAME_MARKER}{digest}"


def _throttle(session: Session, key: str) -> SignInThrottle:
    throttle = session.get(SignInThrottle, key)
    if throttle is None:
        throttle = SignInThrottle(username=key, failures=0)
        session.add(throttle)
    return throttle


def _forget_old_failures(session: Session, now: datetime) -> None:
    """Expire rows whose name has not failed for THROTTLE_EXPIRY (their lock is long over) and
    keep at most THROTTLE_MAX_ROWS, dropping the oldest."""
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_failure_at < now - THROTTLE_EXPIRY,
            (SignInThrottle.locked_until.is_(None)) | (SignInThrottle.locked_until < now),
        )
    )
    rows = session.scalar(select(func.count()).select_from(SignInThrottle)) or 0
    if rows > THROTTLE_MAX_ROWS:
        oldest = (
            select(SignInThrottle.username)
            .order_by(SignInThrottle.last_failure_at.asc().nulls_first())
            .limit(rows - THROTTLE_MAX_ROWS)
        )
        session.execute(
            delete(SignInThrottle).where(SignInThrottle.username.in_(oldest.scalar_subquery()))
        )


@dataclass(frozen=True)
class SignInOutcome:
    """The result of a sign-in attempt. Failures are returned, not raised, because the failure
    counter must be committed with the attempt; an exception would roll it back."""

    user: SignedInUser | None
    error: str | None = None


WRONG_CREDENTIALS = "Wrong username or password."


def sign_in(
    session: Session, username: str, password: str, settings: Settings, now: datetime | None = None
) -> SignInOutcome:
    """Check a password; failures count per canonical username (known or not, so that the
    lock does not reveal which usernames exist) and lock it for a while after too many.
    Unknown names are verified against a dummy hash so that they take as long as known ones,
    and are stored only as a hash."""
    now = now or utcnow()
    canonical = canonical_username(username)
    if not canonical or not password:
        return SignInOutcome(None, "Enter your username and password.")
    if len(canonical) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        password_matches(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return SignInOutcome(None, WRONG_CREDENTIALS)
    user = find_user(session, canonical)
    key = user.username.lower() if user is not None else unknown_name_key(canonical)
    actor_name = user.username if user is not None else key
    throttle = _throttle(session, key)
    if throttle.locked_until is not None and throttle.locked_until > now:
        seconds = max(1, math.ceil((throttle.locked_until - now).total_seconds()))
        audit.record(session, None, "sign_in.locked", actor_name=actor_name)
        return SignInOutcome(None, f"Too many failed sign-ins. Try again in {seconds} s.")
    usable = user is not None and user.active
    matched = password_matches(user.password_hash if usable else _dummy_hash(), password)
    if user is None or not usable or not matched:
        throttle.failures = (throttle.failures or 0) + 1
        throttle.last_failure_at = now
        _forget_old_failures(session, now)
        reason = "inactive" if user is not None and not user.active else "bad credentials"
        audit.record(session, None, "sign_in.failed", actor_name=actor_name, reason=reason)
        if throttle.failures >= settings.max_sign_in_failures:
            throttle.failures = 0
            throttle.locked_until = now + timedelta(seconds=settings.lockout_seconds)
            audit.record(session, None, "sign_in.lockout", actor_name=actor_name)
            return SignInOutcome(
                None, f"Too many failed sign-ins. Try again in {settings.lockout_seconds} s."
            )
        return SignInOutcome(None, WRONG_CREDENTIALS)
    throttle.failures = 0
    throttle.locked_until = None
    audit.record(session, user, "sign_in")
    return SignInOutcome(SignedInUser(id=user.id, username=user.username, role=user.role))


@functools.lru_cache(maxsize=64)
def _is_demo_password(password_hash: str) -> bool:
    """Cached by hash: a changed password has a new hash, and one argon2 check per page run
    would slow every admin page."""
    return password_matches(password_hash, DEMO_PASSWORD)


def demo_accounts_with_demo_password(session: Session) -> list[str]:
    """Active demo accounts that still accept the published demo password."""
    rows = session.execute(
        select(User.username, User.password_hash).where(
            func.lower(User.username).in_(DEMO_USERNAMES), User.active.is_(True)
        )
    ).all()
    return sorted(name for name, password_hash in rows if _is_demo_password(password_hash))


def current_account(session: Session, signed_in: SignedInUser) -> SignedInUser | None:
    """Re-read the account on every page run so that a deactivation or role change takes
    effect at once, not at the next sign-in."""
    user = session.get(User, signed_in.id)
    if user is None or not user.active:
        return None
    return SignedInUser(id=user.id, username=user.username, role=user.role)
