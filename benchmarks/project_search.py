"""Time the Projects page's search at 100,000 projects: ``search_projects`` as the page calls
it (count, one page of 25, and the page's rows with status and the three tag sets), for a
search of one or two words plus one filter, on SQLite and, with --postgres-url, PostgreSQL.

The catalogue is the shared synthetic one (benchmarks.common), plus what makes the filters
work for real: a ready model version with predictions for every project (30% suspected),
5,000 judged projects from 20 annotators (1,000 of them in conflict) and 200 resolutions.
Prints p50/p95 per filter and overall as JSON.

Usage: python -m benchmarks.project_search [--size N] [--repeats R] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select, text

from benchmarks.common import synthetic_database
from db.models import Annotation, ModelVersion, Prediction, Project, Resolution, Tag, User
from db.session import SessionFactory, new_engine
from labeling.search import ProjectQuery, forget_states, search_projects

WORDS = ["detection", "language model", "graph", "diffusion", "reinforcement", "embeddings"]


def populate(make_session: SessionFactory, rng: np.random.Generator) -> dict[str, Any]:
    with make_session.begin() as session:
        tags = list(session.scalars(select(Tag.name).order_by(Tag.name)))
        project_ids = list(session.scalars(select(Project.id).order_by(Project.id)))
        users = [User(username=f"b{i}", password_hash="x", role="annotator") for i in range(20)]
        session.add_all(users)
        version = ModelVersion(status="ready", thresholds=dict.fromkeys(tags, 0.5))
        session.add(version)
        session.flush()
        probabilities = rng.random((len(project_ids), len(tags))) ** 3
        suspect = rng.random(len(project_ids)) < 0.3
        session.execute(
            insert(Prediction),
            [
                {
                    "model_version_id": version.id,
                    "project_id": pid,
                    "probabilities": dict(zip(tags, map(float, probabilities[k]), strict=True)),
                    "uncertainty": float(rng.random()),
                    "label_error_score": float(rng.random()) if suspect[k] else 0.0,
                }
                for k, pid in enumerate(project_ids)
            ],
        )
        judged = rng.choice(project_ids, size=5_000, replace=False)
        rows = []
        for k, pid in enumerate(judged):
            chosen = list(rng.choice(tags, size=2, replace=False))
            rows.append({"project_id": int(pid), "user_id": users[k % 20].id, "tags": chosen})
            if k < 1_000:
                rows.append(
                    {"project_id": int(pid), "user_id": users[(k + 1) % 20].id, "tags": chosen[:1]}
                )
        session.execute(insert(Annotation), rows)
        session.execute(
            insert(Resolution),
            [
                {"project_id": int(pid), "reviewer_id": users[0].id, "tags": [tags[0]]}
                for pid in judged[:200]
            ],
        )
        return {"annotator": users[3].id, "tags": tags}


def filters(setup: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tag = "natural-language-processing"
    return {
        "source tag": {"tag": tag, "tag_in": "source"},
        "effective tag": {"tag": tag, "tag_in": "effective"},
        "predicted tag": {"tag": tag, "tag_in": "predicted"},
        "status conflict": {"status": "conflict"},
        "status unlabeled": {"status": "unlabeled"},
        "suspected": {"suspected": True},
        "split eval": {"split": "eval"},
        "annotator": {"annotator_id": setup["annotator"]},
    }


def timed(
    make_session: SessionFactory, setup: dict[str, Any], repeats: int, cold: bool
) -> dict[str, Any]:
    """``cold``: the derived label states are recomputed for every query, as after each new
    judgement; otherwise they are reused, as while a person pages or refines a search."""
    per_filter: dict[str, list[float]] = {}
    found: dict[str, int] = {}
    for name, criteria in filters(setup).items():
        for repeat in range(repeats):
            word = WORDS[repeat % len(WORDS)]
            if cold:
                forget_states()
            started = time.perf_counter()
            with make_session() as session:
                page = search_projects(session, ProjectQuery(text=word, **criteria), True)
            per_filter.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            found[f"{name} / {word}"] = page.total
    every = sorted(t for timings in per_filter.values() for t in timings)
    return {
        "overall": _figures(every),
        "per_filter": {name: _figures(sorted(t)) for name, t in per_filter.items()},
        "matches_range": [min(found.values()), max(found.values())],
    }


def _figures(timings: list[float]) -> dict[str, float]:
    return {
        "n": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(0.95 * len(timings)) - 1)], 1),
        "max_ms": round(timings[-1], 1),
    }


def run(size: int, repeats: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        _, make_session = synthetic_database(Path(workdir), size, database_url)
        setup = populate(make_session, np.random.default_rng(0))
        if make_session.engine.dialect.name == "postgresql":
            # Committed: statistics from a rolled-back ANALYZE are discarded, and without them
            # the planner evaluates JSON conditions on every prediction.
            with make_session.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        built = time.perf_counter() - started
        result = {
            "cold": timed(make_session, setup, repeats, cold=True),
            "warm": timed(make_session, setup, repeats, cold=False),
        }
        make_session.engine.dispose()
    return {"build_s": round(built, 1), **result}


def empty_schema(url: str) -> None:
    engine = new_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument(
        "--postgres-url", help="an EMPTY PostgreSQL database (its schema is dropped first)"
    )
    args = parser.parse_args()
    results = {"sqlite": run(args.size, args.repeats, None)}
    if args.postgres_url:
        empty_schema(args.postgres_url)
        results["postgresql"] = run(args.size, args.repeats, args.postgres_url)
    json.dump(
        {
            "benchmark": "project_search",
            "projects": args.size,
            "judged_projects": 5_000,
            "query": "one or two words plus one filter, count + first page of 25 with its rows",
            "results": results,
            "target_p95_ms": 300,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
