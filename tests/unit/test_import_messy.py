"""Importing what real exports look like: warnings instead of aborts, candidate tags, hostile
files that end in one line on stderr and an untouched database, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, ImportBatch, Project, SourceTag, Tag
from db.session import SessionFactory
from labeling import io as labeling_io
from labeling.annotations import all_label_states
from labeling.cli import main
from labeling.config import Settings

LONG_TAG = "a whole sentence pasted into the tag field by somebody in a hurry " * 2


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]


def counts(make_session: SessionFactory) -> list[int]:
    with make_session() as session:
        return [
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Project, Tag, ImportBatch, AuditEvent)
        ]


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


MESSY = [
    {"id": 1, "title": "Detector", "tags": ["computer-vision", "yolo-v4", LONG_TAG]},
    {"id": 2, "title": "Reader", "tags": ["nlp", "arxiv:2005.10872", "x;y"]},
    {"id": 3, "title": "Nul\x00led", "description": "te\x00xt", "tags": ["yolo-v4"]},
]
TAXONOMY = {
    "computer-vision": {"parents": ["vision-things"]},
    "natural-language-processing": {"aliases": ["nlp"]},
}


def test_messy_file_imports_with_warnings_and_candidate_tags(
    cli_env: Settings, make_session: SessionFactory, tmp_path: Path
) -> None:
    projects = write(tmp_path, "messy.json", MESSY)
    taxonomy = write(tmp_path, "tags.json", TAXONOMY)
    code, out = run(
        "import", "--projects", projects, "--taxonomy", taxonomy,
        "--unknown-tags", "candidate", "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert (report["projects_added"], report["candidates_created"]) == (
        3,
        ["arxiv:2005.10872", "yolo-v4"],
    )
    assert [w["location"] + ": " + w["problem"] for w in report["warnings"]] == [
        "item 0 (id 1): tag 'a-whole-sentence-pasted-into-t'... is longer than 100 characters; "
        "dropped",
        "item 1 (id 2): tag 'x;y' contains ';'; dropped",
        "item 2 (id 3): title contains NUL characters; removed",
        "item 2 (id 3): description contains NUL characters; removed",
        "tag 'computer-vision': parent 'vision-things' is not a tag in this file; dropped",
    ]
    with make_session() as session:
        candidates = session.execute(
            select(Tag.name, Tag.active).where(Tag.candidate.is_(True)).order_by(Tag.name)
        ).all()
        assert candidates == [("arxiv:2005.10872", False), ("yolo-v4", False)]
        stored = session.scalar(select(Project).where(Project.external_id == "3"))
        assert stored is not None and (stored.title, stored.description) == ("Nulled", "text")
        links = session.scalar(select(func.count()).select_from(SourceTag))
        assert links == 5  # cv, yolo-v4, nlp->natural-language-processing, arxiv, yolo-v4
        labels = {
            state.tags for state in all_label_states(session, trust_source_tags=True).values()
        }
        assert labels == {("computer-vision",), ("natural-language-processing",), ()}
        exported = labeling_io.export_rows(session, trust_source_tags=True)
    assert [row["tags"] for row in exported] == [
        ["computer-vision"],
        ["natural-language-processing"],
        [],
    ]


def test_strict_import_fails_on_the_first_dropped_value_and_writes_nothing(
    cli_env: Settings,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    projects = write(tmp_path, "messy.json", MESSY)
    code, out = run("import", "--projects", projects, "--unknown-tags", "candidate", "--strict")
    assert (code, out) == (2, "")
    assert stderr_lines(capsys) == [
        "error: messy.json: item 0 (id 1): tag 'a-whole-sentence-pasted-into-t'... is longer "
        "than 100 characters"
    ]
    assert counts(make_session) == [0, 0, 0, 0]


def test_report_of_many_unknown_tags_shows_the_top_20_and_how_many_more(
    cli_env: Settings, tmp_path: Path
) -> None:
    items = [{"id": n, "title": "t", "tags": [f"tag-{n:03d}"] * 1} for n in range(45)]
    code, out = run(
        "import", "--projects", write(tmp_path, "many.json", items), "--unknown-tags", "candidate"
    )
    assert code == 0
    lines = out.splitlines()
    start = lines.index("  unknown tags (candidate), by projects: 45")
    assert lines[start + 1 : start + 22] == [
        *[f"    tag-{n:03d} (1)" for n in range(20)],
        "    and 25 more",
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", "", "empty.jsonl: no projects in the file; nothing was imported"),
        ("empty.json", "[]", "empty.json: no projects in the file; nothing was imported"),
        (
            "deep.json",
            "[" * 100_000,
            "deep.json: line 1, column 100000: JSON nested 100000 levels deep; a catalogue "
            "needs at most 3",
        ),
        (
            "digits.jsonl",
            '{"id": ' + "7" * 5000 + ', "title": "a"}',
            "digits.jsonl: line 1, column 8: a number has more than 4300 digits; write long "
            "ids as text",
        ),
        (
            "newline.json",
            json.dumps([{"id": "one\ntwo", "title": "t"}]),
            "newline.json: item 0: id 'one\\ntwo' contains a control character",
        ),
        (
            "ansi.json",
            json.dumps([{"id": "\x1b[2J\x1b[31mred", "title": "t"}]),
            "ansi.json: item 0: id '\\x1b[2J\\x1b[31mred' contains a control character",
        ),
    ],
)
def test_hostile_file_is_one_escaped_line_exit_2_and_nothing_written(
    cli_env: Settings,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    content: str,
    message: str,
) -> None:
    code, out = run("import", "--projects", write(tmp_path, name, content))
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"error: {message}"
    assert "\x1b" not in err and "Traceback" not in err
    assert counts(make_session) == [0, 0, 0, 0]


def test_nul_characters_are_removed_on_every_database(make_session: SessionFactory) -> None:
    warnings: list[labeling_io.RowWarning] = []
    items = [{"id": "n\u00e9", "title": "a\x00b", "description": "\x00", "tags": ["t"]}]
    projects = labeling_io.parse_projects(json.dumps(items).encode(), "p.json", warnings=warnings)
    with make_session.begin() as session:
        labeling_io.import_catalogue(
            session, projects, "p.json", "json", unknown_tags="candidate", warnings=warnings
        )
    with make_session() as session:
        row = session.execute(select(Project.title, Project.description)).one()
        batch = session.scalars(select(ImportBatch)).one()
    assert tuple(row) == ("ab", "")
    assert [w["problem"] for w in batch.report["warnings"]] == [
        "title contains NUL characters; removed",
        "description contains NUL characters; removed",
    ]


def test_candidates_are_left_out_of_insights_counts(
    cli_env: Settings, make_session: SessionFactory, tmp_path: Path
) -> None:
    from collections import Counter

    from labeling.insights import label_summary

    projects = write(tmp_path, "messy.json", MESSY)
    taxonomy = write(tmp_path, "tags.json", TAXONOMY)
    code, _ = run(
        "import", "--projects", projects, "--taxonomy", taxonomy, "--unknown-tags", "candidate"
    )
    assert code == 0
    with make_session() as session:
        summary = label_summary(session, trust_source_tags=True)
        states = all_label_states(session, trust_source_tags=True).values()
    assert summary.source_per_tag == Counter(
        {"computer-vision": 1, "natural-language-processing": 1}
    )
    assert summary.effective_per_tag == Counter(tag for s in states for tag in s.tags)
    assert summary.source_sizes == Counter({1: 2, 0: 1})
