"""What the app shows a visitor when something goes wrong or is unsafe: no traceback, the
sign-in form on any page, a warning while the demo password works, local-only defaults."""

from __future__ import annotations

import logging
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db.session import SessionFactory
from labeling import auth
from tests.app.conftest import APP, PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_a_deep_link_before_anyone_opened_the_start_page_shows_the_sign_in_form(
    with_users: SessionFactory,
) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "history.py"), default_timeout=30).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    at.text_input[0].input("annotator")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["My history"]


def test_an_overlong_username_is_refused_without_a_traceback(with_users: SessionFactory) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("u" * 80)
    at.text_input[1].input("whatever-password")
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Wrong username or password."]


def _failing_page() -> None:
    from ui.app import run_guarded

    def page() -> None:
        raise RuntimeError("secret detail /srv/app/file.py")

    run_guarded(page)


def test_an_unexpected_error_shows_an_error_id_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="labelloop"):
        at = AppTest.from_function(_failing_page, default_timeout=30).run()
    assert not at.exception
    (shown,) = [e.value for e in at.error]
    assert shown.startswith("Something went wrong (error id ")
    assert "secret detail" not in shown
    error_id = shown.split("error id ")[1].split(")")[0]
    (logged,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged.exc_info is not None and "secret detail" in str(logged.exc_info[1])


def test_admin_pages_warn_while_a_demo_account_has_the_demo_password(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    with with_users.begin() as session:
        auth.create_user(session, "demo-admin", auth.DEMO_PASSWORD, "admin")
    at = app_as("admin")
    for page in ["pages/home.py", "pages/users.py", "pages/data.py"]:
        at.switch_page(page).run()
        assert any("demo-admin" in w.value for w in at.warning), page
    annotator = app_as("annotator")
    assert not any("demo password" in w.value for w in annotator.warning)
    with with_users.begin() as session:
        auth.deactivate(session, "demo-admin")
    at.switch_page("pages/home.py").run()
    assert not any("demo password" in w.value for w in at.warning)


def test_the_app_hides_error_details_and_listens_on_this_machine_by_default() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["address"] == "127.0.0.1"
    commands = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--server.address 127.0.0.1" in commands
    opened = subprocess.run(
        ["make", "-n", "run", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "--server.address 0.0.0.0" in opened
