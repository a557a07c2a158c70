"""Reading catalogue and taxonomy files: Made With ML JSON, CSV and JSONL, and tags.json.

Structural problems (unreadable file, invalid JSON or CSV, duplicate ids, a missing title, a
taxonomy cycle or alias clash) fail the file with one line naming the file, the row and what
is wrong, because a half-understood catalogue is worse than none. Problems with one value (an
over-long or malformed tag, a parent that names no tag, NUL characters in text) are what real
exports are full of: given a ``warnings`` list they drop or clean that value and are listed
there with their row; without one (strict mode) they fail the file as structural ones do.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeling.import_report import RejectedRow, RowWarning, visible
from labeling.text import slugify_tag

FORMATS = ("json", "csv", "jsonl")
MAX_TITLE_CHARS = 1_000
MAX_ID_CHARS = 128
MAX_TAGS_PER_PROJECT = 100
MAX_TAG_CHARS = 100
FORBIDDEN_TAG_CHARACTERS = (",", ";")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Problems:
    """Where value-level problems go: listed as warnings, or (strict, no list) raised as the
    one-line error they always were."""

    def __init__(self, filename: str, warnings: list[RowWarning] | None) -> None:
        self.filename = filename
        self.warnings = warnings

    def report(self, location: str, problem: str, consequence: str) -> None:
        if self.warnings is None:
            raise InputError(self.filename, problem, location)
        self.warnings.append(
            RowWarning(
                visible(self.filename), visible(location), visible(f"{problem}; {consequence}")
            )
        )


class InputError(ValueError):
    """A file LabelLoop cannot import as it is. The message is one line for the person who
    has to fix the file: which file, where, and what is wrong."""

    def __init__(self, filename: str, problem: str, location: str | None = None) -> None:
        self.filename = visible(filename)
        self.location = visible(location) if location else None
        self.problem = visible(problem)
        where = f"{self.filename}: {self.location}: " if location else f"{self.filename}: "
        super().__init__(where + self.problem)


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
    warnings: list[RowWarning] | None = None,
) -> list[RawProject]:
    """Parse and validate a whole catalogue file. With ``rejected`` given, invalid rows are
    collected there and left out instead of failing the file (file-level problems such as bad
    syntax or duplicate ids always fail). With ``warnings`` given, a bad value (an over-long or
    malformed tag, NUL characters) is dropped or cleaned and listed there; without, it fails
    the file (strict). A file with no projects fails: an empty import is a mistake to report,
    not a success to record."""
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
    if not records:
        raise InputError(filename, "no projects in the file; nothing was imported")
    problems = Problems(filename, warnings)
    projects: list[RawProject] = []
    first_seen: dict[str, str] = {}
    for location, record in records:
        try:
            project = _validated_project(record, location, filename, max_text_chars, problems)
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


def load_json(text: str, filename: str, line_offset: int = 0) -> Any:
    """``json.loads`` whose every failure is an InputError with a place: besides syntax errors,
    nesting too deep for Python (RecursionError) and integers longer than Python converts
    (ValueError), which otherwise end in a traceback."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _json_error(filename, error, line_offset) from None
    except RecursionError:
        depth, offset = _deepest_nesting(text)
        raise InputError(
            filename,
            f"JSON nested {depth} levels deep; a catalogue needs at most 3",
            _line_column(text, offset, line_offset),
        ) from None
    except ValueError:
        limit = sys.get_int_max_str_digits()
        match = re.search(rf"\d{{{limit + 1},}}", text)
        raise InputError(
            filename,
            f"a number has more than {limit} digits; write long ids as text",
            _line_column(text, match.start() if match else 0, line_offset),
        ) from None


def _line_column(text: str, offset: int, line_offset: int = 0) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line + line_offset}, column {column}"


def _deepest_nesting(text: str) -> tuple[int, int]:
    """The deepest bracket nesting outside strings and where it is first reached (only called
    after a RecursionError, so the character loop costs nothing on good files)."""
    depth = deepest = at = 0
    in_string = escaped = False
    for offset, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, offset
        elif char in "]}":
            depth -= 1
    return deepest, at


def _json_records(text: str, filename: str) -> Iterator[tuple[str, Any]]:
    data = load_json(text, filename)
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
        yield f"line {number}", load_json(line, filename, line_offset=number - 1)


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
    record: Any, location: str, filename: str, max_text_chars: int, problems: Problems
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
    if _CONTROL.search(external_id):
        raise InputError(filename, f"id {external_id!r} contains a control character", location)
    where = f"{location} (id {external_id})"
    title = _text_field(record, "title", where, filename, problems)
    if title is None:
        raise InputError(filename, "missing title", where)
    if not title.strip():
        raise InputError(filename, "title is empty", where)
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(
            filename, f"title has {len(title)} characters, over the {MAX_TITLE_CHARS} limit", where
        )
    description = _text_field(record, "description", where, filename, problems) or ""
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
    slugs = _checked_slugs(tags, problems, where)
    return RawProject(external_id, title.strip(), description.strip(), slugs, where)


