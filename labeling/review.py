"""What a reviewer sees of one conflict, and recording their decision (the queue of
conflicts is labeling.review_queue).

A resolution is appended, never edited: the latest one is the project's effective label and
the earlier ones stay as its history. Two reviewers can open the same conflict at once, so a
decision names the resolution it replaces (``expected_resolution_id``) and is refused when
someone else decided in the meantime, instead of silently overwriting their decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ModelVersion, Prediction, Project, Resolution, SourceTag, Tag, User
from db.session import SessionFactory
from labeling import audit, auth
from labeling.annotate import DEFAULT_THRESHOLD, Suggestion
from labeling.annotations import (
    TagVotes,
    check_tag_choice,
    current_judgements,
    judged_since,
    label_status,
    latest_resolution_records,
    tag_votes,
)
from labeling.project_state import refresh_project_states
from labeling.registry import current_version
from labeling.review_queue import usernames_by_id

METHODS = ("majority", "annotator", "edit")


class ResolutionConflict(Exception):
    """Another reviewer resolved the project after the page was drawn; nothing was written."""

    def __init__(self, reviewer: str, resolved_at: datetime, tags: Sequence[str]) -> None:
        self.reviewer = reviewer
        self.resolved_at = resolved_at
        self.tags = tuple(tags)
        super().__init__(
            f"{reviewer} resolved this project at {resolved_at:%Y-%m-%d %H:%M:%S} UTC "
            f"(tags: {', '.join(tags) or 'none'}) while you were looking at it. Your decision "
            "was not saved; the current state is shown."
        )


# --- one project -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotatorSet:
    user_id: int
    username: str
    tags: tuple[str, ...]
    judged_at: datetime
    after_resolution: bool


@dataclass(frozen=True)
class PastResolution:
    id: int
    reviewer: str
    tags: tuple[str, ...]
    note: str
    method: str | None
    accepted: str | None
    created_at: datetime

    @property
    def how(self) -> str:
        if self.method == "majority":
            return "accepted the majority"
        if self.method == "annotator":
            return f"accepted {self.accepted}'s set"
        if self.method == "edit":
            return "edited the set"
        return "resolved"


@dataclass(frozen=True)
class ReviewItem:
    """Everything the Review page shows of one project. ``latest_resolution_id`` is what a
    decision made on this view must still find when it is saved."""

    project_id: int
    external_id: str
    title: str
    description: str
    status: str
    annotator_sets: tuple[AnnotatorSet, ...]
    votes: tuple[TagVotes[str], ...]
    majority: tuple[str, ...]
    source_tags: tuple[str, ...]
    model_version_id: int | None
    probabilities: dict[str, Suggestion]
    resolutions: tuple[PastResolution, ...]
    latest_resolution_id: int | None


def majority_set(judgements: dict[str, frozenset[str]]) -> tuple[str, ...]:
    """Tags chosen by more than half of the annotators. A tie (one of two, two of four) is left
    out: the majority set holds only what most people actually chose, and a tied tag is
    exactly the disagreement the reviewer is there to settle, by adding it deliberately."""
    votes = tag_votes(judgements)
    return tuple(tag for tag, v in votes.items() if len(v.voted_for) * 2 > len(judgements))


def majority_unavailable(majority: Sequence[str]) -> str | None:
    """Why "Accept majority" is off, or None when it is on: an empty majority (annotators
    with disjoint sets) is no decision, and one key must not resolve a project as no tags."""
    if majority:
        return None
    return (
        "Accept majority is off: no tag was chosen by more than half of the annotators. "
        'Pick the final tags, or tick "No tag applies" to resolve as no tags.'
    )


def review_item(session: Session, project_id: int) -> ReviewItem:
    project = session.get(Project, project_id)
    if project is None:
        raise ValueError(f"unknown project id {project_id}")
    names = usernames_by_id(session)
    judged = current_judgements(session, [project_id]).get(project_id, {})
    resolution = latest_resolution_records(session, [project_id]).get(project_id)
    late = judged_since(judged, resolution)
    by_name = {names[user]: j.tags for user, j in judged.items()}
    votes = tag_votes(by_name)
    version = current_version(session)
    return ReviewItem(
        project_id=project.id,
        external_id=project.external_id,
        title=project.title,
        description=project.description,
        status=label_status(
            {user: j.tags for user, j in judged.items()},
            resolution.tags if resolution is not None else None,
            late,
        ),
        annotator_sets=tuple(
            AnnotatorSet(user, names[user], tuple(sorted(j.tags)), j.at, user in late)
            for user, j in sorted(judged.items(), key=lambda item: item[1].at)
        ),
        votes=tuple(sorted(votes.values(), key=lambda v: (not v.disputed, -len(v.voted_for)))),
        majority=majority_set(by_name),
        source_tags=_source_tags(session, project_id),
        model_version_id=version.id if version is not None else None,
        probabilities=_probabilities(session, project_id, version),
        resolutions=_resolution_history(session, project_id, names),
        latest_resolution_id=resolution.id if resolution is not None else None,
    )


def _source_tags(session: Session, project_id: int) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(Tag.name)
            .join(SourceTag, SourceTag.tag_id == Tag.id)
            .where(SourceTag.project_id == project_id)
            .order_by(Tag.name)
        )
    )


def _probabilities(
    session: Session, project_id: int, version: ModelVersion | None
) -> dict[str, Suggestion]:
    """The current model's probability and threshold per tag, most likely first."""
    if version is None:
        return {}
    prediction = session.get(Prediction, (version.id, project_id))
    if prediction is None:
        return {}
    thresholds = version.thresholds or {}
    ranked = sorted(prediction.probabilities.items(), key=lambda item: (-item[1], item[0]))
    return {tag: Suggestion(tag, p, thresholds.get(tag, DEFAULT_THRESHOLD)) for tag, p in ranked}


