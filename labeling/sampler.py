"""Which project to serve next: an indexed query over the scores stored after training.

Scoring happens once per model version (in the training job), so serving is an ORDER BY over
the (model_version_id, uncertainty) index that skips projects someone already judged and
projects leased to another annotator; it never rescores anything on the request path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from db.models import Annotation, Lease, Prediction, utcnow


def next_scored_project(
    session: Session, user_id: int, version_id: int, now: datetime | None = None
) -> int | None:
    """The unjudged, unleased project with the highest stored score for this model version,
    or None when every scored project is judged or taken."""
    now = now or utcnow()
    judged = exists().where(Annotation.project_id == Prediction.project_id)
    leased_to_someone_else = exists().where(
        and_(
            Lease.project_id == Prediction.project_id,
            Lease.user_id != user_id,
            Lease.expires_at > now,
        )
    )
    return session.scalar(
        select(Prediction.project_id)
        .where(Prediction.model_version_id == version_id, ~judged, ~leased_to_someone_else)
        .order_by(Prediction.uncertainty.desc(), Prediction.project_id)
        .limit(1)
    )
