"""Import and export of catalogues: Made With ML JSON, CSV and JSONL, plus the tag taxonomy.

Parsing is strict and reports the first problem as one line naming the file, the row and what
is wrong, because a half-understood catalogue is worse than none. The database write is one
transaction run by the caller: nothing is written until every row has been checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from db.models import ImportBatch, Project, SourceTag, Tag, TagAlias, TagParent
from labeling import audit
from labeling.annotations import STATUSES, all_label_states
from labeling.text import slugify_tag

FORMATS = ("json", "csv", "jsonl")
UnknownTagPolicy = Literal["create", "ignore", "reject"]
ExistingPolicy = Literal["skip", "update"]
EVAL_SHARE_PERCENT = 20
MAX_TITLE_CHARS = 1_000
MAX_ID_CHARS = 128
MAX_TAGS_PER_PROJECT = 100
MAX_TAG_CHARS = 100
FORBIDDEN_TAG_CHARACTERS = (",", ";")


class InputError(ValueError):
    """A file LabelLoop cannot import as it is. The message is one line for the person who
    has to fix the file: which file, where, and what is wrong."""

    def __init__(self, filename: str, problem: str, location: str | None = None) -> None:
        self.filename = filename
        self.location = location
        self.problem = problem
        where = f"{filename}: {location}: " if location else f"{filename}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class RawProject:
    external_id: str
    title: str
    description: str
    tags: tuple[str, ...]
    location: str


@dataclass(frozen=True)
class TaxonomyEntry:
    aliases: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()


@dataclass
class RejectedRow:
    location: str
    reason: str


@dataclass
class ImportReport:
    filename: str
    file_format: str
    rows_read: int = 0
    projects_added: int = 0
    projects_updated: int = 0
    projects_unchanged: int = 0
    projects_skipped: int = 0
    changed_existing: list[str] = field(default_factory=list)
    tags_created: list[str] = field(default_factory=list)
    tags_mapped_from_aliases: dict[str, str] = field(default_factory=dict)
    unknown_tags: dict[str, int] = field(default_factory=dict)
    unknown_tag_policy: str = "reject"
    rows_rejected: list[RejectedRow] = field(default_factory=list)
    taxonomy_tags_added: int = 0
    batch_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_lines(self) -> list[str]:
        lines = [
            f"Imported {self.filename} ({self.file_format}): {self.rows_read} rows read",
            f"  projects added: {self.projects_added}, updated: {self.projects_updated}, "
            f"unchanged: {self.projects_unchanged}, skipped (changed, kept as is): "
            f"{self.projects_skipped}",
            f"  tags created: {len(self.tags_created)}, taxonomy tags added: "
            f"{self.taxonomy_tags_added}, aliases mapped: {len(self.tags_mapped_from_aliases)}",
        ]
        if self.tags_mapped_from_aliases:
            mapped = ", ".join(
                f"{a} -> {c}" for a, c in sorted(self.tags_mapped_from_aliases.items())
            )
            lines.append(f"  mapped: {mapped}")
        if self.unknown_tags:
            lines.append(
                f"  unknown tags ({self.unknown_tag_policy}): {format_counts(self.unknown_tags)}"
            )
        if self.changed_existing:
            shown = ", ".join(self.changed_existing[:10])
            more = len(self.changed_existing) - 10
            lines.append(
                "  ids already present with different text or tags: "
                + shown
                + (f" (+{more} more)" if more > 0 else "")
            )
        for row in self.rows_rejected[:20]:
            lines.append(f"  rejected {row.location}: {row.reason}")
        if len(self.rows_rejected) > 20:
            lines.append(f"  ... {len(self.rows_rejected) - 20} more rejected rows")
        return lines


def format_counts(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} ({count})" for name, count in ordered)


def split_for(external_id: str) -> str:
    """A stable hash of the external id decides the split once, so that every model version is
    evaluated on the same projects whatever order or batch they were imported in."""
    digest = hashlib.sha256(external_id.encode("utf-8")).digest()
    return "eval" if int.from_bytes(digest[:4], "big") % 100 < EVAL_SHARE_PERCENT else "train"


# --- reading files ---------------------------------------------------------------------------


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix in {"jsonl", "ndjson"}:
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise InputError(
        filename, f"unknown file type {suffix or '(none)'!r}; use .json, .csv or .jsonl"
    )


def read_file_bytes(path: Path, max_bytes: int) -> bytes:
    if not path.exists():
        raise InputError(str(path), "file not found")
    if not path.is_file():
        raise InputError(str(path), "not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(str(path), f"file is {size} bytes, over the {max_bytes}-byte limit")
    return path.read_bytes()


def decode_utf8(data: bytes, filename: str) -> str:
    """UTF-8 only (a byte-order mark is accepted): guessing another encoding silently corrupts
    names and descriptions."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise InputError(
            filename,
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8",
            f"line {line}, column {column}",
        ) from None


