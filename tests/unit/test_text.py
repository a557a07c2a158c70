"""The plain-text helper: imported text given to Markdown shows as typed, with no link, icon,
emoji or formatting; NUL characters are found for the importer to refuse."""

from __future__ import annotations

import re

import pytest

from labeling.text import WORD_JOINER, escape_markdown, field_with_nul, has_nul

# What Streamlit's Markdown turns into links or icons once backslash escapes are parsed away.
LIVE = re.compile(r"https?://|www\.|@\w|:[\w/+-]+:", re.IGNORECASE)


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize(
    "text",
    [
        "http://evil.example/path",
        "see HTTPS://evil.example",
        "www.evil.example",
        "WWW.Evil.Example",
        "mail me: someone@evil.example",
        "mailto:someone@evil.example",
        ":material/warning:",
        ":smile: and :+1:",
        ":red[coloured]",
    ],
)
def test_autolinks_and_shortcodes_are_neutralised(text: str) -> None:
    shown = unescaped(escape_markdown(text))
    assert not LIVE.search(shown)
    assert shown.replace(WORD_JOINER, "") == text


def test_ordinary_text_is_only_escaped() -> None:
    assert escape_markdown("A *bold* [x](y)\nnext") == "A \\*bold\\* \\[x\\]\\(y\\)  \nnext"


def test_words_containing_www_are_left_alone() -> None:
    assert escape_markdown("awwwards.com") == "awwwards\\.com"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "a\x00", "title": "t"}, "id"),
        ({"id": 1, "title": "ti\x00tle"}, "title"),
        ({"id": 1, "title": "t", "description": "\x00"}, "description"),
        ({"id": 1, "title": "t", "tags": ["ok", "n\x00lp"]}, "tags"),
        ({"id": 1, "title": "t", "description": "clean", "tags": ["nlp"]}, None),
    ],
)
def test_field_with_nul_names_the_first_field_holding_one(
    record: dict[str, object], field: str | None
) -> None:
    assert field_with_nul(record) == field


def test_has_nul_ignores_non_text() -> None:
    assert not has_nul(5)
    assert not has_nul(None)
    assert has_nul(["a", "\x00"])
