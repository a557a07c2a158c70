"""Time what the Review page computes at 100,000 projects: every project's status
(all_label_states), the conflict queue in each order, one conflict in full (review_item), and
the agreement report; print medians as JSON.

The team: 20 annotators; 30,000 projects judged, a third of them by two annotators who pick
0-2 of four common tags at random (so most doubly judged projects are conflicts), and the
doubly judged projects among the first fifth resolved.

Usage: python -m benchmarks.review_queue [--size N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from benchmarks.common import synthetic_database
from db.models import Annotation, Project, Resolution, User
from db.session import SessionFactory
from labeling import agreement, annotations, review, review_queue

COMMON_TAGS = ["pytorch", "natural-language-processing", "computer-vision", "tensorflow"]


def add_team(make_session: SessionFactory, judged_projects: int) -> int:
    """Judgements and resolutions as described above; returns the number of judgements."""
    rng = random.Random(1)
    with make_session.begin() as session:
        users = [User(username=f"u{i}", password_hash="x", role="annotator") for i in range(20)]
        session.add_all(users)
        session.flush()
        user_ids = [user.id for user in users]
        judged = rng.sample(list(session.scalars(select(Project.id))), judged_projects)
        rows = [
            {
                "project_id": project,
                "user_id": user,
                "tags": rng.sample(COMMON_TAGS, rng.randint(0, 2)),
            }
            for i, project in enumerate(judged)
            for user in rng.sample(user_ids, 2 if i % 3 == 0 else 1)
        ]
        session.execute(insert(Annotation), rows)
        session.execute(
            insert(Resolution),
            [
                {"project_id": project, "reviewer_id": user_ids[0], "tags": ["pytorch"]}
                for project in judged[: judged_projects // 5 : 3]
            ],
        )
    return len(rows)


def median_ms(make_session: SessionFactory, work: Callable[[Any], Any], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        with make_session() as session:
            started = time.perf_counter()
            work(session)
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        _, make_session = synthetic_database(Path(workdir), args.size)
        judgements = add_team(make_session, min(30_000, args.size * 3 // 10))
        with make_session() as session:
            queue = review_queue.conflict_queue(session)
        result = {
            "benchmark": "review_queue",
            "projects": args.size,
            "judgements": judgements,
            "conflicts_in_queue": len(queue),
            "all_label_states_ms": median_ms(
                make_session, lambda s: annotations.all_label_states(s, True), args.repeats
            ),
            "conflict_queue_ms": {
                order: median_ms(
                    make_session,
                    lambda s, o=order: review_queue.conflict_queue(s, order=o),
                    args.repeats,
                )
                for order in review_queue.ORDERS
            },
            "review_item_ms": median_ms(
                make_session, lambda s: review.review_item(s, queue[0].project_id), 20
            ),
            "agreement_report_ms": median_ms(make_session, agreement.compute_agreement, 3),
        }
        make_session.engine.dispose()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
