"""The demo corpus shipped in data/demo: big and varied enough to show active learning, with
known label noise whose record matches the catalogue."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from labeling import io

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def load(name: str) -> Any:
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def projects() -> list[dict[str, Any]]:
    return load("projects.json")


@pytest.fixture(scope="module")
def taxonomy() -> dict[str, dict[str, list[str]]]:
    return load("taxonomy.json")


@pytest.fixture(scope="module")
def noise() -> list[dict[str, Any]]:
    return load("noise.json")


@pytest.fixture(scope="module")
def by_id(projects: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {project["id"]: project for project in projects}


# --- projects.json ---------------------------------------------------------------------------


def test_at_least_300_projects(projects: list[dict[str, Any]]) -> None:
    assert len(projects) >= 300


def test_project_ids_are_unique(projects: list[dict[str, Any]]) -> None:
    ids = [project["id"] for project in projects]
    assert len(set(ids)) == len(ids)


def test_project_titles_are_unique(projects: list[dict[str, Any]]) -> None:
    titles = [project["title"].strip().lower() for project in projects]
    assert [title for title, n in Counter(titles).items() if n > 1] == []


def test_every_project_has_a_title_and_a_description(projects: list[dict[str, Any]]) -> None:
    empty = [
        project["id"]
        for project in projects
        if not project["title"].strip() or not project["description"].strip()
    ]
    assert empty == []


def test_projects_parse_as_a_valid_catalogue(projects: list[dict[str, Any]]) -> None:
    parsed = io.parse_projects((DEMO / "projects.json").read_bytes(), "projects.json", "json")
    assert [p.external_id for p in parsed] == [str(project["id"]) for project in projects]


def test_projects_use_canonical_taxonomy_tags(
    projects: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    unknown = {tag for project in projects for tag in project["tags"]} - set(taxonomy)
    assert unknown == set()


def test_no_project_repeats_a_tag(projects: list[dict[str, Any]]) -> None:
    assert [p["id"] for p in projects if len(set(p["tags"])) != len(p["tags"])] == []


def test_several_tags_per_project_on_average(projects: list[dict[str, Any]]) -> None:
    assert sum(len(project["tags"]) for project in projects) / len(projects) >= 2


def test_every_project_has_a_tag(projects: list[dict[str, Any]]) -> None:
    assert [project["id"] for project in projects if not project["tags"]] == []


# --- taxonomy.json ---------------------------------------------------------------------------


def test_at_least_25_tags(taxonomy: dict[str, Any]) -> None:
    assert len(taxonomy) >= 25


def test_taxonomy_has_aliases_and_parents(taxonomy: dict[str, Any]) -> None:
    with_aliases = [name for name, entry in taxonomy.items() if entry.get("aliases")]
    with_parents = [name for name, entry in taxonomy.items() if entry.get("parents")]
    assert len(with_aliases) >= len(taxonomy) // 2
    assert len(with_parents) >= 5


def test_taxonomy_parses_with_the_importer(taxonomy: dict[str, Any]) -> None:
    parsed = io.parse_taxonomy((DEMO / "taxonomy.json").read_bytes(), "taxonomy.json")
    assert list(parsed) == list(taxonomy)
    for name, entry in taxonomy.items():
        assert parsed[name] == io.TaxonomyEntry(
            aliases=tuple(entry["aliases"]), parents=tuple(entry["parents"])
        )


def test_every_tag_is_on_at_least_15_projects(
    projects: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    counts = Counter(tag for project in projects for tag in project["tags"])
    rare = {name: counts[name] for name in taxonomy if counts[name] < 15}
    assert rare == {}


# --- noise.json ------------------------------------------------------------------------------


def test_about_ten_percent_of_projects_are_noisy(
    projects: list[dict[str, Any]], noise: list[dict[str, Any]]
) -> None:
    assert 0.08 <= len(noise) / len(projects) <= 0.15


def test_noise_names_each_project_once(noise: list[dict[str, Any]]) -> None:
    ids = [entry["id"] for entry in noise]
    assert len(set(ids)) == len(ids)


def test_noise_refers_to_demo_projects(
    noise: list[dict[str, Any]], by_id: dict[Any, dict[str, Any]]
) -> None:
    assert [entry["id"] for entry in noise if entry["id"] not in by_id] == []


def test_noise_source_tags_are_the_catalogue_tags(
    noise: list[dict[str, Any]], by_id: dict[Any, dict[str, Any]]
) -> None:
    mismatched = [
        entry["id"] for entry in noise if entry["source_tags"] != by_id[entry["id"]]["tags"]
    ]
    assert mismatched == []


def test_true_tags_differ_from_source_tags_by_missing_and_wrong(
    noise: list[dict[str, Any]],
) -> None:
    for entry in noise:
        source, true = set(entry["source_tags"]), set(entry["true_tags"])
        assert (sorted(true - source), sorted(source - true)) == (
            sorted(entry["missing"]),
            sorted(entry["wrong"]),
        ), entry["id"]


def test_every_noise_entry_changes_something(noise: list[dict[str, Any]]) -> None:
    assert [entry["id"] for entry in noise if not entry["missing"] and not entry["wrong"]] == []


def test_noise_kind_names_what_changed(noise: list[dict[str, Any]]) -> None:
    for entry in noise:
        expected = "+".join(part for part in ("missing", "wrong") if entry[part])
        assert entry["kind"] == expected, entry["id"]


def test_noise_tags_are_taxonomy_tags(
    noise: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    used = {tag for entry in noise for tag in entry["true_tags"] + entry["missing"]}
    assert used - set(taxonomy) == set()
