"""Accounts, passwords, sign-in with its per-username lockout, and page access by role."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import argon2
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from db.models import AuditEvent, SignInThrottle
from db.session import SessionFactory
from labeling import auth
from labeling.config import Settings

PASSWORD = "correct-horse-1"
WRONG = "wrong-password-1"
NOW = datetime(2030, 1, 1, 12, 0, 0)
WRONG_CREDENTIALS = "Wrong username or password."
LOCKED_60 = "Too many failed sign-ins. Try again in 60 s."
LAST_ADMIN = "'root' is the last active admin; make another admin first."
BAD_USERNAME = "Username must be 2-64 characters: letters, digits, dot, dash or underscore."


def add_user(
    make_session: SessionFactory, username: str, role: str = "annotator"
) -> auth.SignedInUser:
    with make_session.begin() as session:
        user = auth.create_user(session, username, PASSWORD, role)
        return auth.SignedInUser(id=user.id, username=user.username, role=user.role)


def attempt(
    make_session: SessionFactory,
    settings: Settings,
    username: str,
    password: str,
    now: datetime = NOW,
) -> auth.SignInOutcome:
    """One sign-in attempt in its own committed transaction, as the app makes it."""
    with make_session.begin() as session:
        return auth.sign_in(session, username, password, settings, now=now)


def events(make_session: SessionFactory, action: str) -> list[tuple[str, Any, dict]]:
    with make_session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return [(row.actor, row.user_id, row.details) for row in rows]


def throttle_row(make_session: SessionFactory, username: str) -> tuple[int, Any] | None:
    """The failure counter of a typed name: keyed on the account's name when it is one, else
    on the hashed marker (a name that is no account is never stored as typed)."""
    canonical = auth.canonical_username(username)
    with make_session() as session:
        row = session.get(SignInThrottle, canonical) or session.get(
            SignInThrottle, auth.unknown_name_key(canonical)
        )
        return None if row is None else (row.failures, row.locked_until)


def lock_out(make_session: SessionFactory, settings: Settings, username: str) -> list[str | None]:
    return [
        attempt(make_session, settings, username, WRONG).error
        for _ in range(settings.max_sign_in_failures)
    ]


# --- passwords -------------------------------------------------------------------------------


def test_hash_password_is_argon2id_and_does_not_contain_the_password() -> None:
    hashed = auth.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed


def test_production_hashing_uses_argon2s_recommended_cost(
    cheap_password_hashing: PasswordHasher,
) -> None:
    """Tests hash cheaply (tests/conftest.py); the app's own hasher keeps argon2's defaults."""
    parameters = argon2.extract_parameters(cheap_password_hashing.hash(PASSWORD))
    assert (parameters.type, parameters.time_cost, parameters.memory_cost) == (
        argon2.Type.ID,
        3,
        65536,
    )


def test_hash_password_is_salted() -> None:
    assert auth.hash_password(PASSWORD) != auth.hash_password(PASSWORD)


def test_password_matches_the_right_password() -> None:
    assert auth.password_matches(auth.hash_password(PASSWORD), PASSWORD) is True


def test_password_matches_rejects_a_wrong_password() -> None:
    assert auth.password_matches(auth.hash_password(PASSWORD), WRONG) is False


@pytest.mark.parametrize("garbage", ["", "not-a-hash", PASSWORD, "$argon2id$v=19$broken"])
def test_password_matches_rejects_a_garbage_hash(garbage: str) -> None:
    assert auth.password_matches(garbage, PASSWORD) is False


# --- creating accounts -----------------------------------------------------------------------


def test_create_user_stores_an_argon2_hash_and_the_role(
    make_session: SessionFactory,
) -> None:
    add_user(make_session, "alice", "reviewer")
    with make_session() as session:
        user = auth.find_user(session, "alice")
        assert user is not None
        assert (user.username, user.role, user.active) == ("alice", "reviewer", True)
        assert user.password_hash != PASSWORD
        assert user.password_hash.startswith("$argon2id$")
        assert auth.password_matches(user.password_hash, PASSWORD)


def test_create_user_records_an_audit_event(make_session: SessionFactory) -> None:
    add_user(make_session, "alice", "reviewer")
    assert events(make_session, "user.create") == [
        ("system", None, {"username": "alice", "role": "reviewer"})
    ]


def test_create_user_strips_the_username(make_session: SessionFactory) -> None:
    assert add_user(make_session, "  alice  ").username == "alice"


@pytest.mark.parametrize("username", ["", "a", "has space", "x" * 65, "émile", "bob!", "a/b"])
def test_create_user_rejects_a_bad_username(make_session: SessionFactory, username: str) -> None:
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.create_user(session, username, PASSWORD, "annotator")
    assert str(error.value) == BAD_USERNAME


@pytest.mark.parametrize("username", ["ab", "x" * 64, "first.last", "a-b_c.9"])
def test_create_user_accepts_usernames_at_the_limits(
    make_session: SessionFactory, username: str
) -> None:
    assert add_user(make_session, username).username == username


def test_create_user_rejects_a_short_password(make_session: SessionFactory) -> None:
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.create_user(session, "alice", "1234567", "annotator")
    assert str(error.value) == "Password must be at least 8 characters."


def test_create_user_rejects_an_unknown_role(make_session: SessionFactory) -> None:
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.create_user(session, "alice", PASSWORD, "superuser")
    assert str(error.value) == (
        "Unknown role 'superuser'; choose one of: annotator, reviewer, manager, admin."
    )


def test_create_user_rejects_a_duplicate_username(make_session: SessionFactory) -> None:
    add_user(make_session, "alice")
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.create_user(session, " alice ", PASSWORD, "admin")
    assert str(error.value) == "User 'alice' already exists."
    with make_session() as session:
        assert [(u.username, u.role) for u in auth.list_users(session)] == [("alice", "annotator")]


def test_create_first_admin_creates_an_admin(make_session: SessionFactory) -> None:
    with make_session.begin() as session:
        auth.create_first_admin(session, "root", PASSWORD)
    with make_session() as session:
        assert [(u.username, u.role, u.active) for u in auth.list_users(session)] == [
            ("root", "admin", True)
        ]


def test_create_first_admin_refuses_once_any_user_exists(
    make_session: SessionFactory,
) -> None:
    with make_session.begin() as session:
        auth.create_first_admin(session, "root", PASSWORD)
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.create_first_admin(session, "intruder", PASSWORD)
    assert str(error.value) == "An administrator already exists; sign in instead."
    with make_session() as session:
        assert auth.user_count(session) == 1


# --- sign-in ---------------------------------------------------------------------------------


def test_sign_in_returns_the_signed_in_user(
    make_session: SessionFactory, settings: Settings
) -> None:
    alice = add_user(make_session, "alice", "reviewer")
    outcome = attempt(make_session, settings, "alice", PASSWORD)
    assert outcome == auth.SignInOutcome(
        auth.SignedInUser(id=alice.id, username="alice", role="reviewer"), None
    )


def test_sign_in_records_an_audit_event(make_session: SessionFactory, settings: Settings) -> None:
    alice = add_user(make_session, "alice")
    attempt(make_session, settings, "alice", PASSWORD)
    assert events(make_session, "sign_in") == [("alice", alice.id, {})]


def test_sign_in_ignores_spaces_around_the_username(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    user = attempt(make_session, settings, "  alice ", PASSWORD).user
    assert user is not None
    assert user.username == "alice"


@pytest.mark.parametrize(("username", "password"), [("", PASSWORD), ("alice", ""), ("  ", "")])
def test_sign_in_asks_for_both_fields(
    make_session: SessionFactory, settings: Settings, username: str, password: str
) -> None:
    outcome = attempt(make_session, settings, username, password)
    assert outcome == auth.SignInOutcome(None, "Enter your username and password.")
    assert throttle_row(make_session, "alice") is None


def test_sign_in_with_a_wrong_password_fails(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    assert attempt(make_session, settings, "alice", WRONG) == auth.SignInOutcome(
        None, WRONG_CREDENTIALS
    )


def test_sign_in_with_a_wrong_password_records_sign_in_failed(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    attempt(make_session, settings, "alice", WRONG)
    assert events(make_session, "sign_in.failed") == [
        ("alice", None, {"reason": "bad credentials"})
    ]
    assert events(make_session, "sign_in") == []


def test_sign_in_with_an_unknown_username_fails_like_a_wrong_password(
    make_session: SessionFactory, settings: Settings
) -> None:
    outcome = attempt(make_session, settings, "ghost", PASSWORD)
    assert outcome == auth.SignInOutcome(None, WRONG_CREDENTIALS)
    assert events(make_session, "sign_in.failed") == [
        (auth.unknown_name_key("ghost"), None, {"reason": "bad credentials"})
    ]


def test_sign_in_failures_are_counted_for_unknown_usernames(
    make_session: SessionFactory, settings: Settings
) -> None:
    attempt(make_session, settings, "ghost", PASSWORD)
    attempt(make_session, settings, "ghost", PASSWORD)
    assert throttle_row(make_session, "ghost") == (2, None)


def test_unknown_username_is_locked_after_too_many_failures(
    make_session: SessionFactory, settings: Settings
) -> None:
    errors = lock_out(make_session, settings, "ghost")
    assert errors == [WRONG_CREDENTIALS] * 4 + [LOCKED_60]
    assert throttle_row(make_session, "ghost") == (0, NOW + timedelta(seconds=60))


def test_five_failures_lock_the_account(make_session: SessionFactory, settings: Settings) -> None:
    add_user(make_session, "alice")
    assert settings.max_sign_in_failures == 5
    errors = lock_out(make_session, settings, "alice")
    assert errors == [WRONG_CREDENTIALS] * 4 + [LOCKED_60]
    assert events(make_session, "sign_in.lockout") == [("alice", None, {})]


def test_lockout_length_follows_the_settings(
    make_session: SessionFactory, settings: Settings
) -> None:
    short = replace(settings, max_sign_in_failures=2, lockout_seconds=15)
    errors = lock_out(make_session, short, "alice")
    assert errors == [WRONG_CREDENTIALS, "Too many failed sign-ins. Try again in 15 s."]


def test_right_password_is_refused_while_locked(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    lock_out(make_session, settings, "alice")
    outcome = attempt(make_session, settings, "alice", PASSWORD, now=NOW + timedelta(seconds=59))
    assert outcome.user is None
    assert outcome.error is not None
    assert outcome.error.startswith("Too many failed sign-ins. Try again in ")
    assert events(make_session, "sign_in.locked") == [("alice", None, {})]
    assert events(make_session, "sign_in") == []


@pytest.mark.parametrize(
    ("elapsed", "message"),
    [
        (0, LOCKED_60),
        (30, "Too many failed sign-ins. Try again in 30 s."),
        (59.5, "Too many failed sign-ins. Try again in 1 s."),
    ],
)
def test_locked_message_counts_down_the_seconds_left(
    make_session: SessionFactory, settings: Settings, elapsed: float, message: str
) -> None:
    lock_out(make_session, settings, "alice")
    outcome = attempt(
        make_session, settings, "alice", PASSWORD, now=NOW + timedelta(seconds=elapsed)
    )
    assert outcome.error == message


def test_attempts_while_locked_do_not_extend_the_lock(
    make_session: SessionFactory, settings: Settings
) -> None:
    lock_out(make_session, settings, "alice")
    for _ in range(3):
        attempt(make_session, settings, "alice", WRONG, now=NOW + timedelta(seconds=10))
    assert throttle_row(make_session, "alice") == (0, NOW + timedelta(seconds=60))


def test_right_password_works_once_the_lock_expires(
    make_session: SessionFactory, settings: Settings
) -> None:
    alice = add_user(make_session, "alice")
    lock_out(make_session, settings, "alice")
    outcome = attempt(make_session, settings, "alice", PASSWORD, now=NOW + timedelta(seconds=60))
    assert outcome == auth.SignInOutcome(alice)
    assert throttle_row(make_session, "alice") == (0, None)


def test_failure_counter_restarts_after_the_lock_expires(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    lock_out(make_session, settings, "alice")
    later = NOW + timedelta(seconds=61)
    outcome = attempt(make_session, settings, "alice", WRONG, now=later)
    assert outcome.error == WRONG_CREDENTIALS
    assert throttle_row(make_session, "alice") == (1, NOW + timedelta(seconds=60))


def test_successful_sign_in_resets_the_failure_counter(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    for _ in range(4):
        attempt(make_session, settings, "alice", WRONG)
    assert attempt(make_session, settings, "alice", PASSWORD).user is not None
    assert throttle_row(make_session, "alice") == (0, None)
    errors = [attempt(make_session, settings, "alice", WRONG).error for _ in range(4)]
    assert errors == [WRONG_CREDENTIALS] * 4


def test_failure_counter_persists_across_sessions(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    for _ in range(3):
        attempt(make_session, settings, "alice", WRONG)
    assert throttle_row(make_session, "alice") == (3, None)


def test_failure_counter_is_per_username(make_session: SessionFactory, settings: Settings) -> None:
    bob = add_user(make_session, "bob")
    lock_out(make_session, settings, "alice")
    assert attempt(make_session, settings, "bob", PASSWORD).user == bob


def test_deactivated_user_cannot_sign_in(make_session: SessionFactory, settings: Settings) -> None:
    add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.deactivate(session, "alice")
    outcome = attempt(make_session, settings, "alice", PASSWORD)
    assert outcome == auth.SignInOutcome(None, WRONG_CREDENTIALS)
    assert events(make_session, "sign_in.failed") == [("alice", None, {"reason": "inactive"})]


def test_a_case_variant_of_a_locked_name_is_refused(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "ann1")
    lock_out(make_session, settings, "ann1")
    outcome = attempt(make_session, settings, "ANN1", PASSWORD, now=NOW + timedelta(seconds=1))
    assert outcome == auth.SignInOutcome(None, "Too many failed sign-ins. Try again in 59 s.")
    assert events(make_session, "sign_in") == []


def test_case_variants_share_one_budget_of_guesses(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "ann1")
    variants = ["ann1", "ANN1", "Ann1", " aNn1", "anN1 "]
    errors = [attempt(make_session, settings, name, WRONG).error for name in variants]
    assert errors == [WRONG_CREDENTIALS] * 4 + [LOCKED_60]
    assert attempt(make_session, settings, "aNN1", PASSWORD).user is None
    assert throttle_row(make_session, "ann1") == (0, NOW + timedelta(seconds=60))


def test_case_variants_of_an_unknown_name_share_one_budget(
    make_session: SessionFactory, settings: Settings
) -> None:
    errors = [
        attempt(make_session, settings, name, WRONG).error
        for name in ["ghost", "GHOST", "Ghost", "gHost", "ghosT"]
    ]
    assert errors == [WRONG_CREDENTIALS] * 4 + [LOCKED_60]
    with make_session() as session:
        assert session.scalar(select(func.count()).select_from(SignInThrottle)) == 1


def test_an_overlong_username_is_refused_before_the_database(
    make_session: SessionFactory, settings: Settings
) -> None:
    """An 80-character name once reached PostgreSQL's varchar(64) and showed a DataError."""
    outcome = attempt(make_session, settings, "x" * 80, WRONG)
    assert outcome == auth.SignInOutcome(None, WRONG_CREDENTIALS)
    huge_password = attempt(make_session, settings, "alice", "p" * 100_000)
    assert huge_password == auth.SignInOutcome(None, WRONG_CREDENTIALS)
    with make_session() as session:
        assert session.scalar(select(func.count()).select_from(SignInThrottle)) == 0