def _text_field(
    record: dict[str, Any], key: str, where: str, filename: str, problems: Problems
) -> str | None:
    """A text field, with NUL characters removed (and said so): PostgreSQL cannot store them,
    and on SQLite they would cut the text short wherever a C string is made of it."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(filename, f"{key} must be text, found {type(value).__name__}", where)
    if "\x00" in value:
        problems.report(where, f"{key} contains NUL characters", "removed")
        value = value.replace("\x00", "")
    return value


def _checked_slugs(names: list[str], problems: Problems, where: str) -> tuple[str, ...]:
    """Normalised, de-duplicated tag names. An over-long tag (a sentence pasted into the tag
    field), a tag with a control character, or one with a comma or semicolon (they separate
    tags in CSV, so it could not survive an export and re-import) is dropped."""
    slugs: dict[str, None] = {}
    for name in names:
        slug = slugify_tag(name)
        if not slug:
            continue
        if len(slug) > MAX_TAG_CHARS:
            problems.report(
                where, f"tag {slug[:30]!r}... is longer than {MAX_TAG_CHARS} characters", "dropped"
            )
            continue
        bad = [c for c in FORBIDDEN_TAG_CHARACTERS if c in slug]
        if bad:
            problems.report(where, f"tag {slug!r} contains {bad[0]!r}", "dropped")
            continue
        if _CONTROL.search(slug):
            problems.report(where, f"tag {slug!r} contains a control character", "dropped")
            continue
        slugs[slug] = None
    return tuple(slugs)


def parse_taxonomy(
    data: bytes, filename: str, warnings: list[RowWarning] | None = None
) -> dict[str, TaxonomyEntry]:
    """Made With ML's tags.json: ``{"tag": {"aliases": [...], "parents": [...]}}``. Names are
    normalised; an alias that names two tags, or parents that form a cycle, are rejected. With
    ``warnings``, a bad name is dropped and a parent that names no tag in the file is dropped
    from that tag (the real Made With ML file has seven); without, they fail the file."""
    problems = Problems(filename, warnings)
    raw = load_json(decode_utf8(data, filename), filename)
    if not isinstance(raw, dict):
        raise InputError(
            filename,
            "expected a JSON object mapping tag -> {aliases, parents}, "
            f"found {type(raw).__name__}",
        )
    taxonomy: dict[str, TaxonomyEntry] = {}
    for raw_name, spec in raw.items():
        location = f"tag {raw_name!r}"
        if not slugify_tag(raw_name):
            raise InputError(filename, "empty tag name", location)
        names = _checked_slugs([raw_name], problems, location)
        if not names:
            continue
        name = names[0]
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise InputError(
                filename, "expected an object with aliases and parents", f"tag {name!r}"
            )
        entry = TaxonomyEntry(
            aliases=_name_list(spec.get("aliases"), filename, problems, f"tag {name!r}", "aliases"),
            parents=_name_list(spec.get("parents"), filename, problems, f"tag {name!r}", "parents"),
        )
        if name in taxonomy:
            raise InputError(
                filename, "tag listed twice (after normalising its name)", f"tag {name!r}"
            )
        taxonomy[name] = entry
    return _checked_taxonomy(taxonomy, filename, problems)


def _name_list(
    value: Any, filename: str, problems: Problems, location: str, key: str
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(filename, f"{key} must be a list of strings", location)
    return _checked_slugs(value, problems, location)


def _checked_taxonomy(
    taxonomy: dict[str, TaxonomyEntry], filename: str, problems: Problems
) -> dict[str, TaxonomyEntry]:
    alias_owner: dict[str, str] = {}
    checked: dict[str, TaxonomyEntry] = {}
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
        parents = []
        for parent in entry.parents:
            if parent in taxonomy:
                parents.append(parent)
            else:
                problems.report(
                    f"tag {name!r}", f"parent {parent!r} is not a tag in this file", "dropped"
                )
        checked[name] = TaxonomyEntry(entry.aliases, tuple(parents))
    cycle = find_cycle({name: list(entry.parents) for name, entry in checked.items()})
    if cycle:
        raise InputError(filename, "parents form a cycle: " + " -> ".join(cycle))
    return checked


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
