"""Cost of what the training job adds to every version (labeling.assessment): intervals on all
and verified labels, the rules baseline and model-vs-rules, the history re-scored on today's
labels, and the promotion gate's paired comparison; on random decisions shaped like a 100,000
project catalogue's evaluation split (20,000 projects, 400 tags, ~3 tags per project, two
earlier versions). Prints JSON.

    python -m benchmarks.assessment_scale [--projects 20000] [--tags 400]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from labeling import assessment, baseline


def _sets(matrix: np.ndarray, tags: list[str]) -> list[frozenset[str]]:
    return [frozenset(tags[j] for j in np.flatnonzero(row)) for row in matrix]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=20_000)
    parser.add_argument("--tags", type=int, default=400)
    parser.add_argument("--verified", type=float, default=0.1, help="share of verified projects")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    tags = [f"tag-{j}" for j in range(args.tags)]
    rate = 3 / args.tags
    truth = rng.random((args.projects, args.tags)) < rate
    ids = list(range(args.projects))

    def noisy() -> dict[int, frozenset[str]]:
        flipped = truth ^ (rng.random(truth.shape) < rate / 3)
        return dict(zip(ids, _sets(flipped, tags), strict=True))

    eval_set = assessment.EvalSet(
        ids,
        [f"project {i} about tag {i % args.tags}" for i in ids],
        _sets(truth, tags),
        rng.random(args.projects) < args.verified,
    )
    rules = baseline.build_rules(tags, {}, {})
    new, older = noisy(), {1: noisy(), 2: noisy()}
    started = time.perf_counter()
    metrics = assessment.assess(eval_set, new, rules, older, tags, 10)
    assessed = time.perf_counter() - started
    started = time.perf_counter()
    assessment.paired(eval_set, older[2], new, tags, 10)
    gate = time.perf_counter() - started
    stored = json.dumps(metrics)
    print(
        json.dumps(
            {
                "evaluation_projects": args.projects,
                "tags": args.tags,
                "verified": int(eval_set.verified.sum()),
                "assess_seconds": round(assessed, 2),
                "gate_seconds": round(gate, 2),
                "stored_metrics_kb": round(len(stored) / 1024),
                "stored_eval_predictions_kb": round(
                    len(json.dumps(assessment.stored_predictions(ids, list(new.values())))) / 1024
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
