"""What a model version's figures mean: intervals, verified labels, the rules baseline and
comparisons on today's labels.

Computed once in the training job and stored on the version (``metrics``), so the Model page
only reads them. Every figure is given twice: against all effective labels of the evaluation
projects (mostly imported source tags, which the product exists to fix) and against verified
labels only (evaluation projects an annotator judged or a reviewer resolved).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from db.models import Annotation, ModelVersion, Project, Resolution
from labeling import baseline, intervals
from labeling.annotations import all_label_states
from labeling.corpus import CorpusRows, training_label
from labeling.features import project_text
from labeling.model import TagModel

LABEL_SETS = ("all", "verified")
HISTORY_VERSIONS = 20


@dataclass(frozen=True)
class EvalSet:
    """The labelled evaluation projects today: id, text, effective label, verified or not."""

    ids: list[int]
    texts: list[str]
    labels: list[frozenset[str]]
    verified: np.ndarray

    def subset(self, which: str) -> EvalSet:
        if which == "all":
            return self
        keep = np.flatnonzero(self.verified)
        return EvalSet(
            [self.ids[i] for i in keep],
            [self.texts[i] for i in keep],
            [self.labels[i] for i in keep],
            self.verified[keep],
        )


def verified_project_ids(session: Session) -> set[int]:
    """Projects whose label a person gave: a non-skipped judgement or a resolution."""
    judged = select(Annotation.project_id).where(Annotation.skipped.is_(False))
    resolved = select(Resolution.project_id)
    return set(session.scalars(union(judged, resolved)))


def eval_set_from_rows(
    ids: Sequence[int],
    texts: Sequence[str],
    splits: Sequence[str],
    labels: Sequence[frozenset[str] | None],
    verified_ids: set[int],
) -> EvalSet:
    rows = [
        i
        for i, (s, y) in enumerate(zip(splits, labels, strict=True))
        if s == "eval" and y is not None
    ]
    return EvalSet(
        ids=[ids[i] for i in rows],
        texts=[texts[i] for i in rows],
        labels=[labels[i] for i in rows],  # type: ignore[misc]
        verified=np.array([ids[i] in verified_ids for i in rows], dtype=bool),
    )


def load_eval_set(session: Session, trust_source_tags: bool) -> EvalSet:
    """Today's labelled evaluation projects, for comparisons asked for after training."""
    states = all_label_states(session, trust_source_tags)
    rows = session.execute(
        select(Project.id, Project.title, Project.description)
        .where(Project.split == "eval")
        .order_by(Project.id)
    ).all()
    labels = [training_label(states[project_id]) for project_id, *_ in rows]
    return eval_set_from_rows(
        [r[0] for r in rows],
        [project_text(r[1], r[2], 1) for r in rows],
        ["eval"] * len(rows),
        labels,
        verified_project_ids(session),
    )


# --- stored predictions ----------------------------------------------------------------------


def stored_predictions(ids: Sequence[int], predicted: Sequence[frozenset[str]]) -> dict[str, Any]:
    """A version's decisions on the evaluation projects, as stored on the version."""
    return {"project_ids": list(ids), "tags": [sorted(tags) for tags in predicted]}


def aligned(
    eval_set: EvalSet, stored: Mapping[str, Any] | None
) -> dict[int, frozenset[str]] | None:
    if not stored:
        return None
    return {
        int(pid): frozenset(tags)
        for pid, tags in zip(stored["project_ids"], stored["tags"], strict=True)
    }


def _common(eval_set: EvalSet, *predictions: Mapping[int, frozenset[str]]) -> EvalSet:
    """The evaluation projects every tagger has a decision for (projects imported after a
    version was trained are unknown to it)."""
    keep = [i for i, pid in enumerate(eval_set.ids) if all(pid in p for p in predictions)]
    return EvalSet(
        [eval_set.ids[i] for i in keep],
        [eval_set.texts[i] for i in keep],
        [eval_set.labels[i] for i in keep],
        eval_set.verified[keep],
    )


def _matrix(sets: Sequence[frozenset[str]], tags: Sequence[str]) -> np.ndarray:
    return intervals.label_matrix(sets, tags)


# --- figures ---------------------------------------------------------------------------------


def figures(
    eval_set: EvalSet, predicted: Mapping[int, frozenset[str]], tags: Sequence[str]
) -> dict[str, Any]:
    """Intervals against all labels and against verified labels, each with its n."""
    result = {}
    for which in LABEL_SETS:
        part = eval_set.subset(which)
        result[which] = intervals.metric_intervals(
            _matrix(part.labels, tags), _matrix([predicted[p] for p in part.ids], tags), tags
        )
    return result


def paired(
    eval_set: EvalSet,
    before: Mapping[int, frozenset[str]],
    after: Mapping[int, frozenset[str]],
    tags: Sequence[str],
    min_support: int,
) -> dict[str, Any]:
    """``after`` minus ``before`` on the same projects and today's labels, all and verified."""
    common = _common(eval_set, before, after)
    result = {}
    for which in LABEL_SETS:
        part = common.subset(which)
        truth = _matrix(part.labels, tags)
        result[which] = intervals.paired_difference(
            truth,
            _matrix([before[p] for p in part.ids], tags),
            _matrix([after[p] for p in part.ids], tags),
            tags,
            min_support,
        )
    return result


def rules_predictions(rules: baseline.Rules, eval_set: EvalSet) -> dict[int, frozenset[str]]:
    return dict(zip(eval_set.ids, baseline.tag_texts(rules, eval_set.texts), strict=True))


