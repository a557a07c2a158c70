"""How precise is the pre-selection, and what does it cost in errors fixed? The trade-off
curve of README "Which changes are pre-selected", on catalogues where every error is known.

Each run makes noisy source tags from true ones (``simulate_warm.inject_noise``: drop 0.10,
add 0.05), computes the label-error evidence once exactly as the training job does
(``reference_out_of_fold``, the taxonomy's implied parents) and scores every suspect's
pre-selected changes against the true tags: right, pre-selected, and net = right - wrong (what
an annotator who accepts everything gains, a = 1). Rules compared: ``before`` (every kind of
change from ``PRESELECT_WEIGHT``, every implied parent) and the current rule
(``label_errors.suspects``) with the removal cut-off at several values.

Catalogues: ``demo`` (the demo's 320 projects with their true tags, seeds 0-2) and
``synthetic`` (``split_respecting_catalogue(1000)``, seeds 0-1).

Usage: python -m benchmarks.preselect_rules [--catalogues demo,synthetic]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from labeling.label_errors import (
    PRESELECT_REMOVE_WEIGHT,
    PRESELECT_WEIGHT,
    SUSPECT_WEIGHT,
    evidence_weights,
    implied_parents,
    names_in,
    reference_out_of_fold,
    suspects,
)
from labeling.model import ModelParams, fit_tag_model, label_matrix
from labeling.simulate_common import Corpus, build_corpus
from labeling.simulate_warm import inject_noise
from labeling.synthetic import demo_projects, demo_taxonomy, split_respecting_catalogue

REMOVE_CUTS = (0.98, 0.985, 0.99, 0.995, 1.01)
CATALOGUES = {"demo": (0, 1, 2), "synthetic": (0, 1)}


def _corpus(name: str, params: ModelParams) -> Corpus:
    projects = demo_projects() if name == "demo" else split_respecting_catalogue(1000, seed=0)
    return build_corpus(projects, demo_taxonomy(), params.features.title_repeats)


def _tally(
    changes: Sequence[tuple[int, str]],
    noisy: Sequence[frozenset[str]],
    truth: Sequence[frozenset[str]],
) -> dict[str, int]:
    right = sum(
        (tag not in truth[row]) if tag in noisy[row] else (tag in truth[row])
        for row, tag in changes
    )
    return {"right": right, "changes": len(changes), "net": 2 * right - len(changes)}


def _one_run(corpus: Corpus, seed: int, params: ModelParams) -> dict[str, Any]:
    texts = [*corpus.pool_texts, *corpus.eval_texts]
    truth = [*corpus.pool_labels, *corpus.eval_labels]
    noisy, summary = inject_noise(truth, corpus.candidate_tags, 0.10, 0.05, seed)
    tags = sorted({tag for labels in noisy for tag in labels})
    reference = fit_tag_model(texts, noisy, tags, params)
    probabilities, thresholds = reference_out_of_fold(texts, noisy, reference, seed=seed)
    labels = label_matrix(noisy, reference.tags)
    implied = implied_parents(labels, reference.tags, corpus.parents)
    weights = evidence_weights(probabilities, labels, thresholds, implied)
    rows = np.flatnonzero(weights.max(axis=1, initial=0.0) >= SUSPECT_WEIGHT)
    before = [
        (int(row), reference.tags[j])
        for row in rows
        for j in np.flatnonzero(weights[row] >= PRESELECT_WEIGHT)
    ]
    result = {"injected": summary, "before": _tally(before, noisy, truth)}
    for cut in REMOVE_CUTS:
        found = suspects(
            list(range(len(texts))),
            probabilities,
            labels,
            thresholds,
            reference.tags,
            implied,
            remove_weight=cut,
            parents=corpus.parents,
            names=names_in(texts, corpus.rules) if corpus.rules else None,
        )
        chosen = [(s.project_id, tag) for s in found for tag in s.preselected]
        result[f"removals_from_{cut:g}"] = _tally(chosen, noisy, truth)
    return result


def _pooled(runs: Sequence[dict[str, Any]], rule: str) -> dict[str, Any]:
    right = sum(run[rule]["right"] for run in runs)
    changes = sum(run[rule]["changes"] for run in runs)
    return {
        "right": right,
        "changes": changes,
        "precision": round(right / changes, 3) if changes else None,
        "net": 2 * right - changes,
    }


def run(catalogues: Sequence[str]) -> dict[str, Any]:
    params = ModelParams()
    result: dict[str, Any] = {
        "benchmark": "preselect_rules",
        "default_removal_cut": PRESELECT_REMOVE_WEIGHT,
    }
    for name in catalogues:
        corpus = _corpus(name, params)
        runs = [_one_run(corpus, seed, params) for seed in CATALOGUES[name]]
        rules = ["before", *(f"removals_from_{cut:g}" for cut in REMOVE_CUTS)]
        result[name] = {
            "seeds": list(CATALOGUES[name]),
            "pooled": {rule: _pooled(runs, rule) for rule in rules},
            "runs": runs,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalogues", default="demo,synthetic")
    args = parser.parse_args()
    names = [name for name in args.catalogues.split(",") if name]
    unknown = sorted(set(names) - set(CATALOGUES))
    if unknown:
        parser.error(f"unknown catalogue(s): {', '.join(unknown)}; choose from demo, synthetic")
    print(json.dumps(run(names), indent=2))


if __name__ == "__main__":
    main()