def _resolution_history(
    session: Session, project_id: int, names: dict[int, str]
) -> tuple[PastResolution, ...]:
    rows = session.scalars(
        select(Resolution).where(Resolution.project_id == project_id).order_by(Resolution.id.desc())
    )
    return tuple(
        PastResolution(
            id=row.id,
            reviewer=names[row.reviewer_id],
            tags=tuple(sorted(row.tags)),
            note=row.note,
            method=row.method,
            accepted=names.get(row.accepted_user_id) if row.accepted_user_id else None,
            created_at=row.created_at,
        )
        for row in rows
    )


def votes_table(item: ReviewItem) -> list[dict[str, Any]]:
    """One row per tag anyone chose, or the source or the model has: the votes, whether it is
    in the majority set, a source tag, and the model's probability against its threshold."""
    votes = {v.tag: v for v in item.votes}
    suggested = [t for t, p in item.probabilities.items() if p.suggested]
    tags = list(dict.fromkeys([*votes, *item.source_tags, *suggested]))
    rows = []
    for tag in tags:
        vote = votes.get(tag)
        probability = item.probabilities.get(tag)
        rows.append(
            {
                "tag": tag,
                "for": len(vote.voted_for) if vote else 0,
                "against": len(vote.voted_against) if vote else len(item.annotator_sets),
                "voted for": ", ".join(vote.voted_for) if vote else "",
                "voted against": ", ".join(vote.voted_against)
                if vote
                else ", ".join(a.username for a in item.annotator_sets),
                "majority": tag in item.majority,
                "source tag": tag in item.source_tags,
                "model p": probability.probability if probability else None,
                "threshold": probability.threshold if probability else None,
            }
        )
    return rows


def history_table(item: ReviewItem) -> list[dict[str, Any]]:
    return [
        {
            "when": past.created_at,
            "reviewer": past.reviewer,
            "decision": past.how,
            "tags": ", ".join(past.tags),
            "note": past.note,
        }
        for past in item.resolutions
    ]


# --- deciding --------------------------------------------------------------------------------


def resolve(
    make_session: SessionFactory,
    reviewer_id: int,
    project_id: int,
    tags: Iterable[str],
    note: str,
    method: str,
    expected_resolution_id: int | None,
    accepted_user_id: int | None = None,
    no_tag_applies: bool = False,
) -> int:
    """Append the reviewer's final tag set for the project and its audit event in one
    transaction, and return the resolution's id.

    ``expected_resolution_id`` is the latest resolution the reviewer saw (None: none). When
    the project's latest resolution is another one, ResolutionConflict is raised and nothing
    is written, unless that resolution is this very decision already saved (a double click or
    a repeated request), whose id is returned instead of a duplicate. An empty final set needs
    ``no_tag_applies`` (labeling.annotations.check_tag_choice), whichever button chose it."""
    chosen = sorted(set(tags))
    check_tag_choice(chosen, no_tag_applies, "resolve as no tags")
    clean_note = (note or "").strip()
    with make_session.begin() as session:
        project = _locked_project(session, project_id)
        reviewer = _reviewer(session, reviewer_id)
        _check_method(session, project_id, method, accepted_user_id)
        _check_tags(session, chosen)
        latest = _latest_resolution(session, project_id)
        if latest is not None and latest.id != expected_resolution_id:
            decision = (reviewer_id, chosen, clean_note, method, accepted_user_id)
            if _is_saved(session, latest, expected_resolution_id, decision):
                return latest.id
            raise _conflict(session, latest)
        if latest is None and expected_resolution_id is not None:
            raise ValueError(
                f"project {project_id} has no resolution {expected_resolution_id} to replace"
            )
        resolution = Resolution(
            project_id=project_id,
            reviewer_id=reviewer_id,
            tags=chosen,
            note=clean_note,
            method=method,
            accepted_user_id=accepted_user_id,
        )
        session.add(resolution)
        session.flush()
        refresh_project_states(session, [project_id])
        audit.record(
            session,
            auth.SignedInUser(reviewer.id, reviewer.username, reviewer.role),
            "resolution.create",
            project_id=project_id,
            external_id=project.external_id,
            resolution_id=resolution.id,
            replaces=expected_resolution_id,
            tags=chosen,
            method=method,
            accepted_user_id=accepted_user_id,
            note=clean_note,
        )
        return resolution.id


