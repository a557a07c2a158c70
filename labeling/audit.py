"""Audit trail: who did what and when, written in the same transaction as the action itself
so that an action and its record never disagree."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent


class Actor(Protocol):
    """Anyone who can act: a stored User or the signed-in user a browser session keeps."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    actor_name: str | None = None,
    **details: Any,
) -> AuditEvent:
    """``actor_name`` names someone who is not (yet) a signed-in account, such as the username
    typed into a failed sign-in; with neither, the actor is the system (command line)."""
    event = AuditEvent(
        user_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else (actor_name or "system"),
        action=action,
        details=details,
        project_id=_project_of(details),
    )
    session.add(event)
    return event


def _project_of(details: dict[str, Any]) -> int | None:
    """The project an event is about, kept in its indexed column for the project's story."""
    project_id = details.get("project_id")
    return project_id if isinstance(project_id, int) else None


def recent_events(session: Session, limit: int = 50, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
