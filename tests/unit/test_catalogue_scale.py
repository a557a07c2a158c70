"""A Made With ML-sized catalogue: about 2,000 projects with a 400-tag taxonomy imports with
unknown tags ignored and exports back with the same projects."""

from __future__ import annotations

import json

from db.session import SessionFactory
from labeling import io
from labeling.synthetic import demo_taxonomy, synthetic_catalogue


def _taxonomy_of_400_tags() -> dict[str, dict[str, list[str]]]:
    taxonomy = demo_taxonomy()
    for number in range(400 - len(taxonomy)):
        taxonomy[f"topic-{number}"] = {
            "aliases": [f"topic-alias-{number}"],
            "parents": ["computer-vision"] if number % 7 == 0 else [],
        }
    return taxonomy


def test_two_thousand_projects_with_400_tags_round_trip(make_session: SessionFactory) -> None:
    catalogue = synthetic_catalogue(2_000, seed=3)
    for number, project in enumerate(catalogue):
        if number % 10 == 0:
            project["tags"] = [*project["tags"], f"not-in-taxonomy-{number // 10 % 30}"]
    projects = io.parse_projects(json.dumps(catalogue).encode(), "catalogue.json")
    taxonomy = io.parse_taxonomy(json.dumps(_taxonomy_of_400_tags()).encode(), "tags.json")
    assert len(taxonomy) == 400
    with make_session.begin() as session:
        report = io.import_catalogue(
            session, projects, "catalogue.json", "json", unknown_tags="ignore", taxonomy=taxonomy
        )
    assert report.projects_added == 2_000
    assert report.taxonomy_tags_added == 400
    assert len(report.unknown_tags) == 30
    assert sum(report.unknown_tags.values()) == 200
    with make_session() as session:
        rows = io.export_rows(session, trust_source_tags=True)
    assert len(rows) == 2_000
    expected = {
        p["id"]: sorted(t for t in p["tags"] if not t.startswith("not-in")) for p in catalogue
    }
    assert {row["id"]: row["tags"] for row in rows} == expected
    assert {row["label_source"] for row in rows} == {"source"}
