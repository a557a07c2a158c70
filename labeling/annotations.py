"""Label status and the effective label of each project.

Status comes from the latest judgement of each annotator (a later judgement supersedes an
earlier one of the same person; a skip withdraws that person's label). The effective label is
what training and export use: the latest resolution, else the agreed set, else the single
annotator's set, else the source tags when they are trusted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Annotation, Project, Resolution, SourceTag, Tag

STATUSES = ("unlabeled", "single", "agreed", "conflict", "resolved")
LABEL_SOURCES = ("resolved", "agreed", "single", "source", "none")


@dataclass(frozen=True)
class LabelState:
    status: str
    tags: tuple[str, ...]
    label_source: str


def label_state(
    judgements: dict[int, frozenset[str]],
    resolution: frozenset[str] | None,
    source_tags: frozenset[str],
    trust_source_tags: bool,
) -> LabelState:
    """The status and effective label of one project from its per-annotator latest tag sets."""
    distinct = set(judgements.values())
    if resolution is not None:
        return LabelState("resolved", tuple(sorted(resolution)), "resolved")
    if len(judgements) >= 2 and len(distinct) == 1:
        return LabelState("agreed", tuple(sorted(distinct.pop())), "agreed")
    if len(judgements) == 1:
        return LabelState("single", tuple(sorted(next(iter(distinct)))), "single")
    status = "conflict" if len(judgements) >= 2 else "unlabeled"
    if trust_source_tags:
        return LabelState(status, tuple(sorted(source_tags)), "source")
    return LabelState(status, (), "none")


def latest_judgements(
    session: Session, project_ids: Iterable[int] | None = None
) -> dict[int, dict[int, frozenset[str]]]:
    """project id -> annotator id -> tag set of that annotator's latest non-skipped judgement."""
    latest_ids = select(func.max(Annotation.id)).group_by(Annotation.project_id, Annotation.user_id)
    query = select(
        Annotation.project_id, Annotation.user_id, Annotation.tags, Annotation.skipped
    ).where(Annotation.id.in_(latest_ids))
    if project_ids is not None:
        query = query.where(Annotation.project_id.in_(list(project_ids)))
    result: dict[int, dict[int, frozenset[str]]] = defaultdict(dict)
    for project_id, user_id, tags, skipped in session.execute(query):
        if not skipped:
            result[project_id][user_id] = frozenset(tags)
    return result


def latest_resolutions(session: Session) -> dict[int, frozenset[str]]:
    latest_ids = select(func.max(Resolution.id)).group_by(Resolution.project_id)
    rows = session.execute(
        select(Resolution.project_id, Resolution.tags).where(Resolution.id.in_(latest_ids))
    ).all()
    return {project_id: frozenset(tags) for project_id, tags in rows}


def source_tag_sets(session: Session) -> dict[int, frozenset[str]]:
    sets: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(SourceTag.project_id, Tag.name).join(Tag, SourceTag.tag_id == Tag.id)
    ).all()
    for project_id, name in rows:
        sets[project_id].add(name)
    return {project_id: frozenset(names) for project_id, names in sets.items()}


def all_label_states(session: Session, trust_source_tags: bool) -> dict[int, LabelState]:
    """Every project's label state in four queries, whatever the catalogue size."""
    judgements = latest_judgements(session)
    resolutions = latest_resolutions(session)
    sources = source_tag_sets(session)
    empty: frozenset[str] = frozenset()
    return {
        project_id: label_state(
            judgements.get(project_id, {}),
            resolutions.get(project_id),
            sources.get(project_id, empty),
            trust_source_tags,
        )
        for project_id in session.scalars(select(Project.id))
    }


def status_counts(session: Session, trust_source_tags: bool) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for state in all_label_states(session, trust_source_tags).values():
        counts[state.status] += 1
    return counts
