"""Label-error detection on a large generated catalogue with injected tag errors: the evidence
a training's own cross-validation gives (issue 16: past ``SHARED_CROSS_FIT_ABOVE`` training
projects, ``label_errors.cross_fit_out_of_fold``) against folds fitted for the purpose
(``label_errors.reference_out_of_fold``, the stage as it was), on the same noisy catalogue
and the same reference model. Each method's projects are ranked by the default detector;
reported: projects with an injected error among the top k, and the suspects
(``SUSPECT_WEIGHT``) with how many carry an error, plus each method's seconds and the load
average. Prints JSON.

Usage: python -m benchmarks.label_errors_scale [--projects 10000] [--tags 400]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from labeling.features import project_text
from labeling.label_errors import (
    SUSPECT_WEIGHT,
    cross_fit_out_of_fold,
    label_error_scores,
    reference_out_of_fold,
)
from labeling.model import ModelParams, fit_tag_model_and_cross_fit, label_matrix
from labeling.simulate_warm import inject_noise
from labeling.synthetic import messy_catalogue

EVAL_SHARE = 0.2
DROP, ADD = 0.05, 0.05
TOP = (100, 500, 1000)


def _load() -> float:
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def _quality(scores: np.ndarray, has_error: np.ndarray) -> dict[str, object]:
    order = np.argsort(-scores, kind="stable")
    suspects = scores >= SUSPECT_WEIGHT
    return {
        **{f"errors_in_top_{k}": int(has_error[order[:k]].sum()) for k in TOP},
        "suspects": int(suspects.sum()),
        "suspects_with_error": int((suspects & has_error).sum()),
    }


def measure(size: int, n_tags: int) -> dict[str, object]:
    catalogue = messy_catalogue(
        size, seed=0, n_tags=n_tags, variant_share=0.0, free_tag_rate=0.0,
        identifier_rate=0.0, overlong_rate=0.0,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    order = rng.permutation(size)
    n_train = round(size * (1 - EVAL_SHARE))
    projects = [catalogue.projects[i] for i in order]
    texts = [project_text(p["title"], p.get("description", "")) for p in projects]
    true = [frozenset(p["tags"]) for p in projects]
    candidates = sorted(catalogue.taxonomy)
    noisy, summary = inject_noise(true, candidates, DROP, ADD, seed=1)
    has_error = np.array([t != n for t, n in zip(true, noisy, strict=True)])
    started = time.perf_counter()
    model, cross_fit = fit_tag_model_and_cross_fit(
        texts[:n_train], noisy[:n_train], candidates, ModelParams()
    )
    fitted = time.perf_counter() - started
    if cross_fit is None:
        raise SystemExit(f"{n_train} training projects take the small path; use more projects")
    labels = label_matrix(noisy, model.tags)
    started = time.perf_counter()
    shared = cross_fit_out_of_fold(
        model, cross_fit, np.arange(size) < n_train, model.transform(texts[n_train:])
    )
    shared_seconds = time.perf_counter() - started
    started = time.perf_counter()
    separate = reference_out_of_fold(texts, noisy, model)
    separate_seconds = time.perf_counter() - started
    return {
        "projects": size,
        "training_projects": n_train,
        "trainable_tags": len(model.tags),
        "injected": summary,
        "fit_seconds": round(fitted, 1),
        "shared_cross_fit": {
            **_quality(label_error_scores(shared[0], labels, shared[1]), has_error),
            "seconds": round(shared_seconds, 1),
        },
        "separate_folds": {
            **_quality(label_error_scores(separate[0], labels, separate[1]), has_error),
            "seconds": round(separate_seconds, 1),
        },
        "load_average_at_end": _load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=400)
    args = parser.parse_args()
    json.dump(measure(args.projects, args.tags), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
