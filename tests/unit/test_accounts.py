"""Accounts after creation: the password policy, own change, one-time reset with the forced
change, reactivation; and the same exact errors from the CLI."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select

from db.models import AuditEvent, User
from db.session import SessionFactory
from labeling import accounts, auth, cli
from labeling.config import Settings

PASSWORD = "correct-horse-1"
NEW = "violet-kettle-42"


@pytest.fixture
def alice(make_session: SessionFactory) -> int:
    with make_session.begin() as session:
        auth.create_user(session, "admin", PASSWORD, "admin")
        return auth.create_user(session, "alice", PASSWORD, "annotator").id


def stored(make_session: SessionFactory, name: str = "alice") -> User:
    with make_session() as session:
        user = auth.find_user(session, name)
        assert user is not None
        return user


def actions(make_session: SessionFactory) -> list[str]:
    with make_session() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "Password must be at least 8 characters."),
        ("x" * 257, "Password must be at most 256 characters."),
        ("Alice-Smith", "Password must not be the username."),
        ("Password1", "Password is on the list of commonly used passwords; choose another."),
        ("labelloop-demo", "Password is on the list of commonly used passwords; choose another."),
        ("violet-kettle-42", None),
        ("x" * 256, None),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    assert accounts.password_problem(password, "alice-smith") == problem


def test_the_weak_list_is_shipped_and_lower_case() -> None:
    weak = accounts.weak_passwords()
    assert len(weak) >= 100
    assert all(w == w.lower() and len(w) >= 8 for w in weak)


def test_change_own_password(make_session: SessionFactory, alice: int) -> None:
    with make_session.begin() as session:
        accounts.change_own_password(session, alice, PASSWORD, NEW, NEW)
    user = stored(make_session)
    assert auth.password_matches(user.password_hash, NEW)
    assert not auth.password_matches(user.password_hash, PASSWORD)
    assert actions(make_session)[-1] == "user.password_change"


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong-password", NEW, NEW, "Current password is wrong."),
        (PASSWORD, NEW, NEW + "x", "The two new passwords differ."),
        (PASSWORD, PASSWORD, PASSWORD, "The new password must differ from the current one."),
        (PASSWORD, "qwerty123", "qwerty123", accounts.password_problem("qwerty123", "alice")),
    ],
)
def test_a_refused_change_says_why_and_keeps_the_password(
    make_session: SessionFactory, alice: int, current: str, new: str, repeat: str, message: str
) -> None:
    with pytest.raises(accounts.AccountError) as error, make_session.begin() as session:
        accounts.change_own_password(session, alice, current, new, repeat)
    assert str(error.value) == message
    assert auth.password_matches(stored(make_session).password_hash, PASSWORD)


def test_reset_gives_a_one_time_password_that_must_be_changed(
    make_session: SessionFactory, alice: int, settings: Settings
) -> None:
    with make_session.begin() as session:
        admin = auth.find_user(session, "admin")
        one_time = accounts.reset_password(session, "alice", actor=admin)
    assert len(one_time) == 19 and one_time.count("-") == 3
    with make_session.begin() as session:
        assert auth.sign_in(session, "alice", PASSWORD, settings).user is None
    with make_session.begin() as session:
        assert auth.sign_in(session, "alice", one_time, settings).user is not None
        assert accounts.must_change_password(session, alice)
    with make_session.begin() as session:
        accounts.change_own_password(session, alice, one_time, NEW)
    with make_session() as session:
        assert not accounts.must_change_password(session, alice)
    assert "user.password_reset" in actions(make_session)


def test_two_resets_give_different_passwords(make_session: SessionFactory, alice: int) -> None:
    with make_session.begin() as session:
        first = accounts.reset_password(session, "alice")
        second = accounts.reset_password(session, "alice")
    assert first != second


def test_reactivate(make_session: SessionFactory, alice: int, settings: Settings) -> None:
    with make_session.begin() as session:
        auth.deactivate(session, "alice")
    with make_session.begin() as session:
        accounts.reactivate(session, "Alice")
    assert stored(make_session).active
    with make_session.begin() as session:
        assert auth.sign_in(session, "alice", PASSWORD, settings).user is not None
    with pytest.raises(accounts.AccountError) as error, make_session.begin() as session:
        accounts.reactivate(session, "alice")
    assert str(error.value) == "User 'alice' is already active."
    assert actions(make_session).count("user.reactivate") == 1


def test_unknown_users_are_named(make_session: SessionFactory, alice: int) -> None:
    for change in (accounts.reset_password, accounts.reactivate):
        with pytest.raises(accounts.AccountError) as error, make_session.begin() as session:
            change(session, "zoe")
        assert str(error.value) == "No user named 'zoe'."


def test_create_account_applies_the_whole_policy(make_session: SessionFactory) -> None:
    with pytest.raises(accounts.AccountError) as error, make_session.begin() as session:
        accounts.create_account(session, "bob", "password123", "annotator")
    assert str(error.value) == (
        "Password is on the list of commonly used passwords; choose another."
    )
    with make_session() as session:
        assert auth.find_user(session, "bob") is None


# --- the command line ------------------------------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()


def last_error(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_cli_passwd_sets_the_password(
    cli_env: Settings, make_session: SessionFactory, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run_cli(
        monkeypatch, "users", "passwd", "alice", "--password-stdin", stdin=NEW + "\n"
    )
    assert (code, out) == (0, "password of alice changed\n")
    user = stored(make_session)
    assert auth.password_matches(user.password_hash, NEW) and not user.must_change_password


def test_cli_passwd_must_change(
    cli_env: Settings, make_session: SessionFactory, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run_cli(
        monkeypatch,
        "users",
        "passwd",
        "alice",
        "--password-stdin",
        "--must-change",
        stdin=NEW + "\n",
    )
    assert (code, out) == (0, "password of alice changed (to be changed at the next sign-in)\n")
    assert stored(make_session).must_change_password


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Password must be at least 8 characters."),
        ("qwerty123", "Password is on the list of commonly used passwords; choose another."),
        ("alice", "Password must be at least 8 characters."),
        ("ALICE-ALICE", None),
    ],
)
def test_cli_passwd_refuses_what_the_browser_refuses(
    cli_env: Settings,
    make_session: SessionFactory,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    password: str,
    message: str | None,
) -> None:
    code, _ = run_cli(
        monkeypatch, "users", "passwd", "alice", "--password-stdin", stdin=password + "\n"
    )
    if message is None:
        assert code == 0
        return
    assert code == 2
    assert last_error(capsys) == f"error: {message}"
    assert message == accounts.password_problem(password, "alice")
    assert auth.password_matches(stored(make_session).password_hash, PASSWORD)


def test_cli_passwd_unknown_user(
    cli_env: Settings,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _ = run_cli(monkeypatch, "users", "passwd", "zoe", "--password-stdin", stdin=NEW)
    assert (code, last_error(capsys)) == (2, "error: No user named 'zoe'.")


def test_cli_reset_password_prints_it_once(
    cli_env: Settings, make_session: SessionFactory, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = run_cli(monkeypatch, "users", "reset-password", "alice")
    first_line = out.splitlines()[0]
    one_time = first_line.removeprefix("one-time password for alice: ")
    assert code == 0 and one_time != first_line
    user = stored(make_session)
    assert user.must_change_password and auth.password_matches(user.password_hash, one_time)


def test_cli_reactivate(
    cli_env: Settings,
    make_session: SessionFactory,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(monkeypatch, "users", "deactivate", "alice")[0] == 0
    assert run_cli(monkeypatch, "users", "reactivate", "alice") == (0, "reactivated alice\n")
    assert stored(make_session).active
    assert run_cli(monkeypatch, "users", "reactivate", "alice")[0] == 2
    assert last_error(capsys) == "error: User 'alice' is already active."


def test_cli_add_applies_the_weak_list(
    cli_env: Settings,
    make_session: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _ = run_cli(
        monkeypatch,
        "users",
        "add",
        "bob",
        "--role",
        "admin",
        "--password-stdin",
        stdin="iloveyou\n",
    )
    assert code == 2
    assert last_error(capsys) == (
        "error: Password is on the list of commonly used passwords; choose another."
    )
