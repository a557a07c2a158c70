"""A manager sees a version the promotion gate held, with its reason, promotes it in a real
browser, and the Annotate page's suggestions then come from it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import ModelVersion
from db.session import SessionFactory
from labeling import registry, training_jobs
from labeling.config import load_settings
from tests.app.test_model_insights import _held_copy
from tests.e2e.conftest import open_page, sign_in, wait_idle

pytestmark = pytest.mark.e2e
MARKER = {"reinforcement-learning": 0.97}


def _serving(e2e_db: SessionFactory) -> ModelVersion:
    """The serving version, training one first when the app has none yet."""
    with e2e_db() as session:
        current = registry.current_version(session)
    if current is None:
        with e2e_db.begin() as session:
            training_jobs.queue_training(session, None)
        training_jobs.work_once(e2e_db, load_settings())
        with e2e_db() as session:
            current = registry.current_version(session)
    assert current is not None
    return current


def test_manager_promotes_a_held_version_and_annotators_get_its_suggestions(
    page, browser, app_url: str, e2e_db: SessionFactory
) -> None:
    serving = _serving(e2e_db)
    held = _held_copy(e2e_db, serving, MARKER)

    sign_in(page, "demo-manager")
    open_page(page, "Model", "Per-tag quality")
    warning = page.get_by_test_id("stAlert").filter(has_text=f"Version {held} is held")
    assert f"v{serving.id} keeps serving" in warning.inner_text()
    assert "does not serve a worse version" in warning.inner_text()
    page.get_by_role("button", name=f"Promote version {held}").click()
    page.get_by_text(f"(was v{serving.id})").first.wait_for()
    wait_idle(page)
    with e2e_db() as session:
        assert registry.current_version(session).id == held
        assert session.scalar(select(ModelVersion.promotion).where(ModelVersion.id == held))[
            "by"
        ] == ("demo-manager")

    context = browser.new_context(viewport={"width": 1300, "height": 900})
    annotator = context.new_page()
    annotator.set_default_timeout(20_000)
    annotator.goto(app_url)
    sign_in(annotator, "demo-annotator")
    open_page(annotator, "Annotate", "suggests reinforcement-learning 0.97")
    metric = annotator.get_by_test_id("stMetric").filter(has_text="Model version")
    assert metric.get_by_test_id("stMetricValue").inner_text().strip() == str(held)
    context.close()