def parse_projects(
    data: bytes,
    filename: str,
    file_format: str | None = None,
    max_text_chars: int = 20_000,
    rejected: list[RejectedRow] | None = None,
) -> list[RawProject]:
    """Parse and validate a whole catalogue file. With ``rejected`` given, invalid rows are
    collected there and left out instead of failing the file (file-level problems such as bad
    syntax or duplicate ids always fail)."""
    file_format = file_format or detect_format(filename)
    text = decode_utf8(data, filename)
    if file_format == "json":
        records = list(_json_records(text, filename))
    elif file_format == "jsonl":
        records = list(_jsonl_records(text, filename))
    elif file_format == "csv":
        records = list(_csv_records(text, filename))
    else:
        raise InputError(
            filename, f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}"
        )
    projects: list[RawProject] = []
    first_seen: dict[str, str] = {}
    for location, record in records:
        try:
            project = _validated_project(record, location, filename, max_text_chars)
        except InputError as error:
            if rejected is None:
                raise
            rejected.append(RejectedRow(location, error.problem))
            continue
        if project.external_id in first_seen:
            raise InputError(
                filename,
                f"duplicate id {project.external_id!r} "
                f"(first at {first_seen[project.external_id]})",
                location,
            )
        first_seen[project.external_id] = location
        projects.append(project)
    return projects


def _json_error(filename: str, error: json.JSONDecodeError, line_offset: int = 0) -> InputError:
    return InputError(
        filename,
        f"not valid JSON: {error.msg}",
        f"line {error.lineno + line_offset}, column {error.colno}",
    )


def _json_records(text: str, filename: str) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _json_error(filename, error) from None
    if isinstance(data, dict) and isinstance(data.get("projects"), list):
        data = data["projects"]
    if not isinstance(data, list):
        raise InputError(filename, f"expected a JSON list of projects, found {type(data).__name__}")
    for index, record in enumerate(data):
        yield f"item {index}", record


def _jsonl_records(text: str, filename: str) -> Iterator[tuple[str, Any]]:
    # Split on newlines only: str.splitlines() also breaks at U+2028/U+2029/U+0085, which JSON
    # allows unescaped inside strings (and our own export writes them so).
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            yield f"line {number}", json.loads(line)
        except json.JSONDecodeError as error:
            raise _json_error(filename, error, line_offset=number - 1) from None


