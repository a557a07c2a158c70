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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from db.models import Project, Tag, TagParent
from labeling.baseline import Rules, load_rules, text_names
from labeling.config import Settings
from labeling.corpus import load_corpus
from labeling.model import (
    CrossFit,
    ModelParams,
    TagModel,
    calibrated,
    cross_fitted_probabilities,
    fit_tag_model,
    fold_scores,
    label_matrix,
)

Detector = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# (row, tag) -> whether that row's text names the tag (``baseline.text_names``)
TextNames = Callable[[int, str], bool]
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
    agreement and tags the model could not judge (NaN) count 0.

    Every comparison with NaN is false, so NaN cells fall in neither mask, and the weights
    are computed on the masked cells only: whole-matrix temporaries of (projects x tags)
    float64 took 1 GB at 100,000 x 400 and made this stage the training's peak of memory."""
    p = np.asarray(probabilities, dtype=float)
    t = np.broadcast_to(thresholds, p.shape)
    present = labels.astype(bool)
    wrong = present & (p < t)
    missing = ~present & (p >= t)
    weights = np.zeros(p.shape, dtype=float)
    weights[wrong] = (t[wrong] - p[wrong]) / t[wrong]
    weights[missing] = (p[missing] - t[missing]) / (1.0 - t[missing])
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


LABEL_ERROR_FOLDS = 10
# Past this many labelled projects 3 folds: each fold model then sees thousands of projects
# and ten fits per retrain would cost more than they add (DESIGN.md: retraining stays fast).
MANY_FOLDS_UP_TO = 4_000
FEW_FOLDS = 3
# A project is a suspect when its strongest evidence weight reaches SUSPECT_WEIGHT, and a
# change is pre-selected on the Annotate page only when its weight reaches PRESELECT_WEIGHT
# (a parent the taxonomy implies counts 1.0). Both were chosen on measured precision
# (README, "Finding the wrong tags"): benchmarks/preselect_demo.py on the demo's planted
# errors and the warm-start simulator's injected ones.
SUSPECT_WEIGHT = 0.95
PRESELECT_WEIGHT = 0.98
# Removing a tag the source gave needs stronger evidence than adding one: removals between
# 0.98 and 0.99 were right 4 of 7 on the demo and 5 of 17 on injected-noise catalogues,
# additions there 54 of 56 (README, "Which changes are pre-selected"), so a removal is
# pre-selected only from 0.99.
PRESELECT_REMOVE_WEIGHT = 0.99


