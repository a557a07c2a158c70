"""How fast the verified evaluation set grows, and what it costs, at several evaluation serve
shares (LABELLOOP_EVAL_SERVE_SHARE). Prints JSON.

A synthetic catalogue is made from the demo's true tags and given planted source-tag errors
(each true tag dropped with probability 0.1, one wrong tag added with probability 0.1:
simulate_warm.inject_noise); one model is trained on it with the default settings (serving
strategy auto, label-error scores on). Then, per share, a copy of that database is served to
three annotators in turn who submit the true tags (a perfect annotator, so that every
judgement of a project with planted errors fixes them all). Counted over the judgements:

- verified evaluation projects (the n of the Model page's "verified labels" figures);
- planted tag errors fixed (source tags vs true tags of the projects judged first);
- the share of servings that were evaluation projects.

No retrain happens during the run (the app retrains every 25 judgements), so the label-error
order is the first model's throughout, for every share alike.

    python -m benchmarks.verified_growth [--size 2000] [--judgements 300] [--shares 0,0.1,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from db.models import Project, User
from db.session import SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import io, serving, training_jobs
from labeling.assessment import verified_project_ids
from labeling.config import Settings
from labeling.judgements import submit
from labeling.simulate_warm import inject_noise
from labeling.synthetic import demo_taxonomy, synthetic_catalogue

DROP = 0.1
ADD = 0.1
ANNOTATORS = 3


def noisy_catalogue(size: int) -> tuple[list[dict], dict[str, frozenset[str]], dict[str, int]]:
    """(projects with planted source-tag errors, true tags by external id, noise summary)."""
    projects = synthetic_catalogue(size)
    truth = [frozenset(p["tags"]) for p in projects]
    tags = sorted(set().union(*truth))
    noisy, summary = inject_noise(truth, tags, DROP, ADD, seed=0)
    planted = [{**p, "tags": sorted(n)} for p, n in zip(projects, noisy, strict=True)]
    errors = sum(len(t ^ n) for t, n in zip(truth, noisy, strict=True))
    truth_by_id = {p["id"]: t for p, t in zip(projects, truth, strict=True)}
    return planted, truth_by_id, {**summary, "tag_errors": errors}


def trained_database(workdir: Path, projects: list[dict]) -> Settings:
    """A SQLite database with the catalogue imported the way the CLI imports, three annotators
    and one trained (serving) model version."""
    settings = Settings(database_url=f"sqlite:///{workdir}/base.db", data_dir=workdir)
    make_session = session_factory(engine_for(settings.database_url))
    upgrade_to_head(make_session.engine)
    parsed = io.parse_projects(json.dumps(projects).encode(), "syn.json")
    taxonomy = io.parse_taxonomy(json.dumps(demo_taxonomy()).encode(), "taxonomy.json")
    with make_session.begin() as session:
        io.import_catalogue(session, parsed, "syn.json", "json", taxonomy=taxonomy)
        session.add_all(
            User(username=f"a{i}", password_hash="x", role="annotator") for i in range(ANNOTATORS)
        )
        training_jobs.queue_training(session, None)
    training_jobs.work_once(make_session, settings)
    make_session.engine.dispose()
    return settings


def serve_and_judge(
    make_session: SessionFactory,
    settings: Settings,
    truth: dict[str, frozenset[str]],
    judgements: int,
) -> dict[str, float | int]:
    """Serve ``judgements`` projects in turn to the annotators, who submit the true tags."""
    with make_session() as session:
        user_ids = list(session.scalars(select(User.id).order_by(User.id)))
        eval_ids = set(session.scalars(select(Project.id).where(Project.split == "eval")))
    served_eval = fixed = with_error = made = 0
    for number in range(judgements):
        user_id = user_ids[number % len(user_ids)]
        project = serving.serve_next(make_session, user_id, settings)
        if project is None:
            break
        made += 1
        served_eval += project.project_id in eval_ids
        true = truth[project.external_id]
        if not project.reason.startswith("second opinion"):
            errors = len(true ^ frozenset(project.source_tags))
            fixed += errors
            with_error += errors > 0
        submit(
            make_session,
            user_id,
            project.project_id,
            sorted(true),
            project.source_tags,
            project.model_version_id,
            5.0,
            None,
            no_tag_applies=not true,
            settings_like=settings,
        )
    with make_session() as session:
        verified = len(verified_project_ids(session) & eval_ids)
    return {
        "judgements": made,
        "evaluation_share_of_servings": round(served_eval / max(made, 1), 3),
        "verified_evaluation_projects": verified,
        "evaluation_projects": len(eval_ids),
        "planted_tag_errors_fixed": fixed,
        "projects_with_planted_errors_judged": with_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--judgements", type=int, default=300)
    parser.add_argument("--shares", default="0,0.1,0.2,0.3,0.5")
    args = parser.parse_args()
    started = time.perf_counter()
    projects, truth, noise = noisy_catalogue(args.size)
    runs = []
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        base = trained_database(workdir, projects)
        for share in (float(s) for s in args.shares.split(",")):
            path = workdir / f"share-{share}.db"
            shutil.copyfile(workdir / "base.db", path)
            settings = dataclasses.replace(
                base, database_url=f"sqlite:///{path}", eval_serve_share=share
            )
            make_session = session_factory(engine_for(settings.database_url))
            runs.append(
                {"eval_serve_share": share}
                | serve_and_judge(make_session, settings, truth, args.judgements)
            )
            make_session.engine.dispose()
    print(
        json.dumps(
            {
                "catalogue": len(projects),
                "planted_noise": {"drop": DROP, "add": ADD, **noise},
                "annotators": ANNOTATORS,
                "strategy": base.strategy,
                "overlap_share": base.overlap_share,
                "runs": runs,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
