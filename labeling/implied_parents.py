"""The parents a taxonomy implies, added to projects' source tags in bulk (the Tags page's
"Parents the taxonomy implies" and ``python -m labeling tags implied-parents``).

A catalogue exported with leaf tags only (``object-detection`` without ``computer-vision``), or
a taxonomy whose parents were defined after the import, leaves every such project lacking a
parent its own tags imply, and the label-error detector flags each one: mechanical fixes that
would fill the front of the annotators' queue. Split out of ``labeling.tags`` (the project
rule: a module past ~600 lines is split by subject); it uses that module's event recording
and source-tag links, so its events show in each parent's history and undo like the others.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Prediction, SourceTag, Tag
from labeling import audit, training_jobs
from labeling.baseline import ancestors
from labeling.promotion import serving_version
from labeling.tags import (
    TagError,
    delete_source_links,
    insert_source_links,
    parent_graph,
    record_tag_event,
)


@dataclass(frozen=True)
class ImpliedParents:
    """Parent -> project ids: ``missing`` are added by ``add_implied_parents``; ``doubted``
    are implied only by a tag that the serving model's label-error evidence calls probably
    wrong, and are left to a person (a wrongly added ``object-detection`` would otherwise
    bring a wrong ``computer-vision`` with it: the same reason the Annotate page only hints
    at such a parent)."""

    missing: dict[str, list[int]]
    doubted: dict[str, list[int]]


def implied_parents(session: Session) -> ImpliedParents:
    """The active tags that projects lack although their source tags hold a tag below them
    in the taxonomy (a project tagged ``object-detection`` is ``computer-vision`` by the
    taxonomy's own definition). Every ancestor counts, not only a direct parent, so that one
    action completes a chain. A catalogue exported with leaf tags only lacks every parent:
    on a generated 2,000-project, 400-tag catalogue, 714 of its 1,489 label-error suspects
    were only that, each worth a person's minute less than a real contradiction."""
    graph = parent_graph(session)
    active = set(session.scalars(select(Tag.name).where(Tag.active.is_(True), ~Tag.candidate)))
    doubted_tags = _doubted_source_tags(session)
    present: dict[int, set[str]] = defaultdict(set)
    for project_id, name in session.execute(
        select(SourceTag.project_id, Tag.name).join(Tag, Tag.id == SourceTag.tag_id)
    ):
        present[project_id].add(name)
    known: dict[str, set[str]] = {}
    missing: dict[str, list[int]] = defaultdict(list)
    doubted: dict[str, list[int]] = defaultdict(list)
    for project_id in sorted(present):
        names = present[project_id]
        trusted = names - doubted_tags.get(project_id, set())
        implied = set().union(*(_cached_ancestors(name, graph, known) for name in names))
        confirmed = set().union(*(_cached_ancestors(name, graph, known) for name in trusted))
        for parent in sorted((implied & active) - names):
            (missing if parent in confirmed else doubted)[parent].append(project_id)
    return ImpliedParents(dict(sorted(missing.items())), dict(sorted(doubted.items())))


def _cached_ancestors(
    name: str, graph: dict[str, list[str]], known: dict[str, set[str]]
) -> set[str]:
    if name not in known:
        known[name] = ancestors(name, graph)
    return known[name]


def _doubted_source_tags(session: Session) -> dict[int, set[str]]:
    """Project -> the tags the serving version's stored label-error evidence calls probably
    wrong; empty before any version serves."""
    version = serving_version(session)
    if version is None:
        return {}
    rows = session.execute(
        select(Prediction.project_id, Prediction.suspicions).where(
            Prediction.model_version_id == version.id, Prediction.suspicions.is_not(None)
        )
    )
    return {project_id: set((found or {}).get("wrong", {})) for project_id, found in rows}


def implied_parent_counts(missing: dict[str, list[int]]) -> tuple[int, int]:
    """(tags, projects with at least one) of ``ImpliedParents.missing`` or ``.doubted``."""
    projects = {p for ids in missing.values() for p in ids}
    return sum(len(ids) for ids in missing.values()), len(projects)


def implied_parent_rows(found: ImpliedParents) -> list[dict[str, Any]]:
    """The Tags page's table: per parent, projects to add it to and projects left to a person."""
    return [
        {
            "parent": name,
            "projects lacking it": len(found.missing.get(name, ())),
            "left to annotators (implying tag doubted)": len(found.doubted.get(name, ())),
        }
        for name in sorted(set(found.missing) | set(found.doubted))
    ]


def add_implied_parents(session: Session, actor: audit.Actor | None) -> dict[str, Any]:
    """Give every project the parents its source tags imply, in one event that its undo
    takes back link by link; a retrain is queued, as after a merge. Returns the details."""
    missing = implied_parents(session).missing
    if not missing:
        raise TagError("no project lacks a parent that its tags imply")
    _link_parents(session, missing, add=True)
    links, projects = implied_parent_counts(missing)
    details: dict[str, Any] = {
        "tags": list(missing),
        "added": missing,
        "links": links,
        "projects": projects,
        "retrain": training_jobs.queue_training(session, actor).id,
    }
    record_tag_event(session, actor, "implied_parents_add", **details)
    return details


def remove_implied_parents(
    session: Session, actor: audit.Actor | None, details: dict[str, Any]
) -> None:
    """Undo of ``add_implied_parents``: remove exactly the links it added."""
    _link_parents(session, details["added"], add=False)
    record_tag_event(session, actor, "implied_parents_remove", **{**details, "retrain": None})


def readd_implied_parents(
    session: Session, actor: audit.Actor | None, details: dict[str, Any]
) -> None:
    """Undo of ``remove_implied_parents``: the same links again, where still missing."""
    _link_parents(session, details["added"], add=True)
    record_tag_event(session, actor, "implied_parents_add", **{**details, "retrain": None})


def _link_parents(session: Session, links: dict[str, list[int]], add: bool) -> None:
    ids = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(list(links)))).all())
    for name, projects in links.items():
        if name not in ids:
            raise TagError(f"tag {name!r} no longer exists")
        if not add:
            delete_source_links(session, ids[name], projects)
            continue
        linked = set(
            session.scalars(select(SourceTag.project_id).where(SourceTag.tag_id == ids[name]))
        )
        insert_source_links(session, ids[name], [p for p in projects if p not in linked])
