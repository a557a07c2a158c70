"""Writing catalogues and taxonomies to the database: import_catalogue and apply_taxonomy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import AuditEvent, ImportBatch, Project, SourceTag, Tag, TagAlias, TagParent
from db.session import SessionFactory
from labeling import io
from labeling.io import ImportReport, InputError, import_catalogue, parse_projects, split_for

FIXTURES = Path(__file__).parents[1] / "fixtures"
CATALOGUE_TABLES = ("projects", "tags", "source_tags", "tag_aliases", "tag_parents")
ALL_TABLES = (*CATALOGUE_TABLES, "import_batches", "audit_events")

SessionMaker = SessionFactory


def snapshot(make_session: SessionMaker, tables: tuple[str, ...] = ALL_TABLES) -> dict:
    """Every row of the given tables, in a stable order, for before/after comparisons."""
    with make_session() as session:
        return {
            table: sorted(
                (tuple(row) for row in session.execute(text(f"SELECT * FROM {table}"))), key=repr
            )
            for table in tables
        }


def fixture_projects() -> list[io.RawProject]:
    path = FIXTURES / "small_projects.json"
    return parse_projects(path.read_bytes(), path.name)


def fixture_taxonomy() -> dict[str, io.TaxonomyEntry]:
    path = FIXTURES / "small_taxonomy.json"
    return io.parse_taxonomy(path.read_bytes(), path.name)


def projects_from(items: list[dict[str, Any]], filename: str = "p.json") -> list[io.RawProject]:
    return parse_projects(json.dumps(items).encode(), filename)


def run_import(
    make_session: SessionMaker,
    projects: list[io.RawProject],
    filename: str = "p.json",
    **kwargs: Any,
) -> ImportReport:
    with make_session.begin() as session:
        return import_catalogue(session, projects, filename, "json", **kwargs)


def import_fixture(make_session: SessionMaker, **kwargs: Any) -> ImportReport:
    return run_import(
        make_session,
        fixture_projects(),
        "small_projects.json",
        taxonomy=fixture_taxonomy(),
        **kwargs,
    )


def stored_projects(make_session: SessionMaker) -> dict[str, tuple[str, str, str]]:
    with make_session() as session:
        rows = session.execute(
            select(Project.external_id, Project.title, Project.description, Project.split)
        )
        return {external_id: (title, desc, split) for external_id, title, desc, split in rows}


def stored_source_tags(make_session: SessionMaker) -> dict[str, list[str]]:
    with make_session() as session:
        result: dict[str, list[str]] = {
            external_id: [] for external_id in session.scalars(select(Project.external_id))
        }
        rows = session.execute(
            select(Project.external_id, Tag.name)
            .join(SourceTag, SourceTag.project_id == Project.id)
            .join(Tag, Tag.id == SourceTag.tag_id)
        )
        for external_id, name in rows:
            result[external_id].append(name)
        return {key: sorted(value) for key, value in result.items()}


def stored_tag_names(make_session: SessionMaker) -> list[str]:
    with make_session() as session:
        return sorted(session.scalars(select(Tag.name)))


def stored_aliases(make_session: SessionMaker) -> dict[str, str]:
    with make_session() as session:
        rows = session.execute(
            select(TagAlias.alias, Tag.name).join(Tag, Tag.id == TagAlias.tag_id)
        )
        return {alias: name for alias, name in rows}


def stored_parent_links(make_session: SessionMaker) -> list[tuple[str, str]]:
    with make_session() as session:
        child = Tag.__table__.alias("child")
        parent = Tag.__table__.alias("parent")
        rows = session.execute(
            select(child.c.name, parent.c.name)
            .select_from(TagParent)
            .join(child, child.c.id == TagParent.tag_id)
            .join(parent, parent.c.id == TagParent.parent_id)
        )
        return sorted((name, parent_name) for name, parent_name in rows)


def apply(make_session: SessionMaker, taxonomy: dict[str, Any], filename: str = "tags.json") -> int:
    parsed = io.parse_taxonomy(json.dumps(taxonomy).encode(), filename)
    with make_session.begin() as session:
        return io.apply_taxonomy(session, parsed, filename)


# --- a first import --------------------------------------------------------------------------


def test_first_import_report_counts(make_session: SessionMaker) -> None:
    report = import_fixture(make_session)
    assert (report.rows_read, report.projects_added, report.projects_updated) == (3, 3, 0)
    assert (report.projects_unchanged, report.projects_skipped) == (0, 0)
    assert report.taxonomy_tags_added == 5
    assert report.tags_created == []
    assert report.unknown_tags == {}
    assert report.changed_existing == []
    assert report.tags_mapped_from_aliases == {
        "nlp": "natural-language-processing",
        "forecasting": "time-series",
    }


def test_first_import_stores_projects_verbatim(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    projects = stored_projects(make_session)
    assert {key: value[:2] for key, value in projects.items()} == {
        "1": ("Tiny BERT sentiment", "Classifies movie reviews as positive or negative."),
        "2": ("Pallet detector", "Finds pallets in warehouse camera frames."),
        "ext-3": ("Forecasting power demand", "Predicts tomorrow's load per substation."),
    }


def test_source_tags_are_stored_by_canonical_name(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    assert stored_source_tags(make_session) == {
        "1": ["natural-language-processing", "text-classification"],
        "2": ["computer-vision", "object-detection"],
        "ext-3": ["time-series"],
    }


def test_taxonomy_tags_aliases_and_parents_are_stored(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    assert stored_tag_names(make_session) == [
        "computer-vision",
        "natural-language-processing",
        "object-detection",
        "text-classification",
        "time-series",
    ]
    assert stored_aliases(make_session) == {
        "nlp": "natural-language-processing",
        "sentiment-analysis": "text-classification",
        "cv": "computer-vision",
        "forecasting": "time-series",
    }
    assert stored_parent_links(make_session) == [
        ("object-detection", "computer-vision"),
        ("text-classification", "natural-language-processing"),
    ]


def test_split_is_the_stable_hash_of_the_external_id(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    splits = {key: value[2] for key, value in stored_projects(make_session).items()}
    assert splits == {key: split_for(key) for key in ("1", "2", "ext-3")}
    assert set(splits.values()) <= {"train", "eval"}


def test_split_for_is_deterministic_and_about_a_fifth_eval() -> None:
    splits = [split_for(f"project-{i}") for i in range(2_000)]
    assert splits == [split_for(f"project-{i}") for i in range(2_000)]
    assert set(splits) == {"train", "eval"}
    assert 300 <= splits.count("eval") <= 500


def test_split_does_not_depend_on_import_order(make_session: SessionMaker) -> None:
    items = [{"id": f"p{i}", "title": f"t{i}"} for i in range(30)]
    run_import(make_session, projects_from(items[15:]))
    run_import(make_session, projects_from(items[:15]))
    splits = {key: value[2] for key, value in stored_projects(make_session).items()}
    assert splits == {f"p{i}": split_for(f"p{i}") for i in range(30)}


def test_import_without_tags_needs_no_taxonomy(make_session: SessionMaker) -> None:
    report = run_import(make_session, projects_from([{"id": 1, "title": "a"}]))
    assert report.projects_added == 1
    assert stored_source_tags(make_session) == {"1": []}


def test_batch_is_recorded_with_its_report(make_session: SessionMaker) -> None:
    report = import_fixture(make_session)
    with make_session() as session:
        batch = session.scalars(select(ImportBatch)).one()
        imported_in = set(session.scalars(select(Project.imported_in_id)))
    assert report.batch_id == batch.id
    assert (batch.filename, batch.file_format) == ("small_projects.json", "json")
    assert batch.report["projects_added"] == 3
    assert imported_in == {batch.id}


def test_import_writes_an_audit_event_with_the_counts(make_session: SessionMaker) -> None:
    report = import_fixture(make_session)
    with make_session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert len(events) == 1
    assert events[0].actor == "system"
    assert events[0].user_id is None
    assert events[0].details == {
        "filename": "small_projects.json",
        "batch_id": report.batch_id,
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
    }


def test_audit_event_names_the_importing_user(make_session: SessionMaker) -> None:
    from db.models import User

    with make_session.begin() as session:
        user = User(username="ada", password_hash="x", role="admin")
        session.add(user)
        session.flush()
        import_catalogue(
            session, projects_from([{"id": 1, "title": "a"}]), "p.json", "json", actor=user
        )
        user_id = user.id
    with make_session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        batch = session.scalars(select(ImportBatch)).one()
    assert (event.actor, event.user_id, batch.created_by_id) == ("ada", user_id, user_id)


def test_html_and_script_are_stored_verbatim(make_session: SessionMaker) -> None:
    title = '<script>alert("x")</script> <img src=x onerror=alert(1)>'
    description = "**bold** [link](javascript:alert(1)) &amp; <b>b</b>"
    run_import(make_session, projects_from([{"id": 1, "title": title, "description": description}]))
    assert stored_projects(make_session)["1"][:2] == (title, description)


# --- re-import -------------------------------------------------------------------------------


def test_reimport_of_the_same_file_changes_nothing(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    before = snapshot(make_session, CATALOGUE_TABLES)
    report = import_fixture(make_session)
    assert snapshot(make_session, CATALOGUE_TABLES) == before
    assert (report.projects_added, report.projects_updated, report.projects_skipped) == (0, 0, 0)
    assert report.projects_unchanged == 3
    assert report.changed_existing == []
    assert report.taxonomy_tags_added == 0


def test_reimport_with_created_tags_changes_nothing(make_session: SessionMaker) -> None:
    projects = projects_from([{"id": 1, "title": "a", "tags": ["new-tag"]}])
    run_import(make_session, projects, unknown_tags="create")
    before = snapshot(make_session, CATALOGUE_TABLES)
    report = run_import(make_session, projects, unknown_tags="create")
    assert snapshot(make_session, CATALOGUE_TABLES) == before
    assert (report.projects_unchanged, report.tags_created, report.unknown_tags) == (1, [], {})


def test_reimport_using_aliases_instead_of_canonical_names_is_unchanged(
    make_session: SessionMaker,
) -> None:
    import_fixture(make_session)
    before = snapshot(make_session, CATALOGUE_TABLES)
    items = json.loads((FIXTURES / "small_projects.json").read_text())
    items[1]["tags"] = ["object-detection", "CV"]
    report = run_import(make_session, projects_from(items))
    assert snapshot(make_session, CATALOGUE_TABLES) == before
    assert report.projects_unchanged == 3


def test_changed_project_is_skipped_by_default(make_session: SessionMaker) -> None:
    run_import(make_session, projects_from([{"id": 1, "title": "old", "description": "d"}]))
    before = snapshot(make_session, CATALOGUE_TABLES)
    report = run_import(
        make_session, projects_from([{"id": 1, "title": "new", "description": "d"}])
    )
    assert snapshot(make_session, CATALOGUE_TABLES) == before
    assert report.changed_existing == ["1"]
    assert (report.projects_skipped, report.projects_updated, report.projects_unchanged) == (
        1,
        0,
        0,
    )


def test_changed_project_with_update_is_updated(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    changed = [
        {"id": 1, "title": "Tiny BERT v2", "description": "New text.", "tags": ["nlp"]},
        {
            "id": 2,
            "title": "Pallet detector",
            "description": "Finds pallets in warehouse camera frames.",
            "tags": ["object-detection", "computer-vision"],
        },
    ]
    report = run_import(make_session, projects_from(changed), on_existing="update")
    assert report.changed_existing == ["1"]
    assert (report.projects_updated, report.projects_unchanged, report.projects_skipped) == (
        1,
        1,
        0,
    )
    assert stored_projects(make_session)["1"][:2] == ("Tiny BERT v2", "New text.")
    assert stored_source_tags(make_session)["1"] == ["natural-language-processing"]


def test_update_keeps_the_split_and_the_row(make_session: SessionMaker) -> None:
    run_import(make_session, projects_from([{"id": "p", "title": "old"}]))
    with make_session() as session:
        before = session.execute(select(Project.id, Project.split)).one()
    run_import(make_session, projects_from([{"id": "p", "title": "new"}]), on_existing="update")
    with make_session() as session:
        after = session.execute(select(Project.id, Project.split, Project.title)).one()
    assert tuple(after) == (*before, "new")


def test_only_tags_changed_is_reported_as_changed(make_session: SessionMaker) -> None:
    import_fixture(make_session)
    items = json.loads((FIXTURES / "small_projects.json").read_text())
    items[2]["tags"] = []
    report = run_import(make_session, projects_from(items), on_existing="update")
    assert report.changed_existing == ["ext-3"]
    assert stored_source_tags(make_session)["ext-3"] == []


def test_new_and_existing_projects_in_one_file(make_session: SessionMaker) -> None:
    run_import(make_session, projects_from([{"id": 1, "title": "a"}]))
    report = run_import(
        make_session, projects_from([{"id": 1, "title": "a"}, {"id": 2, "title": "b"}])
    )
    assert (report.projects_added, report.projects_unchanged) == (1, 1)
    assert sorted(stored_projects(make_session)) == ["1", "2"]


def test_rejected_rows_are_carried_into_the_report(make_session: SessionMaker) -> None:
    rejected: list[io.RejectedRow] = []
    data = json.dumps([{"id": 1, "title": "a"}, {"id": 2}]).encode()
    projects = parse_projects(data, "p.json", rejected=rejected)
    report = run_import(make_session, projects, rejected=rejected)
    assert report.rows_read == 2
    assert report.projects_added == 1
    assert report.rows_rejected == [io.RejectedRow("item 1", "missing title")]


# --- unknown tags ----------------------------------------------------------------------------

UNKNOWN_ITEMS = [
    {"id": 1, "title": "a", "tags": ["nlp", "Graph Neural Networks", "rl"]},
    {"id": 2, "title": "b", "tags": ["graph-neural-networks", "cv"]},
    {"id": 3, "title": "c", "tags": ["graph neural networks", "rl"]},
]


def seed_taxonomy(make_session: SessionMaker) -> None:
    apply(make_session, json.loads((FIXTURES / "small_taxonomy.json").read_text()))


def test_unknown_tags_rejected_by_default_with_tags_and_counts(
    make_session: SessionMaker,
) -> None:
    seed_taxonomy(make_session)
    with pytest.raises(InputError) as caught:
        run_import(make_session, projects_from(UNKNOWN_ITEMS))
    assert str(caught.value) == (
        "p.json: 2 unknown tags: graph-neural-networks (3), rl (2); import a taxonomy that has "
        "them, or use --unknown-tags create or ignore"
    )


def test_rejected_unknown_tags_leave_the_database_exactly_as_before(
    make_session: SessionMaker,
) -> None:
    seed_taxonomy(make_session)
    run_import(make_session, projects_from([{"id": 9, "title": "kept", "tags": ["nlp"]}]))
    before = snapshot(make_session)
    items = [*UNKNOWN_ITEMS, {"id": 9, "title": "changed", "tags": ["nlp"]}]
    with pytest.raises(InputError):
        run_import(make_session, projects_from(items), on_existing="update")
    assert snapshot(make_session) == before


def test_rejected_unknown_tags_with_taxonomy_leave_no_taxonomy(make_session: SessionMaker) -> None:
    before = snapshot(make_session)
    with pytest.raises(InputError):
        run_import(make_session, projects_from(UNKNOWN_ITEMS), taxonomy=fixture_taxonomy())
    assert snapshot(make_session) == before


def test_unknown_tags_create_creates_them(make_session: SessionMaker) -> None:
    seed_taxonomy(make_session)
    report = run_import(make_session, projects_from(UNKNOWN_ITEMS), unknown_tags="create")
    assert report.tags_created == ["graph-neural-networks", "rl"]
    assert report.unknown_tags == {"graph-neural-networks": 3, "rl": 2}
    assert report.unknown_tag_policy == "create"
    assert "graph-neural-networks" in stored_tag_names(make_session)
    assert stored_source_tags(make_session) == {
        "1": ["graph-neural-networks", "natural-language-processing", "rl"],
        "2": ["computer-vision", "graph-neural-networks"],
        "3": ["graph-neural-networks", "rl"],
    }


def test_unknown_tags_ignore_drops_them(make_session: SessionMaker) -> None:
    seed_taxonomy(make_session)
    tags_before = stored_tag_names(make_session)
    report = run_import(make_session, projects_from(UNKNOWN_ITEMS), unknown_tags="ignore")
    assert report.tags_created == []
    assert report.unknown_tags == {"graph-neural-networks": 3, "rl": 2}
    assert report.projects_added == 3
    assert stored_tag_names(make_session) == tags_before
    assert stored_source_tags(make_session) == {
        "1": ["natural-language-processing"],
        "2": ["computer-vision"],
        "3": [],
    }


def test_summary_lines_list_unknown_tags_and_aliases(make_session: SessionMaker) -> None:
    seed_taxonomy(make_session)
    report = run_import(make_session, projects_from(UNKNOWN_ITEMS), unknown_tags="ignore")
    lines = report.summary_lines()
    assert lines[3:] == [
        "  unknown tags (ignore), by projects: 2",
        "    graph-neural-networks (3)",
        "    rl (2)",
        "  aliases mapped to their tag: 2",
        "    cv -> computer-vision",
        "    nlp -> natural-language-processing",
    ]


# --- one transaction -------------------------------------------------------------------------


def test_failure_after_projects_are_written_rolls_everything_back(
    make_session: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(make_session, projects_from([{"id": "old", "title": "kept"}]))
    before = snapshot(make_session)

    projects_seen_at_failure: list[int] = []

    def broken_record(session: Session, *args: Any, **kwargs: Any) -> None:
        projects_seen_at_failure.append(len(session.scalars(select(Project.id)).all()))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(io.audit, "record", broken_record)
    with pytest.raises(RuntimeError, match="disk on fire"), make_session.begin() as session:
        import_catalogue(
            session,
            fixture_projects(),
            "small_projects.json",
            "json",
            taxonomy=fixture_taxonomy(),
        )
    assert projects_seen_at_failure == [4]  # the failure came after the projects were written
    assert snapshot(make_session) == before


def test_failure_during_update_rolls_back_earlier_updates(
    make_session: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(make_session, projects_from([{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]))
    before = snapshot(make_session)
    monkeypatch.setattr(io.audit, "record", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_import(
            make_session,
            projects_from(
                [{"id": 1, "title": "a2"}, {"id": 2, "title": "b2"}, {"id": 3, "title": "c"}]
            ),
            on_existing="update",
        )
    assert snapshot(make_session) == before


# --- taxonomy against stored tags ------------------------------------------------------------


def test_apply_taxonomy_returns_new_tag_count_and_is_idempotent(
    make_session: SessionMaker,
) -> None:
    taxonomy = json.loads((FIXTURES / "small_taxonomy.json").read_text())
    assert apply(make_session, taxonomy) == 5
    before = snapshot(make_session, CATALOGUE_TABLES)
    assert apply(make_session, taxonomy) == 0
    assert snapshot(make_session, CATALOGUE_TABLES) == before


def test_apply_taxonomy_adds_to_stored_links(make_session: SessionMaker) -> None:
    apply(make_session, {"a": {}, "b": {"parents": ["a"]}})
    assert apply(make_session, {"b": {}, "c": {"aliases": ["see"], "parents": ["b"]}}) == 1
    assert stored_parent_links(make_session) == [("b", "a"), ("c", "b")]
    assert stored_aliases(make_session) == {"see": "c"}


def test_taxonomy_cycle_with_stored_links_is_rejected(make_session: SessionMaker) -> None:
    apply(make_session, {"a": {}, "b": {"parents": ["a"]}, "c": {"parents": ["b"]}})
    before = snapshot(make_session)
    with pytest.raises(InputError) as caught:
        apply(make_session, {"a": {"parents": ["c"]}, "c": {}, "d": {}})
    assert str(caught.value) == (
        "tags.json: parents would form a cycle with stored tags: a -> c -> b -> a"
    )
    assert snapshot(make_session) == before


def test_taxonomy_alias_already_owned_by_a_stored_tag_is_rejected(
    make_session: SessionMaker,
) -> None:
    apply(make_session, {"a": {"aliases": ["x"]}})
    before = snapshot(make_session)
    with pytest.raises(InputError) as caught:
        apply(make_session, {"b": {"aliases": ["x"]}})
    assert str(caught.value) == "tags.json: tag 'b': alias 'x' already belongs to 'a'"
    assert snapshot(make_session) == before


def test_taxonomy_tag_that_is_a_stored_alias_is_rejected(make_session: SessionMaker) -> None:
    apply(make_session, {"a": {"aliases": ["x"]}})
    with pytest.raises(InputError) as caught:
        apply(make_session, {"x": {}})
    assert str(caught.value) == "tags.json: tag 'x': tag name is already an alias of 'a'"


def test_taxonomy_alias_that_is_a_stored_tag_is_rejected(make_session: SessionMaker) -> None:
    apply(make_session, {"a": {}, "b": {}})
    with pytest.raises(InputError) as caught:
        apply(make_session, {"a": {"aliases": ["b"]}})
    assert str(caught.value) == "tags.json: tag 'a': alias 'b' is already a tag"


def test_import_with_cyclic_taxonomy_leaves_database_unchanged(
    make_session: SessionMaker,
) -> None:
    apply(make_session, {"a": {}, "b": {"parents": ["a"]}})
    before = snapshot(make_session)
    taxonomy = io.parse_taxonomy(b'{"a": {"parents": ["b"]}, "b": {}}', "tags.json")
    with pytest.raises(
        InputError, match=r"parents would form a cycle with stored tags: a -> b -> a"
    ):
        run_import(make_session, projects_from([{"id": 1, "title": "x"}]), taxonomy=taxonomy)
    assert snapshot(make_session) == before
