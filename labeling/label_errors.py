"""Which projects' tags are probably wrong: disagreement between a project's current tags and
out-of-fold predictions of a model that never saw that project's label.

A catalogue arrives with source tags that are mostly right, so the most valuable project to
show a person is one whose tags the model contradicts with confidence: a tag present that the
model is sure does not apply ("probably wrong") or a tag absent that it is sure does
("probably missing"). Out-of-fold predictions matter: a model trained on a project's own
wrong tag learns to repeat it and would vouch for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Project
from labeling.config import Settings
from labeling.corpus import load_corpus
from labeling.model import (
    ModelParams,
    TagModel,
    fit_tag_model,
    held_out_probabilities,
    label_matrix,
)

Detector = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# Partners of the mixed strategy: a share of every batch goes to projects the model is unsure
# about (threshold-margin uncertainty) or to random ones, so the model also sees projects
# nobody suspects. Serving reads the same names from LABELLOOP_MIX_WITH.
MIX_PARTNERS = ("uncertainty", "random")
DEFAULT_MIX_SHARE = 0.2
DEFAULT_MIX_WITH = "uncertainty"
_CLEANLAB_CLIP = 1e-6


def tag_error_weights(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Per project and tag, how confidently the prediction contradicts the label: for a present
    tag below its threshold, (t - p) / t; for an absent tag above it, (p - t) / (1 - t);
    agreement and tags the model could not judge (NaN) count 0."""
    p = np.nan_to_num(probabilities, nan=-1.0)
    known = ~np.isnan(probabilities)
    t = np.broadcast_to(thresholds, probabilities.shape)
    present = labels.astype(bool)
    wrong = present & known & (p < t)
    missing = ~present & known & (p >= t)
    weights = np.zeros(probabilities.shape, dtype=float)
    weights[wrong] = ((t - p) / t)[wrong]
    weights[missing] = ((p - t) / (1.0 - t))[missing]
    return weights


