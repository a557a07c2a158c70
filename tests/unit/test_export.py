"""Export of the effective labels (JSON, CSV, JSONL), the taxonomy export, round trips into a
fresh database, and the label status rules of labeling.annotations.label_state."""

from __future__ import annotations

import csv
import io as stdio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Annotation, Project, Resolution, User
from db.session import SessionFactory, new_engine, session_factory, upgrade_to_head
from labeling import io
from labeling.annotations import LabelState, label_state

FIXTURES = Path(__file__).parents[1] / "fixtures"
SessionMaker = SessionFactory

NLP = "natural-language-processing"
TC = "text-classification"
CV = "computer-vision"
OD = "object-detection"
TS = "time-series"

FIXTURE_ROWS = [
    {
        "id": 1,
        "title": "Tiny BERT sentiment",
        "description": "Classifies movie reviews as positive or negative.",
        "tags": [NLP, TC],
        "label_source": "source",
        "status": "unlabeled",
    },
    {
        "id": 2,
        "title": "Pallet detector",
        "description": "Finds pallets in warehouse camera frames.",
        "tags": [CV, OD],
        "label_source": "source",
        "status": "unlabeled",
    },
    {
        "id": "ext-3",
        "title": "Forecasting power demand",
        "description": "Predicts tomorrow's load per substation.",
        "tags": [TS],
        "label_source": "source",
        "status": "unlabeled",
    },
]


# --- helpers ---------------------------------------------------------------------------------


def import_items(
    make_session: SessionMaker,
    data: bytes,
    filename: str,
    taxonomy: dict[str, io.TaxonomyEntry] | None = None,
    **kwargs: Any,
) -> io.ImportReport:
    file_format = io.detect_format(filename)
    projects = io.parse_projects(data, filename, file_format)
    with make_session.begin() as session:
        return io.import_catalogue(
            session, projects, filename, file_format, taxonomy=taxonomy, **kwargs
        )


def fixture_taxonomy() -> dict[str, io.TaxonomyEntry]:
    path = FIXTURES / "small_taxonomy.json"
    return io.parse_taxonomy(path.read_bytes(), path.name)


def import_fixture(make_session: SessionMaker) -> None:
    path = FIXTURES / "small_projects.json"
    import_items(make_session, path.read_bytes(), path.name, fixture_taxonomy())


def export(
    make_session: SessionMaker, trust_source_tags: bool = True, status: str | None = None
) -> list[dict[str, Any]]:
    with make_session() as session:
        return io.export_rows(session, trust_source_tags, status)


