"""Import and export of catalogues: writing parsed files to the database, and exporting the
effective labels.

Reading files lives in ``labeling.io_parse`` and the report in ``labeling.import_report``; both
are re-exported here so that ``labeling.io`` stays the one name callers use. The database write
is one transaction run by the caller: nothing is written until every row has been checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from db.models import ImportBatch, Project, SourceTag, Tag, TagAlias, TagParent
from labeling import audit
from labeling.annotations import STATUSES, all_label_states
from labeling.import_report import (
    TOP,
    ImportReport,
    RejectedRow,
    RowWarning,
    counts_by_size,
    report_csv,
    report_tables,
    top,
)
from labeling.io_parse import (
    FORMATS,
    InputError,
    RawProject,
    TaxonomyEntry,
    decode_utf8,
    detect_format,
    find_cycle,
    parse_projects,
    parse_taxonomy,
    read_file_bytes,
)

UnknownTagPolicy = Literal["candidate", "create", "ignore", "reject"]
UNKNOWN_TAG_POLICIES: tuple[UnknownTagPolicy, ...] = ("candidate", "create", "ignore", "reject")
ExistingPolicy = Literal["skip", "update"]
EVAL_SHARE_PERCENT = 20

__all__ = [
    "FORMATS",
    "ImportReport",
    "InputError",
    "RawProject",
    "RejectedRow",
    "RowWarning",
    "TaxonomyEntry",
    "decode_utf8",
    "detect_format",
    "find_cycle",
    "parse_projects",
    "parse_taxonomy",
    "read_file_bytes",
    "report_csv",
    "report_tables",
]


def format_counts(counts: dict[str, int], limit: int = TOP) -> str:
    """Names with their counts, most frequent first, the first ``limit`` of them."""
    return ", ".join(top([f"{name} ({count})" for name, count in counts_by_size(counts)], limit))


def split_for(external_id: str) -> str:
    """A stable hash of the external id decides the split once, so that every model version is
    evaluated on the same projects whatever order or batch they were imported in."""
    digest = hashlib.sha256(external_id.encode("utf-8")).digest()
    return "eval" if int.from_bytes(digest[:4], "big") % 100 < EVAL_SHARE_PERCENT else "train"


# --- reading files ---------------------------------------------------------------------------


# --- writing to the database -----------------------------------------------------------------


@dataclass
class _TagIndex:
    """Every known tag name and alias, so that each project's tags resolve without a query."""

    ids: dict[str, int]
    aliases: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> _TagIndex:
        ids = dict(session.execute(select(Tag.name, Tag.id)).all())
        aliases = dict(
            session.execute(
                select(TagAlias.alias, Tag.name).join(Tag, TagAlias.tag_id == Tag.id)
            ).all()
        )
        return cls(ids, aliases)

    def canonical(self, slug: str) -> str | None:
        if slug in self.ids:
            return slug
        return self.aliases.get(slug)


def apply_taxonomy(
    session: Session, taxonomy: dict[str, TaxonomyEntry], filename: str = "taxonomy"
) -> int:
    """Add the taxonomy's tags, aliases and parent links to what the database has; returns how
    many tags were new. Existing links are kept, so applying the same file twice changes
    nothing; a cycle with links already stored is rejected."""
    index = _TagIndex.load(session)
    for name, entry in taxonomy.items():
        owner = index.aliases.get(name)
        if owner is not None and owner != name:
            raise InputError(
                filename, f"tag name is already an alias of {owner!r}", f"tag {name!r}"
            )
        for alias in entry.aliases:
            existing_owner = index.aliases.get(alias)
            if existing_owner is not None and existing_owner != name:
                raise InputError(
                    filename,
                    f"alias {alias!r} already belongs to {existing_owner!r}",
                    f"tag {name!r}",
                )
            if alias in index.ids and alias not in taxonomy:
                raise InputError(filename, f"alias {alias!r} is already a tag", f"tag {name!r}")
    new_names = [name for name in taxonomy if name not in index.ids]
    for name in new_names:
        tag = Tag(name=name, active=True)
        session.add(tag)
        session.flush()
        index.ids[name] = tag.id
    for name, entry in taxonomy.items():
        for alias in entry.aliases:
            if alias not in index.aliases:
                session.add(TagAlias(alias=alias, tag_id=index.ids[name]))
                index.aliases[alias] = name
    existing_links = set(session.execute(select(TagParent.tag_id, TagParent.parent_id)).all())
    names_by_id = {tag_id: name for name, tag_id in index.ids.items()}
    graph: dict[str, list[str]] = {}
    for tag_id, parent_id in existing_links:
        graph.setdefault(names_by_id[tag_id], []).append(names_by_id[parent_id])
    for name, entry in taxonomy.items():
        for parent in entry.parents:
            link = (index.ids[name], index.ids[parent])
            if link not in existing_links:
                existing_links.add(link)
                graph.setdefault(name, []).append(parent)
                session.add(TagParent(tag_id=link[0], parent_id=link[1]))
    cycle = find_cycle(graph)
    if cycle:
        raise InputError(
            filename, "parents would form a cycle with stored tags: " + " -> ".join(cycle)
        )
    session.flush()
    return len(new_names)


