"""The real app (``streamlit run`` on a free port, demo data loaded) driven by Playwright in
Debian's headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.session import SessionFactory, new_engine, session_factory
from tests.e2e.server import ROOT, running_app
from ui.cookie_routes import SET_PATH

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = (
    '[data-testid="stApp"][data-test-script-state="notRunning"]'
    '[data-test-connection-state="CONNECTED"]'
)


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("REQUIRE_E2E") == "1":
        pytest.fail(
            f"REQUIRE_E2E=1 but Chromium is missing at {CHROMIUM} (apt-get install chromium)"
        )
    pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="session")
def e2e_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="session")
def e2e_db(e2e_data_dir: Path) -> SessionFactory:
    """The app's own database, to check what a browser session wrote."""
    return session_factory(new_engine(f"sqlite:///{e2e_data_dir / 'e2e.db'}"))


@pytest.fixture(scope="session")
def app_url(e2e_data_dir: Path) -> Iterator[str]:
    _chromium_or_skip()
    data_dir = e2e_data_dir
    env = {
        **os.environ,
        "LABELLOOP_DATA_DIR": str(data_dir),
        "LABELLOOP_DATABASE_URL": f"sqlite:///{data_dir / 'e2e.db'}",
    }
    subprocess.run(
        [sys.executable, "-m", "labeling", "init", "--demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with running_app(env, data_dir / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url: str, tmp_path: Path) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(app_url)
    yield page
    context.close()


def wait_idle(page) -> None:
    page.wait_for_selector(IDLE)


def answer_of(path: str):
    """A predicate for ``page.expect_response``: the answer of the app's route at ``path``."""
    return lambda response: response.url.endswith("/" + path)


def sign_in(page, username: str, password: str = "labelloop-demo") -> None:
    """Sign in through the form and wait until the cookie route has answered the page's
    one-time code, so that a reload or a new tab afterwards carries the session cookie."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(answer_of(SET_PATH)) as cookie_answer:
        page.get_by_role("button", name="Sign in").click()
    assert cookie_answer.value.status == 200
    page.get_by_text("Sign out").wait_for()
    wait_idle(page)


def open_page(page, title: str, expect: str) -> None:
    """Navigate by the sidebar link (a page URL would open a new, signed-out session)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title).click()
    page.get_by_text(expect).first.wait_for()
    wait_idle(page)


def wait_tag_box_focused(page) -> None:
    """The keyboard frame gives the tag box the focus a moment after the page has drawn (the
    frame loads last); keys typed before that go nowhere, as they would for a person typing
    before the caret shows. Wait for the focus before typing into the box."""
    page.wait_for_function(
        "() => document.activeElement?.closest('[data-testid=stMultiSelect]') != null"
    )


def wait_option_highlighted(page) -> None:
    """After typing a search, the tag box lists its options a moment before it highlights
    the first one; Enter in between closes the menu and picks nothing (a person sees the
    highlight before pressing Enter). Wait for the focused box to name its highlighted
    option."""
    page.wait_for_function("() => !!document.activeElement?.getAttribute('aria-activedescendant')")


def sidebar_links(page) -> list[str]:
    """The sidebar's page links as a person reads them (the icon's ligature text dropped)."""
    texts = page.get_by_test_id("stSidebar").get_by_role("link").all_inner_texts()
    return [text.strip().split("\n")[-1] for text in texts]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep a screenshot of every open page (a test may drive several people's browsers) at
    the moment a browser test fails."""
    report = yield
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        (ROOT / "test-results").mkdir(exist_ok=True)
        pages = [p for context in page.context.browser.contexts for p in context.pages]
        for number, shown in enumerate(pages):
            suffix = "" if number == 0 else f"-{number}"
            target = ROOT / "test-results" / f"{item.name}{suffix}.png"
            shown.screenshot(path=str(target), full_page=True)
    return report
