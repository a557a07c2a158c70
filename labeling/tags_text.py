"""Plain-text reports of the tag vocabulary for the command line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labeling.import_report import visible
from labeling.tag_history import TagEvent
from labeling.tag_overview import TagInfo


def overview_text(rows: Sequence[TagInfo]) -> str:
    candidates = sum(row.kind == "candidate" for row in rows)
    lines = [
        f"{len(rows) - candidates} tags, {candidates} candidates",
        f"{'name':<32} {'kind':<9} {'active':<6} {'source':>7} {'effect.':>7} {'predict.':>8}"
        "  aliases / parents",
    ]
    for row in rows:
        links = f"{', '.join(row.aliases) or '-'} / {', '.join(row.parents) or '-'}"
        lines.append(
            f"{visible(row.name):<32} {row.kind:<9} {'yes' if row.active else 'no':<6} "
            f"{row.source:>7} {row.effective:>7} {row.predicted:>8}  {visible(links)}".rstrip()
        )
    return "\n".join(lines) + "\n"


def history_text(events: Sequence[TagEvent]) -> str:
    if not events:
        return "no events\n"
    return "".join(
        f"{event.id:>6}  {event.at:%Y-%m-%d %H:%M}  {visible(event.actor):<16} "
        f"{visible(event.summary)}\n"
        for event in events
    )


def implied_parents_text(missing: Mapping[str, Sequence[int]], applied: bool) -> str:
    """E.g. "added computer-vision to 2 projects" per parent, or, before --apply, how many
    projects lack each, with the command that adds them."""
    if not missing:
        return "no project lacks a parent that its tags imply\n"
    projects = len({p for ids in missing.values() for p in ids})
    verb = "added" if applied else "missing"
    lines = [f"{verb}: {sum(map(len, missing.values()))} tags on {projects} projects"]
    lines += [f"  {visible(name):<32} {len(ids):>7} projects" for name, ids in missing.items()]
    if not applied:
        lines.append("add them: python -m labeling tags implied-parents --apply")
    return "\n".join(lines) + "\n"
