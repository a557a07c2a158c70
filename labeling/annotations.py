"""Label status and the effective label of each project.

Status comes from the latest judgement of each annotator (a later judgement supersedes an
earlier one of the same person; a skip withdraws that person's label) and the latest
resolution. The effective label is what training and export use: the latest resolution, else
the agreed set, else the single annotator's set, else the source tags when they are trusted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Select, distinct, func, select, union
from sqlalchemy.orm import Session

from db.models import Annotation, Project, Resolution, SourceTag, Tag

STATUSES = ("unlabeled", "single", "agreed", "conflict", "resolved", "reopened")
REVIEW_STATUSES = ("conflict", "reopened")
LABEL_SOURCES = ("resolved", "agreed", "single", "source", "none")

Voter = TypeVar("Voter", int, str)


@dataclass(frozen=True)
class LabelState:
    status: str
    tags: tuple[str, ...]
    label_source: str


@dataclass(frozen=True)
class Judgement:
    """An annotator's current tag set for a project and when they gave it."""

    tags: frozenset[str]
    at: datetime


@dataclass(frozen=True)
class LatestResolution:
    id: int
    tags: frozenset[str]
    reviewer_id: int
    at: datetime


@dataclass(frozen=True)
class TagVotes(Generic[Voter]):
    """Who put a tag in their set and who left it out, among a project's current annotators."""

    tag: str
    voted_for: tuple[Voter, ...]
    voted_against: tuple[Voter, ...]

    @property
    def disputed(self) -> bool:
        return bool(self.voted_for) and bool(self.voted_against)


def label_status(
    judgements: Mapping[int, frozenset[str]],
    resolution: frozenset[str] | None,
    judged_since_resolution: Collection[int] = (),
) -> str:
    """``judged_since_resolution``: annotators whose current judgement came after the latest
    resolution. One of them disagreeing with it reopens the project."""
    if resolution is not None:
        reopened = any(
            judgements[user] != resolution for user in judged_since_resolution if user in judgements
        )
        return "reopened" if reopened else "resolved"
    if not judgements:
        return "unlabeled"
    if len(judgements) == 1:
        return "single"
    return "agreed" if len(set(judgements.values())) == 1 else "conflict"


def label_state(
    judgements: Mapping[int, frozenset[str]],
    resolution: frozenset[str] | None,
    source_tags: frozenset[str],
    trust_source_tags: bool,
    judged_since_resolution: Collection[int] = (),
) -> LabelState:
    """The status and effective label of one project from its per-annotator latest tag sets.

    A reopened project keeps the resolution as its effective label until a reviewer resolves
    it again: the reviewer decided with every vote in front of them, and one later judgement
    is new evidence to look at, not a verdict that silently undoes that decision (and makes
    the training label flip back and forth with each late opinion)."""
    status = label_status(judgements, resolution, judged_since_resolution)
    if resolution is not None:
        return LabelState(status, tuple(sorted(resolution)), "resolved")
    if status in ("agreed", "single"):
        return LabelState(status, tuple(sorted(next(iter(judgements.values())))), status)
    if trust_source_tags:
        return LabelState(status, tuple(sorted(source_tags)), "source")
    return LabelState(status, (), "none")


def tag_votes(judgements: Mapping[Voter, frozenset[str]]) -> dict[str, TagVotes[Voter]]:
    """Every tag any annotator chose, with the annotators for and against it, by tag name."""
    voters = sorted(judgements)
    return {
        tag: TagVotes(
            tag,
            tuple(v for v in voters if tag in judgements[v]),
            tuple(v for v in voters if tag not in judgements[v]),
        )
        for tag in sorted(set().union(*judgements.values()))
    }


def disputed_tags(judgements: Mapping[Voter, frozenset[str]]) -> dict[str, TagVotes[Voter]]:
    """The tags a project is in dispute on: some current annotators chose it, others did not.
    Disputes are per tag because a conflict on one tag out of five is a different (and much
    more common) problem than two annotators who see different projects."""
    return {tag: votes for tag, votes in tag_votes(judgements).items() if votes.disputed}


def judged_since(
    judgements: Mapping[int, Judgement], resolution: LatestResolution | None
) -> frozenset[int]:
    """The annotators whose current judgement is newer than the latest resolution."""
    if resolution is None:
        return frozenset()
    return frozenset(user for user, j in judgements.items() if j.at > resolution.at)


def current_judgements(
    session: Session, project_ids: Iterable[int] | Select[tuple[int]] | None = None
) -> dict[int, dict[int, Judgement]]:
    """project id -> annotator id -> that annotator's latest non-skipped judgement, with its
    time, in one query whatever the number of projects (``project_ids``: a list or a query)."""
    latest_ids = select(func.max(Annotation.id)).group_by(Annotation.project_id, Annotation.user_id)
    if project_ids is not None:
        # Narrowed inside the grouping too, so that a few projects read their own rows only.
        wanted = project_ids if isinstance(project_ids, Select) else list(project_ids)
        latest_ids = latest_ids.where(Annotation.project_id.in_(wanted))
    query = select(
        Annotation.project_id,
        Annotation.user_id,
        Annotation.tags,
        Annotation.skipped,
        Annotation.created_at,
    ).where(Annotation.id.in_(latest_ids))
    result: dict[int, dict[int, Judgement]] = defaultdict(dict)
    for project_id, user_id, tags, skipped, created_at in session.execute(query):
        if not skipped:
            result[project_id][user_id] = Judgement(frozenset(tags), created_at)
    return result


