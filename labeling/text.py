"""Helpers for showing imported text safely and for normalising tag names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")
_SLUG_SEPARATORS = re.compile(r"[\s_]+")
# U+2060 WORD JOINER: invisible and never a line break, but it splits the character runs that
# Streamlit's Markdown turns into links and icons.
WORD_JOINER = "\u2060"
# Where the joiner goes (in the raw text, before escaping): inside a URL scheme's "://", after
# the first colon of an icon/emoji shortcode (":smile:", ":material/warning:", ":+1:") or a
# colour directive (":red["), after an e-mail's "@", and between "www" and its dot. Ordinary
# colons ("Jumble: Box-Aware") are left alone, so the text reads and copies as written.
_AUTOLINK_OR_SHORTCODE = re.compile(
    r"(?<=:)(?=//|[\w+/-]+:|[\w-]+\[)|(?<=@)(?=\w)|(?<=\bwww)(?=\.)", re.IGNORECASE
)
_SHOWN_FIELDS = ("id", "title", "description", "tags")


def escape_markdown(text: str) -> str:
    """Backslash-escape every character Markdown (and Streamlit's extensions) could act on, so
    that imported text given to st.markdown is shown literally: no links, images, HTML or
    emphasis. Escapes alone do not stop autolinks (bare URLs, www., e-mail addresses) or icon
    and emoji shortcodes, because Streamlit finds those in the text after parsing; an invisible
    word joiner inside each breaks them. Newlines become hard breaks so that paragraphs still
    read as written."""
    neutralised = _AUTOLINK_OR_SHORTCODE.sub(WORD_JOINER, text)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", neutralised)
    return escaped.replace("\n", "  \n")


def slugify_tag(name: str) -> str:
    """Canonical tag form: lower case, words joined by dashes ("Computer Vision" ->
    "computer-vision"), so that the same tag written two ways is one tag."""
    return _SLUG_SEPARATORS.sub("-", name.strip().lower()).strip("-")


def has_nul(value: Any) -> bool:
    """True when a text (or any text in a list) holds a NUL character, which PostgreSQL
    cannot store and SQLite stores silently: imports refuse it on both databases alike."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def field_with_nul(record: Mapping[str, Any]) -> str | None:
    """The first of a project's shown fields (id, title, description, tags) that holds a NUL
    character, for an import error naming the file, row and field; None when all are clean."""
    return next((field for field in _SHOWN_FIELDS if has_nul(record.get(field))), None)
