"""Time "which project next?" at 100,000 projects: serve_next as the Annotate page calls it
(one write transaction: expire leases, pick by stored score with judged, leased and overlap
rules, take a lease, build the suggestions), with judged and leased projects at the top of the
queue, and print p50/p95 as JSON per strategy: uncertainty order (threshold_margin) and the
warm-start default (label_errors_mix: label-error order, a share by uncertainty). Every
project has a label-error score, 70% of them 0 (nothing suspect), and the judged and leased
projects sit at the top of both orders.

Usage: python -m benchmarks.next_project [--size N] [--queries Q]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from db.models import Annotation, Lease, ModelVersion, Prediction, Project, User, utcnow
from db.session import engine_for, session_factory, upgrade_to_head
from labeling.config import Settings
from labeling.io import split_for
from labeling.judgements import submit
from labeling.serving import serve_next


def populate(make_session, size: int, rng: np.random.Generator) -> tuple[int, list[int]]:
    with make_session.begin() as session:
        users = [User(username=f"u{i}", password_hash="x", role="annotator") for i in range(20)]
        session.add_all(users)
        version = ModelVersion(status="ready")
        session.add(version)
        session.flush()
        rows = [
            {
                "external_id": f"p{i}",
                "title": f"Project {i}",
                "description": "",
                "split": split_for(f"p{i}"),
            }
            for i in range(size)
        ]
        session.execute(insert(Project), rows)
        scores = rng.random(size)
        # the most uncertain projects are also the most suspect, so both orders walk past them
        error_scores = np.where(rng.random(size) < 0.3, scores, 0.0)
        session.execute(
            insert(Prediction),
            [
                {
                    "model_version_id": version.id,
                    "project_id": i + 1,
                    "probabilities": {"tag": 0.5},
                    "uncertainty": float(scores[i]),
                    "label_error_score": float(error_scores[i]),
                    "suspicions": {"wrong": {"tag": 0.1}, "missing": {}}
                    if error_scores[i] > 0
                    else None,
                }
                for i in range(size)
            ],
        )
        top = np.argsort(-scores)[:5_000] + 1
        session.execute(
            insert(Annotation),
            [
                {"project_id": int(p), "user_id": users[k % 20].id, "tags": ["tag"]}
                for k, p in enumerate(top[:4_000])
            ],
        )
        later = utcnow() + timedelta(minutes=10)
        session.execute(
            insert(Lease),
            [
                {"project_id": int(p), "user_id": users[k % 20].id, "expires_at": later}
                for k, p in enumerate(top[4_000:4_050])
            ],
        )
        return version.id, [u.id for u in users]


def timed_servings(size: int, queries: int, strategy: str) -> list[float]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        make_session = session_factory(engine_for(url))
        upgrade_to_head(make_session.engine)
        version_id, user_ids = populate(make_session, size, rng)
        settings = Settings(database_url=url, data_dir=Path(workdir), strategy=strategy)
        timings = []
        for number in range(queries):
            started = time.perf_counter()
            user_id = user_ids[number % 20]
            served = serve_next(make_session, user_id, settings)
            timings.append((time.perf_counter() - started) * 1000)
            assert served is not None and served.model_version_id == version_id
            submit(
                make_session,
                user_id,
                served.project_id,
                [],
                [],
                version_id,
                1.0,
                None,
                no_tag_applies=True,
            )
        make_session.engine.dispose()
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    results = {}
    for strategy in ("threshold_margin", "label_errors_mix"):
        timings = timed_servings(args.size, args.queries, strategy)
        results[strategy] = {
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 2),
            "max_ms": round(timings[-1], 2),
        }
    json.dump(
        {
            "benchmark": "serve_next_project",
            "projects": args.size,
            "judged_projects": 4_000,
            "leased_projects": 50,
            "queries": args.queries,
            "strategies": results,
            "target_p95_ms": 50,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