def review_candidates() -> Select[tuple[int]]:
    """Projects that may be in conflict or reopened: judged by two or more people, or
    resolved. A superset (a later skip may withdraw a judgement) that leaves out the many
    projects only one annotator has seen, so the review queue reads a fraction of the
    judgements."""
    judged_by_several = (
        select(Annotation.project_id)
        .where(Annotation.skipped.is_(False))
        .group_by(Annotation.project_id)
        .having(func.count(distinct(Annotation.user_id)) >= 2)
    )
    return select(union(judged_by_several, select(Resolution.project_id)).subquery().c[0])


def latest_judgements(
    session: Session, project_ids: Iterable[int] | None = None
) -> dict[int, dict[int, frozenset[str]]]:
    """project id -> annotator id -> tag set of that annotator's latest non-skipped judgement."""
    return {
        project_id: {user: judgement.tags for user, judgement in by_user.items()}
        for project_id, by_user in current_judgements(session, project_ids).items()
    }


def latest_resolution_records(
    session: Session, project_ids: Iterable[int] | None = None
) -> dict[int, LatestResolution]:
    latest_ids = select(func.max(Resolution.id)).group_by(Resolution.project_id)
    if project_ids is not None:
        latest_ids = latest_ids.where(Resolution.project_id.in_(list(project_ids)))
    query = select(
        Resolution.id,
        Resolution.project_id,
        Resolution.tags,
        Resolution.reviewer_id,
        Resolution.created_at,
    ).where(Resolution.id.in_(latest_ids))
    return {
        row.project_id: LatestResolution(
            row.id, frozenset(row.tags), row.reviewer_id, row.created_at
        )
        for row in session.execute(query)
    }


def latest_resolutions(session: Session) -> dict[int, frozenset[str]]:
    return {
        project_id: record.tags for project_id, record in latest_resolution_records(session).items()
    }


def source_tag_sets(session: Session) -> dict[int, frozenset[str]]:
    """Tag names are looked up in Python: joining them in SQL repeats each name once per
    project, which costs more than the lookup at 100,000 projects."""
    names = dict(session.execute(select(Tag.id, Tag.name).where(Tag.candidate.is_(False))).all())
    sets: dict[int, set[str]] = defaultdict(set)
    for project_id, tag_id in session.execute(select(SourceTag.project_id, SourceTag.tag_id)):
        if tag_id in names:  # candidate tags are kept and counted, never labels
            sets[project_id].add(names[tag_id])
    return {project_id: frozenset(tags) for project_id, tags in sets.items()}


def all_label_states(session: Session, trust_source_tags: bool) -> dict[int, LabelState]:
    """Every project's label state in five queries, whatever the catalogue size."""
    judgements = current_judgements(session)
    resolutions = latest_resolution_records(session)
    sources = source_tag_sets(session)
    tag_sets = {
        project_id: {user: judgement.tags for user, judgement in by_user.items()}
        for project_id, by_user in judgements.items()
    }
    late = {
        project_id: judged_since(judgements[project_id], resolution)
        for project_id, resolution in resolutions.items()
        if project_id in judgements
    }
    no_judgements: dict[int, frozenset[str]] = {}
    no_tags: frozenset[str] = frozenset()
    states = {}
    for project_id in session.scalars(select(Project.id)):
        resolution = resolutions.get(project_id)
        states[project_id] = label_state(
            tag_sets.get(project_id, no_judgements),
            resolution.tags if resolution is not None else None,
            sources.get(project_id, no_tags),
            trust_source_tags,
            late.get(project_id, ()),
        )
    return states


def status_counts(session: Session, trust_source_tags: bool) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for state in all_label_states(session, trust_source_tags).values():
        counts[state.status] += 1
    return counts


# --- an empty label only on purpose ----------------------------------------------------------

NO_TAG_APPLIES = "No tag applies"


class EmptyLabelRefused(ValueError):
    """A tag set that is empty without the explicit "no tag applies" choice, or that choice
    with tags: one key on an empty, focused tag box must never save "no tags"."""


def check_tag_choice(tags: Collection[str], no_tag_applies: bool, action: str) -> None:
    """Raise EmptyLabelRefused unless the tags and the "no tag applies" choice agree.

    ``action`` completes "tick ... to <action>": "submit an empty judgement", "resolve as
    no tags". An empty set is a real label (it trains every tag as absent), so it must be
    chosen, not left over from a box that was emptied or never filled."""
    if not tags and not no_tag_applies:
        raise EmptyLabelRefused(
            f'No tags chosen: tick "{NO_TAG_APPLIES}" to {action}, or add a tag. Nothing was saved.'
        )
    if tags and no_tag_applies:
        raise EmptyLabelRefused(
            f'"{NO_TAG_APPLIES}" is ticked but tags are chosen ({", ".join(sorted(tags))}): '
            "untick it or remove the tags. Nothing was saved."
        )
