"""The parents a taxonomy implies, added to source tags in bulk (``tags implied-parents``):
what is missing, the one event that adds it, its undo and redo, and the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, ModelVersion, Prediction, SourceTag, Tag
from db.session import SessionFactory
from labeling import implied_parents, tag_history
from labeling.cli import main
from labeling.config import Settings
from labeling.tags import TagError

# cv <- detection <- yolo (a chain), nlp apart, old-cv inactive above cv; "arxiv-1" a candidate
PROJECTS = [
    {"id": "p1", "title": "a", "tags": ["yolo"]},  # lacks detection and cv
    {"id": "p2", "title": "b", "tags": ["detection"]},  # lacks cv
    {"id": "p3", "title": "c", "tags": ["detection", "cv"]},  # complete
    {"id": "p4", "title": "d", "tags": ["nlp", "arxiv-1"]},  # nothing implied
]
TAXONOMY = {
    "cv": {"parents": ["old-cv"]},
    "old-cv": {},
    "detection": {"parents": ["cv"]},
    "yolo": {"parents": ["detection"]},
    "nlp": {},
}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.fixture
def imported(cli_env: Settings, tmp_path: Path, make_session: SessionFactory) -> SessionFactory:
    projects, taxonomy = tmp_path / "p.json", tmp_path / "t.json"
    projects.write_text(json.dumps(PROJECTS))
    taxonomy.write_text(json.dumps(TAXONOMY))
    code, _ = run(
        "import", "--projects", str(projects), "--taxonomy", str(taxonomy),
        "--unknown-tags", "candidate",
    )  # fmt: skip
    assert code == 0
    assert run("tags", "deactivate", "old-cv")[0] == 0
    return make_session


def _source_tags(make_session: SessionFactory) -> dict[str, list[str]]:
    from db.models import Project

    with make_session() as session:
        rows = session.execute(
            select(Project.external_id, Tag.name)
            .join(SourceTag, SourceTag.project_id == Project.id)
            .join(Tag, Tag.id == SourceTag.tag_id)
            .order_by(Project.external_id, Tag.name)
        ).all()
    found: dict[str, list[str]] = {}
    for external_id, name in rows:
        found.setdefault(external_id, []).append(name)
    return found


def _ids(make_session: SessionFactory) -> dict[str, int]:
    from db.models import Project

    with make_session() as session:
        return dict(session.execute(select(Project.external_id, Project.id)).all())


def test_every_missing_ancestor_is_listed_but_not_inactive_ones(imported: SessionFactory) -> None:
    ids = _ids(imported)
    with imported() as session:
        assert implied_parents.implied_parents(session) == implied_parents.ImpliedParents(
            {"cv": [ids["p1"], ids["p2"]], "detection": [ids["p1"]]}, {}
        )


def test_a_parent_implied_only_by_a_doubted_tag_is_left_to_a_person(
    imported: SessionFactory,
) -> None:
    # the serving version's evidence calls p1's yolo probably wrong: detection and cv, which
    # only yolo implies there, are held back; p2's detection is not doubted, so its cv is added
    ids = _ids(imported)
    with imported.begin() as session:
        version = ModelVersion(status="ready")
        session.add(version)
        session.flush()
        session.add(
            Prediction(
                model_version_id=version.id,
                project_id=ids["p1"],
                probabilities={},
                uncertainty=0.0,
                suspicions={"wrong": {"yolo": 0.01}, "missing": {}, "preselect": {}},
            )
        )
    with imported() as session:
        found = implied_parents.implied_parents(session)
    assert found.missing == {"cv": [ids["p2"]]}
    assert found.doubted == {"cv": [ids["p1"]], "detection": [ids["p1"]]}
    code, out = run("tags", "implied-parents", "--apply")
    assert code == 0
    assert out.splitlines() == [
        "added: 1 tags on 1 projects",
        "  cv                                     1 projects",
        "left to a person (implied only by a tag the model calls probably wrong): 2 tags on 1 "
        "projects",
        "  cv                                     1 projects",
        "  detection                              1 projects",
    ]
    assert _source_tags(imported)["p1"] == ["yolo"]


def test_adding_undoing_and_redoing_change_exactly_those_links(imported: SessionFactory) -> None:
    before = _source_tags(imported)
    with imported.begin() as session:
        details = implied_parents.add_implied_parents(session, None)
    assert (details["projects"], details["links"], details["tags"]) == (2, 3, ["cv", "detection"])
    after = _source_tags(imported)
    assert after == {
        **before,
        "p1": ["cv", "detection", "yolo"],
        "p2": ["cv", "detection"],
    }
    with imported() as session:
        assert implied_parents.implied_parents(session).missing == {}
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "tag.implied_parents_add"
        assert session.get(ModelVersion, details["retrain"]).status == "queued"
        history = tag_history.tag_history(session, "cv")
    assert history[0].summary == "added the parents the taxonomy implies: 3 tags on 2 projects"
    with imported.begin() as session:
        assert tag_history.undo(session, None, history[0].id) == (
            "undid: added the parents the taxonomy implies: 3 tags on 2 projects"
        )
    assert _source_tags(imported) == before  # p3 keeps the cv it arrived with
    with imported() as session:
        removed = tag_history.tag_history(session, "detection")[0]
    with imported.begin() as session:
        tag_history.undo(session, None, removed.id)
    assert _source_tags(imported) == after


def test_nothing_missing_is_refused_and_writes_nothing(imported: SessionFactory) -> None:
    with imported.begin() as session:
        implied_parents.add_implied_parents(session, None)
    with imported() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    refused = pytest.raises(TagError, match=r"^no project lacks a parent that its tags imply$")
    with refused, imported.begin() as session:
        implied_parents.add_implied_parents(session, None)
    with imported() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_command_lists_then_applies(imported: SessionFactory) -> None:
    code, out = run("tags", "implied-parents")
    assert code == 0
    assert out.splitlines() == [
        "missing: 3 tags on 2 projects",
        "  cv                                     2 projects",
        "  detection                              1 projects",
        "add them: python -m labeling tags implied-parents --apply",
    ]
    assert _source_tags(imported)["p1"] == ["yolo"]  # listing changes nothing
    code, out = run("tags", "implied-parents", "--apply", "--json")
    assert code == 0
    assert json.loads(out) == {
        "applied": True,
        "missing": {"cv": 2, "detection": 1},
        "doubted": {},
    }
    assert _source_tags(imported)["p1"] == ["cv", "detection", "yolo"]
    assert run("tags", "implied-parents") == (0, "no project lacks a parent that its tags imply\n")
    code, out = run("tags", "implied-parents", "--apply")
    assert code == 2