def by_id(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def label_of(row: dict[str, Any]) -> tuple[str, list[str], str]:
    return row["status"], row["tags"], row["label_source"]


def project_id(session: Session, external_id: str) -> int:
    found = session.scalar(select(Project.id).where(Project.external_id == external_id))
    assert found is not None
    return found


def add_user(make_session: SessionMaker, username: str, role: str = "annotator") -> int:
    with make_session.begin() as session:
        user = User(username=username, password_hash="not-a-real-hash", role=role)
        session.add(user)
        session.flush()
        return user.id


def annotate(
    make_session: SessionMaker,
    external_id: str,
    user_id: int,
    tags: list[str],
    skipped: bool = False,
) -> None:
    with make_session.begin() as session:
        session.add(
            Annotation(
                project_id=project_id(session, external_id),
                user_id=user_id,
                tags=tags,
                skipped=skipped,
            )
        )


def resolve(
    make_session: SessionMaker, external_id: str, reviewer_id: int, tags: list[str]
) -> None:
    with make_session.begin() as session:
        session.add(
            Resolution(
                project_id=project_id(session, external_id),
                reviewer_id=reviewer_id,
                tags=tags,
                note="decided",
            )
        )


@pytest.fixture
def imported(make_session: SessionMaker) -> SessionMaker:
    import_fixture(make_session)
    return make_session


@pytest.fixture
def users(make_session: SessionMaker) -> dict[str, int]:
    return {
        name: add_user(make_session, name, role)
        for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rev", "reviewer"))
    }


@pytest.fixture
def second_session(tmp_path: Path) -> Iterator[SessionMaker]:
    """A second, empty, migrated database to import an export into."""
    engine = new_engine(f"sqlite:///{tmp_path / 'second.db'}")
    upgrade_to_head(engine)
    yield session_factory(engine)
    engine.dispose()


# --- what an export holds --------------------------------------------------------------------


def test_export_after_import_has_every_project_with_source_labels(
    imported: SessionMaker,
) -> None:
    assert export(imported) == FIXTURE_ROWS


def test_export_of_empty_database_is_empty(make_session: SessionMaker) -> None:
    assert export(make_session) == []
    assert io.render_export([], "json") == "[]\n"
    assert io.render_export([], "jsonl") == ""
    assert io.render_export([], "csv") == "id,title,description,tags,label_source,status\r\n"


def test_untrusted_source_tags_give_no_label(imported: SessionMaker) -> None:
    rows = export(imported, trust_source_tags=False)
    assert [label_of(row) for row in rows] == [("unlabeled", [], "none")] * 3
    assert [row["id"] for row in rows] == [1, 2, "ext-3"]


def test_status_filter(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "1", users["ann"], [NLP])
    assert [row["id"] for row in export(imported, status="single")] == [1]
    assert [row["id"] for row in export(imported, status="unlabeled")] == [2, "ext-3"]
    assert export(imported, status="conflict") == []


def test_single_annotator_label(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "2", users["ann"], [OD, CV, "robotics"])
    assert label_of(by_id(export(imported))[2]) == ("single", [CV, OD, "robotics"], "single")


def test_single_annotator_may_say_no_tags(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "2", users["ann"], [])
    assert label_of(by_id(export(imported))[2]) == ("single", [], "single")


def test_two_identical_judgements_are_agreed(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [TC])
    assert label_of(by_id(export(imported))[1]) == ("agreed", [TC], "agreed")


def test_two_different_judgements_are_a_conflict_labelled_by_source(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    assert label_of(by_id(export(imported))[1]) == ("conflict", [NLP, TC], "source")


def test_conflict_without_trusted_source_has_no_label(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    row = by_id(export(imported, trust_source_tags=False))[1]
    assert label_of(row) == ("conflict", [], "none")


def test_resolution_wins_over_conflict(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    resolve(imported, "1", users["rev"], [TC, NLP, "sentiment"])
    row = by_id(export(imported))[1]
    assert label_of(row) == ("resolved", [NLP, "sentiment", TC], "resolved")


def test_resolution_wins_over_agreement(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "2", users["ann"], [CV])
    annotate(imported, "2", users["bob"], [CV])
    resolve(imported, "2", users["rev"], [OD])
    assert label_of(by_id(export(imported))[2]) == ("resolved", [OD], "resolved")


def test_latest_resolution_wins(imported: SessionMaker, users: dict[str, int]) -> None:
    resolve(imported, "2", users["rev"], [OD])
    resolve(imported, "2", users["rev"], [CV])
    assert label_of(by_id(export(imported))[2]) == ("resolved", [CV], "resolved")


def test_latest_judgement_of_a_user_supersedes_the_earlier_one(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "ext-3", users["ann"], [TS])
    annotate(imported, "ext-3", users["ann"], [TS, "energy"])
    assert label_of(by_id(export(imported))["ext-3"]) == ("single", ["energy", TS], "single")


def test_changed_mind_turns_conflict_into_agreement(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    annotate(imported, "1", users["ann"], [NLP])
    assert label_of(by_id(export(imported))[1]) == ("agreed", [NLP], "agreed")


def test_skip_withdraws_the_only_label(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["ann"], [], skipped=True)
    assert label_of(by_id(export(imported))[1]) == ("unlabeled", [NLP, TC], "source")


def test_skip_withdraws_one_side_of_a_conflict(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    annotate(imported, "1", users["bob"], [], skipped=True)
    assert label_of(by_id(export(imported))[1]) == ("single", [TC], "single")


def test_label_after_a_skip_counts_again(imported: SessionMaker, users: dict[str, int]) -> None:
    annotate(imported, "1", users["ann"], [], skipped=True)
    annotate(imported, "1", users["ann"], [TC])
    assert label_of(by_id(export(imported))[1]) == ("single", [TC], "single")


def test_judgements_of_other_projects_do_not_leak(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    rows = by_id(export(imported))
    assert label_of(rows[2]) == ("unlabeled", [CV, OD], "source")
    assert label_of(rows["ext-3"]) == ("unlabeled", [TS], "source")


# --- rendering -------------------------------------------------------------------------------


def test_csv_export_parses_back_with_tags_joined_by_semicolon(imported: SessionMaker) -> None:
    text = io.render_export(export(imported), "csv")
    parsed = list(csv.DictReader(stdio.StringIO(text, newline="")))
    assert parsed == [
        {
            "id": "1",
            "title": "Tiny BERT sentiment",
            "description": "Classifies movie reviews as positive or negative.",
            "tags": f"{NLP};{TC}",
            "label_source": "source",
            "status": "unlabeled",
        },
        {
            "id": "2",
            "title": "Pallet detector",
            "description": "Finds pallets in warehouse camera frames.",
            "tags": f"{CV};{OD}",
            "label_source": "source",
            "status": "unlabeled",
        },
        {
            "id": "ext-3",
            "title": "Forecasting power demand",
            "description": "Predicts tomorrow's load per substation.",
            "tags": TS,
            "label_source": "source",
            "status": "unlabeled",
        },
    ]


def test_csv_export_quotes_newlines_commas_and_quotes() -> None:
    row = {
        "id": "x",
        "title": 'Say "hi", then',
        "description": "one\ntwo",
        "tags": ["a", "b"],
        "label_source": "single",
        "status": "single",
    }
    parsed = list(csv.DictReader(stdio.StringIO(io.render_export([row], "csv"), newline="")))
    assert parsed == [{**row, "tags": "a;b"}]


def test_json_export_is_a_list_of_rows(imported: SessionMaker) -> None:
    assert json.loads(io.render_export(export(imported), "json")) == FIXTURE_ROWS


def test_jsonl_export_has_one_row_per_line(imported: SessionMaker) -> None:
    text = io.render_export(export(imported), "jsonl")
    assert [json.loads(line) for line in text.splitlines()] == FIXTURE_ROWS
    assert text.count("\n") == 3


def test_unknown_export_format_is_an_error() -> None:
    with pytest.raises(ValueError) as caught:
        io.render_export([], "xml")
    assert str(caught.value) == "unknown export format 'xml'; use one of json, csv, jsonl"


def test_html_is_exported_verbatim(make_session: SessionMaker) -> None:
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    items = [{"id": "h", "title": title, "description": "**b** [l](javascript:alert(1))"}]
    import_items(make_session, json.dumps(items).encode(), "p.json")
    rows = export(make_session)
    assert (rows[0]["title"], rows[0]["description"]) == (title, items[0]["description"])
    assert json.loads(io.render_export(rows, "json"))[0]["title"] == title
    assert json.loads(io.render_export(rows, "jsonl"))["title"] == title
    assert "<script>alert(" in io.render_export(rows, "csv")


def test_numeric_ids_are_exported_as_integers_and_others_as_text(
    make_session: SessionMaker,
) -> None:
    items = [{"id": 12, "title": "a"}, {"id": "007", "title": "b"}, {"id": "0", "title": "c"}]
    import_items(make_session, json.dumps(items).encode(), "p.json")
    assert [row["id"] for row in export(make_session)] == [12, "007", "0"]


def test_non_ascii_digit_ids_are_exported_as_given(make_session: SessionMaker) -> None:
    # "²" and "١٢" pass str.isdigit() but are not ASCII numbers: int("²") raises and
    # int("١٢") == 12 would change the id.
    items = [{"id": "²", "title": "a"}, {"id": "١٢", "title": "b"}]
    import_items(make_session, json.dumps(items).encode(), "p.json")
    assert [row["id"] for row in export(make_session)] == ["²", "١٢"]


# --- taxonomy export -------------------------------------------------------------------------


def test_export_taxonomy_has_tags_aliases_and_parents(imported: SessionMaker) -> None:
    with imported() as session:
        taxonomy = io.export_taxonomy(session)
    assert taxonomy == {
        CV: {"aliases": ["cv"], "parents": []},
        NLP: {"aliases": ["nlp"], "parents": []},
        OD: {"aliases": [], "parents": [CV]},
        TC: {"aliases": ["sentiment-analysis"], "parents": [NLP]},
        TS: {"aliases": ["forecasting"], "parents": []},
    }


def test_exported_taxonomy_parses_back_to_the_same_taxonomy(imported: SessionMaker) -> None:
    with imported() as session:
        exported = io.export_taxonomy(session)
    parsed = io.parse_taxonomy(json.dumps(exported).encode(), "tags.json")
    assert parsed == fixture_taxonomy()


# --- round trips into a second database --------------------------------------------------------

TRICKY_ITEMS = [
    *json.loads((FIXTURES / "small_projects.json").read_text()),
    {
        "id": "q-4",
        "title": 'Quotes "and", commas; <b>html</b>',
        "description": "line one\nline two, with comma; and semicolon\n\tindented",
        "tags": ["nlp", "Sentiment Analysis"],
    },
    {"id": "007", "title": "Leading zeros", "description": "", "tags": []},
]


def round_trip(
    source: SessionMaker, target: SessionMaker, tmp_path: Path, file_format: str
) -> tuple[io.ImportReport, list[dict[str, Any]]]:
    """Export projects and taxonomy from source to files, import both into target."""
    with source() as session:
        rows = io.export_rows(session, trust_source_tags=True)
        taxonomy = io.export_taxonomy(session)
    projects_path = tmp_path / f"export.{file_format}"
    projects_path.write_text(io.render_export(rows, file_format), encoding="utf-8")
    taxonomy_path = tmp_path / "export-tags.json"
    taxonomy_path.write_text(json.dumps(taxonomy), encoding="utf-8")
    report = import_items(
        target,
        io.read_file_bytes(projects_path, 10_000_000),
        projects_path.name,
        io.parse_taxonomy(io.read_file_bytes(taxonomy_path, 10_000_000), taxonomy_path.name),
    )
    return report, rows


def catalogue(make_session: SessionMaker) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    with make_session() as session:
        rows = io.export_rows(session, trust_source_tags=True)
        taxonomy = io.export_taxonomy(session)
    projects = sorted(
        (str(row["id"]), row["title"], row["description"], tuple(row["tags"])) for row in rows
    )
    return projects, taxonomy


@pytest.mark.parametrize("file_format", ["json", "csv", "jsonl"])
def test_fixture_round_trips_to_the_same_projects_and_tags(
    imported: SessionMaker, second_session: SessionMaker, tmp_path: Path, file_format: str
) -> None:
    report, _ = round_trip(imported, second_session, tmp_path, file_format)
    assert (report.projects_added, report.unknown_tags, report.tags_mapped_from_aliases) == (
        3,
        {},
        {},
    )
    assert catalogue(second_session) == catalogue(imported)
    assert catalogue(second_session)[0] == [
        ("1", "Tiny BERT sentiment", FIXTURE_ROWS[0]["description"], (NLP, TC)),
        ("2", "Pallet detector", FIXTURE_ROWS[1]["description"], (CV, OD)),
        ("ext-3", "Forecasting power demand", FIXTURE_ROWS[2]["description"], (TS,)),
    ]


@pytest.mark.parametrize("file_format", ["json", "csv", "jsonl"])
def test_tricky_text_round_trips(
    make_session: SessionMaker, second_session: SessionMaker, tmp_path: Path, file_format: str
) -> None:
    import_items(make_session, json.dumps(TRICKY_ITEMS).encode(), "p.json", fixture_taxonomy())
    report, _ = round_trip(make_session, second_session, tmp_path, file_format)
    assert report.projects_added == 5
    assert catalogue(second_session) == catalogue(make_session)
    projects = {row[0]: row for row in catalogue(second_session)[0]}
    assert projects["q-4"] == (
        "q-4",
        'Quotes "and", commas; <b>html</b>',
        "line one\nline two, with comma; and semicolon\n\tindented",
        (NLP, TC),
    )
    assert projects["007"] == ("007", "Leading zeros", "", ())


@pytest.mark.parametrize("file_format", ["json", "csv", "jsonl"])
def test_reimporting_an_export_into_its_own_database_changes_nothing(
    imported: SessionMaker, tmp_path: Path, file_format: str
) -> None:
    before = catalogue(imported)
    report, _ = round_trip(imported, imported, tmp_path, file_format)
    assert (report.projects_added, report.projects_unchanged, report.changed_existing) == (
        0,
        3,
        [],
    )
    assert catalogue(imported) == before


def test_jsonl_round_trip_keeps_unicode_line_separators(
    make_session: SessionMaker, second_session: SessionMaker, tmp_path: Path
) -> None:
    items = [{"id": 1, "title": "a", "description": "para one\u2028para two\u2029end\x85."}]
    import_items(make_session, json.dumps(items).encode(), "p.json")
    round_trip(make_session, second_session, tmp_path, "jsonl")
    assert catalogue(second_session) == catalogue(make_session)


def test_round_trip_of_annotated_labels_carries_the_effective_label(
    imported: SessionMaker,
    users: dict[str, int],
    second_session: SessionMaker,
    tmp_path: Path,
) -> None:
    annotate(imported, "2", users["ann"], [OD])
    round_trip(imported, second_session, tmp_path, "json")
    rows = by_id(export(second_session))
    assert label_of(rows[2]) == ("unlabeled", [OD], "source")


# --- label_state -----------------------------------------------------------------------------

A = frozenset({"a"})
B = frozenset({"b"})
AB = frozenset({"a", "b"})
SOURCE = frozenset({"s2", "s1"})
NONE: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("judgements", "resolution", "trust", "expected"),
    [
        pytest.param({}, None, True, LabelState("unlabeled", ("s1", "s2"), "source"), id="none"),
        pytest.param({}, None, False, LabelState("unlabeled", (), "none"), id="none-untrusted"),
        pytest.param({1: AB}, None, True, LabelState("single", ("a", "b"), "single"), id="single"),
        pytest.param({1: NONE}, None, True, LabelState("single", (), "single"), id="single-empty"),
        pytest.param({1: A, 2: A}, None, True, LabelState("agreed", ("a",), "agreed"), id="agreed"),
        pytest.param(
            {1: A, 2: A, 3: A}, None, False, LabelState("agreed", ("a",), "agreed"), id="agreed-3"
        ),
        pytest.param(
            {1: A, 2: B}, None, True, LabelState("conflict", ("s1", "s2"), "source"), id="conflict"
        ),
        pytest.param(
            {1: A, 2: B}, None, False, LabelState("conflict", (), "none"), id="conflict-untrusted"
        ),
        pytest.param(
            {1: A, 2: A, 3: AB},
            None,
            True,
            LabelState("conflict", ("s1", "s2"), "source"),
            id="two-agree-one-differs",
        ),
        pytest.param(
            {1: A, 2: B}, AB, True, LabelState("resolved", ("a", "b"), "resolved"), id="resolved"
        ),
        pytest.param(
            {1: A, 2: A}, B, True, LabelState("resolved", ("b",), "resolved"), id="resolved-agreed"
        ),
        pytest.param({}, NONE, True, LabelState("resolved", (), "resolved"), id="resolved-empty"),
    ],
)
def test_label_state(
    judgements: dict[int, frozenset[str]],
    resolution: frozenset[str] | None,
    trust: bool,
    expected: LabelState,
) -> None:
    assert label_state(judgements, resolution, SOURCE, trust) == expected


def test_label_state_tags_are_sorted() -> None:
    state = label_state({1: frozenset({"zeta", "alpha", "mu"})}, None, NONE, True)
    assert state.tags == ("alpha", "mu", "zeta")


def test_label_state_unlabeled_without_source_tags() -> None:
    assert label_state({}, None, NONE, True) == LabelState("unlabeled", (), "source")


def test_late_disagreement_reopens_but_the_resolution_stays_the_label(
    imported: SessionMaker, users: dict[str, int]
) -> None:
    annotate(imported, "1", users["ann"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    resolve(imported, "1", users["rev"], [TC])
    annotate(imported, "1", users["bob"], [NLP])
    assert label_of(by_id(export(imported))[1]) == ("reopened", [TC], "resolved")
    assert [row["id"] for row in export(imported, status="reopened")] == [1]
    assert export(imported, status="resolved") == []
    resolve(imported, "1", users["rev"], [NLP, TC])
    assert [label_of(row) for row in export(imported, status="resolved")] == [
        ("resolved", [NLP, TC], "resolved")
    ]


def test_unknown_status_filter_is_refused(imported: SessionMaker) -> None:
    with pytest.raises(ValueError) as error:
        export(imported, status="disputed")
    assert str(error.value) == (
        "unknown status 'disputed'; choose one of: "
        "unlabeled, single, agreed, conflict, resolved, reopened"
    )