def test_a_password_typed_as_the_username_is_never_stored(
    make_session: SessionFactory, settings: Settings
) -> None:
    add_user(make_session, "alice")
    attempt(make_session, settings, "Tr0ub4dor&3", "whatever-1")
    attempt(make_session, settings, "alice", WRONG)
    with make_session() as session:
        stored = [
            str((row.actor, row.details)) for row in session.scalars(select(AuditEvent))
        ] + list(session.scalars(select(SignInThrottle.username)))
    assert not any("tr0ub4dor" in text.lower() for text in stored)
    marker = auth.unknown_name_key("tr0ub4dor&3")
    assert marker.startswith(auth.UNKNOWN_NAME_MARKER)
    assert [actor for actor, _, _ in events(make_session, "sign_in.failed")] == [marker, "alice"]


def test_old_failure_rows_expire(make_session: SessionFactory, settings: Settings) -> None:
    attempt(make_session, settings, "old-ghost", WRONG, now=NOW - timedelta(days=2))
    attempt(make_session, settings, "new-ghost", WRONG)
    assert throttle_row(make_session, "old-ghost") is None
    assert throttle_row(make_session, "new-ghost") == (1, None)


def test_a_running_lock_is_kept_however_old_its_failures(
    make_session: SessionFactory, settings: Settings
) -> None:
    long_lock = replace(settings, lockout_seconds=3 * 24 * 3600)
    lock_out(make_session, long_lock, "alice")
    attempt(make_session, long_lock, "bob", WRONG, now=NOW + timedelta(days=2))
    assert throttle_row(make_session, "alice") == (0, NOW + timedelta(days=3))