def reference_out_of_fold(
    texts: Sequence[str],
    label_sets: Sequence[frozenset[str]],
    reference: TagModel,
    folds: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (probabilities, thresholds), both (n x tags) aligned to
    ``reference.tags``: one fit per fold with the reference model's features and classifier,
    each fold's scores calibrated and thresholded on the other folds' out-of-fold scores
    (``model.cross_fitted_probabilities``), never on the full model's calibration, whose
    score scale is a different model's. The training job's path; the CLI uses it too.
    ``folds`` defaults to 10 (fold models on 90% of the projects: on the demo the 10-fold
    evidence pre-selected 28 changes with 21 right, 5 folds 26 with 18) up to
    ``MANY_FOLDS_UP_TO`` projects, 3 beyond."""
    if folds is None:
        folds = LABEL_ERROR_FOLDS if len(texts) <= MANY_FOLDS_UP_TO else FEW_FOLDS
    Y = label_matrix(label_sets, reference.tags)
    X = reference.transform(texts)
    scores, fold_of = fold_scores(X, Y, reference.params, folds, seed)
    return cross_fitted_probabilities(scores, Y, fold_of, reference.calibration_ is not None)


def cross_fit_out_of_fold(
    model: TagModel, cross_fit: CrossFit, trained: np.ndarray, other_features: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold (probabilities, thresholds), both (n x tags), for n labelled projects of a
    large training from its own cross-validation, with nothing fitted again (issue 16):
    where ``trained`` (n booleans) is set, the project's cross-fitted values, in order; the
    others (the evaluation split, ``other_features`` in order) were seen by no fold model,
    so the fold models' average scores them, calibrated and thresholded as the model is
    (both tuned on those folds' scores, hence on the same scale)."""
    probabilities = np.empty((len(trained), len(model.tags)))
    thresholds = np.empty_like(probabilities)
    probabilities[trained] = cross_fit.probabilities
    thresholds[trained] = cross_fit.thresholds
    if not trained.all():
        scores = np.asarray(cross_fit.fold_average.predict(other_features), dtype=np.float64)
        probabilities[~trained] = calibrated(
            scores.reshape(-1, len(model.tags)), model.calibration_
        )
        thresholds[~trained] = model.thresholds_
    return probabilities, thresholds


def implied_parents(
    labels: np.ndarray, tags: Sequence[str], parents: Mapping[str, Sequence[str]]
) -> dict[tuple[int, int], str]:
    """(row, column) -> child for every parent tag the taxonomy implies but the project
    lacks: a project tagged ``object-detection`` is ``computer-vision`` by the taxonomy's own
    definition. On the demo all 6 such changes fix a planted error."""
    column = {tag: j for j, tag in enumerate(tags)}
    implied: dict[tuple[int, int], str] = {}
    for child, names in parents.items():
        if child not in column:
            continue
        for parent in names:
            if parent not in column:
                continue
            rows = np.flatnonzero(labels[:, column[child]] & ~labels[:, column[parent]])
            for row in rows:
                implied.setdefault((int(row), column[parent]), child)
    return implied


def evidence_weights(
    probabilities: np.ndarray,
    labels: np.ndarray,
    thresholds: np.ndarray,
    implied: Mapping[tuple[int, int], str] | None = None,
) -> np.ndarray:
    """The contradiction weights, with every parent the taxonomy implies set to 1."""
    weights = tag_error_weights(probabilities, labels, thresholds)
    for row, j in implied or {}:
        weights[row, j] = 1.0
    return weights


@dataclass(frozen=True)
class Suspect:
    """A project whose evidence reaches ``SUSPECT_WEIGHT``. ``probably_wrong`` and
    ``probably_missing`` list every contradicted tag with its out-of-fold probability,
    strongest first; ``preselected`` are the changes strong enough to pre-select; ``implied``
    maps a missing parent to the child tag that implies it."""

    project_id: int
    score: float
    probably_wrong: tuple[tuple[str, float], ...]
    probably_missing: tuple[tuple[str, float], ...]
    preselected: tuple[str, ...] = ()
    implied: tuple[tuple[str, str], ...] = ()

    def suspicions(self) -> dict[str, dict[str, Any]]:
        return {
            "wrong": dict(self.probably_wrong),
            "missing": dict(self.probably_missing),
            "preselect": {tag: True for tag in self.preselected},
            "implied": dict(self.implied),
        }

    def reason(self) -> str:
        return suspicion_text(self.suspicions())


def suspicion_text(suspicions: Mapping[str, Mapping[str, Any]]) -> str:
    """E.g. "nlp probably wrong (out-of-fold model 0.06); computer-vision probably missing
    (implied by object-detection)": one figure per tag, named for what it is."""
    implied = suspicions.get("implied", {})
    parts = [
        f"{tag} probably wrong (out-of-fold model {p:.2f})"
        for tag, p in suspicions.get("wrong", {}).items()
    ]
    parts += [
        f"{tag} probably missing (implied by {implied[tag]})"
        if tag in implied
        else f"{tag} probably missing (out-of-fold model {p:.2f})"
        for tag, p in suspicions.get("missing", {}).items()
    ]
    return "; ".join(parts)


def suspects(
    project_ids: Sequence[int],
    probabilities: np.ndarray,
    labels: np.ndarray,
    thresholds: np.ndarray,
    tags: Sequence[str],
    implied: Mapping[tuple[int, int], str] | None = None,
    suspect_weight: float = SUSPECT_WEIGHT,
    preselect_weight: float = PRESELECT_WEIGHT,
    remove_weight: float = PRESELECT_REMOVE_WEIGHT,
    parents: Mapping[str, Sequence[str]] | None = None,
    names: TextNames | None = None,
) -> list[Suspect]:
    """Every project whose strongest evidence reaches ``suspect_weight``, most suspicious
    first (ties in input order). A project with a merely contradicted tag is no suspect: on
    the demo, weights below 0.9 were right about 1 tag in 6. ``names(row, tag)`` says
    whether the row's text names the tag; such a tag is never pre-selected for removal."""
    weights = evidence_weights(probabilities, labels, thresholds, implied)
    scores = weights.max(axis=1, initial=0.0)
    implied = implied or {}
    found = []
    for row in np.argsort(-scores, kind="stable"):
        if scores[row] < suspect_weight:
            break
        order = np.argsort(-weights[row], kind="stable")
        flagged = order[weights[row, order] > 0]
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
                preselected=_preselected(
                    int(row),
                    [int(j) for j in flagged],
                    (weights, labels),
                    tags,
                    implied,
                    (preselect_weight, remove_weight),
                    parents or {},
                    names,
                ),
                implied=tuple(
                    (tags[j], implied[(int(row), int(j))])
                    for j in flagged
                    if (int(row), int(j)) in implied
                ),
            )
        )
    return found


