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
from collections.abc import Sequence
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


def label_error_scores(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Per project, the strongest contradiction among its tags: for a present tag below its
    threshold, (t - p) / t; for an absent tag above it, (p - t) / (1 - t); agreement and tags
    the model could not judge (NaN) count 0. Higher = more likely mislabelled.

    The maximum, not the sum: on the demo catalogue (32 planted errors in 320 projects,
    5-fold out-of-fold predictions) the maximum put 21-22 planted projects in its top 50,
    the sum 11-12 (it favours projects with many merely uncertain tags), a plain count of
    flipped tags 7-9, and the summed log-loss 18-19."""
    return tag_error_weights(probabilities, labels, thresholds).max(axis=1, initial=0.0)


def tag_error_weights(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
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
    """Every project with at least one contradicted tag, most suspicious first (ties by id)."""
    weights = tag_error_weights(probabilities, labels, thresholds)
    scores = label_error_scores(probabilities, labels, thresholds)
    found = []
    for row in np.argsort(-scores, kind="stable"):
        if scores[row] <= 0:
            break
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
