"""A tag's history and undo: the audit events that name a tag, one line each, and the inverse
action of any of them.

Split out of ``labeling.tags``, whose actions record these events: this module reads them
back and calls the actions to undo one, so it imports ``tags`` and never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent
from labeling import audit
from labeling.implied_parents import readd_implied_parents, remove_implied_parents
from labeling.tags import (
    TagError,
    add_alias,
    create_tag,
    delete_unused_tag,
    demote,
    promote,
    remove_alias,
    remove_parent,
    rename_tag,
    restore,
    set_active,
    set_parent,
    split,
)


@dataclass(frozen=True)
class TagEvent:
    id: int
    at: Any
    actor: str
    action: str
    summary: str


def describe(action: str, details: dict[str, Any]) -> str:
    """One line a person reads in a tag's history."""
    short = action.removeprefix("tag.")
    if short == "merge":
        moved = len(details.get("projects_moved", [])) + len(details.get("projects_with_both", []))
        return f"merged {details['source']} into {details['target']} ({moved} projects)"
    if short == "split":
        return f"split {details['source']} back out of {details['target']}"
    if short == "rename":
        return f"renamed {details['old']} to {details['new']}"
    if short in ("alias_add", "alias_remove"):
        verb = "added alias" if short == "alias_add" else "removed alias"
        return f"{verb} {details['alias']} of {details['tag']}"
    if short in ("parent_set", "parent_remove"):
        verb = "set" if short == "parent_set" else "removed"
        return f"{verb} parent {details['parent']} of {details['tag']}"
    if short in ("implied_parents_add", "implied_parents_remove"):
        verb = "added" if short == "implied_parents_add" else "removed"
        return (
            f"{verb} the parents the taxonomy implies: {details['links']} tags on "
            f"{details['projects']} projects"
        )
    if short == "discard":
        return (
            f"discarded candidate {details['name']} ({len(details.get('projects', []))} projects)"
        )
    return f"{short} {details.get('name', '')}".strip()


def tag_history(session: Session, name: str, limit: int = 100) -> list[TagEvent]:
    """The events that touched ``name``, newest first."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("tag.%")).order_by(AuditEvent.id.desc())
    )
    found = []
    for event in events:
        if name in (event.details or {}).get("tags", ()):
            found.append(
                TagEvent(
                    event.id,
                    event.created_at,
                    event.actor,
                    event.action,
                    describe(event.action, event.details),
                )
            )
            if len(found) >= limit:
                break
    return found


def undo(session: Session, actor: audit.Actor | None, event_id: int) -> str:
    """Apply the inverse of a tag event; returns what was done, as a line."""
    event = session.get(AuditEvent, event_id)
    if event is None or not event.action.startswith("tag."):
        raise TagError(f"no tag event {event_id}")
    d = event.details
    inverse = {
        "tag.create": lambda: delete_unused_tag(session, actor, d["name"]),
        "tag.delete": lambda: create_tag(session, actor, d["name"]),
        "tag.rename": lambda: rename_tag(session, actor, d["new"], d["old"]),
        "tag.alias_add": lambda: remove_alias(session, actor, d["alias"]),
        "tag.alias_remove": lambda: add_alias(session, actor, d["tag"], d["alias"]),
        "tag.parent_set": lambda: remove_parent(session, actor, d["tag"], d["parent"]),
        "tag.parent_remove": lambda: set_parent(session, actor, d["tag"], d["parent"]),
        "tag.activate": lambda: set_active(session, actor, d["name"], False),
        "tag.deactivate": lambda: set_active(session, actor, d["name"], True),
        "tag.promote": lambda: demote(session, actor, d["name"]),
        "tag.demote": lambda: promote(session, actor, d["name"]),
        "tag.discard": lambda: restore(session, actor, d["name"], d["projects"], d["aliases"]),
        "tag.merge": lambda: split(session, actor, d),
        "tag.implied_parents_add": lambda: remove_implied_parents(session, actor, d),
        "tag.implied_parents_remove": lambda: readd_implied_parents(session, actor, d),
    }.get(event.action)
    if inverse is None:
        raise TagError(f"event {event_id} ({event.action}) has no inverse action")
    inverse()
    return f"undid: {describe(event.action, d)}"
