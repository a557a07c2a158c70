"""An account's life after it is created: the password policy, changing your own password,
an admin's one-time reset, the change forced at the next sign-in, and reactivation.

Kept apart from ``auth`` (sign-in, roles) so that the two can change independently. Every
refusal is an ``AccountError`` whose message is shown as is by both the browser and the CLI,
so the two never word the same rule differently.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from db.models import User
from labeling import audit
from labeling.auth import (
    MIN_PASSWORD_LENGTH,
    AuthError,
    create_user,
    find_user,
    hash_password,
    password_matches,
    validate_new_account,
)

MAX_PASSWORD_LENGTH = 256
WEAK_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "weak_passwords.txt"
# A one-time password: 4 groups of 4 from an alphabet without look-alikes (0/o, 1/l/i), so it
# can be read out or typed from a screen; 80 bits.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ONE_TIME_GROUPS = 4
ONE_TIME_GROUP_LENGTH = 4

POLICY = (
    f"A password has at least {MIN_PASSWORD_LENGTH} and at most {MAX_PASSWORD_LENGTH} "
    "characters, is not the username, and is not on LabelLoop's list of commonly used "
    "passwords."
)


class AccountError(AuthError):
    """An account change that cannot go ahead; the message is shown to the user as is."""


@cache
def weak_passwords() -> frozenset[str]:
    """The shipped list of commonly used passwords, lower-cased."""
    lines = WEAK_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, username: str) -> str | None:
    """What is wrong with ``password`` for ``username`` under the policy, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be at most {MAX_PASSWORD_LENGTH} characters."
    if password.strip().lower() == username.strip().lower():
        return "Password must not be the username."
    if password.strip().lower() in weak_passwords():
        return "Password is on the list of commonly used passwords; choose another."
    return None


def check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise AccountError(problem)


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"No user named {username!r}.")
    return user


def _store_password(user: User, password: str, must_change: bool) -> None:
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change


def change_own_password(
    session: Session, user_id: int, current: str, new: str, repeat: str | None = None
) -> None:
    """The signed-in user replaces their password; the current one is required so that an
    unattended browser cannot be used to take the account over. Clears a forced change."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise AccountError("This account no longer exists or is deactivated.")
    if not password_matches(user.password_hash, current):
        raise AccountError("Current password is wrong.")
    if repeat is not None and new != repeat:
        raise AccountError("The two new passwords differ.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    _store_password(user, new, must_change=False)
    audit.record(session, user, "user.password_change", username=user.username)


def set_password(
    session: Session,
    username: str,
    password: str,
    actor: audit.Actor | None = None,
    must_change: bool = False,
) -> User:
    """An operator sets an account's password (``users passwd``); with ``must_change`` its
    owner has to replace it at the next sign-in."""
    user = _existing(session, username)
    _store_password(user, password, must_change)
    audit.record(
        session, actor, "user.password_set", username=user.username, must_change=must_change
    )
    return user


def one_time_password() -> str:
    groups = (
        "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_GROUP_LENGTH))
        for _ in range(ONE_TIME_GROUPS)
    )
    return "-".join(groups)


def reset_password(session: Session, username: str, actor: audit.Actor | None = None) -> str:
    """Give the account a fresh one-time password and return it (shown once, never stored in
    clear); its owner must choose their own at the next sign-in."""
    user = _existing(session, username)
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    audit.record(session, actor, "user.password_reset", username=user.username)
    return password


def reactivate(session: Session, username: str, actor: audit.Actor | None = None) -> User:
    user = _existing(session, username)
    if user.active:
        raise AccountError(f"User {user.username!r} is already active.")
    user.active = True
    audit.record(session, actor, "user.reactivate", username=user.username)
    return user


def must_change_password(session: Session, user_id: int) -> bool:
    """Whether this user must replace their password before any page opens (the sign-in
    hook asks this on every run, so a reset takes effect in an open browser too)."""
    user = session.get(User, user_id)
    return bool(user is not None and user.must_change_password)


def create_account(
    session: Session, username: str, password: str, role: str, actor: audit.Actor | None = None
) -> User:
    """``auth.create_user`` under the whole password policy (the Users page and the CLI)."""
    validate_new_account(username.strip(), password, role)
    check_password(password, username)
    return create_user(session, username, password, role, actor=actor)
