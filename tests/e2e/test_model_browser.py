"""A manager retrains the model in a real browser: the progress bar follows the background job
and the new version appears with its per-tag chart, without reloading the page by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import ModelVersion, User
from db.session import SessionFactory
from tests.e2e.conftest import open_page, sign_in, wait_idle

pytestmark = pytest.mark.e2e


def _serving_version(page) -> str | None:
    """The number under "Serving version", or None while no version is ready."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Serving version")
    if metric.count() == 0:
        return None
    return metric.get_by_test_id("stMetricValue").inner_text().strip()


def test_manager_retrains_and_sees_the_new_version(page, e2e_db: SessionFactory) -> None:
    sign_in(page, "demo-manager")
    open_page(page, "Model", "Retrain now")
    with e2e_db() as session:
        newest_before = session.scalar(select(func.max(ModelVersion.id))) or 0
    serving_before = _serving_version(page)

    page.get_by_role("button", name="Retrain now").click()
    progress = page.get_by_test_id("stProgress")
    progress.wait_for()
    assert page.get_by_text(f"Version {newest_before + 1}:").first.is_visible()
    assert page.get_by_role("button", name="Retrain now").is_disabled()

    # The fragment polls every 2 s and reloads the page once the job has ended.
    page.wait_for_function(
        "v => [...document.querySelectorAll('[data-testid=stMetric]')].some("
        "m => m.innerText.includes('Serving version') && m.innerText.includes(v))",
        arg=str(newest_before + 1),
        timeout=180_000,
    )
    wait_idle(page)
    assert progress.count() == 0
    assert _serving_version(page) == str(newest_before + 1) != serving_before
    per_tag = page.get_by_test_id("stHeading").filter(has_text="Per-tag quality")
    assert per_tag.count() == 1
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for()
    assert chart.bounding_box()["height"] > 300
    assert page.get_by_role("button", name="Retrain now").is_enabled()

    with e2e_db() as session:
        version = session.get(ModelVersion, newest_before + 1)
        assert version is not None and version.status == "ready", version and version.error
        starter = session.get(User, version.created_by_id)
    assert starter is not None and starter.username == "demo-manager"

    open_page(page, "Insights", "Discoverability")
    assert page.get_by_text(f"model version {version.id}'s predictions").first.is_visible()
