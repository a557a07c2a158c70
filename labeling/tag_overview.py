"""The Tags page's table: every tag and candidate with its aliases, parents and counts.

Split out of ``labeling.tags`` (the curation actions) because reading the vocabulary with its
counts needs the label and prediction summaries, and the actions do not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import SourceTag, Tag, TagAlias, TagParent
from labeling import registry
from labeling.insights import label_summary, prediction_summary


@dataclass(frozen=True)
class TagInfo:
    """One row of the Tags page: a tag or a candidate with where it is used."""

    name: str
    kind: str  # "tag" or "candidate"
    active: bool
    aliases: tuple[str, ...]
    parents: tuple[str, ...]
    source: int  # projects that arrived with it
    effective: int  # projects whose effective label has it (0 for a candidate: never a label)
    predicted: int  # projects the serving model predicts it for

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "active": self.active,
            "aliases": list(self.aliases),
            "parents": list(self.parents),
            "source": self.source,
            "effective": self.effective,
            "predicted": self.predicted,
        }


def tag_overview(session: Session, trust_source_tags: bool) -> list[TagInfo]:
    """Every tag and candidate, by name, with aliases, parents and counts."""
    tags = session.execute(select(Tag.id, Tag.name, Tag.active, Tag.candidate)).all()
    names = {tag_id: name for tag_id, name, _, _ in tags}
    aliases: dict[str, list[str]] = defaultdict(list)
    for alias, tag_id in session.execute(select(TagAlias.alias, TagAlias.tag_id)):
        aliases[names[tag_id]].append(alias)
    parents: dict[str, list[str]] = defaultdict(list)
    for tag_id, parent_id in session.execute(select(TagParent.tag_id, TagParent.parent_id)):
        parents[names[tag_id]].append(names[parent_id])
    source = dict(
        session.execute(select(SourceTag.tag_id, func.count()).group_by(SourceTag.tag_id)).all()
    )
    effective = label_summary(session, trust_source_tags).effective_per_tag
    version = registry.current_version(session)
    predicted = prediction_summary(session, version.id if version else None).predicted_per_tag
    return [
        TagInfo(
            name=name,
            kind="candidate" if candidate else "tag",
            active=active,
            aliases=tuple(sorted(aliases[name])),
            parents=tuple(sorted(parents[name])),
            source=source.get(tag_id, 0),
            effective=0 if candidate else effective.get(name, 0),
            predicted=predicted.get(name, 0),
        )
        for tag_id, name, active, candidate in sorted(tags, key=lambda row: row[1])
    ]


def filter_overview(
    rows: Iterable[TagInfo], search: str = "", kind: str | None = None
) -> list[TagInfo]:
    """Rows whose name or an alias contains ``search`` (case-insensitive), of one kind."""
    needle = search.strip().lower()
    return [
        row
        for row in rows
        if (kind is None or row.kind == kind)
        and (not needle or needle in row.name or any(needle in a for a in row.aliases))
    ]