def _locked_project(session: Session, project_id: int) -> Project:
    """Lock the project row until commit, so that two reviewers deciding at the same moment
    on PostgreSQL take turns and the second one sees the first one's resolution (SQLite write
    transactions are already serialised by BEGIN IMMEDIATE)."""
    project = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    if project is None:
        raise ValueError(f"unknown project id {project_id}")
    return project


def _reviewer(session: Session, reviewer_id: int) -> User:
    reviewer = session.get(User, reviewer_id)
    if reviewer is None or not reviewer.active:
        raise ValueError(f"unknown or inactive user id {reviewer_id}")
    if not auth.can_open(reviewer.role, "review"):
        raise ValueError(f"{reviewer.username} ({reviewer.role}) may not resolve conflicts")
    return reviewer


def _check_method(
    session: Session, project_id: int, method: str, accepted_user_id: int | None
) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    if (method == "annotator") != (accepted_user_id is not None):
        raise ValueError("name the annotator whose set is accepted, and only with 'annotator'")
    judged = current_judgements(session, [project_id]).get(project_id, {})
    if accepted_user_id is not None and accepted_user_id not in judged:
        raise ValueError(f"user id {accepted_user_id} has no current judgement of this project")


def _check_tags(session: Session, tags: list[str]) -> None:
    """Only active canonical names: an alias or a retired tag would become a label nobody can
    train on or search for."""
    known = dict(session.execute(select(Tag.name, Tag.active)).all())
    for tag in tags:
        if tag not in known:
            raise ValueError(f"unknown tag {tag!r}")
        if not known[tag]:
            raise ValueError(f"tag {tag!r} is retired; resolutions use active tags only")


def _latest_resolution(session: Session, project_id: int) -> Resolution | None:
    return session.scalar(
        select(Resolution)
        .where(Resolution.project_id == project_id)
        .order_by(Resolution.id.desc())
        .limit(1)
    )


def _is_saved(
    session: Session,
    latest: Resolution,
    expected_resolution_id: int | None,
    decision: tuple[int, list[str], str, str, int | None],
) -> bool:
    """Whether ``latest`` is this decision already saved: same reviewer, tags, note, method and
    accepted annotator, and it replaced the resolution this decision expected."""
    saved = (
        latest.reviewer_id,
        sorted(latest.tags),
        latest.note,
        latest.method,
        latest.accepted_user_id,
    )
    if saved != decision:
        return False
    replaced = session.scalar(
        select(func.max(Resolution.id)).where(
            Resolution.project_id == latest.project_id, Resolution.id < latest.id
        )
    )
    return replaced == expected_resolution_id


def _conflict(session: Session, latest: Resolution) -> ResolutionConflict:
    reviewer = session.get(User, latest.reviewer_id)
    name = reviewer.username if reviewer is not None else f"user {latest.reviewer_id}"
    return ResolutionConflict(name, latest.created_at, sorted(latest.tags))


def method_for_edit(tags: Iterable[str], majority: Sequence[str]) -> str:
    """The edit box starts with the majority set, so saving it unchanged is accepting the
    majority and is recorded as such; an empty majority is no majority, so resolving as no
    tags is the reviewer's own edit."""
    return "majority" if majority and set(tags) == set(majority) else "edit"


def next_project(queue_ids: Sequence[int], current: int | None) -> int | None:
    """The project after ``current`` in the queue, wrapping round, so that resolving a conflict
    shows the one below it; the first one when ``current`` is not in the queue."""
    others = [project_id for project_id in queue_ids if project_id != current]
    if not others:
        return None
    if current not in queue_ids:
        return others[0]
    position = queue_ids.index(current)
    return [*queue_ids[position + 1 :], *queue_ids[:position]][0]
