"""Helpers for showing imported text safely and for normalising tag names."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")
_SLUG_SEPARATORS = re.compile(r"[\s_]+")


def escape_markdown(text: str) -> str:
    """Backslash-escape every character Markdown (and Streamlit's extensions) could act on, so
    that imported text given to st.markdown is shown literally: no links, images, HTML or
    emphasis. Newlines become hard breaks so that paragraphs still read as written."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("\n", "  \n")


def slugify_tag(name: str) -> str:
    """Canonical tag form: lower case, words joined by dashes ("Computer Vision" ->
    "computer-vision"), so that the same tag written two ways is one tag."""
    return _SLUG_SEPARATORS.sub("-", name.strip().lower()).strip("-")
