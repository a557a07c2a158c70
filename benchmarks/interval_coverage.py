"""Are the Model page's 95% intervals honest?

Trains one model on a synthetic catalogue whose evaluation split has no relatives in the
training pool, measures its F1 on the whole (large) held-out split, then draws many small
evaluation samples from that split and counts how often the bootstrap interval computed on a
sample covers the held-out figure. An honest 95% interval covers it in about 95% of runs
(target 90-97%). Prints JSON.

    python -m benchmarks.interval_coverage [--size 12000] [--runs 200] [--samples 55,200]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from labeling import intervals
from labeling.io import split_for
from labeling.model import ModelParams, fit_tag_model, label_matrix
from labeling.synthetic import split_respecting_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=12_000, help="catalogue size")
    parser.add_argument("--train", type=int, default=2_000, help="training projects used")
    parser.add_argument("--runs", type=int, default=200, help="evaluation samples per size")
    parser.add_argument("--samples", default="55,200", help="evaluation sample sizes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    catalogue = split_respecting_catalogue(args.size, args.seed)
    train = [p for p in catalogue if split_for(p["id"]) == "train"][: args.train]
    held_out = [p for p in catalogue if split_for(p["id"]) == "eval"]
    text = lambda p: f"{p['title']} {p['title']} {p['description']}"  # noqa: E731
    model = fit_tag_model(
        [text(p) for p in train],
        [frozenset(p["tags"]) for p in train],
        sorted({t for p in train for t in p["tags"]}),
        ModelParams(),
    )
    predicted = model.decide(model.predict_proba_texts([text(p) for p in held_out]))
    truth = label_matrix([frozenset(p["tags"]) for p in held_out], model.tags)
    population = intervals.metric_intervals(truth, predicted, model.tags, resamples=1)
    common = int(np.argmax(truth.sum(0)))
    targets = {
        "weighted_f1": population["overall"]["weighted_f1"]["value"],
        "micro_f1": population["overall"]["micro_f1"]["value"],
        "f1_of_most_common_tag": population["per_class"][model.tags[common]]["f1"]["value"],
    }
    rng = np.random.default_rng(args.seed)
    results = {}
    for size in (int(s) for s in args.samples.split(",")):
        covered = dict.fromkeys(targets, 0)
        widths: dict[str, list[float]] = {key: [] for key in targets}
        for run in range(args.runs):
            rows = rng.choice(len(held_out), size=size, replace=False)
            sample = intervals.metric_intervals(truth[rows], predicted[rows], model.tags, seed=run)
            figures = {
                "weighted_f1": sample["overall"]["weighted_f1"],
                "micro_f1": sample["overall"]["micro_f1"],
                "f1_of_most_common_tag": sample["per_class"][model.tags[common]]["f1"],
            }
            for key, figure in figures.items():
                covered[key] += figure["low"] <= targets[key] <= figure["high"]
                widths[key].append(figure["high"] - figure["low"])
        results[f"n={size}"] = {
            key: {
                "coverage": round(covered[key] / args.runs, 3),
                "median_width": round(float(np.median(widths[key])), 3),
            }
            for key in targets
        }
    print(
        json.dumps(
            {
                "catalogue": args.size,
                "training_projects": len(train),
                "held_out_projects": len(held_out),
                "held_out_figures": targets,
                "runs_per_size": args.runs,
                "nominal": intervals.CONFIDENCE,
                "coverage": results,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