def _preselected(
    row: int,
    flagged: Sequence[int],
    evidence: tuple[np.ndarray, np.ndarray],
    tags: Sequence[str],
    implied: Mapping[tuple[int, int], str],
    cuts: tuple[float, float],
    parents: Mapping[str, Sequence[str]],
    names: TextNames | None = None,
) -> tuple[str, ...]:
    """The flagged tags of ``row`` strong enough to pre-select (``_preselectable``), less the
    removal of a parent while a child that implies it stays: the taxonomy then says the
    parent is right (the same reasoning that adds an implied parent). On the demo that
    removal (computer-vision from an object-detection project) was wrong. Less, too, the
    removal of a tag the text names (``names``): a person reading "built on TFX components"
    would not accept "remove tensorflow", however sure the model is, which cannot read that
    (1070 on the demo, a wrong removal at weight 0.991); on the injected-noise catalogues no
    named tag's removal reaches the cut, so the guard costs nothing measured there."""
    weights, labels = evidence
    chosen = [j for j in flagged if _preselectable((row, j), weights, labels, tags, implied, cuts)]
    if names is not None:
        chosen = [j for j in chosen if not (labels[row, j] and names(row, tags[j]))]
    kept = {tags[j] for j in np.flatnonzero(labels[row])} - {
        tags[j] for j in chosen if labels[row, j]
    }
    implied_by_kept = {parent for child in kept for parent in parents.get(child, ())}
    return tuple(tags[j] for j in chosen if not (labels[row, j] and tags[j] in implied_by_kept))


