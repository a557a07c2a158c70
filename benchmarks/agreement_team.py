"""Agreement figures of a simulated team: three annotators of different accuracy judge
overlapping parts of the demo corpus (true tags), an accurate reviewer resolves some of their
conflicts, and the agreement report should rank the annotators as their accuracy does.

Each annotator flips every per-tag decision of the true tag set with their own probability.
Every project is judged by two of the three (the pair drawn at random), a share of them by all
three. Prints JSON: the team, the overall figures, per annotator (with the true accuracy the
report cannot see), the pair kappas, the least and most agreed tags, and the seconds taken.

Usage: python -m benchmarks.agreement_team [--size N] [--seed S] [--all-three 0.25]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import combinations
from typing import Any

import numpy as np

from labeling.agreement import OK, agreement_from_judgements, report_json, weakest_first
from labeling.synthetic import demo_projects, demo_taxonomy, synthetic_catalogue

TEAM = {"careful": 0.02, "steady": 0.05, "hasty": 0.12}
RESOLVED_SHARE = 0.5


def simulated_judgement(
    truth: frozenset[str], tags: list[str], flip: float, rng: np.random.Generator
) -> frozenset[str]:
    flips = rng.random(len(tags)) < flip
    return frozenset(
        tag for tag, flipped in zip(tags, flips, strict=True) if (tag in truth) != flipped
    )


def simulate_team(
    projects: list[dict[str, Any]], tags: list[str], all_three: float, seed: int
) -> tuple[
    dict[int, dict[str, frozenset[str]]], dict[int, frozenset[str]], dict[int, frozenset[str]]
]:
    """(judgements, resolutions, truth) keyed by project number."""
    rng = np.random.default_rng(seed)
    names = list(TEAM)
    pairs = list(combinations(names, 2))
    truth = {number: frozenset(p["tags"]) & set(tags) for number, p in enumerate(projects)}
    judgements: dict[int, dict[str, frozenset[str]]] = {}
    resolutions: dict[int, frozenset[str]] = {}
    for number, true_tags in truth.items():
        team = names if rng.random() < all_three else pairs[int(rng.integers(len(pairs)))]
        judgements[number] = {
            name: simulated_judgement(true_tags, tags, TEAM[name], rng) for name in team
        }
        in_conflict = len(set(judgements[number].values())) > 1
        if in_conflict and rng.random() < RESOLVED_SHARE:
            resolutions[number] = true_tags
    return judgements, resolutions, truth


def true_accuracy(
    name: str,
    judgements: dict[int, dict[str, frozenset[str]]],
    truth: dict[int, frozenset[str]],
    tags: list[str],
) -> float:
    """Share of this annotator's per-tag decisions equal to the truth (hidden from the report)."""
    decisions = [
        (tag in by_name[name]) == (tag in truth[number])
        for number, by_name in judgements.items()
        if name in by_name
        for tag in tags
    ]
    return round(float(np.mean(decisions)), 4)


def _rounded(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: round(row[key], 4) if isinstance(row[key], float) else row[key] for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="a synthetic catalogue of N projects instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all-three", type=float, default=0.25, help="share judged by all 3")
    args = parser.parse_args(argv)
    projects = synthetic_catalogue(args.size, args.seed) if args.size else demo_projects(True)
    tags = sorted(demo_taxonomy())
    judgements, resolutions, truth = simulate_team(projects, tags, args.all_three, args.seed)
    started = time.perf_counter()
    report = agreement_from_judgements(judgements, resolutions, tags)
    seconds = time.perf_counter() - started
    data = report_json(report)
    trusted = [row for row in weakest_first(data["per_tag"]) if row["status"] == OK]
    tag_keys = ("tag", "alpha", "positive_agreement", "disputed_projects", "tagged_projects")
    annotator_keys = (
        "annotator",
        "shared_projects",
        "agreement_with_others",
        "kappa_mean",
        "resolved_projects",
        "resolution_agreement",
        "resolution_kappa",
    )
    result = {
        "projects": len(projects),
        "tags": len(tags),
        "resolutions": len(resolutions),
        "overall": _rounded(data["overall"], tuple(data["overall"])),
        "annotators": [
            {
                "flip_probability": TEAM[row["annotator"]],
                "true_accuracy": true_accuracy(row["annotator"], judgements, truth, tags),
                **_rounded(row, annotator_keys),
            }
            for row in data["annotators"]
        ],
        "pairs": [
            _rounded(pair, ("annotator_a", "annotator_b", "shared_projects", "kappa"))
            for pair in data["pairs"]
        ],
        "least_agreed_tags": [_rounded(row, tag_keys) for row in trusted[:5]],
        "most_agreed_tags": [_rounded(row, tag_keys) for row in trusted[-5:][::-1]],
        "most_disputed_tags": data["disputed"][:5],
        "seconds": round(seconds, 3),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
