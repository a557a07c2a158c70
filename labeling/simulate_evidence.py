"""The label-error evidence as the warm-start replay sees it: what the training job would store
for the pool (out-of-fold probabilities, thresholds, the taxonomy's implied parents and the
names its texts carry), the suspect order a detector gives, and the order of a mix's partner.

Split out of ``simulate_warm`` when that module passed 600 lines: the evidence is one subject,
the replay that consumes it another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeling.label_errors import (
    DEFAULT_DETECTOR,
    DETECTORS,
    TextNames,
    evidence_weights,
    implied_parents,
    names_in,
    reference_out_of_fold,
    suspects,
)
from labeling.model import TagModel, label_matrix
from labeling.simulate_common import Corpus
from labeling.strategies import uncertainty_scores

UNCERTAINTY_PARTNER = "threshold_margin"


@dataclass(frozen=True)
class Evidence:
    """The label-error evidence of one batch over the whole pool, as the training job would
    store it: out-of-fold probabilities, per-row thresholds, current labels and the parents
    the taxonomy implies."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    labels: np.ndarray
    implied: dict[tuple[int, int], str]
    rows: frozenset[int] | None = None  # the picks served as suspects (None: every pick)
    parents: Mapping[str, Sequence[str]] = field(default_factory=dict)
    names: TextNames | None = None  # (pool row, tag) -> whether the row's text names the tag

    def suspicions(self, row: int, tags: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What the Annotate page would show with this row: {} unless it is a suspect
        served as one."""
        if self.rows is not None and row not in self.rows:
            return {}
        implied = {(0, j): child for (r, j), child in self.implied.items() if r == row}
        found = suspects(
            [row],
            self.probabilities[row : row + 1],
            self.labels[row : row + 1],
            self.thresholds[row : row + 1],
            tags,
            implied,
            parents=self.parents,
            names=self._names_of(row),
        )
        return found[0].suspicions() if found else {}

    def _names_of(self, row: int) -> TextNames | None:
        """``names`` for a one-row slice at pool row ``row``."""
        names = self.names
        return None if names is None else (lambda _, tag: names(row, tag))


def pool_evidence(
    model: TagModel, corpus: Corpus, current: Sequence[frozenset[str]], seed: int
) -> Evidence:
    """Out-of-fold evidence on the whole pool with the training job's own function
    (``reference_out_of_fold``), so the simulator measures what serving would serve."""
    probabilities, thresholds = reference_out_of_fold(corpus.pool_texts, current, model, seed=seed)
    labels = label_matrix(current, model.tags)
    return Evidence(
        probabilities,
        thresholds,
        labels,
        implied_parents(labels, model.tags, corpus.parents),
        parents=corpus.parents,
        names=names_in(corpus.pool_texts, corpus.rules) if corpus.rules else None,
    )


def suspect_order(evidence: Evidence, unrevealed: Sequence[int], detector: str) -> list[int]:
    """Unrevealed pool rows, most suspect first by ``detector``. The default detector also
    counts a parent the taxonomy implies as the strongest evidence, as serving does."""
    rows = np.asarray(unrevealed, dtype=int)
    if detector == DEFAULT_DETECTOR:
        weights = evidence_weights(
            evidence.probabilities, evidence.labels, evidence.thresholds, evidence.implied
        )
        scores = weights[rows].max(axis=1, initial=0.0)
    else:
        scores = DETECTORS[detector](
            evidence.probabilities[rows], evidence.labels[rows], evidence.thresholds[rows]
        )
    return [unrevealed[int(i)] for i in np.argsort(-scores, kind="stable")]


def partner_order(
    partner: str,
    model: TagModel,
    corpus: Corpus,
    unrevealed: Sequence[int],
    generator: np.random.Generator,
) -> list[int]:
    """Unrevealed pool rows in the mix partner's order: threshold-margin uncertainty of the
    full-pool model for ``uncertainty``, a random permutation for ``random``."""
    if partner == "random":
        return [unrevealed[int(i)] for i in generator.permutation(len(unrevealed))]
    probabilities = model.predict_proba(model.transform([corpus.pool_texts[i] for i in unrevealed]))
    scores = uncertainty_scores(UNCERTAINTY_PARTNER, probabilities, model.thresholds_)
    return [unrevealed[int(i)] for i in np.argsort(-scores, kind="stable")]
