"""The LabelLoop schema as SQLAlchemy 2.0 typed models.

Judgements (Annotation, Resolution) are append-only: history is the product, so a change of
mind is a new row and "current" is always derived from the latest row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("annotator", "reviewer", "manager", "admin")
SPLITS = ("train", "eval")
MODEL_STATUSES = ("queued", "training", "ready", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set by an admin's password reset: the one-time password must be replaced at the next
    # sign-in before any page opens (labeling.accounts).
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class SignInThrottle(Base):
    """Failed sign-ins per username, kept in the database so that the lock holds across
    browser sessions and app replicas, and for unknown usernames too."""

    __tablename__ = "sign_in_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class UserSession(Base):
    """One browser sign-in: only the sha256 of its random token is kept, so a copy of the
    database does not let anyone in. Revoked rows stay (with why) until they expire, so that
    admins see what was ended and a copied token is refused with a reason."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class SessionHandoff(Base):
    """A one-time code that hands a new session from the sign-in page run (which cannot send
    headers) to the HTTP route that sets the HttpOnly cookie. Only the code's sha256 is kept,
    with the session token sealed by a key derived from the code: the row alone opens nothing.
    Redeeming deletes the row, so a code works once; it is refused after ``expires_at``."""

    __tablename__ = "session_handoffs"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True
    )
    sealed_token: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NewTopic(Base):
    """A project of an import batch that the serving model had no confident tag for when the
    batch was checked (labeling.drift): a possible new topic. Kept apart from the batch's
    report so that serving reads an indexed pair, not the report's JSON; served first when
    LABELLOOP_NEW_TOPICS_FIRST is on."""

    __tablename__ = "new_topics"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    imported_in_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    split: Mapped[str] = mapped_column(String(8), index=True)

    source_tags: Mapped[list[SourceTag]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A candidate is an unknown tag kept from an import: stored with the projects' source tags
    # and counted, but inactive (not trained, not suggested) and left out of exported labels
    # until an admin promotes, merges or discards it.
    candidate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    aliases: Mapped[list[TagAlias]] = relationship(
        back_populates="tag", cascade="all, delete-orphan"
    )


class TagAlias(Base):
    __tablename__ = "tag_aliases"

    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), index=True)

    tag: Mapped[Tag] = relationship(back_populates="aliases")


class TagParent(Base):
    __tablename__ = "tag_parents"

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True
    )


class SourceTag(Base):
    __tablename__ = "source_tags"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    project: Mapped[Project] = relationship(back_populates="source_tags")
    tag: Mapped[Tag] = relationship()


class Annotation(Base):
    """One annotator's complete judgement of one project's tag set (tag names, canonical)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_project_user", "project_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    shown_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    added: Mapped[list[str]] = mapped_column(JSON, default=list)
    removed: Mapped[list[str]] = mapped_column(JSON, default=list)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    seconds_spent: Mapped[float | None] = mapped_column(Float)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # An undo is a row like any other, restoring the state before the judgement it names here;
    # the named row is "undone" and an undo is never itself undone (no accidental redo).
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"), index=True)
    # The project's own (source) tags when the judgement was saved, so that history can say
    # what the judgement changed about the project, not only about the pre-selection.
    project_tags: Mapped[list[str] | None] = mapped_column(JSON)
    # An empty tag set saved on purpose ("no tag applies"), told apart from older empty rows.
    no_tag_applies: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Resolution(Base):
    """A reviewer's final tag set for a project. ``method`` says how they reached it
    (majority, annotator, edit; None on rows older than the Review page) and
    ``accepted_user_id`` whose set they accepted, so that the history reads as a decision."""

    __tablename__ = "resolutions"
    __table_args__ = (Index("ix_resolutions_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str | None] = mapped_column(String(16))
    accepted_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersion(Base):
    """A training job and, once ready, the model it produced: the job row is the version row
    so that a queued retrain, its progress and its result are one thing to look at."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact_path: Mapped[str | None] = mapped_column(String(500))
    progress_stage: Mapped[str] = mapped_column(String(64), default="queued")
    progress_pct: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "host:pid" of the process training it, so that a training whose process is gone can be
    # recovered at once on that host instead of after the heartbeat timeout.
    worker: Mapped[str | None] = mapped_column(String(128))
    # The serving version is the ready one promoted last; a ready version never promoted is
    # held (``promotion`` says why). See labeling.registry.current_version.
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    promotion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Predicted tag sets on the evaluation projects, so any two versions can be re-scored on
    # today's labels; deferred because it is large and only the training job and comparisons
    # read it.
    eval_predictions: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_version_uncertainty", "model_version_id", "uncertainty"),
        Index("ix_predictions_version_label_error", "model_version_id", "label_error_score"),
    )

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    uncertainty: Mapped[float] = mapped_column(Float)
    # How likely the project's current tags are wrong (out-of-fold contradiction; None for
    # projects without a label) and which tags: {"wrong": {tag: p}, "missing": {tag: p}}.
    label_error_score: Mapped[float | None] = mapped_column(Float)
    suspicions: Mapped[dict[str, dict[str, float]] | None] = mapped_column(JSON)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # The project the event is about (``details["project_id"]``), as an indexed column so that
    # a project's story finds its events without reading every event's JSON. No foreign key:
    # the trail outlives what it names.
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)


class ReviewRequest(Base):
    """A reviewer or admin asked for a project to be looked at on the Review page, although it
    may not be in conflict (found on the Projects page, say). Open until a resolution of the
    project is newer than the request; append-only like the judgements."""

    __tablename__ = "review_requests"
    __table_args__ = (Index("ix_review_requests_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ProjectState(Base):
    """A judged or resolved project's status and where its effective label comes from, stored
    so that the Projects page filters on an index instead of deriving every judged project's
    state per search. Written by labeling.project_state in the same transaction as every write
    that changes it; a project without a row is unlabeled, its effective label its source tags
    (when trusted). ``label_source`` is None when judgements decide nothing (a conflict), so
    the effective label falls back to the source tags exactly as for an unlabeled project."""

    __tablename__ = "project_states"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    label_source: Mapped[str | None] = mapped_column(String(16))


class EffectiveTag(Base):
    """One tag of a project's effective label, for projects whose label judgements decided
    (``ProjectState.label_source`` set). Tag names, like the judgements they come from."""

    __tablename__ = "effective_tags"

    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PredictedTag(Base):
    """A tag a model version predicts for a project (stored probability at or above the
    version's threshold), written with the version's predictions: the predicted-tag filter is
    an index lookup instead of a JSON read per prediction."""

    __tablename__ = "predicted_tags"

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Full-text search lives outside the ORM because each database builds it its own way
# (migration 0008): SQLite an FTS5 table kept in sync with projects by triggers, PostgreSQL a
# generated tsvector column with a GIN index. Autogenerate must not see them as drift.
SEARCH_TABLE = "projects_fts"
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_projects_search_vector"


def include_in_autogenerate(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's include_object hook: leave the search objects of migration 0008 alone."""
    if type_ == "table" and name is not None and name.startswith(SEARCH_TABLE):
        return False
    return not (
        (type_ == "column" and name == SEARCH_COLUMN) or (type_ == "index" and name == SEARCH_INDEX)
    )
