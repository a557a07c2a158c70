"""How much of the label-error queue is only a missing implied parent, before and after
``tags implied-parents --apply``: README "Parents the taxonomy implies".

On a generated messy catalogue (``messy_catalogue(size)``, its taxonomy's parents), one
evidence round exactly as the training job computes it (``reference_out_of_fold``, implied
parents, ``suspects``) on the tags as imported, then again with every implied parent added to
every project (what the action does when no tag is doubted). Reports the suspects, those whose
only evidence is an implied parent, and the parent tags added.

Usage: python -m benchmarks.implied_parents [--size 2000] [--tags 400]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from labeling.baseline import ancestors
from labeling.label_errors import implied_parents, reference_out_of_fold, suspects
from labeling.model import ModelParams, fit_tag_model, label_matrix
from labeling.simulate_common import Corpus, build_corpus
from labeling.synthetic import messy_catalogue


def _evidence_round(
    corpus: Corpus, texts: Sequence[str], labels: Sequence[frozenset[str]]
) -> dict[str, int]:
    params = ModelParams(min_positives=5)
    tags = sorted({tag for tag_set in labels for tag in tag_set})
    reference = fit_tag_model(texts, labels, tags, params)
    probabilities, thresholds = reference_out_of_fold(texts, labels, reference)
    matrix = label_matrix(labels, reference.tags)
    implied = implied_parents(matrix, reference.tags, corpus.parents)
    found = suspects(
        list(range(len(texts))), probabilities, matrix, thresholds, reference.tags, implied,
        parents=corpus.parents,
    )  # fmt: skip
    only_implied = sum(
        1
        for s in found
        if not s.probably_wrong and {t for t, _ in s.probably_missing} == {t for t, _ in s.implied}
    )
    return {
        "projects": len(texts),
        "trainable_tags": len(reference.tags),
        "suspects": len(found),
        "suspects_only_for_an_implied_parent": only_implied,
    }


def run(size: int, n_tags: int) -> dict[str, Any]:
    catalogue = messy_catalogue(size, n_tags=n_tags)
    corpus = build_corpus(catalogue.projects, catalogue.taxonomy, 2)
    texts = [*corpus.pool_texts, *corpus.eval_texts]
    labels = [*corpus.pool_labels, *corpus.eval_labels]
    completed = [
        frozenset(tag_set.union(*(ancestors(tag, corpus.parents) for tag in tag_set)))
        for tag_set in labels
    ]
    return {
        "benchmark": "implied_parents",
        "catalogue": f"messy_catalogue({size}, n_tags={n_tags})",
        "as_imported": _evidence_round(corpus, texts, labels),
        "implied_parents_added": sum(map(len, completed)) - sum(map(len, labels)),
        "after_adding_them": _evidence_round(corpus, texts, completed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--tags", type=int, default=400)
    args = parser.parse_args()
    print(json.dumps(run(args.size, args.tags), indent=2))


if __name__ == "__main__":
    main()