def rescored_history(
    eval_set: EvalSet,
    by_version: Mapping[int, Mapping[int, frozenset[str]]],
    tags: Sequence[str],
) -> list[dict[str, Any]]:
    """Every version's overall F1 re-scored on today's labels and tags (each on the projects it
    has decisions for), so a line across versions shows the models, not the relabelling."""
    rows = []
    for version, predicted in sorted(by_version.items()):
        part = _common(eval_set, predicted)
        scored = intervals.metric_intervals(
            _matrix(part.labels, tags), _matrix([predicted[p] for p in part.ids], tags), tags
        )
        rows.append({"version": version, "n": scored["n"], **scored["overall"]})
    return rows


def assess(
    eval_set: EvalSet,
    predicted: Mapping[int, frozenset[str]],
    rules: baseline.Rules,
    older: Mapping[int, Mapping[int, frozenset[str]]],
    tags: Sequence[str],
    min_support: int,
) -> dict[str, Any]:
    """Everything stored under ``metrics`` besides scikit-learn's point figures."""
    by_rules = rules_predictions(rules, eval_set)
    return {
        "min_support": min_support,
        "intervals": figures(eval_set, predicted, tags),
        "baseline": {
            "intervals": figures(eval_set, by_rules, tags),
            "model_vs_rules": paired(eval_set, by_rules, predicted, tags, min_support),
        },
        "rescored": rescored_history(eval_set, {baseline.VERSION: by_rules, **older}, tags),
    }


def older_predictions(
    session: Session, eval_set: EvalSet, exclude: int
) -> dict[int, dict[int, frozenset[str]]]:
    """Stored evaluation decisions of the newest ready versions, for the re-scored history."""
    versions = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.status == "ready", ModelVersion.id != exclude)
        .order_by(ModelVersion.id.desc())
        .limit(HISTORY_VERSIONS)
    )
    found = {}
    for version in versions:
        decisions = aligned(eval_set, version.eval_predictions)
        if decisions is not None:
            found[version.id] = decisions
    return found


@dataclass(frozen=True)
class TrainingAssessment:
    eval_set: EvalSet
    predicted: dict[int, frozenset[str]]
    metrics: dict[str, Any]


def assess_in_training(
    session: Session,
    ids: Sequence[int],
    texts: Sequence[str],
    splits: Sequence[str],
    labels: Sequence[frozenset[str] | None],
    decisions: np.ndarray,
    tags: Sequence[str],
    version_id: int,
    min_support: int,
) -> TrainingAssessment:
    """The training job's assessment of a new version: ``decisions`` are its 0/1 decisions
    for every project (rows as ``ids``). Decisions on every evaluation project are kept, so
    that projects labelled later can still be scored."""
    eval_set = eval_set_from_rows(ids, texts, splits, labels, verified_project_ids(session))
    predicted = {
        ids[i]: frozenset(tags[j] for j in np.flatnonzero(decisions[i]))
        for i, split in enumerate(splits)
        if split == "eval"
    }
    older = older_predictions(session, eval_set, exclude=version_id)
    metrics = assess(eval_set, predicted, baseline.load_rules(session), older, tags, min_support)
    metrics["rescored"].append(
        {
            "version": version_id,
            "n": metrics["intervals"]["all"]["n"],
            **metrics["intervals"]["all"]["overall"],
        }
    )
    return TrainingAssessment(eval_set, predicted, metrics)


class ComparisonError(ValueError):
    """Two versions that cannot be compared on today's labels; shown to the person."""


def _decisions_of(
    session: Session, version_id: int, eval_set: EvalSet
) -> tuple[dict[int, frozenset[str]], list[str]]:
    if version_id == baseline.VERSION:
        return rules_predictions(baseline.load_rules(session), eval_set), []
    version = session.get(ModelVersion, version_id)
    if version is None or version.status != "ready":
        raise ComparisonError(f"version {version_id} is not a ready model version")
    decisions = aligned(eval_set, version.eval_predictions)
    if decisions is None:
        raise ComparisonError(
            f"version {version_id} was trained before evaluation decisions were stored; "
            "it cannot be re-scored on today's labels"
        )
    return decisions, list(version.thresholds or {})


def compare_versions(
    session: Session, a: int, b: int, trust_source_tags: bool, min_support: int
) -> dict[str, Any]:
    """b minus a on the same evaluation projects and today's labels (0 is the rules), all and
    verified labels, paired; on the tags either model knows (the rules are scored on the
    model's tags)."""
    eval_set = load_eval_set(session, trust_source_tags)
    before, tags_a = _decisions_of(session, a, eval_set)
    after, tags_b = _decisions_of(session, b, eval_set)
    tags = sorted(set(tags_a) | set(tags_b))
    return {"a": a, "b": b, **paired(eval_set, before, after, tags, min_support)}


def assess_new_version(
    make_session: Callable[[], Session],
    version_id: int,
    corpus: CorpusRows,
    model: TagModel,
    probabilities: np.ndarray,
    min_support: int,
) -> TrainingAssessment:
    """The training job's call: intervals on all and verified labels, the rules baseline and
    the history re-scored on today's labels, computed there so the Model page only reads
    them."""
    with make_session() as session:
        return assess_in_training(
            session,
            corpus.ids,
            corpus.texts,
            corpus.splits,
            corpus.labels,
            model.decide(probabilities),
            model.tags,
            version_id,
            min_support,
        )
