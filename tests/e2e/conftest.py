"""The real app (``streamlit run`` on a free port, demo data loaded) driven by Playwright in
Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.session import SessionFactory, new_engine, session_factory

ROOT = Path(__file__).resolve().parents[2]
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer at {url} within {timeout} s")


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
    port = _free_port()
    log = (data_dir / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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


def sign_in(page, username: str, password: str = "labelloop-demo") -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Sign out").wait_for()
    wait_idle(page)


def open_page(page, title: str, expect: str) -> None:
    """Navigate by the sidebar link (a page URL would open a new, signed-out session)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title).click()
    page.get_by_text(expect).first.wait_for()
    wait_idle(page)


def sidebar_links(page) -> list[str]:
    """The sidebar's page links as a person reads them (the icon's ligature text dropped)."""
    texts = page.get_by_test_id("stSidebar").get_by_role("link").all_inner_texts()
    return [text.strip().split("\n")[-1] for text in texts]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep a screenshot of the page at the moment a browser test fails."""
    report = yield
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None:
        target = ROOT / "test-results" / f"{item.name}.png"
        target.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
    return report
