"""Time the Annotate page in a real browser on a 100,000-project catalogue: from the click on
Submit to the next project's title rendered, measured inside the page with performance.now(),
over N submissions; print p50/p95 as JSON.

Sets up its own data (synthetic catalogue, a trained model, an annotator), starts the app on a
free port and drives Debian's Chromium with Playwright.
Usage: python -m benchmarks.annotate_page [--size N] [--submissions N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.common import synthetic_database
from labeling import auth, training_jobs
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, IDLE
from tests.e2e.server import running_app

ROOT = Path(__file__).resolve().parents[1]
RECORDER = """() => {
  window.__timings = [];
  const title = () => document.querySelector('[data-testid=stMarkdownContainer] h3')?.innerText;
  window.__last = title();
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button');
    if (button && button.innerText.trim() === 'Submit') { window.__start = performance.now(); }
  }, true);
  new MutationObserver(() => {
    const now = title();
    if (window.__start && now && now !== window.__last) {
      window.__timings.push(performance.now() - window.__start);
      window.__start = null;
      window.__last = now;
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def prepare(workdir: Path, size: int) -> dict[str, str]:
    settings, make_session = synthetic_database(workdir, size)
    with make_session.begin() as session:
        training_jobs.queue_training(session, None)
        auth.create_user(session, "bench", "bench-password", "annotator")
    training_jobs.work_once(make_session, settings)
    return {
        **os.environ,
        "LABELLOOP_DATABASE_URL": settings.database_url,
        "LABELLOOP_DATA_DIR": str(workdir),
        "LABELLOOP_RETRAIN_EVERY": "1000000",
    }


def measure(url: str, submissions: int) -> list[float]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(url)
        page.get_by_label("Username").fill("bench")
        page.get_by_label("Password", exact=True).fill("bench-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("stSidebar").get_by_role("link", name="Annotate").click()
        page.get_by_text("Why this project").wait_for()
        page.wait_for_selector(IDLE)
        page.evaluate(RECORDER)
        for number in range(submissions):
            page.get_by_role("button", name="Submit").click()
            page.wait_for_function("n => window.__timings.length >= n", arg=number + 1)
            page.wait_for_selector(IDLE)
        timings = page.evaluate("window.__timings")
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        env = prepare(Path(workdir), args.size)
        setup_seconds = time.perf_counter() - started
        with running_app(env) as url:
            in_order = measure(url, args.submissions)
    timings = sorted(in_order)
    json.dump(
        {
            "benchmark": "annotate_submit_to_next_project",
            "projects": args.size,
            "submissions": len(timings),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 1),
            "max_ms": round(timings[-1], 1),
            "in_order_ms": [round(t) for t in in_order],
            "setup_seconds": round(setup_seconds, 1),
            "target_p95_ms": 300,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