def import_catalogue(
    session: Session,
    projects: list[RawProject],
    filename: str,
    file_format: str,
    unknown_tags: UnknownTagPolicy = "reject",
    on_existing: ExistingPolicy = "skip",
    actor: audit.Actor | None = None,
    taxonomy: dict[str, TaxonomyEntry] | None = None,
    rejected: list[RejectedRow] | None = None,
    taxonomy_filename: str = "taxonomy",
    warnings: list[RowWarning] | None = None,
) -> ImportReport:
    """Write a parsed catalogue. Runs inside the caller's transaction and raises InputError
    before anything is committed, so a rejected import leaves the database as it was."""
    report = ImportReport(
        filename=filename,
        file_format=file_format,
        rows_read=len(projects) + len(rejected or []),
        unknown_tag_policy=unknown_tags,
        rows_rejected=list(rejected or []),
        warnings=list(warnings or []),
    )
    if taxonomy:
        report.taxonomy_tags_added = apply_taxonomy(session, taxonomy, taxonomy_filename)
    index = _TagIndex.load(session)
    resolved, unknown = _resolve_tags(projects, index, report)
    report.unknown_tags = dict(unknown)
    if unknown and unknown_tags == "reject":
        raise InputError(
            filename,
            f"{len(unknown)} unknown tag{'s' if len(unknown) != 1 else ''}: "
            f"{format_counts(dict(unknown))}; "
            "import a taxonomy that has them, or use --unknown-tags create or ignore",
        )
    if unknown and unknown_tags in ("create", "candidate"):
        candidate = unknown_tags == "candidate"
        session.execute(
            insert(Tag),
            [
                {"name": name, "active": not candidate, "candidate": candidate}
                for name in sorted(unknown)
            ],
        )
        index.ids = dict(session.execute(select(Tag.name, Tag.id)).all())
        if candidate:
            report.candidates_created = sorted(unknown)
        else:
            report.tags_created = sorted(unknown)
    batch = ImportBatch(
        filename=filename, file_format=file_format, created_by_id=actor.id if actor else None
    )
    session.add(batch)
    session.flush()
    report.batch_id = batch.id
    _write_projects(session, projects, resolved, index, batch.id, on_existing, report)
    batch.report = report.to_dict()
    audit.record(
        session,
        actor,
        "import",
        filename=filename,
        batch_id=batch.id,
        added=report.projects_added,
        updated=report.projects_updated,
        unchanged=report.projects_unchanged,
        skipped=report.projects_skipped,
    )
    return report


def _resolve_tags(
    projects: list[RawProject], index: _TagIndex, report: ImportReport
) -> tuple[list[list[str]], Counter[str]]:
    unknown: Counter[str] = Counter()
    resolved: list[list[str]] = []
    for project in projects:
        names: list[str] = []
        for slug in project.tags:
            canonical = index.canonical(slug)
            if canonical is None:
                unknown[slug] += 1
                names.append(slug)
                continue
            if canonical != slug:
                report.tags_mapped_from_aliases[slug] = canonical
            names.append(canonical)
        resolved.append(list(dict.fromkeys(names)))
    return resolved, unknown


def _write_projects(
    session: Session,
    projects: list[RawProject],
    resolved: list[list[str]],
    index: _TagIndex,
    batch_id: int,
    on_existing: ExistingPolicy,
    report: ImportReport,
) -> None:
    existing = _existing_projects(session, [project.external_id for project in projects])
    new_rows: list[dict[str, Any]] = []
    new_tags: dict[str, list[int]] = {}
    updates: list[tuple[int, RawProject, list[int]]] = []
    for project, names in zip(projects, resolved, strict=True):
        tag_ids = sorted({index.ids[name] for name in names if name in index.ids})
        current = existing.get(project.external_id)
        if current is None:
            new_rows.append(
                {
                    "external_id": project.external_id,
                    "title": project.title,
                    "description": project.description,
                    "split": split_for(project.external_id),
                    "imported_in_id": batch_id,
                }
            )
            new_tags[project.external_id] = tag_ids
            continue
        project_id, title, description, current_tags = current
        if (title, description, sorted(current_tags)) == (
            project.title,
            project.description,
            tag_ids,
        ):
            report.projects_unchanged += 1
            continue
        report.changed_existing.append(project.external_id)
        if on_existing == "update":
            updates.append((project_id, project, tag_ids))
        else:
            report.projects_skipped += 1
    for chunk in _chunks(new_rows, 5_000):
        session.execute(insert(Project), chunk)
    report.projects_added = len(new_rows)
    if new_rows:
        ids = dict(
            session.execute(
                select(Project.external_id, Project.id).where(Project.imported_in_id == batch_id)
            ).all()
        )
        links = [
            {"project_id": ids[external_id], "tag_id": tag_id}
            for external_id, tag_ids in new_tags.items()
            for tag_id in tag_ids
        ]
        for chunk in _chunks(links, 20_000):
            session.execute(insert(SourceTag), chunk)
    for project_id, project, tag_ids in updates:
        row = session.get(Project, project_id)
        assert row is not None
        row.title, row.description = project.title, project.description
        session.execute(delete(SourceTag).where(SourceTag.project_id == project_id))
        session.add_all(SourceTag(project_id=project_id, tag_id=tag_id) for tag_id in tag_ids)
    report.projects_updated = len(updates)
    session.flush()