def test_failure_rows_are_bounded(
    make_session: SessionFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "THROTTLE_MAX_ROWS", 3)
    for minute, name in enumerate(["n1", "n2", "n3", "n4", "n5"]):
        attempt(make_session, settings, name, WRONG, now=NOW + timedelta(minutes=minute))
    kept = [name for name in ["n1", "n2", "n3", "n4", "n5"] if throttle_row(make_session, name)]
    assert kept == ["n3", "n4", "n5"]


def test_demo_accounts_with_the_demo_password_are_listed(make_session: SessionFactory) -> None:
    with make_session.begin() as session:
        auth.create_user(session, "demo-admin", auth.DEMO_PASSWORD, "admin")
        auth.create_user(session, "demo-reviewer", "changed-password", "reviewer")
        auth.create_user(session, "alice", auth.DEMO_PASSWORD, "admin")
    with make_session() as session:
        assert auth.demo_accounts_with_demo_password(session) == ["demo-admin"]
    with make_session.begin() as session:
        auth.deactivate(session, "demo-admin")
    with make_session() as session:
        assert auth.demo_accounts_with_demo_password(session) == []


# --- roles and deactivation ------------------------------------------------------------------


def test_set_role_changes_the_role(make_session: SessionFactory) -> None:
    add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.set_role(session, "alice", "manager")
    with make_session() as session:
        user = auth.find_user(session, "alice")
        assert user is not None
        assert user.role == "manager"


