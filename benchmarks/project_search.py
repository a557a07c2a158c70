"""Time the Projects page's search at 100,000 projects: ``search_projects`` as the page calls
it (count, one page of 25, and the page's rows with status and the three tag sets), for a
search of one or two words plus one filter, on SQLite and, with --postgres-url, PostgreSQL.

The catalogue is the shared synthetic one (benchmarks.common), plus what makes the filters
work for real: a ready model version with predictions for every project (30% suspected),
5,000 judged projects from 20 annotators (1,000 of them in conflict) and 200 resolutions,
their stored states derived once (as migration 0012's backfill does). "Cold" searches each
follow a new judgement written through ``judgements.submit`` (which refreshes the project's stored
state in its transaction; its time is reported too); "warm" ones follow each other.
Prints p50/p95 per filter and overall as JSON.

Usage: python -m benchmarks.project_search [--size N] [--repeats R] [--postgres-url URL]
       [--no-sqlite]
"""

from __future__ import annotations

import argparse
import json
import math
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
from labeling.judgements import submit
from labeling.project_state import rebuild_project_states, store_predicted_tags
from labeling.search import ProjectQuery, search_projects

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
        predictions = [
            {
                "model_version_id": version.id,
                "project_id": pid,
                "probabilities": dict(zip(tags, map(float, probabilities[k]), strict=True)),
                "uncertainty": float(rng.random()),
                "label_error_score": float(rng.random()) if suspect[k] else 0.0,
            }
            for k, pid in enumerate(project_ids)
        ]
        session.execute(insert(Prediction), predictions)
        store_predicted_tags(session, version.id, predictions, version.thresholds)
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
        session.flush()
        rebuild_project_states(session)
        unjudged = sorted(set(project_ids) - {int(pid) for pid in judged})
        return {
            "annotator": users[3].id,
            "judge": users[4].id,
            "tags": tags,
            "unjudged": [int(pid) for pid in rng.choice(unjudged, size=500, replace=False)],
        }


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
    """``cold``: every search follows a new judgement of an unjudged project (its submit is
    timed apart); otherwise searches follow each other, as while a person pages or refines."""
    per_filter: dict[str, list[float]] = {}
    submits: list[float] = []
    found: dict[str, int] = {}
    for name, criteria in filters(setup).items():
        for repeat in range(repeats):
            word = WORDS[repeat % len(WORDS)]
            if cold:
                project_id = setup["unjudged"].pop()
                started = time.perf_counter()
                submit(
                    make_session,
                    setup["judge"],
                    project_id,
                    setup["tags"][:1],
                    [],
                    None,
                    None,
                    None,
                )
                submits.append((time.perf_counter() - started) * 1000)
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
        **({"submit_before_each": _figures(sorted(submits))} if submits else {}),
    }


def _figures(timings: list[float]) -> dict[str, float]:
    return {
        "n": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[math.ceil(0.95 * len(timings)) - 1], 1),
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
    return {"build_s": round(built, 1), "load_average": _load(), **result}


def _load() -> list[float]:
    """The 1, 5 and 15-minute load averages at the end of a run: the machine is shared."""
    with open("/proc/loadavg") as loadavg:
        return [float(value) for value in loadavg.read().split()[:3]]


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
    parser.add_argument("--no-sqlite", action="store_true", help="time PostgreSQL only")
    args = parser.parse_args()
    results = {} if args.no_sqlite else {"sqlite": run(args.size, args.repeats, None)}
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
