"""The tag box of the Annotate and Review pages: one widget, so that both search tags the
same way (by name or alias, anywhere in the word) and keep the same keyboard behaviour."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def tag_picker(
    container: Any, label: str, choices: dict[str, str], default: Iterable[str], key: str
) -> None:
    """``choices`` maps each active tag to its label with aliases (labeling.annotate
    .tag_choices); default tags that are not active any more are left out rather than
    raising."""
    container.multiselect(
        label,
        options=list(choices),
        default=[tag for tag in default if tag in choices],
        format_func=choices.get,
        filter_mode="contains",
        select_all=False,
        wrap=True,
        key=key,
    )