def test_set_role_records_who_changed_which_account(make_session: SessionFactory) -> None:
    root = add_user(make_session, "root", "admin")
    add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.set_role(session, "alice", "reviewer", actor=root)
    assert events(make_session, "user.set_role") == [
        ("root", root.id, {"username": "alice", "role": "reviewer", "previous": "annotator"})
    ]


def test_set_role_without_an_actor_keeps_the_target_in_the_details(
    make_session: SessionFactory,
) -> None:
    """From the command line there is no signed-in actor: the event must still say whose role
    changed, and must not name that user as the one who changed it."""
    add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.set_role(session, "alice", "reviewer")
    assert events(make_session, "user.set_role") == [
        ("system", None, {"username": "alice", "role": "reviewer", "previous": "annotator"})
    ]


def test_deactivate_without_an_actor_keeps_the_target_in_the_details(
    make_session: SessionFactory,
) -> None:
    add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.deactivate(session, "alice")
    assert events(make_session, "user.deactivate") == [("system", None, {"username": "alice"})]


def test_set_role_rejects_an_unknown_role(make_session: SessionFactory) -> None:
    add_user(make_session, "alice")
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.set_role(session, "alice", "owner")
    assert str(error.value) == (
        "Unknown role 'owner'; choose one of: annotator, reviewer, manager, admin."
    )


