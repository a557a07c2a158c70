"""Merge suggestions on a hand-built catalogue: each kind of evidence, the guards against
false merges, and identifier grouping."""

from __future__ import annotations

import json

import pytest

from db.session import SessionFactory
from labeling import io
from labeling.tag_suggestions import identifier_tags, is_identifier, merge_suggestions, normal_form

TAXONOMY = {
    "yolov4": {},
    "yolov3": {},
    "pytorch": {},
    "nsfw": {},
    "benchmark": {},
    "image-augmentation": {},
    "image-segmentation": {},
    "natural-language-processing": {"aliases": ["nlp"]},
}


def project(number: int, *tags: str) -> dict[str, object]:
    return {"id": number, "title": f"p{number}", "tags": list(tags)}


PROJECTS = [
    *[project(n, "yolov4") for n in range(1, 6)],
    *[project(n, "yolov3", "pytorch") for n in range(6, 10)],
    project(10, "nsfw", "benchmark", "image-segmentation"),
    project(11, "nsfw", "image-segmentation"),
    project(12, "image-augmentation"),
    project(20, "yolo-v4"),
    project(21, "yolo-v4", "pytroch"),
    project(22, "nsfw-detection", "benchmarks"),
    project(23, "nlps", "arxiv:2005.10872", "cvpr2020"),
    project(24, "pytorch-lightning", "pytorch"),
    project(25, "pytorch-lightning", "pytorch"),
]


@pytest.fixture
def session_factory(make_session: SessionFactory) -> SessionFactory:
    projects = io.parse_projects(json.dumps(PROJECTS).encode(), "p.json")
    taxonomy = io.parse_taxonomy(json.dumps(TAXONOMY).encode(), "t.json")
    with make_session.begin() as session:
        io.import_catalogue(
            session, projects, "p.json", "json", unknown_tags="candidate", taxonomy=taxonomy
        )
    return make_session


def test_normal_form_and_identifiers_by_hand() -> None:
    assert normal_form("YOLO-v4") == normal_form("yolov4") == "yolov4"
    assert normal_form("benchmarks") == "benchmark" and normal_form("class") == "class"
    assert normal_form("#marketing#campaign") == "marketingcampaign"
    assert [is_identifier(n) for n in ("arxiv:2005.10872", "cvpr2020", "neurips-2021")] == [
        True,
        True,
        True,
    ]
    assert not is_identifier("yolov4") and not is_identifier("gpt-3")


def test_suggestions_with_their_evidence(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        found = {s.source: s for s in merge_suggestions(session)}
        identifiers = identifier_tags(session)
    assert {source: s.target for source, s in found.items()} == {
        "yolo-v4": "yolov4",
        "benchmarks": "benchmark",
        "nlps": "natural-language-processing",
        "pytroch": "pytorch",
        "nsfw-detection": "nsfw",
    }
    assert found["yolo-v4"].evidence == (
        "same normalised form as yolov4",
        "never on the same project as yolov4",
    )
    assert found["nlps"].evidence[0] == "same normalised form as nlp"
    assert found["pytroch"].evidence[0] == "1 edit from pytorch"
    assert found["nsfw-detection"].evidence[0] == "nsfw plus one word"
    assert (found["yolo-v4"].score, found["yolo-v4"].source_projects) == (1.0, 2)
    assert identifiers == [("arxiv:2005.10872", 1), ("cvpr2020", 1)]


def test_guards_against_false_merges(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        sources = {s.source for s in merge_suggestions(session)}
    # yolov3 differs from yolov4 in its digits; image-augmentation is rare but defined on
    # purpose and only two edits from image-segmentation; pytorch-lightning always comes with
    # pytorch, so it is something else.
    assert not sources & {"yolov3", "image-augmentation", "pytorch-lightning", "cvpr2020"}
