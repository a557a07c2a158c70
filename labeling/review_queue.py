"""The conflict queue: which projects wait for a reviewer, in which order, and how the Review
page lists and filters them.

It lives apart from labeling.review (one conflict in full, and the reviewer's decision)
because the queue is a bulk read over the whole catalogue, with its own orders and tables,
while the review of one project reads and writes a single project.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Prediction, Project, User
from labeling.annotations import (
    REVIEW_STATUSES,
    Judgement,
    LatestResolution,
    current_judgements,
    disputed_tags,
    judged_since,
    label_status,
    latest_resolution_records,
    review_candidates,
)
from labeling.registry import current_version

ORDERS = ("most_disputed", "oldest", "uncertainty")
ORDER_LABELS = {
    "most_disputed": "most disputed tags",
    "oldest": "oldest conflict first",
    "uncertainty": "model least sure first",
}
_CHUNK = 5_000


@dataclass(frozen=True)
class QueueRow:
    project_id: int
    external_id: str
    title: str
    status: str
    disputed_tags: tuple[str, ...]
    annotators: tuple[str, ...]
    since: datetime
    uncertainty: float | None


@dataclass(frozen=True)
class _Dispute:
    status: str
    disputed_tags: tuple[str, ...]
    annotators: tuple[str, ...]
    since: datetime


def conflict_queue(
    session: Session,
    order: str = "most_disputed",
    tag: str | None = None,
    annotator: str | None = None,
) -> list[QueueRow]:
    """Projects in conflict or reopened, in the chosen order, optionally only those disputed on
    ``tag`` or judged by ``annotator`` (a username). A fixed number of queries, whatever the
    catalogue size: judgements and resolutions in bulk, then only the queued projects."""
    _check_order(order)
    disputes = _disputes(session)
    projects = _project_titles(session, list(disputes))
    scores = _uncertainties(session, list(disputes))
    rows = [
        QueueRow(
            project_id=project_id,
            external_id=projects[project_id][0],
            title=projects[project_id][1],
            status=dispute.status,
            disputed_tags=dispute.disputed_tags,
            annotators=dispute.annotators,
            since=dispute.since,
            uncertainty=scores.get(project_id),
        )
        for project_id, dispute in disputes.items()
    ]
    return select_queue(rows, order, tag, annotator)


def select_queue(
    rows: Iterable[QueueRow],
    order: str = "most_disputed",
    tag: str | None = None,
    annotator: str | None = None,
) -> list[QueueRow]:
    """The queue rows disputed on ``tag`` and judged by ``annotator`` (None: any), in
    ``order``; the page reads the whole queue once and narrows it here."""
    _check_order(order)
    chosen = [
        row
        for row in rows
        if (tag is None or tag in row.disputed_tags)
        and (annotator is None or annotator in row.annotators)
    ]
    return sorted(chosen, key=_ORDER_KEYS[order])


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of: {', '.join(ORDERS)}")


def _most_disputed_key(row: QueueRow) -> tuple[Any, ...]:
    return (-len(row.disputed_tags), -len(row.annotators), row.since, row.project_id)


def _oldest_key(row: QueueRow) -> tuple[Any, ...]:
    return (row.since, row.project_id)


def _uncertainty_key(row: QueueRow) -> tuple[Any, ...]:
    """Unscored projects (no model yet, or imported after training) go last."""
    unscored = row.uncertainty is None
    return (unscored, -(row.uncertainty or 0.0), row.since, row.project_id)


_ORDER_KEYS = {
    "most_disputed": _most_disputed_key,
    "oldest": _oldest_key,
    "uncertainty": _uncertainty_key,
}


def queue_filter_choices(rows: Iterable[QueueRow]) -> tuple[list[str], list[str]]:
    """(disputed tags, annotators) that occur in the queue, for the filter pickers."""
    rows = list(rows)
    tags = sorted({tag for row in rows for tag in row.disputed_tags})
    annotators = sorted({name for row in rows for name in row.annotators})
    return tags, annotators


def queue_table(rows: Iterable[QueueRow]) -> list[dict[str, Any]]:
    return [
        {
            "project": row.external_id,
            "title": row.title,
            "status": row.status,
            "disputed tags": ", ".join(row.disputed_tags),
            "annotators": ", ".join(row.annotators),
            "since": row.since,
            "model uncertainty": row.uncertainty,
        }
        for row in rows
    ]


def queue_summary(shown: Sequence[QueueRow], whole: Sequence[QueueRow]) -> str:
    """E.g. "2 of 5 projects to review (4 conflicts, 1 reopened after a resolution)."."""
    reopened = sum(row.status == "reopened" for row in whole)
    conflicts = len(whole) - reopened
    return (
        f"{len(shown):,} of {_count(len(whole), 'project')} to review "
        f"({_count(conflicts, 'conflict')}, {reopened:,} reopened after a resolution)."
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _disputes(session: Session) -> dict[int, _Dispute]:
    judgements = current_judgements(session, review_candidates())
    resolutions = latest_resolution_records(session)
    names = usernames_by_id(session)
    found = {}
    for project_id, judged in judgements.items():
        resolution = resolutions.get(project_id)
        late = judged_since(judged, resolution)
        status = label_status(
            {user: j.tags for user, j in judged.items()},
            resolution.tags if resolution is not None else None,
            late,
        )
        if status in REVIEW_STATUSES:
            found[project_id] = _Dispute(
                status=status,
                disputed_tags=_disputed_tag_names(judged, resolution, late),
                annotators=tuple(sorted(names[user] for user in judged)),
                since=_conflict_since(judged, resolution, late),
            )
    return found


def _disputed_tag_names(
    judged: dict[int, Judgement], resolution: LatestResolution | None, late: frozenset[int]
) -> tuple[str, ...]:
    """Tags the annotators differ on; on a reopened project also the tags a later judgement
    differs from the resolution on, since those are what reopened it."""
    tags = set(disputed_tags({user: j.tags for user, j in judged.items()}))
    if resolution is not None:
        for user in late:
            tags |= judged[user].tags ^ resolution.tags
    return tuple(sorted(tags))


def _conflict_since(
    judged: dict[int, Judgement], resolution: LatestResolution | None, late: frozenset[int]
) -> datetime:
    """When the current disagreement began: for a conflict, the first current judgement that
    differs from an earlier current one; for a reopened project, the first later judgement that
    differs from the resolution."""
    if resolution is not None:
        return min(judged[user].at for user in late if judged[user].tags != resolution.tags)
    ordered = sorted(judged.values(), key=lambda j: j.at)
    return next(j.at for i, j in enumerate(ordered) if any(o.tags != j.tags for o in ordered[:i]))


def usernames_by_id(session: Session) -> dict[int, str]:
    """Every user's name by id, read once: the queue and the review of one project name
    annotators and reviewers, never ids."""
    return dict(session.execute(select(User.id, User.username)).all())


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _project_titles(session: Session, project_ids: list[int]) -> dict[int, tuple[str, str]]:
    titles: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(project_ids):
        rows = session.execute(
            select(Project.id, Project.external_id, Project.title).where(Project.id.in_(chunk))
        )
        titles.update({row.id: (row.external_id, row.title) for row in rows})
    return titles


def _uncertainties(session: Session, project_ids: list[int]) -> dict[int, float]:
    """The current model version's stored uncertainty of each project it scored."""
    version = current_version(session)
    if version is None:
        return {}
    scores: dict[int, float] = {}
    for chunk in _chunks(project_ids):
        rows = session.execute(
            select(Prediction.project_id, Prediction.uncertainty).where(
                Prediction.model_version_id == version.id, Prediction.project_id.in_(chunk)
            )
        )
        scores.update({row.project_id: row.uncertainty for row in rows})
    return scores
