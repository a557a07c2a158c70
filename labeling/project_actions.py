"""What a person can do with a project found on the Projects page: an annotator can label it
now, a reviewer or admin can send it to review.

"Label it now" takes the same kind of lease ``serving.serve_next`` takes, under the same
rules (never a project you already judged, never one another annotator holds, never beyond
the overlap limit of annotators per project), and releases the user's other leases, so the
Annotate page (which serves a user's live lease first) shows this project next.

"Send to review" appends a ReviewRequest; it stays open until a resolution of the project
is newer than it. ``open_review_requests`` is what the Review queue reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, distinct, func, select, text
from sqlalchemy.orm import Session

from db.models import Annotation, Lease, Project, Resolution, ReviewRequest, User, utcnow
from db.session import SessionFactory
from labeling import audit
from labeling.serving import SERVE_LOCK_KEY
from labeling.serving_policy import DEFAULT_LEASE_MINUTES, DEFAULT_OVERLAP_K

LABELLING_ROLES = ("annotator", "reviewer", "admin")
REVIEWING_ROLES = ("reviewer", "admin")
MAX_NOTE_CHARS = 2_000


class ProjectActionError(ValueError):
    """The action is refused; the message says why, for the page to show as is."""


@dataclass(frozen=True)
class LeaseOutcome:
    """``leased`` or, when refused, ``reason``: refusals are ordinary answers here (the page
    says why), not errors."""

    leased: bool
    reason: str = ""
    expires_at: datetime | None = None


def lease_for_labelling(
    make_session: SessionFactory,
    user_id: int,
    project_id: int,
    settings_like: Any = None,
    now: datetime | None = None,
) -> LeaseOutcome:
    """Lease ``project_id`` to ``user_id`` if the serving rules allow, else say why.
    One write transaction, serialised with serve_next so that two people cannot both take
    the last place on a project."""
    now = now or utcnow()
    overlap_k = int(getattr(settings_like, "overlap_k", DEFAULT_OVERLAP_K))
    minutes = float(getattr(settings_like, "lease_minutes", DEFAULT_LEASE_MINUTES))
    with make_session.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SERVE_LOCK_KEY})
        reason = _lease_refusal(session, user_id, project_id, overlap_k, now)
        if reason:
            return LeaseOutcome(False, reason)
        session.execute(delete(Lease).where(Lease.user_id == user_id))
        expires_at = now + timedelta(minutes=minutes)
        session.add(Lease(project_id=project_id, user_id=user_id, expires_at=expires_at))
        user = session.get(User, user_id)
        audit.record(session, user, "project.label_now", project_id=project_id)
        return LeaseOutcome(True, expires_at=expires_at)


def _lease_refusal(
    session: Session, user_id: int, project_id: int, overlap_k: int, now: datetime
) -> str:
    user = session.get(User, user_id)
    if user is None or not user.active or user.role not in LABELLING_ROLES:
        return "Only annotators, reviewers and admins label projects."
    if session.get(Project, project_id) is None:
        return f"No project with id {project_id}."
    judged = session.scalar(
        select(func.count()).where(
            Annotation.project_id == project_id, Annotation.user_id == user_id
        )
    )
    if judged:
        return "You already judged or skipped this project; change it on My history."
    holder = session.scalar(
        select(Lease.expires_at)
        .where(Lease.project_id == project_id, Lease.user_id != user_id, Lease.expires_at > now)
        .order_by(Lease.expires_at.desc())
        .limit(1)
    )
    if holder is not None:
        minutes = max(1, round((holder - now).total_seconds() / 60))
        return (
            f"Another annotator is labelling this project; it is free again within {minutes} min."
        )
    judges = session.scalar(
        select(func.count(distinct(Annotation.user_id))).where(
            Annotation.project_id == project_id, Annotation.skipped.is_(False)
        )
    )
    if (judges or 0) >= overlap_k:
        return (
            f"This project already has {judges} annotators' judgements, the most one project "
            "is given; a reviewer can send it to review instead."
        )
    return ""


def request_review(
    session: Session, project_id: int, actor: audit.Actor, role: str, note: str = ""
) -> ReviewRequest:
    """Ask for a review of the project; a second request while one is open is refused, so the
    queue shows each project once."""
    if role not in REVIEWING_ROLES:
        raise ProjectActionError("Only reviewers and admins can send a project to review.")
    if session.get(Project, project_id) is None:
        raise ProjectActionError(f"No project with id {project_id}.")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ProjectActionError(f"The note is longer than {MAX_NOTE_CHARS} characters.")
    if project_id in open_review_requests(session, [project_id]):
        raise ProjectActionError("This project is already waiting for review.")
    request = ReviewRequest(project_id=project_id, requested_by_id=actor.id, note=note)
    session.add(request)
    session.flush()
    audit.record(session, actor, "project.review_requested", project_id=project_id, note=note)
    return request


def open_review_requests(
    session: Session, project_ids: list[int] | None = None
) -> dict[int, ReviewRequest]:
    """project id -> its newest review request that no resolution has answered yet."""
    newest_request = (
        select(func.max(ReviewRequest.id)).group_by(ReviewRequest.project_id).scalar_subquery()
    )
    query = select(ReviewRequest).where(ReviewRequest.id.in_(newest_request))
    if project_ids is not None:
        query = query.where(ReviewRequest.project_id.in_(project_ids))
    requests = {r.project_id: r for r in session.scalars(query)}
    if not requests:
        return {}
    resolved_at = dict(
        session.execute(
            select(Resolution.project_id, func.max(Resolution.created_at))
            .where(Resolution.project_id.in_(list(requests)))
            .group_by(Resolution.project_id)
        ).all()
    )
    return {
        project_id: request
        for project_id, request in requests.items()
        if project_id not in resolved_at or resolved_at[project_id] < request.created_at
    }
