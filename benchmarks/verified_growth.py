"""How fast the verified evaluation set grows: serves projects to annotators on a synthetic
catalogue with a trained model (the default serving strategy) and counts how many served
projects are evaluation projects, i.e. how many judgements feed the verified figures. Serving
does not look at the split, so the share should be close to the evaluation split's share of
the catalogue (20%). Prints JSON.

    python -m benchmarks.verified_growth [--size 2000] [--judgements 300]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.common import synthetic_database
from db.models import Project, User
from labeling import registry, serving
from labeling.assessment import verified_project_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--judgements", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        settings, make_session = synthetic_database(Path(workdir), args.size)
        with make_session.begin() as session:
            registry.queue_training(session, None)
            people = [User(username=f"a{i}", password_hash="x", role="annotator") for i in range(3)]
            session.add_all(people)
            session.flush()
            user_ids = [p.id for p in people]
        registry.work_once(make_session, settings)
        with make_session() as session:
            eval_ids = set(session.scalars(select(Project.id).where(Project.split == "eval")))
            total = session.scalar(select(func.count()).select_from(Project)) or 0
        served_eval = 0
        for number in range(args.judgements):
            user_id = user_ids[number % len(user_ids)]
            project = serving.serve_next(make_session, user_id, settings)
            if project is None:
                break
            served_eval += project.project_id in eval_ids
            serving.submit(
                make_session,
                user_id,
                project.project_id,
                project.source_tags,
                project.source_tags,
                project.model_version_id,
                5.0,
                None,
            )
        with make_session() as session:
            verified = len(verified_project_ids(session) & eval_ids)
    print(
        json.dumps(
            {
                "catalogue": total,
                "evaluation_share_of_catalogue": round(len(eval_ids) / total, 3),
                "judgements": args.judgements,
                "strategy": settings.strategy,
                "evaluation_share_of_servings": round(served_eval / args.judgements, 3),
                "verified_evaluation_projects": verified,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
