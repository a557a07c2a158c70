"""A manager looks a project up on the Projects page in a real browser: words in the search
box, the one match opened, its story read (description as plain text, source tags, and the
sections of its history)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import open_page, sign_in, wait_idle

pytestmark = pytest.mark.e2e


def test_search_open_a_project_and_read_its_story(page) -> None:
    sign_in(page, "demo-manager")
    open_page(page, "Projects", "Words in the title or description")
    box = page.get_by_label("Words in the title or description")
    box.fill("descale the KETTLE")
    box.press("Enter")
    page.get_by_text("1 project found").wait_for()
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Open a project").click()
    page.get_by_role("option", name=re.compile("Ask the Manual")).click()
    page.get_by_text("Audit trail").wait_for()
    wait_idle(page)
    texts = page.get_by_test_id("stText").all_inner_texts()
    assert any("how do I descale the kettle?" in t for t in texts)
    assert "embeddings, natural-language-processing, question-answering, transformers" in texts
    for section in ("Judgements", "Resolutions", "Review requests"):
        assert page.get_by_text(section, exact=True).count() == 1
    assert page.get_by_role("button", name="Label it now").count() == 0
