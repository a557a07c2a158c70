"""What an import did, in a form a person can read at any size.

A real catalogue produces thousands of unknown tags and hundreds of warnings; a report that
prints them all on one line is no report. Every list is shown as its count and its first
``TOP`` entries followed by "and N more"; the full lists stay in the JSON report and in one CSV
that the Data page offers for download.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

TOP = 20
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def visible(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``,
    ``\\u202e``), so that an id or tag from a hostile file cannot split a one-line error over
    two lines, recolour a terminal or reverse what follows it."""
    if text.isprintable():
        return text
    return "".join(
        repr(char)[1:-1]
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS
        else char
        for char in text
    )


@dataclass
class RejectedRow:
    location: str
    reason: str


@dataclass
class RowWarning:
    """A problem that did not stop the import: what was dropped or changed, and where."""

    file: str
    location: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.problem}"


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
    candidates_created: list[str] = field(default_factory=list)
    tags_mapped_from_aliases: dict[str, str] = field(default_factory=dict)
    unknown_tags: dict[str, int] = field(default_factory=dict)
    unknown_tag_policy: str = "reject"
    rows_rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
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
            f"  tags created: {len(self.tags_created)}, candidate tags created: "
            f"{len(self.candidates_created)}, taxonomy tags added: {self.taxonomy_tags_added}, "
            f"aliases mapped: {len(self.tags_mapped_from_aliases)}",
        ]
        sections = [
            (
                "warnings (value dropped, import went on)",
                [str(warning) for warning in self.warnings],
            ),
            (
                f"unknown tags ({self.unknown_tag_policy}), by projects",
                [f"{name} ({count})" for name, count in counts_by_size(self.unknown_tags)],
            ),
            (
                "aliases mapped to their tag",
                [f"{a} -> {c}" for a, c in sorted(self.tags_mapped_from_aliases.items())],
            ),
            ("ids already present with different text or tags", self.changed_existing),
            ("rejected rows", [f"{row.location}: {row.reason}" for row in self.rows_rejected]),
        ]
        for title, items in sections:
            if items:
                lines.append(f"  {title}: {len(items)}")
                lines.extend(f"    {visible(item)}" for item in top(items))
        return lines


def counts_by_size(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def top(items: list[str], limit: int = TOP) -> list[str]:
    """The first ``limit`` items, and a last line saying how many were left out."""
    if len(items) <= limit:
        return list(items)
    return [*items[:limit], f"and {len(items) - limit} more"]


def report_tables(report: ImportReport) -> dict[str, list[dict[str, Any]]]:
    """The report's lists as tables, titled, leaving out the empty ones (full length: the page
    shows them in scrolling tables)."""
    tables = {
        "Warnings": [
            {"file": w.file, "row": w.location, "problem": w.problem} for w in report.warnings
        ],
        f"Unknown tags ({report.unknown_tag_policy})": [
            {"tag": tag, "projects": count} for tag, count in counts_by_size(report.unknown_tags)
        ],
        "Tags mapped from aliases": [
            {"alias": alias, "tag": tag}
            for alias, tag in sorted(report.tags_mapped_from_aliases.items())
        ],
        "Tags created": [{"tag": tag} for tag in report.tags_created],
        "Candidate tags created": [{"tag": tag} for tag in report.candidates_created],
        "Ids already present with different text or tags": [
            {"id": external_id} for external_id in report.changed_existing
        ],
        "Rejected rows": [
            {"row": row.location, "reason": row.reason} for row in report.rows_rejected
        ],
    }
    return {title: rows for title, rows in tables.items() if rows}


def report_csv(report: ImportReport) -> str:
    """Every list of the report in one CSV (list, item, detail), for a spreadsheet."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["list", "item", "detail"])
    for warning in report.warnings:
        writer.writerow(["warning", f"{warning.file}: {warning.location}", warning.problem])
    for tag, count in counts_by_size(report.unknown_tags):
        writer.writerow([f"unknown tag ({report.unknown_tag_policy})", tag, count])
    for alias, tag in sorted(report.tags_mapped_from_aliases.items()):
        writer.writerow(["alias mapped", alias, tag])
    for tag in report.tags_created:
        writer.writerow(["tag created", tag, ""])
    for tag in report.candidates_created:
        writer.writerow(["candidate tag created", tag, ""])
    for external_id in report.changed_existing:
        writer.writerow(["id present with different text or tags", external_id, ""])
    for row in report.rows_rejected:
        writer.writerow(["rejected row", row.location, row.reason])
    return buffer.getvalue()
