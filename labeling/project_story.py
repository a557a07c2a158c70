"""One project's whole story for the Projects page: where its tags came from, every judgement
and resolution, what each kept model version thought of it, why it is suspected, review
requests and its audit trail. Read in one session with a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased

from db.models import (
    Annotation,
    AuditEvent,
    ImportBatch,
    ModelVersion,
    Prediction,
    Project,
    Resolution,
    ReviewRequest,
    User,
)
from labeling.annotations import (
    LabelState,
    current_judgements,
    judged_since,
    label_state,
    latest_resolution_records,
)
from labeling.label_errors import suspicion_text
from labeling.registry import current_version
from labeling.search import source_tags_of


class ProjectNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ProjectStory:
    id: int
    external_id: str
    title: str
    description: str
    split: str
    created_at: datetime
    import_file: str | None
    source_tags: tuple[str, ...]
    state: LabelState
    judgements: list[dict[str, Any]]
    hidden_judges: int
    resolutions: list[dict[str, Any]]
    probabilities: pd.DataFrame
    label_error_score: float | None
    label_error_reason: str
    review_requests: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]


def project_story(
    session: Session, project_id: int, trust_source_tags: bool, only_user_id: int | None = None
) -> ProjectStory:
    """``only_user_id``: show only that person's judgements (and say how many others there
    are), for annotators, whose second opinion must stay blind to the first."""
    project = session.get(Project, project_id)
    if project is None:
        raise ProjectNotFound(f"No project with id {project_id}.")
    batch = session.get(ImportBatch, project.imported_in_id) if project.imported_in_id else None
    source = source_tags_of(session, [project_id]).get(project_id, ())
    version = current_version(session)
    score, reason = _label_error(session, project_id, version)
    return ProjectStory(
        id=project.id,
        external_id=project.external_id,
        title=project.title,
        description=project.description,
        split=project.split,
        created_at=project.created_at,
        import_file=batch.filename if batch is not None else None,
        source_tags=source,
        state=_state(session, project_id, source, trust_source_tags),
        judgements=judgement_rows(session, project_id, only_user_id),
        hidden_judges=_other_judges(session, project_id, only_user_id),
        resolutions=resolution_rows(session, project_id),
        probabilities=probability_frame(session, project_id),
        label_error_score=score,
        label_error_reason=reason,
        review_requests=review_request_rows(session, project_id),
        audit_events=audit_rows(session, project),
    )


def _state(
    session: Session, project_id: int, source: tuple[str, ...], trust_source_tags: bool
) -> LabelState:
    judged = current_judgements(session, [project_id]).get(project_id, {})
    resolution = latest_resolution_records(session, [project_id]).get(project_id)
    return label_state(
        {user: j.tags for user, j in judged.items()},
        resolution.tags if resolution is not None else None,
        frozenset(source),
        trust_source_tags,
        judged_since(judged, resolution),
    )


def _other_judges(session: Session, project_id: int, only_user_id: int | None) -> int:
    if only_user_id is None:
        return 0
    return (
        session.scalar(
            select(func.count(distinct(Annotation.user_id))).where(
                Annotation.project_id == project_id, Annotation.user_id != only_user_id
            )
        )
        or 0
    )


def judgement_rows(
    session: Session, project_id: int, only_user_id: int | None = None
) -> list[dict[str, Any]]:
    """Every judgement (or one person's), oldest first, with whether a later one of the same
    person replaced it."""
    query = (
        select(Annotation, User.username)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.project_id == project_id)
        .order_by(Annotation.id)
    )
    if only_user_id is not None:
        query = query.where(Annotation.user_id == only_user_id)
    rows = session.execute(query).all()
    latest = {a.user_id: a.id for a, _ in rows}
    return [
        {
            "when": a.created_at,
            "who": name,
            "tags": ", ".join(sorted(a.tags)) if not a.skipped else "",
            "added": ", ".join(sorted(a.added)),
            "removed": ", ".join(sorted(a.removed)),
            "seconds": None if a.seconds_spent is None else round(a.seconds_spent, 1),
            "skipped": a.skip_reason or "yes" if a.skipped else "",
            "model shown": a.model_version_id,
            "current": latest[a.user_id] == a.id,
        }
        for a, name in rows
    ]


def resolution_rows(session: Session, project_id: int) -> list[dict[str, Any]]:
    accepted = aliased(User)
    rows = session.execute(
        select(Resolution, User.username, accepted.username)
        .join(User, User.id == Resolution.reviewer_id)
        .outerjoin(accepted, accepted.id == Resolution.accepted_user_id)
        .where(Resolution.project_id == project_id)
        .order_by(Resolution.id)
    ).all()
    return [
        {
            "when": r.created_at,
            "reviewer": reviewer,
            "tags": ", ".join(sorted(r.tags)),
            "how": r.method or "",
            "accepted": accepted_name or "",
            "note": r.note,
        }
        for r, reviewer, accepted_name in rows
    ]


def probability_frame(session: Session, project_id: int) -> pd.DataFrame:
    """(tag, version, probability, threshold, predicted) for every kept version that scored
    the project, so that a chart or table can show how the model's view moved."""
    rows = session.execute(
        select(ModelVersion.id, ModelVersion.thresholds, Prediction.probabilities)
        .join(Prediction, Prediction.model_version_id == ModelVersion.id)
        .where(Prediction.project_id == project_id)
        .order_by(ModelVersion.id)
    ).all()
    records = [
        {
            "tag": tag,
            "version": version_id,
            "probability": float(p),
            "threshold": (thresholds or {}).get(tag),
            "predicted": (thresholds or {}).get(tag) is not None and p >= thresholds[tag],
        }
        for version_id, thresholds, probabilities in rows
        for tag, p in sorted((probabilities or {}).items())
    ]
    columns = ["tag", "version", "probability", "threshold", "predicted"]
    return pd.DataFrame(records, columns=columns)


def probability_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per tag, one column per version ("v3"), newest version first; tags the newest
    version is surest about first."""
    if frame.empty:
        return pd.DataFrame()
    wide = frame.pivot(index="tag", columns="version", values="probability")
    wide = wide[sorted(wide.columns, reverse=True)]
    wide = wide.sort_values(wide.columns[0], ascending=False)
    wide.columns = [f"v{v}" for v in wide.columns]
    return wide.round(3).reset_index()


def _label_error(
    session: Session, project_id: int, version: ModelVersion | None
) -> tuple[float | None, str]:
    if version is None:
        return None, "No model version is ready yet."
    prediction = session.get(Prediction, (version.id, project_id))
    if prediction is None:
        return None, f"Model version {version.id} has not scored this project."
    if not prediction.label_error_score or not prediction.suspicions:
        return prediction.label_error_score, (
            f"Model version {version.id} finds nothing suspect in its tags."
        )
    return prediction.label_error_score, suspicion_text(prediction.suspicions)


def review_request_rows(session: Session, project_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ReviewRequest, User.username)
        .join(User, User.id == ReviewRequest.requested_by_id)
        .where(ReviewRequest.project_id == project_id)
        .order_by(ReviewRequest.id)
    ).all()
    return [{"when": r.created_at, "by": name, "note": r.note} for r, name in rows]


def audit_rows(session: Session, project: Project) -> list[dict[str, Any]]:
    """Events that name the project (resolutions, review requests, labelling from this page)
    and the import that brought it in.

    Two indexed reads rather than one OR, which a JSON condition on one side keeps from using
    the project index."""
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.project_id == project.id)))
    if project.imported_in_id is not None:
        events += session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "import",
                AuditEvent.details["batch_id"].as_integer() == project.imported_in_id,
            )
        )
    events.sort(key=lambda e: e.id)
    return [
        {
            "when": e.created_at,
            "who": e.actor,
            "action": e.action,
            "details": ", ".join(f"{k}={v}" for k, v in sorted(e.details.items())),
        }
        for e in events
    ]
