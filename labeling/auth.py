"""Accounts, sign-in with a per-username lockout, and which role may open which page.

Page access lives here rather than in the pages so that the navigation, the page guards and
the tests all read one table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ROLES, SignInThrottle, User, utcnow
from labeling import audit
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
MIN_PASSWORD_LENGTH = 8

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


def find_user(session: Session, username: str) -> User | None:
    """Usernames are matched without regard to case, so "Alice" and "alice" are one account."""
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


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
    return user


def deactivate(session: Session, username: str, actor: audit.Actor | None = None) -> User:
    user = _existing_user(session, username)
    if user.role == "admin":
        _refuse_removing_last_admin(session, user)
    user.active = False
    audit.record(session, actor, "user.deactivate", username=username)
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


def _throttle(session: Session, username: str) -> SignInThrottle:
    throttle = session.get(SignInThrottle, username)
    if throttle is None:
        throttle = SignInThrottle(username=username, failures=0)
        session.add(throttle)
    return throttle


@dataclass(frozen=True)
class SignInOutcome:
    """The result of a sign-in attempt. Failures are returned, not raised, because the failure
    counter must be committed with the attempt; an exception would roll it back."""

    user: SignedInUser | None
    error: str | None = None


def sign_in(
    session: Session, username: str, password: str, settings: Settings, now: datetime | None = None
) -> SignInOutcome:
    """Check a password; failures count per username (known or not, so that the lock does not
    reveal which usernames exist) and lock it for a while after too many."""
    now = now or utcnow()
    username = username.strip()
    if not username or not password:
        return SignInOutcome(None, "Enter your username and password.")
    throttle = _throttle(session, username)
    if throttle.locked_until is not None and throttle.locked_until > now:
        seconds = max(1, math.ceil((throttle.locked_until - now).total_seconds()))
        audit.record(session, None, "sign_in.locked", actor_name=username)
        return SignInOutcome(None, f"Too many failed sign-ins. Try again in {seconds} s.")
    user = find_user(session, username)
    if user is None or not user.active or not password_matches(user.password_hash, password):
        throttle.failures = (throttle.failures or 0) + 1
        reason = "inactive" if user is not None and not user.active else "bad credentials"
        audit.record(session, None, "sign_in.failed", actor_name=username, reason=reason)
        if throttle.failures >= settings.max_sign_in_failures:
            throttle.failures = 0
            throttle.locked_until = now + timedelta(seconds=settings.lockout_seconds)
            audit.record(session, None, "sign_in.lockout", actor_name=username)
            return SignInOutcome(
                None, f"Too many failed sign-ins. Try again in {settings.lockout_seconds} s."
            )
        return SignInOutcome(None, "Wrong username or password.")
    throttle.failures = 0
    throttle.locked_until = None
    audit.record(session, user, "sign_in")
    return SignInOutcome(SignedInUser(id=user.id, username=user.username, role=user.role))


def current_account(session: Session, signed_in: SignedInUser) -> SignedInUser | None:
    """Re-read the account on every page run so that a deactivation or role change takes
    effect at once, not at the next sign-in."""
    user = session.get(User, signed_in.id)
    if user is None or not user.active:
        return None
    return SignedInUser(id=user.id, username=user.username, role=user.role)