def _preselectable(
    cell: tuple[int, int],
    weights: np.ndarray,
    labels: np.ndarray,
    tags: Sequence[str],
    implied: Mapping[tuple[int, int], str],
    cuts: tuple[float, float],
) -> bool:
    """Whether one contradicted tag is strong enough to pre-select. A parent the taxonomy
    implies is only as right as the child implying it: when the out-of-fold model contradicts
    that child (often a wrongly added tag), adding its parent would compound the error, so it
    stays a hint. ``cuts`` = (weight to add a tag, weight to remove one)."""
    row, j = cell
    if cell in implied:
        return bool(weights[row, list(tags).index(implied[cell])] == 0)
    add_weight, remove_weight = cuts
    return bool(weights[row, j] >= (remove_weight if labels[row, j] else add_weight))


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
    an auxiliary model, and wrong tags on evaluation projects distort every metric), found
    exactly as the training job finds them: a reference model on every labelled project,
    then :func:`reference_out_of_fold` and the taxonomy's parents."""
    params = params or ModelParams(min_positives=settings.min_positives)
    corpus = load_corpus(session, settings.trust_source_tags, params.features.title_repeats)
    rows = [i for i, labels in enumerate(corpus.labels) if labels is not None]
    label_sets: list[frozenset[str]] = [corpus.labels[i] for i in rows]  # type: ignore[misc]
    tags = sorted({tag for labels in label_sets for tag in labels})
    if len(rows) < 2 * LABEL_ERROR_FOLDS or not tags:
        return [], tags
    texts = [corpus.texts[i] for i in rows]
    reference = fit_tag_model(texts, label_sets, tags, params)
    probabilities, thresholds = reference_out_of_fold(texts, label_sets, reference)
    labels = label_matrix(label_sets, reference.tags)
    parents = taxonomy_parents(session)
    implied = implied_parents(labels, reference.tags, parents)
    found = suspects(
        [corpus.ids[i] for i in rows],
        probabilities,
        labels,
        thresholds,
        reference.tags,
        implied,
        parents=parents,
        names=names_in(texts, load_rules(session)),
    )
    return found, reference.tags


def names_in(texts: Sequence[str], rules: Rules) -> TextNames:
    """``suspects``' ``names`` for these texts (row i is ``texts[i]``), by the taxonomy's
    names and aliases."""
    return lambda row, tag: text_names(rules, texts[row], tag)


def taxonomy_parents(session: Session) -> dict[str, list[str]]:
    """Tag -> its parents' names, from the taxonomy."""
    child, parent = aliased(Tag), aliased(Tag)
    pairs = session.execute(
        select(child.name, parent.name)
        .join(TagParent, TagParent.tag_id == child.id)
        .join(parent, TagParent.parent_id == parent.id)
    ).all()
    result: dict[str, list[str]] = {}
    for name, parent_name in pairs:
        result.setdefault(name, []).append(parent_name)
    return result


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


# Which suspected changes the Annotate page pre-selects. "confident" applies only the changes
# whose evidence reaches PRESELECT_WEIGHT (the suspicions' "preselect"); "all" flips every
# contradicted tag (what the page did before issue 13: on the demo's first 50 projects it
# fixed 20 tag errors and introduced 99); "none" starts from the current tags. The default is
# the policy with the best net errors fixed at automation bias a = 0.9 in the simulator that
# does not lose at a = 0 (README, "Finding the wrong tags").
PRESELECT_POLICIES = ("confident", "all", "none")
DEFAULT_PRESELECT_POLICY = "confident"


def preselected_changes(
    suspicions: Mapping[str, Mapping[str, Any]], policy: str = DEFAULT_PRESELECT_POLICY
) -> tuple[set[str], set[str]]:
    """(tags to add, tags to remove) that ``policy`` pre-selects for these suspicions."""
    if policy not in PRESELECT_POLICIES:
        raise ValueError(
            f"unknown pre-selection policy {policy!r}; choose one of: "
            f"{', '.join(PRESELECT_POLICIES)}"
        )
    missing, wrong = set(suspicions.get("missing", {})), set(suspicions.get("wrong", {}))
    if policy == "none":
        return set(), set()
    if policy == "confident":
        chosen = set(suspicions.get("preselect", {}))
        missing, wrong = missing & chosen, wrong & chosen
    return missing, wrong


def preselected_tags(
    current: Sequence[str],
    suspicions: Mapping[str, Mapping[str, Any]],
    policy: str = DEFAULT_PRESELECT_POLICY,
) -> tuple[str, ...]:
    """The starting tag set: the current tags with the pre-selected changes applied, current
    tags first in their order, then the added ones."""
    add, remove = preselected_changes(suspicions, policy)
    starting = [*current, *sorted(add)]
    return tuple(tag for tag in dict.fromkeys(starting) if tag not in remove)