def _existing_projects(
    session: Session, external_ids: list[str]
) -> dict[str, tuple[int, str, str, list[int]]]:
    wanted = set(external_ids)
    found: dict[str, tuple[int, str, str, list[int]]] = {}
    for chunk in _chunks(sorted(wanted), 5_000):
        rows = session.execute(
            select(Project.id, Project.external_id, Project.title, Project.description).where(
                Project.external_id.in_(chunk)
            )
        ).all()
        for project_id, external_id, title, description in rows:
            found[external_id] = (project_id, title, description, [])
    if found:
        by_id = {value[0]: value for value in found.values()}
        for chunk in _chunks(list(by_id), 5_000):
            pairs = session.execute(
                select(SourceTag.project_id, SourceTag.tag_id).where(
                    SourceTag.project_id.in_(chunk)
                )
            ).all()
            for project_id, tag_id in pairs:
                by_id[project_id][3].append(tag_id)
    return found


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- export ----------------------------------------------------------------------------------


def export_rows(
    session: Session, trust_source_tags: bool, status: str | None = None
) -> list[dict[str, Any]]:
    """Every project with its effective label and where that label came from, in id order;
    with ``status``, only the projects in that label status."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; choose one of: {', '.join(STATUSES)}")
    states = all_label_states(session, trust_source_tags)
    rows = session.execute(
        select(Project.id, Project.external_id, Project.title, Project.description).order_by(
            Project.id
        )
    ).all()
    exported = []
    for project_id, external_id, title, description in rows:
        state = states[project_id]
        if status is not None and state.status != status:
            continue
        exported.append(
            {
                "id": _original_id(external_id),
                "title": title,
                "description": description,
                "tags": list(state.tags),
                "label_source": state.label_source,
                "status": state.status,
            }
        )
    return exported


def _original_id(external_id: str) -> str | int:
    """Integer ids are stored as text; give them back as integers so that a Made With ML file
    round-trips unchanged."""
    plain_integer = (
        external_id.isascii() and external_id.isdigit() and not external_id.startswith("0")
    )
    return int(external_id) if plain_integer else external_id


def render_export(rows: list[dict[str, Any]], file_format: str) -> str:
    if file_format == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    if file_format == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if file_format == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(
            buffer, fieldnames=["id", "title", "description", "tags", "label_source", "status"]
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "tags": ";".join(row["tags"])})
        return buffer.getvalue()
    raise ValueError(f"unknown export format {file_format!r}; use one of {', '.join(FORMATS)}")


def export_taxonomy(session: Session) -> dict[str, dict[str, list[str]]]:
    """The stored taxonomy in the same tags.json shape that import reads."""
    names = dict(session.execute(select(Tag.id, Tag.name).order_by(Tag.name)).all())
    taxonomy: dict[str, dict[str, list[str]]] = {
        name: {"aliases": [], "parents": []} for name in sorted(names.values())
    }
    for alias, tag_id in session.execute(select(TagAlias.alias, TagAlias.tag_id)):
        taxonomy[names[tag_id]]["aliases"].append(alias)
    for tag_id, parent_id in session.execute(select(TagParent.tag_id, TagParent.parent_id)):
        taxonomy[names[tag_id]]["parents"].append(names[parent_id])
    for entry in taxonomy.values():
        entry["aliases"].sort()
        entry["parents"].sort()
    return taxonomy


def preview_rows(projects: list[RawProject], limit: int) -> list[dict[str, str]]:
    return [
        {
            "id": project.external_id,
            "title": project.title,
            "description": project.description,
            "tags": ", ".join(project.tags),
        }
        for project in projects[:limit]
    ]
