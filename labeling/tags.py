"""Curating the tag vocabulary: the actions an admin takes on tags and candidates (create,
rename, aliases, parents, activate, promote, discard, merge), also by name for the command
line and the Tags page. The table of every tag with its counts is ``labeling.tag_overview``;
a tag's history and undo are ``labeling.tag_history``.

Tagging projects one by one cannot fix a vocabulary problem: ``yolo-v4`` next to ``yolov4``
hides projects from whoever searches by either. Each action here is one call inside the
caller's transaction, records an audit event naming the tags it touched (that is a tag's
history), and is undone by its inverse action (``tag_history.undo`` finds it from the event),
so curating a 2,000-tag long tail is safe to do quickly.

Judgements and resolutions store tag names, so a rename or merge rewrites the name in them:
the vocabulary changed, not anyone's judgement, and the audit event keeps the original lists
so that the inverse action puts them back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import Annotation, Resolution, SourceTag, Tag, TagAlias, TagParent
from labeling import audit, training_jobs
from labeling.io_parse import FORBIDDEN_TAG_CHARACTERS, MAX_TAG_CHARS, find_cycle
from labeling.project_state import refresh_judged_rows
from labeling.text import slugify_tag

JUDGEMENT_FIELDS = ("tags", "shown_tags", "added", "removed")


class TagError(ValueError):
    """An action that cannot be done as asked; the message says exactly why."""


# --- looking tags up ---------------------------------------------------------------------------


def _tag(session: Session, name: str) -> Tag:
    tag = session.scalar(select(Tag).where(Tag.name == name))
    if tag is not None:
        return tag
    owner = session.scalar(
        select(Tag.name).join(TagAlias, TagAlias.tag_id == Tag.id).where(TagAlias.alias == name)
    )
    if owner is not None:
        raise TagError(f"{name!r} is an alias of {owner!r}, not a tag")
    raise TagError(f"no tag named {name!r}")


def _free_name(session: Session, raw: str) -> str:
    """``raw`` normalised, checked to be a valid tag name that no tag or alias uses yet."""
    name = slugify_tag(raw)
    if not name:
        raise TagError("a tag name cannot be empty")
    if len(name) > MAX_TAG_CHARS:
        raise TagError(f"{name[:30]!r}... is longer than {MAX_TAG_CHARS} characters")
    bad = [c for c in FORBIDDEN_TAG_CHARACTERS if c in name] + [
        c for c in name if not c.isprintable()
    ]
    if bad:
        raise TagError(f"{name!r} contains {bad[0]!r}")
    if session.scalar(select(Tag.id).where(Tag.name == name)) is not None:
        raise TagError(f"{name!r} is already a tag")
    owner = session.scalar(
        select(Tag.name).join(TagAlias, TagAlias.tag_id == Tag.id).where(TagAlias.alias == name)
    )
    if owner is not None:
        raise TagError(f"{name!r} is already an alias of {owner!r}")
    return name


def record_tag_event(
    session: Session, actor: audit.Actor | None, action: str, **details: Any
) -> int:
    event = audit.record(session, actor, f"tag.{action}", **details)
    session.flush()
    return event.id


# --- actions -----------------------------------------------------------------------------------


def create_tag(session: Session, actor: audit.Actor | None, name: str) -> str:
    name = _free_name(session, name)
    session.add(Tag(name=name, active=True, candidate=False))
    session.flush()
    record_tag_event(session, actor, "create", tags=[name], name=name)
    return name


def delete_unused_tag(session: Session, actor: audit.Actor | None, name: str) -> None:
    """The inverse of ``create_tag``: only a tag nothing uses yet can go."""
    tag = _tag(session, name)
    if session.scalar(select(func.count()).where(SourceTag.tag_id == tag.id)):
        raise TagError(f"{name!r} is used by projects; deactivate or merge it instead")
    session.delete(tag)
    session.flush()
    record_tag_event(session, actor, "delete", tags=[name], name=name)


def rename_tag(session: Session, actor: audit.Actor | None, old: str, new: str) -> str:
    tag = _tag(session, old)
    new = _free_name(session, new)
    tag.name = new
    originals = _rewrite_judgements(session, {old: new})
    session.flush()
    version = training_jobs.queue_training(session, actor).id
    record_tag_event(
        session, actor, "rename", tags=[old, new], old=old, new=new, retrain=version, **originals
    )
    return new


def add_alias(session: Session, actor: audit.Actor | None, name: str, alias: str) -> str:
    tag = _tag(session, name)
    alias = slugify_tag(alias)
    if alias == name:
        raise TagError(f"{alias!r} is the tag's own name")
    if session.scalar(select(Tag.id).where(Tag.name == alias)) is not None:
        raise TagError(
            f"{alias!r} is the name of another tag; merge {alias!r} into {name!r} instead"
        )
    owner = session.scalar(
        select(Tag.name).join(TagAlias, TagAlias.tag_id == Tag.id).where(TagAlias.alias == alias)
    )
    if owner is not None:
        raise TagError(f"{alias!r} is already an alias of {owner!r}")
    alias = _free_name(session, alias)
    session.add(TagAlias(alias=alias, tag_id=tag.id))
    session.flush()
    record_tag_event(session, actor, "alias_add", tags=[name], tag=name, alias=alias)
    return alias


def remove_alias(session: Session, actor: audit.Actor | None, alias: str) -> None:
    row = session.get(TagAlias, alias)
    if row is None:
        raise TagError(f"no alias {alias!r}")
    name = session.scalar(select(Tag.name).where(Tag.id == row.tag_id))
    session.delete(row)
    session.flush()
    record_tag_event(session, actor, "alias_remove", tags=[name], tag=name, alias=alias)


def set_parent(session: Session, actor: audit.Actor | None, name: str, parent: str) -> None:
    tag, parent_tag = _tag(session, name), _tag(session, parent)
    if parent_tag.candidate:
        raise TagError(f"{parent!r} is a candidate tag; promote it before making it a parent")
    if session.get(TagParent, (tag.id, parent_tag.id)) is not None:
        raise TagError(f"{parent!r} is already a parent of {name!r}")
    graph = parent_graph(session)
    graph.setdefault(name, []).append(parent)
    cycle = find_cycle(graph)
    if cycle:
        raise TagError(f"{parent!r} cannot be a parent of {name!r}: " + " -> ".join(cycle))
    session.add(TagParent(tag_id=tag.id, parent_id=parent_tag.id))
    session.flush()
    record_tag_event(session, actor, "parent_set", tags=[name, parent], tag=name, parent=parent)


def remove_parent(session: Session, actor: audit.Actor | None, name: str, parent: str) -> None:
    tag, parent_tag = _tag(session, name), _tag(session, parent)
    link = session.get(TagParent, (tag.id, parent_tag.id))
    if link is None:
        raise TagError(f"{parent!r} is not a parent of {name!r}")
    session.delete(link)
    session.flush()
    record_tag_event(session, actor, "parent_remove", tags=[name, parent], tag=name, parent=parent)


def parent_graph(session: Session) -> dict[str, list[str]]:
    names = dict(session.execute(select(Tag.id, Tag.name)).all())
    graph: dict[str, list[str]] = defaultdict(list)
    for tag_id, parent_id in session.execute(select(TagParent.tag_id, TagParent.parent_id)):
        graph[names[tag_id]].append(names[parent_id])
    return dict(graph)


def set_active(session: Session, actor: audit.Actor | None, name: str, active: bool) -> None:
    tag = _tag(session, name)
    if tag.candidate:
        raise TagError(f"{name!r} is a candidate tag; promote it to make it active")
    if tag.active == active:
        raise TagError(f"{name!r} is already {'active' if active else 'inactive'}")
    tag.active = active
    session.flush()
    record_tag_event(session, actor, "activate" if active else "deactivate", tags=[name], name=name)


def promote(session: Session, actor: audit.Actor | None, name: str) -> None:
    """A candidate becomes a tag: a label from now on (trained at the next retrain)."""
    tag = _tag(session, name)
    if not tag.candidate:
        raise TagError(f"{name!r} is not a candidate tag")
    tag.candidate, tag.active = False, True
    session.flush()
    record_tag_event(session, actor, "promote", tags=[name], name=name)


def demote(session: Session, actor: audit.Actor | None, name: str) -> None:
    """The inverse of ``promote``: the tag goes back to being a candidate."""
    tag = _tag(session, name)
    if tag.candidate:
        raise TagError(f"{name!r} is already a candidate tag")
    tag.candidate, tag.active = True, False
    session.flush()
    record_tag_event(session, actor, "demote", tags=[name], name=name)


def discard(session: Session, actor: audit.Actor | None, name: str) -> int:
    """A candidate is removed from every project's source tags; the event keeps which
    projects had it so that ``restore`` puts it back. Returns how many projects had it."""
    tag = _tag(session, name)
    if not tag.candidate:
        raise TagError(f"{name!r} is not a candidate tag; deactivate it instead")
    projects = list(session.scalars(select(SourceTag.project_id).where(SourceTag.tag_id == tag.id)))
    aliases = list(session.scalars(select(TagAlias.alias).where(TagAlias.tag_id == tag.id)))
    session.execute(delete(SourceTag).where(SourceTag.tag_id == tag.id))
    session.delete(tag)
    session.flush()
    record_tag_event(
        session, actor, "discard", tags=[name], name=name, projects=projects, aliases=aliases
    )
    return len(projects)


def restore(
    session: Session, actor: audit.Actor | None, name: str, projects: list[int], aliases: list[str]
) -> None:
    """The inverse of ``discard``: the candidate comes back on the projects that had it."""
    name = _free_name(session, name)
    tag = Tag(name=name, active=False, candidate=True)
    session.add(tag)
    session.flush()
    session.add_all(TagAlias(alias=alias, tag_id=tag.id) for alias in aliases)
    insert_source_links(session, tag.id, projects)
    record_tag_event(session, actor, "restore", tags=[name], name=name, projects=projects)


def insert_source_links(session: Session, tag_id: int, project_ids: list[int]) -> None:
    for start in range(0, len(project_ids), 20_000):
        chunk = project_ids[start : start + 20_000]
        session.execute(insert(SourceTag), [{"project_id": p, "tag_id": tag_id} for p in chunk])


def delete_source_links(session: Session, tag_id: int, project_ids: list[int]) -> None:
    for start in range(0, len(project_ids), 5_000):
        chunk = project_ids[start : start + 5_000]
        session.execute(
            delete(SourceTag).where(SourceTag.tag_id == tag_id, SourceTag.project_id.in_(chunk))
        )


# --- merge -------------------------------------------------------------------------------------


def merge(session: Session, actor: audit.Actor | None, source: str, target: str) -> dict[str, Any]:
    """Merge ``source`` into ``target``: ``source`` becomes an alias of ``target``; every
    project's source tags, judgements and resolutions follow (so the effective labels, the
    export and the next training do); ``source``'s aliases move to ``target`` and its
    children hang under ``target``; a retrain is queued. Returns the event's details, which
    ``split`` needs to undo it."""
    if slugify_tag(source) == slugify_tag(target):
        raise TagError(f"cannot merge {source!r} into itself")
    old, new = _tag(session, source), _tag(session, target)
    if new.candidate:
        raise TagError(f"cannot merge into {target!r}: it is a candidate tag; promote it first")
    had_old = set(session.scalars(select(SourceTag.project_id).where(SourceTag.tag_id == old.id)))
    had_new = set(session.scalars(select(SourceTag.project_id).where(SourceTag.tag_id == new.id)))
    moved, both = sorted(had_old - had_new), sorted(had_old & had_new)
    names = dict(session.execute(select(Tag.id, Tag.name)).all())
    parents = [
        names[p]
        for p in session.scalars(select(TagParent.parent_id).where(TagParent.tag_id == old.id))
    ]
    children = [
        names[c]
        for c in session.scalars(select(TagParent.tag_id).where(TagParent.parent_id == old.id))
    ]
    aliases = list(session.scalars(select(TagAlias.alias).where(TagAlias.tag_id == old.id)))
    new_parent_links = {
        names[p]
        for p in session.scalars(select(TagParent.parent_id).where(TagParent.tag_id == new.id))
    }
    repointed = [c for c in children if c != target and target not in _parents_of(session, c)]
    graph = parent_graph(session)
    graph.pop(source, None)
    for child in list(graph):
        graph[child] = [target if p == source else p for p in graph[child]]
    cycle = find_cycle(graph)
    if cycle:
        raise TagError(
            f"merging {source!r} into {target!r} would make a cycle: " + " -> ".join(cycle)
        )
    details: dict[str, Any] = {
        "tags": [source, target],
        "source": source,
        "target": target,
        "source_active": old.active,
        "source_candidate": old.candidate,
        "aliases": aliases,
        "parents": parents,
        "children": children,
        "repointed": repointed,
        "target_had_source_as_parent": source in new_parent_links,
        "projects_moved": moved,
        "projects_with_both": both,
    }
    insert_source_links(session, new.id, moved)
    session.execute(delete(SourceTag).where(SourceTag.tag_id == old.id))
    session.execute(update(TagAlias).where(TagAlias.tag_id == old.id).values(tag_id=new.id))
    session.execute(
        delete(TagParent).where((TagParent.tag_id == old.id) | (TagParent.parent_id == old.id))
    )
    for child in repointed:
        session.add(TagParent(tag_id=_tag(session, child).id, parent_id=new.id))
    session.delete(old)
    session.flush()
    session.add(TagAlias(alias=source, tag_id=new.id))
    details.update(_rewrite_judgements(session, {source: target}))
    details["retrain"] = training_jobs.queue_training(session, actor).id
    session.flush()
    record_tag_event(session, actor, "merge", **details)
    return details


def _parents_of(session: Session, name: str) -> list[str]:
    return parent_graph(session).get(name, [])


def split(session: Session, actor: audit.Actor | None, details: dict[str, Any]) -> None:
    """The inverse of ``merge``, from the merge event's details: the merged tag comes back
    with its aliases, parents, children, projects, judgements and resolutions."""
    source, target = details["source"], details["target"]
    new = _tag(session, target)
    link = session.get(TagAlias, source)
    if link is None or link.tag_id != new.id:
        raise TagError(f"{source!r} is no longer an alias of {target!r}; cannot undo the merge")
    session.delete(link)
    session.flush()
    old = Tag(name=source, active=details["source_active"], candidate=details["source_candidate"])
    session.add(old)
    session.flush()
    if details["aliases"]:
        session.execute(
            update(TagAlias).where(TagAlias.alias.in_(details["aliases"])).values(tag_id=old.id)
        )
    for parent in details["parents"]:
        session.add(TagParent(tag_id=old.id, parent_id=_tag(session, parent).id))
    for child in details["children"]:
        child_tag = _tag(session, child)
        if child in details["repointed"]:
            session.execute(
                delete(TagParent).where(
                    TagParent.tag_id == child_tag.id, TagParent.parent_id == new.id
                )
            )
        session.add(TagParent(tag_id=child_tag.id, parent_id=old.id))
    delete_source_links(session, new.id, details["projects_moved"])
    insert_source_links(session, old.id, details["projects_moved"] + details["projects_with_both"])
    _restore_judgements(session, details)
    version = training_jobs.queue_training(session, actor).id
    session.flush()
    record_tag_event(
        session,
        actor,
        "split",
        tags=[source, target],
        source=source,
        target=target,
        retrain=version,
    )


# --- judgements follow a rename or merge -------------------------------------------------------


def _renamed(names: list[str], mapping: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(mapping.get(name, name) for name in names))


def _rewrite_judgements(session: Session, mapping: dict[str, str]) -> dict[str, Any]:
    """Rename tags inside every judgement and resolution that names them; returns the original
    lists by row id (JSON keys are text) for the inverse action."""
    annotations: dict[str, dict[str, list[str]]] = {}
    rows = session.execute(
        select(Annotation.id, *(getattr(Annotation, f) for f in JUDGEMENT_FIELDS))
    ).all()
    for row_id, *lists in rows:
        if any(name in mapping for values in lists for name in values or ()):
            original = dict(zip(JUDGEMENT_FIELDS, (list(v or []) for v in lists), strict=True))
            annotations[str(row_id)] = original
            session.execute(
                update(Annotation)
                .where(Annotation.id == row_id)
                .values({f: _renamed(v, mapping) for f, v in original.items()})
            )
    resolutions: dict[str, list[str]] = {}
    for row_id, names in session.execute(select(Resolution.id, Resolution.tags)).all():
        if any(name in mapping for name in names or ()):
            resolutions[str(row_id)] = list(names)
            session.execute(
                update(Resolution)
                .where(Resolution.id == row_id)
                .values(tags=_renamed(names, mapping))
            )
    refresh_judged_rows(session, annotations, resolutions)
    return {"annotations": annotations, "resolutions": resolutions}


def _restore_judgements(session: Session, details: dict[str, Any]) -> None:
    for row_id, original in details.get("annotations", {}).items():
        session.execute(update(Annotation).where(Annotation.id == int(row_id)).values(original))
    for row_id, names in details.get("resolutions", {}).items():
        session.execute(update(Resolution).where(Resolution.id == int(row_id)).values(tags=names))
    refresh_judged_rows(session, details.get("annotations", {}), details.get("resolutions", {}))


# --- actions by name, for the command line and the Tags page ------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    message: str  # what was done, formatted with the arguments
    arguments: tuple[str, ...]  # what the action needs, in order
    function: Any


ACTIONS: dict[str, ActionSpec] = {
    "create": ActionSpec("created {0}", ("NAME",), create_tag),
    "rename": ActionSpec("renamed {0} to {1}", ("OLD", "NEW"), rename_tag),
    "alias-add": ActionSpec("{1} is now an alias of {0}", ("TAG", "ALIAS"), add_alias),
    "alias-remove": ActionSpec("removed alias {0}", ("ALIAS",), remove_alias),
    "parent-set": ActionSpec("{1} is now a parent of {0}", ("TAG", "PARENT"), set_parent),
    "parent-remove": ActionSpec(
        "{1} is no longer a parent of {0}", ("TAG", "PARENT"), remove_parent
    ),
    "activate": ActionSpec(
        "activated {0}", ("NAME",), lambda s, a, name: set_active(s, a, name, True)
    ),
    "deactivate": ActionSpec(
        "deactivated {0}", ("NAME",), lambda s, a, name: set_active(s, a, name, False)
    ),
    "promote": ActionSpec("promoted candidate {0} to a tag", ("CANDIDATE",), promote),
    "demote": ActionSpec("{0} is a candidate tag again", ("TAG",), demote),
    "discard": ActionSpec("discarded candidate {0}", ("CANDIDATE",), discard),
    "merge": ActionSpec("merged {0} into {1}; a retrain is queued", ("SOURCE", "TARGET"), merge),
}


def run_action(session: Session, actor: audit.Actor | None, action: str, *names: str) -> str:
    """Do one named action; returns the line that says what was done."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise TagError(f"unknown action {action!r}; choose one of: {', '.join(ACTIONS)}")
    if len(names) != len(spec.arguments) or not all(name.strip() for name in names):
        raise TagError(f"{action} needs {' and '.join(spec.arguments).lower()}")
    names = tuple(name.strip() for name in names)
    spec.function(session, actor, *names)
    return spec.message.format(*names)


def discard_identifiers(session: Session, actor: audit.Actor | None, names: list[str]) -> int:
    """Discard a group of identifier-like candidates in one transaction (one event each, so
    that each can be restored on its own); returns how many projects lost one."""
    return sum(discard(session, actor, name) for name in names)
