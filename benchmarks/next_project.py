"""Time "which project next?" at 100,000 projects: serve_next as the Annotate page calls it
(one write transaction: expire leases, pick by stored score with judged, leased and overlap
rules, take a lease, build the suggestions), with judged and leased projects at the top of the
queue, and print p50/p95 as JSON.

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
from labeling.serving import serve_next, submit


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
        session.execute(
            insert(Prediction),
            [
                {
                    "model_version_id": version.id,
                    "project_id": i + 1,
                    "probabilities": {"tag": 0.5},
                    "uncertainty": float(scores[i]),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        make_session = session_factory(engine_for(url))
        upgrade_to_head(make_session.engine)
        version_id, user_ids = populate(make_session, args.size, rng)
        settings = Settings(database_url=url, data_dir=Path(workdir))
        timings = []
        for number in range(args.queries):
            started = time.perf_counter()
            user_id = user_ids[number % 20]
            served = serve_next(make_session, user_id, settings)
            timings.append((time.perf_counter() - started) * 1000)
            assert served is not None and served.model_version_id == version_id
            submit(make_session, user_id, served.project_id, [], [], version_id, 1.0, None)
    timings.sort()
    json.dump(
        {
            "benchmark": "serve_next_project",
            "projects": args.size,
            "judged_projects": 4_000,
            "leased_projects": 50,
            "queries": args.queries,
            "p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 2),
            "max_ms": round(timings[-1], 2),
            "target_p95_ms": 50,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
