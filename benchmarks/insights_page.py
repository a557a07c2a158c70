"""Time the Model and Insights pages in a real browser on a 100,000-project catalogue: from the
click on the sidebar link to the page's last section rendered and the script idle; print JSON.

Three kinds of visit per page: "first" (the first page visit of a freshly started app: nothing
cached and the page's modules not yet imported), "cold" (nothing of this page cached, but the
app already served the other page), and "warm" (later visits, aggregates cached). The app is
started twice, once per page order, so that each page is measured both first and cold.

Sets up its own data (synthetic catalogue, a team's judgements and resolutions spread over two
weeks, a trained model with label-error scores, a manager), starts the app on a free port and
drives Debian's Chromium with Playwright.
Usage: python -m benchmarks.insights_page [--size N] [--visits N] [--workdir DIR]
(--workdir keeps the prepared database there and reuses it on the next run.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright
from sqlalchemy import insert, select

from benchmarks.common import synthetic_database
from db.models import Annotation, ImportBatch, Project, Resolution
from db.session import SessionFactory, engine_for, session_factory
from labeling import auth, drift, training_jobs
from labeling.annotations import source_tag_sets
from labeling.config import Settings
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, IDLE
from tests.e2e.server import running_app

ANNOTATORS = 8
JUDGED = 6_000
DAYS = 14
# Each page's last section: once its heading is on screen, the whole page has rendered.
PAGES = {
    "Model": "Compare two versions on today's labels",
    "Insights": "What is new in the latest import",
}


def _judgements(make_session: SessionFactory, user_ids: list[int], rng: np.random.Generator):
    """Judgements on the first JUDGED projects: each by one annotator, a fifth by a second one,
    mostly confirming the source tags and sometimes dropping or adding one; a third of the
    resulting conflicts resolved by the reviewer."""
    with make_session() as session:
        project_ids = list(session.scalars(select(Project.id).order_by(Project.id).limit(JUDGED)))
        sources = source_tag_sets(session)
    all_tags = sorted({tag for tags in sources.values() for tag in tags})
    start = datetime(2026, 11, 1, 9, 0)
    annotations, resolutions = [], []
    for number, project_id in enumerate(project_ids):
        judges = rng.choice(user_ids[1:], size=2 if rng.random() < 0.2 else 1, replace=False)
        when = start + timedelta(days=DAYS * number / len(project_ids), minutes=int(judges[0]))
        sets = []
        for judge in judges:
            tags = set(sources.get(project_id, ()))
            if tags and rng.random() < 0.15:
                tags.discard(sorted(tags)[0])
            if rng.random() < 0.15:
                tags.add(all_tags[int(rng.integers(len(all_tags)))])
            sets.append(sorted(tags))
            annotations.append(
                {
                    "project_id": project_id,
                    "user_id": int(judge),
                    "tags": sorted(tags),
                    "shown_tags": sorted(sources.get(project_id, ())),
                    "added": [],
                    "removed": [],
                    "seconds_spent": 20.0,
                    "skipped": False,
                    "created_at": when,
                }
            )
        if len(sets) == 2 and sets[0] != sets[1] and rng.random() < 0.33:
            resolutions.append(
                {
                    "project_id": project_id,
                    "reviewer_id": user_ids[0],
                    "tags": sets[0],
                    "note": "",
                    "created_at": when + timedelta(hours=5),
                }
            )
    with make_session.begin() as session:
        session.execute(insert(Annotation), annotations)
        session.execute(insert(Resolution), resolutions)


def prepare(workdir: Path, size: int) -> dict[str, str]:
    settings = Settings(database_url=f"sqlite:///{workdir}/bench.db", data_dir=workdir)
    if not (workdir / "bench.db").exists():
        settings, make_session = synthetic_database(workdir, size)
        with make_session.begin() as session:
            auth.create_user(session, "bench-manager", "bench-password", "manager")
            reviewer = auth.create_user(session, "bench-reviewer", "bench-password", "reviewer")
            judges = [
                auth.create_user(session, f"annotator-{n}", "bench-password", "annotator")
                for n in range(ANNOTATORS)
            ]
            user_ids = [reviewer.id] + [judge.id for judge in judges]
            training_jobs.queue_training(session, None)
        training_jobs.work_once(make_session, settings)
        _judgements(make_session, user_ids, np.random.default_rng(0))
        with make_session.begin() as session:
            training_jobs.queue_training(session, None)
        training_jobs.work_once(make_session, settings)
    make_session = session_factory(engine_for(settings.database_url))
    with make_session() as session:
        checked = (session.get(ImportBatch, 1).report or {}).get(drift.STORED_CHECK)
    if checked is None:  # what the CLI and the Data page store right after an import
        drift.check_import(make_session, None)
    make_session.engine.dispose()
    return {
        **os.environ,
        "LABELLOOP_DATABASE_URL": settings.database_url,
        "LABELLOOP_DATA_DIR": str(workdir),
        "LABELLOOP_RETRAIN_EVERY": "1000000",
    }


def _visit(page, link: str, last_heading: str) -> float:
    """Seconds from the click on the sidebar link to the last heading shown and the app idle."""
    started = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
    page.get_by_role("heading", name=last_heading).first.wait_for()
    page.wait_for_selector(IDLE)
    return time.perf_counter() - started


def measure(url: str, order: list[str], visits: int) -> dict[str, list[float]]:
    """Each page's visits in turn, in ``order``; between two visits the Home page is opened so
    that every visit is a full page run, not a rerun."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_label("Username").fill("bench-manager")
        page.get_by_label("Password", exact=True).fill("bench-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("Sign out").wait_for()
        page.wait_for_selector(IDLE)
        timings: dict[str, list[float]] = {link: [] for link in order}
        for link in order:
            timings[link].append(_visit(page, link, PAGES[link]))
            _visit(page, "Home", "The catalogue")
        for _ in range(visits):
            for link in order:
                timings[link].append(_visit(page, link, PAGES[link]))
                _visit(page, "Home", "The catalogue")
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        env = prepare(workdir, args.size)
        setup_seconds = time.perf_counter() - started
        first: dict[str, float] = {}
        cold: dict[str, float] = {}
        warm: dict[str, list[float]] = {link: [] for link in PAGES}
        for order in (["Model", "Insights"], ["Insights", "Model"]):
            with running_app(env) as url:
                timings = measure(url, order, args.visits)
            first[order[0]] = timings[order[0]][0]
            cold[order[1]] = timings[order[1]][0]
            for link in order:
                warm[link] += timings[link][1:]
        results = {
            link.lower(): {
                "first_visit_s": round(first[link], 2),
                "cold_s": round(cold[link], 2),
                "warm_median_s": round(statistics.median(warm[link]), 2),
                "warm_max_s": round(max(warm[link]), 2),
            }
            for link in PAGES
        }
        load = os.getloadavg()[0]
    json.dump(
        {
            "benchmark": "model_and_insights_page_render",
            "projects": args.size,
            "judgements_on_projects": JUDGED,
            "annotators": ANNOTATORS,
            **results,
            "setup_seconds": round(setup_seconds, 1),
            "load_average_1min": round(load, 2),
            "target_s": 2.0,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
