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


def implied_parents_text(
    missing: Mapping[str, Sequence[int]], doubted: Mapping[str, Sequence[int]], applied: bool
) -> str:
    """Per parent, how many projects lack it (or got it, after --apply), then those left to
    a person because the tag implying it is doubted, and the command that adds the rest."""
    lines = []
    if missing:
        projects = len({p for ids in missing.values() for p in ids})
        verb = "added" if applied else "missing"
        lines.append(f"{verb}: {sum(map(len, missing.values()))} tags on {projects} projects")
        lines += [f"  {visible(name):<32} {len(ids):>7} projects" for name, ids in missing.items()]
    else:
        lines.append("no project lacks a parent that its tags imply")
    if doubted:
        projects = len({p for ids in doubted.values() for p in ids})
        lines.append(
            f"left to a person (implied only by a tag the model calls probably wrong): "
            f"{sum(map(len, doubted.values()))} tags on {projects} projects"
        )
        lines += [f"  {visible(name):<32} {len(ids):>7} projects" for name, ids in doubted.items()]
    if missing and not applied:
        lines.append("add them: python -m labeling tags implied-parents --apply")
    return "\n".join(lines) + "\n"