def test_set_role_rejects_an_unknown_user(make_session: SessionFactory) -> None:
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.set_role(session, "ghost", "admin")
    assert str(error.value) == "No user named 'ghost'."


def test_set_role_refuses_to_demote_the_last_admin(make_session: SessionFactory) -> None:
    add_user(make_session, "root", "admin")
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.set_role(session, "root", "annotator")
    assert str(error.value) == LAST_ADMIN
    with make_session() as session:
        user = auth.find_user(session, "root")
        assert user is not None
        assert user.role == "admin"


def test_set_role_does_not_count_a_deactivated_admin(make_session: SessionFactory) -> None:
    add_user(make_session, "root", "admin")
    add_user(make_session, "old", "admin")
    with make_session.begin() as session:
        auth.deactivate(session, "old")
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.set_role(session, "root", "manager")
    assert str(error.value) == LAST_ADMIN


def test_set_role_demotes_an_admin_when_another_admin_remains(
    make_session: SessionFactory,
) -> None:
    add_user(make_session, "root", "admin")
    add_user(make_session, "second", "admin")
    with make_session.begin() as session:
        auth.set_role(session, "root", "annotator")
    with make_session() as session:
        assert [(u.username, u.role) for u in auth.list_users(session)] == [
            ("root", "annotator"),
            ("second", "admin"),
        ]


def test_set_role_keeps_the_last_admin_an_admin(make_session: SessionFactory) -> None:
    add_user(make_session, "root", "admin")
    with make_session.begin() as session:
        assert auth.set_role(session, "root", "admin").role == "admin"