def _csv_records(text: str, filename: str) -> Iterator[tuple[str, Any]]:
    """Rows as dicts keyed by lower-cased header names, each with the line its record starts
    on (a quoted field may span lines, and csv's own line counter lags behind on errors)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise InputError(filename, f"not valid CSV: {error}", "line 1") from None
    if not header:
        raise InputError(
            filename, "empty CSV file: expected a header row id,title,description,tags"
        )
    names = [name.strip().lower() for name in header]
    for required in ("id", "title"):
        if required not in names:
            raise InputError(filename, f"CSV header has no {required!r} column", "line 1")
    start = reader.line_num + 1
    while True:
        location = f"line {start}"
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise InputError(filename, f"not valid CSV: {error}", location) from None
        if row is None:
            return
        start = reader.line_num + 1
        if not row:
            continue
        if len(row) > len(names):
            raise InputError(filename, "more fields than the header has", location)
        record: dict[str, Any] = dict(zip(names, row, strict=False))
        record["tags"] = _split_csv_tags(record.get("tags") or "")
        yield location, record


def _split_csv_tags(cell: str) -> list[str]:
    separator = ";" if ";" in cell else ","
    return [part.strip() for part in cell.split(separator) if part.strip()]


def _validated_project(
    record: Any, location: str, filename: str, max_text_chars: int
) -> RawProject:
    if not isinstance(record, dict):
        raise InputError(filename, f"expected an object, found {type(record).__name__}", location)
    raw_id = record.get("id")
    if raw_id is None:
        raise InputError(filename, "missing id", location)
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise InputError(
            filename, f"id must be a string or an integer, found {type(raw_id).__name__}", location
        )
    external_id = str(raw_id).strip()
    if not external_id:
        raise InputError(filename, "id is empty", location)
    if len(external_id) > MAX_ID_CHARS:
        raise InputError(filename, f"id is longer than {MAX_ID_CHARS} characters", location)
    where = f"{location} (id {external_id})"
    title = record.get("title")
    if title is None:
        raise InputError(filename, "missing title", where)
    if not isinstance(title, str):
        raise InputError(filename, f"title must be text, found {type(title).__name__}", where)
    if not title.strip():
        raise InputError(filename, "title is empty", where)
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(
            filename, f"title has {len(title)} characters, over the {MAX_TITLE_CHARS} limit", where
        )
    description = record.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise InputError(
            filename, f"description must be text, found {type(description).__name__}", where
        )
    if len(description) > max_text_chars:
        raise InputError(
            filename,
            f"description has {len(description)} characters, over the {max_text_chars} limit",
            where,
        )
    tags = record.get("tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise InputError(filename, "tags must be a list of strings", where)
    if len(tags) > MAX_TAGS_PER_PROJECT:
        raise InputError(filename, f"more than {MAX_TAGS_PER_PROJECT} tags", where)
    slugs = _checked_slugs(tags, filename, where)
    return RawProject(external_id, title.strip(), description.strip(), slugs, where)


def _checked_slugs(names: list[str], filename: str, where: str) -> tuple[str, ...]:
    """Normalised, de-duplicated tag names. Commas and semicolons are refused because they
    separate tags in CSV, so such a tag could not survive an export and re-import."""
    slugs: dict[str, None] = {}
    for name in names:
        slug = slugify_tag(name)
        if not slug:
            continue
        if len(slug) > MAX_TAG_CHARS:
            raise InputError(
                filename, f"tag {slug[:30]!r}... is longer than {MAX_TAG_CHARS} characters", where
            )
        bad = [c for c in FORBIDDEN_TAG_CHARACTERS if c in slug]
        if bad:
            raise InputError(filename, f"tag {slug!r} contains {bad[0]!r}", where)
        slugs[slug] = None
    return tuple(slugs)


def parse_taxonomy(data: bytes, filename: str) -> dict[str, TaxonomyEntry]:
    """Made With ML's tags.json: ``{"tag": {"aliases": [...], "parents": [...]}}``. Names are
    normalised; an alias that names two tags, or parents that form a cycle, are rejected."""
    text = decode_utf8(data, filename)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise _json_error(filename, error) from None
    if not isinstance(raw, dict):
        raise InputError(
            filename,
            "expected a JSON object mapping tag -> {aliases, parents}, "
            f"found {type(raw).__name__}",
        )
    taxonomy: dict[str, TaxonomyEntry] = {}
    for raw_name, spec in raw.items():
        names = _checked_slugs([raw_name], filename, f"tag {raw_name!r}")
        if not names:
            raise InputError(filename, "empty tag name", f"tag {raw_name!r}")
        name = names[0]
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise InputError(
                filename, "expected an object with aliases and parents", f"tag {name!r}"
            )
        entry = TaxonomyEntry(
            aliases=_name_list(spec.get("aliases"), filename, f"tag {name!r}", "aliases"),
            parents=_name_list(spec.get("parents"), filename, f"tag {name!r}", "parents"),
        )
        if name in taxonomy:
            raise InputError(
                filename, "tag listed twice (after normalising its name)", f"tag {name!r}"
            )
        taxonomy[name] = entry
    _check_taxonomy(taxonomy, filename)
    return taxonomy


def _name_list(value: Any, filename: str, location: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(filename, f"{key} must be a list of strings", location)
    return _checked_slugs(value, filename, location)


def _check_taxonomy(taxonomy: dict[str, TaxonomyEntry], filename: str) -> None:
    alias_owner: dict[str, str] = {}
    for name, entry in taxonomy.items():
        for alias in entry.aliases:
            if alias in taxonomy and alias != name:
                raise InputError(
                    filename, f"alias {alias!r} is also a tag of its own", f"tag {name!r}"
                )
            if alias in alias_owner and alias_owner[alias] != name:
                raise InputError(
                    filename,
                    f"alias {alias!r} is also an alias of {alias_owner[alias]!r}",
                    f"tag {name!r}",
                )
            alias_owner[alias] = name
        for parent in entry.parents:
            if parent not in taxonomy:
                raise InputError(
                    filename, f"parent {parent!r} is not a tag in this file", f"tag {name!r}"
                )
    cycle = find_cycle({name: list(entry.parents) for name, entry in taxonomy.items()})
    if cycle:
        raise InputError(filename, "parents form a cycle: " + " -> ".join(cycle))


def find_cycle(parents: dict[str, list[str]]) -> list[str] | None:
    """Depth-first search over tag -> parents; returns one cycle as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for parent in parents.get(node, []):
            if state.get(parent) == 1:
                return [*stack[stack.index(parent) :], parent]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(parents):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


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
) -> ImportReport:
    """Write a parsed catalogue. Runs inside the caller's transaction and raises InputError
    before anything is committed, so a rejected import leaves the database as it was."""
    report = ImportReport(
        filename=filename,
        file_format=file_format,
        rows_read=len(projects) + len(rejected or []),
        unknown_tag_policy=unknown_tags,
        rows_rejected=list(rejected or []),
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
    if unknown and unknown_tags == "create":
        for name in sorted(unknown):
            tag = Tag(name=name, active=True)
            session.add(tag)
            session.flush()
            index.ids[name] = tag.id
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


def report_tables(report: ImportReport) -> dict[str, list[dict[str, Any]]]:
    """The report's lists as tables, titled, leaving out the empty ones."""
    tables = {
        "Tags mapped from aliases": [
            {"alias": alias, "tag": tag}
            for alias, tag in sorted(report.tags_mapped_from_aliases.items())
        ],
        f"Unknown tags ({report.unknown_tag_policy})": [
            {"tag": tag, "projects": count}
            for tag, count in sorted(report.unknown_tags.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "Tags created": [{"tag": tag} for tag in report.tags_created],
        "Ids already present with different text or tags": [
            {"id": external_id} for external_id in report.changed_existing
        ],
        "Rejected rows": [
            {"row": row.location, "reason": row.reason} for row in report.rows_rejected
        ],
    }
    return {title: rows for title, rows in tables.items() if rows}
