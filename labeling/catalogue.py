"""Catalogue-wide counts for the Home page and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ImportBatch, Project, SourceTag, Tag, User
from labeling.annotations import STATUSES
from labeling.insights import label_summary


@dataclass(frozen=True)
class CatalogueSummary:
    projects: int
    train_projects: int
    eval_projects: int
    active_tags: int
    source_tag_links: int
    statuses: dict[str, int]

    @property
    def tags_per_project(self) -> float:
        return self.source_tag_links / self.projects if self.projects else 0.0


def catalogue_summary(session: Session, trust_source_tags: bool) -> CatalogueSummary:
    splits = dict(
        session.execute(select(Project.split, func.count()).group_by(Project.split)).all()
    )
    return CatalogueSummary(
        projects=sum(splits.values()),
        train_projects=splits.get("train", 0),
        eval_projects=splits.get("eval", 0),
        active_tags=session.scalar(
            select(func.count()).select_from(Tag).where(Tag.active.is_(True))
        )
        or 0,
        source_tag_links=session.scalar(select(func.count()).select_from(SourceTag)) or 0,
        statuses=project_statuses(session, trust_source_tags),
    )


def project_statuses(session: Session, trust_source_tags: bool) -> dict[str, int]:
    """Projects per status, every status listed: counted the Insights way, which derives a
    state only for projects someone judged or resolved (0.3-0.5 s at 100,000 projects, against
    1.7 s for every project's state), since the Home page is everyone's first page."""
    return dict.fromkeys(STATUSES, 0) | dict(label_summary(session, trust_source_tags).statuses)


def import_history(session: Session, limit: int = 20) -> list[dict[str, object]]:
    rows = session.execute(
        select(ImportBatch, User.username)
        .outerjoin(User, ImportBatch.created_by_id == User.id)
        .order_by(ImportBatch.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "when": batch.created_at,
            "file": batch.filename,
            "format": batch.file_format,
            "by": username or "command line",
            "added": batch.report.get("projects_added", 0),
            "updated": batch.report.get("projects_updated", 0),
            "unchanged": batch.report.get("projects_unchanged", 0),
            "skipped": batch.report.get("projects_skipped", 0),
        }
        for batch, username in rows
    ]
