"""Undo: take back an annotator's latest judgement or skip, append-only.

An undo appends a row that restores the state before the judgement it names
(``Annotation.undoes_id``): a copy of the annotator's earlier row for that project, or, when
there was none, a "withdrawn" row (a skip with reason "undone") that leaves them no label. A
withdrawn project is theirs to judge again: it is leased back to them at once, so the Annotate
page shows it again, and it is served again rather than excluded as judged.

Undo never takes back an undo: it walks back through the annotator's own judgements and skips
that still stand, newest first. Pressing it twice undoes two judgements; it never re-applies
the one just undone (a redo would have to say so on the page, and there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Annotation, Project, utcnow
from db.session import SessionFactory
from labeling.project_state import refresh_project_states
from labeling.serving import bring_back, stands

UNDONE = "undone"


@dataclass(frozen=True)
class UndoTarget:
    """What Undo would take back now: the annotator's newest judgement or skip that stands."""

    annotation_id: int
    project_id: int
    title: str
    skipped: bool


@dataclass(frozen=True)
class Undone:
    """``withdrawn``: no judgement of the annotator stands for the project any more, so it is
    back on their screen; otherwise their earlier judgement is current again. ``shown_tags``:
    what the tag box held before the undone judgement (None for old skips that did not keep
    it). ``skipped``: the undone row was a skip, not a judgement."""

    annotation_id: int
    target_id: int
    project_id: int
    title: str
    withdrawn: bool
    shown_tags: tuple[str, ...] | None
    skipped: bool = False


def last_undoable(session: Session, user_id: int) -> UndoTarget | None:
    row = session.execute(
        select(Annotation.id, Annotation.project_id, Project.title, Annotation.skipped)
        .join(Project, Project.id == Annotation.project_id)
        .where(Annotation.user_id == user_id, stands())
        .order_by(Annotation.id.desc())
        .limit(1)
    ).first()
    return UndoTarget(row.id, row.project_id, row.title, row.skipped) if row else None


def undo_last(
    make_session: SessionFactory,
    user_id: int,
    settings_like: Any = None,
    target_id: int | None = None,
    now: datetime | None = None,
) -> Undone | None:
    """Take back the user's newest standing judgement or skip in one transaction; None when
    there is nothing to undo.

    ``target_id`` is the judgement the page offered to undo. A second click on that same
    offer (a double click, a second tab) returns the undo already made instead of undoing
    the judgement before it; an offer that is no longer the newest is refused with a
    ValueError, so that Undo takes back exactly what the page said."""
    try:
        with make_session.begin() as session:
            return _undo(session, user_id, target_id, settings_like, now or utcnow())
    except IntegrityError:
        # Two clicks at the same moment on PostgreSQL: the unique submission key let one in.
        if target_id is None:
            raise
        with make_session() as session:
            done = _existing_undo(session, user_id, target_id)
        if done is None:
            raise
        return done


def _undo(
    session: Session, user_id: int, target_id: int | None, settings_like: Any, now: datetime
) -> Undone | None:
    if target_id is not None:
        done = _existing_undo(session, user_id, target_id)
        if done is not None:
            return done
    target = session.scalar(
        select(Annotation)
        .where(Annotation.user_id == user_id, stands())
        .order_by(Annotation.id.desc())
        .limit(1)
    )
    if target is None:
        return None
    if target_id is not None and target.id != target_id:
        raise ValueError(
            "Not undone: your latest judgement changed since this page was drawn "
            "(another tab?). Press Undo again to take back the latest one."
        )
    row = _restoring(session, target)
    session.add(row)
    session.flush()
    refresh_project_states(session, [row.project_id])
    withdrawn = not _still_judged(session, user_id, target.project_id)
    if withdrawn:
        bring_back(session, user_id, target.project_id, settings_like, now)
    return _undone(session, row, target, withdrawn)


def _restoring(session: Session, target: Annotation) -> Annotation:
    """The row that restores the state before ``target``: a copy of the user's previous row
    for the project, or a withdrawn row when ``target`` was their first."""
    earlier = session.scalar(
        select(Annotation)
        .where(
            Annotation.user_id == target.user_id,
            Annotation.project_id == target.project_id,
            Annotation.id < target.id,
        )
        .order_by(Annotation.id.desc())
        .limit(1)
    )
    common = {
        "project_id": target.project_id,
        "user_id": target.user_id,
        "undoes_id": target.id,
        "submission_key": f"u{target.user_id}-undo-a{target.id}",
    }
    if earlier is None:
        return Annotation(
            **common,
            tags=[],
            shown_tags=[],
            added=[],
            removed=[],
            model_version_id=target.model_version_id,
            skipped=True,
            skip_reason=UNDONE,
            project_tags=target.project_tags,
        )
    return Annotation(
        **common,
        tags=list(earlier.tags),
        shown_tags=list(earlier.shown_tags),
        added=list(earlier.added),
        removed=list(earlier.removed),
        model_version_id=earlier.model_version_id,
        seconds_spent=earlier.seconds_spent,
        skipped=earlier.skipped,
        skip_reason=earlier.skip_reason,
        project_tags=earlier.project_tags,
        no_tag_applies=earlier.no_tag_applies,
    )


def _still_judged(session: Session, user_id: int, project_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Annotation.user_id == user_id, Annotation.project_id == project_id, stands()
                )
            )
        )
    )


def _existing_undo(session: Session, user_id: int, target_id: int) -> Undone | None:
    row = session.scalar(
        select(Annotation).where(Annotation.undoes_id == target_id, Annotation.user_id == user_id)
    )
    if row is None:
        return None
    target = session.get(Annotation, target_id)
    assert target is not None
    withdrawn = not _still_judged(session, user_id, row.project_id)
    return _undone(session, row, target, withdrawn)


def _undone(session: Session, row: Annotation, target: Annotation, withdrawn: bool) -> Undone:
    project = session.get(Project, row.project_id)
    assert project is not None
    kept_shown = bool(target.shown_tags) or not target.skipped
    return Undone(
        annotation_id=row.id,
        target_id=target.id,
        project_id=row.project_id,
        title=project.title,
        withdrawn=withdrawn,
        shown_tags=tuple(target.shown_tags) if kept_shown else None,
        skipped=target.skipped,
    )