def max_contradiction_scores(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """A project's strongest contradiction: one confidently wrong tag is an error to fix,
    however well the other tags agree."""
    return tag_error_weights(probabilities, labels, thresholds).max(axis=1, initial=0.0)


def flip_scores(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """The plain disagreement count: the tags the thresholded prediction flips, each weighted
    by its confidence, summed."""
    return tag_error_weights(probabilities, labels, thresholds).sum(axis=1)


def cleanlab_scores(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """1 - cleanlab's multi-label label quality (per-tag self-confidence, p for a present tag
    and 1 - p for an absent one, aggregated by its exponential moving average over the sorted
    per-tag scores). cleanlab works on probabilities alone, so ``thresholds`` is unused; a tag
    the model could not judge (NaN) is taken to agree with the label. cleanlab is imported
    here, not at the top: its import takes 1.7 s, which the training job and the CLI would
    pay on every start for a detector they do not use by default."""
    from cleanlab.multilabel_classification import get_label_quality_scores

    present = labels.astype(bool)
    p = np.where(np.isnan(probabilities), present.astype(float), probabilities)
    p = np.clip(p, _CLEANLAB_CLIP, 1.0 - _CLEANLAB_CLIP)
    given = [np.flatnonzero(row).tolist() for row in present]
    return 1.0 - np.asarray(get_label_quality_scores(given, p), dtype=float)


# Every detector maps (probabilities, labels, thresholds), all (n x tags) or thresholds (tags,),
# to one score per project, HIGHER = more likely mislabelled. The simulator compares them as
# strategies label_errors_<name>; serving and the CLI use DEFAULT_DETECTOR.
DETECTORS: dict[str, Detector] = {
    "max": max_contradiction_scores,
    "flips": flip_scores,
    "cleanlab": cleanlab_scores,
}
DEFAULT_DETECTOR = "max"


def label_error_scores(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """The default detector's project scores.

    The maximum contradiction, because it fixed the most tag errors per label in the
    warm-start simulator (docs/notes/issue9-evidence.md): on a 1,400-project catalogue, 285
    of 459 injected errors in the first 250 labels against 236 for the summed flips and 234
    for cleanlab's label-quality score, and 22 of the demo's 32 planted errors in its top 50
    against 11 and 12. The sum and cleanlab's average favour projects with many merely
    uncertain tags."""
    return DETECTORS[DEFAULT_DETECTOR](probabilities, labels, thresholds)


def mixed_batch(
    suspect_order: Sequence[int], partner_order: Sequence[int], n: int, share: float
) -> list[int]:
    """``n`` items: the first ``n - round(share * n)`` of ``suspect_order`` (most suspect
    first), then the partner's best that are not already taken. Either ranking running out is
    made up from the other, so the batch is full whenever the two hold ``n`` items between
    them."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"mix share must be between 0 and 1; got {share}")
    from_partner = round(share * n)
    batch = list(dict.fromkeys(suspect_order))[: n - from_partner]
    taken = set(batch)
    for source in (partner_order, suspect_order):
        for item in source:
            if len(batch) == n:
                return batch
            if item not in taken:
                batch.append(item)
                taken.add(item)
    return batch


def reference_out_of_fold(
    texts: Sequence[str],
    label_sets: Sequence[frozenset[str]],
    reference: TagModel,
    folds: int = 3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (probabilities, thresholds) aligned to ``reference.tags``, each fold one
    fit that reuses the reference model's calibration and thresholds: the training job's
    fast path (the CLI's 5-fold ``out_of_fold_predictions`` tunes every fold itself)."""
    probabilities = np.zeros((len(texts), len(reference.tags)))
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(np.arange(len(texts))):
        probabilities[held_rows] = held_out_probabilities(
            [texts[i] for i in fit_rows],
            [label_sets[i] for i in fit_rows],
            [texts[i] for i in held_rows],
            reference,
        )
    return probabilities, np.broadcast_to(reference.thresholds_, probabilities.shape)


def out_of_fold_predictions(
    texts: Sequence[str],
    label_sets: Sequence[frozenset[str]],
    tags: Sequence[str],
    params: ModelParams,
    folds: int = 5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, thresholds), both (n projects x tags): each project scored by a model
    fitted without it. A tag a fold's model could not train stays NaN (no evidence)."""
    probabilities = np.full((len(texts), len(tags)), np.nan)
    thresholds = np.full((len(texts), len(tags)), 0.5)
    column = {tag: j for j, tag in enumerate(tags)}
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(np.arange(len(texts))):
        model = fit_tag_model(
            [texts[i] for i in fit_rows], [label_sets[i] for i in fit_rows], tags, params
        )
        held = model.predict_proba_texts([texts[i] for i in held_rows])
        columns = [column[tag] for tag in model.tags]
        probabilities[np.ix_(held_rows, columns)] = held
        thresholds[np.ix_(held_rows, columns)] = model.thresholds_
    return probabilities, thresholds


@dataclass(frozen=True)
class Suspect:
    project_id: int
    score: float
    probably_wrong: tuple[tuple[str, float], ...]
    probably_missing: tuple[tuple[str, float], ...]

    def suspicions(self) -> dict[str, dict[str, float]]:
        return {"wrong": dict(self.probably_wrong), "missing": dict(self.probably_missing)}

    def reason(self) -> str:
        parts = [f"{tag} probably wrong: model {p:.2f}" for tag, p in self.probably_wrong]
        parts += [f"{tag} probably missing: model {p:.2f}" for tag, p in self.probably_missing]
        return "; ".join(parts)


def suspects(
    project_ids: Sequence[int],
    probabilities: np.ndarray,
    labels: np.ndarray,
    thresholds: np.ndarray,
    tags: Sequence[str],
) -> list[Suspect]:
    """Every project with at least one contradicted tag, most suspicious by the default
    detector first (ties in input order)."""
    weights = tag_error_weights(probabilities, labels, thresholds)
    scores = label_error_scores(probabilities, labels, thresholds)
    found = []
    for row in np.argsort(-scores, kind="stable"):
        if not (weights[row] > 0).any():
            continue
        flagged = [j for j in np.argsort(-weights[row], kind="stable") if weights[row, j] > 0]
        found.append(
            Suspect(
                project_id=int(project_ids[row]),
                score=round(float(scores[row]), 4),
                probably_wrong=tuple(
                    (tags[j], round(float(probabilities[row, j]), 3))
                    for j in flagged
                    if labels[row, j]
                ),
                probably_missing=tuple(
                    (tags[j], round(float(probabilities[row, j]), 3))
                    for j in flagged
                    if not labels[row, j]
                ),
            )
        )
    return found


def suspected_per_tag(found: Sequence[Suspect]) -> dict[str, dict[str, int]]:
    """How many projects each tag probably misses or wrongly carries."""
    missing = Counter(tag for s in found for tag, _ in s.probably_missing)
    wrong = Counter(tag for s in found for tag, _ in s.probably_wrong)
    return {
        tag: {"probably_missing": missing.get(tag, 0), "probably_wrong": wrong.get(tag, 0)}
        for tag in sorted(set(missing) | set(wrong))
    }


def find_label_errors(
    session: Session, settings: Settings, params: ModelParams | None = None
) -> tuple[list[Suspect], list[str]]:
    """Suspects over every labelled project of the catalogue (both splits: the detector is
    an auxiliary model, and wrong tags on evaluation projects distort every metric)."""
    params = params or ModelParams(min_positives=settings.min_positives)
    corpus = load_corpus(session, settings.trust_source_tags, params.features.title_repeats)
    rows = [i for i, labels in enumerate(corpus.labels) if labels is not None]
    label_sets = [corpus.labels[i] for i in rows]
    tags = sorted({tag for labels in label_sets for tag in labels})  # type: ignore[union-attr]
    if len(rows) < 6 or not tags:
        return [], tags
    probabilities, thresholds = out_of_fold_predictions(
        [corpus.texts[i] for i in rows],
        label_sets,
        tags,
        params,  # type: ignore[arg-type]
    )
    labels = label_matrix(label_sets, tags)  # type: ignore[arg-type]
    return suspects([corpus.ids[i] for i in rows], probabilities, labels, thresholds, tags), tags


def suspect_rows(
    session: Session, found: Sequence[Suspect], tag: str | None = None, top: int | None = None
) -> list[dict[str, object]]:
    """Suspects as report rows with the project's id and title, optionally only those that
    involve ``tag``, at most ``top`` of them."""
    chosen = [
        s
        for s in found
        if tag is None or tag in {t for t, _ in (*s.probably_wrong, *s.probably_missing)}
    ][:top]
    projects = {
        row.id: row
        for row in session.execute(
            select(Project.id, Project.external_id, Project.title).where(
                Project.id.in_([s.project_id for s in chosen])
            )
        ).all()
    }
    return [
        {
            "id": projects[s.project_id].external_id,
            "title": projects[s.project_id].title,
            "score": s.score,
            "probably_wrong": dict(s.probably_wrong),
            "probably_missing": dict(s.probably_missing),
            "reason": s.reason(),
        }
        for s in chosen
    ]
