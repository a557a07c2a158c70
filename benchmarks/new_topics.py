"""How soon annotators see an import's possible new topics (LABELLOOP_NEW_TOPICS_FIRST on and
off). The demo's natural-language-processing projects are held back, a model is trained on
the others, then they are imported as a new batch and checked (labeling.drift.check_import,
as the CLI and the Data page do). Three annotators are then served in turn, submitting the
true tags, until every possible new topic has been judged; counted: servings until the first
and until the last of them was served. No retrain during the run. Prints JSON.

    python -m benchmarks.new_topics
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from db.models import NewTopic, User
from db.session import SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import drift, io, judgements, serving, training_jobs
from labeling.config import Settings
from labeling.synthetic import demo_projects, demo_taxonomy

ANNOTATORS = 3


def _import(make_session: SessionFactory, projects: list[dict], name: str, taxonomy=None) -> int:
    with make_session.begin() as session:
        report = io.import_catalogue(
            session,
            io.parse_projects(json.dumps(projects).encode(), name),
            name,
            "json",
            taxonomy=taxonomy,
        )
    return report.batch_id


def checked_database(workdir: Path, rest: list[dict], batch: list[dict]) -> Settings:
    settings = Settings(database_url=f"sqlite:///{workdir}/base.db", data_dir=workdir)
    make_session = session_factory(engine_for(settings.database_url))
    upgrade_to_head(make_session.engine)
    taxonomy = io.parse_taxonomy(json.dumps(demo_taxonomy()).encode(), "taxonomy.json")
    _import(make_session, rest, "rest.json", taxonomy)
    with make_session.begin() as session:
        session.add_all(
            User(username=f"a{i}", password_hash="x", role="annotator") for i in range(ANNOTATORS)
        )
        training_jobs.queue_training(session, None)
    training_jobs.work_once(make_session, settings)
    drift.check_import(make_session, _import(make_session, batch, "batch.json"))
    make_session.engine.dispose()
    return settings


def servings_until_seen(
    make_session: SessionFactory, settings: Settings, truth: dict[str, list[str]]
) -> dict[str, int | None]:
    with make_session() as session:
        user_ids = list(session.scalars(select(User.id).order_by(User.id)))
        topics = set(session.scalars(select(NewTopic.project_id)))
    left, first, servings = set(topics), None, 0
    while left:
        user_id = user_ids[servings % len(user_ids)]
        project = serving.serve_next(make_session, user_id, settings)
        if project is None:
            break
        servings += 1
        if project.project_id in left:
            left.discard(project.project_id)
            first = first or servings
        tags = truth[project.external_id]
        judgements.submit(
            make_session,
            user_id,
            project.project_id,
            tags,
            project.source_tags,
            project.model_version_id,
            5.0,
            None,
            no_tag_applies=not tags,
            settings_like=settings,
        )
    return {
        "new_topics": len(topics),
        "servings_until_first_seen": first,
        "servings_until_all_seen": servings if not left else None,
        "never_seen": len(left),
    }


def main() -> None:
    started = time.perf_counter()
    projects = demo_projects(with_true_tags=False)
    truth = {str(p["id"]): p["tags"] for p in demo_projects(with_true_tags=True)}
    batch = [p for p in projects if "natural-language-processing" in p["tags"]]
    rest = [p for p in projects if "natural-language-processing" not in p["tags"]]
    runs = []
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        base = checked_database(workdir, rest, batch)
        for first in (True, False):
            path = workdir / f"first-{first}.db"
            shutil.copyfile(workdir / "base.db", path)
            settings = dataclasses.replace(
                base, database_url=f"sqlite:///{path}", new_topics_first=first
            )
            make_session = session_factory(engine_for(settings.database_url))
            runs.append(
                {"new_topics_first": first} | servings_until_seen(make_session, settings, truth)
            )
            make_session.engine.dispose()
    print(
        json.dumps(
            {
                "catalogue": len(projects),
                "batch": len(batch),
                "annotators": ANNOTATORS,
                "strategy": base.strategy,
                "overlap_share": base.overlap_share,
                "eval_serve_share": base.eval_serve_share,
                "runs": runs,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