def test_deactivate_refuses_the_last_admin(make_session: SessionFactory) -> None:
    add_user(make_session, "root", "admin")
    add_user(make_session, "alice")
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.deactivate(session, "root")
    assert str(error.value) == LAST_ADMIN
    with make_session() as session:
        user = auth.find_user(session, "root")
        assert user is not None
        assert user.active is True


def test_deactivate_an_admin_when_another_admin_remains(
    make_session: SessionFactory,
) -> None:
    add_user(make_session, "root", "admin")
    add_user(make_session, "second", "admin")
    with make_session.begin() as session:
        auth.deactivate(session, "root")
    with make_session() as session:
        assert [(u.username, u.active) for u in auth.list_users(session)] == [
            ("root", False),
            ("second", True),
        ]


def test_deactivate_rejects_an_unknown_user(make_session: SessionFactory) -> None:
    with make_session.begin() as session, pytest.raises(auth.AuthError) as error:
        auth.deactivate(session, "ghost")
    assert str(error.value) == "No user named 'ghost'."


def test_current_account_returns_the_account_as_stored(
    make_session: SessionFactory,
) -> None:
    alice = add_user(make_session, "alice")
    with make_session() as session:
        assert auth.current_account(session, alice) == alice


def test_current_account_is_none_after_deactivation(make_session: SessionFactory) -> None:
    alice = add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.deactivate(session, "alice")
    with make_session() as session:
        assert auth.current_account(session, alice) is None


def test_current_account_has_the_new_role_after_set_role(
    make_session: SessionFactory,
) -> None:
    alice = add_user(make_session, "alice")
    with make_session.begin() as session:
        auth.set_role(session, "alice", "manager")
    with make_session() as session:
        assert auth.current_account(session, alice) == auth.SignedInUser(
            id=alice.id, username="alice", role="manager"
        )


def test_current_account_is_none_for_a_missing_user(make_session: SessionFactory) -> None:
    with make_session() as session:
        assert auth.current_account(session, auth.SignedInUser(999, "ghost", "admin")) is None


def test_list_users_is_sorted_by_username(make_session: SessionFactory) -> None:
    for name in ("carol", "alice", "bob"):
        add_user(make_session, name)
    with make_session() as session:
        assert [u.username for u in auth.list_users(session)] == ["alice", "bob", "carol"]


# --- page access -----------------------------------------------------------------------------


def test_page_access_table() -> None:
    expected = {
        "home": frozenset({"annotator", "reviewer", "manager", "admin"}),
        "projects": frozenset({"annotator", "reviewer", "manager", "admin"}),
        "annotate": frozenset({"annotator", "reviewer", "admin"}),
        "history": frozenset({"annotator", "reviewer", "admin"}),
        "review": frozenset({"reviewer", "admin"}),
        "model": frozenset({"manager", "admin"}),
        "insights": frozenset({"manager", "admin"}),
        "data": frozenset({"admin"}),
        "tags": frozenset({"admin"}),
        "users": frozenset({"admin"}),
        "account": frozenset({"annotator", "reviewer", "manager", "admin"}),
    }
    assert dict(auth.PAGE_ACCESS) == expected


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        ("annotator", ["home", "projects", "annotate", "history", "account"]),
        ("reviewer", ["home", "projects", "annotate", "history", "review", "account"]),
        ("manager", ["home", "projects", "model", "insights", "account"]),
        (
            "admin",
            [
                "home",
                "projects",
                "annotate",
                "history",
                "review",
                "model",
                "insights",
                "data",
                "tags",
                "users",
                "account",
            ],
        ),
        ("nobody", []),
    ],
)
def test_pages_for_role(role: str, pages: list[str]) -> None:
    assert auth.pages_for(role) == pages


@pytest.mark.parametrize("page", ["data", "tags", "users"])
@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager"])
def test_only_admin_can_open_data_and_users(role: str, page: str) -> None:
    assert auth.can_open(role, page) is False


@pytest.mark.parametrize("page", list(auth.PAGE_ACCESS))
def test_admin_can_open_every_page(page: str) -> None:
    assert auth.can_open("admin", page) is True


def test_every_role_can_open_home() -> None:
    assert [auth.can_open(role, "home") for role in auth.ROLE_SUMMARY] == [True] * 4


def test_nobody_can_open_an_unknown_page() -> None:
    assert auth.can_open("admin", "secret") is False
