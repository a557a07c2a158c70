"""Model versions: training one claimed version, its progress, its artifact and the stored
scores, and which version serves.

A training job is a ModelVersion row. ``labeling.training_jobs`` queues and claims the rows
one at a time per database and runs the workers; a claimed version reports progress on the
row, writes the artifact atomically and only then is marked ready in one transaction with its
predictions, so a crash at any point leaves the previous ready version serving and never a
version pointing at a missing file. Summaries and comparisons of stored versions are in
``labeling.version_summaries``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from db.models import ModelVersion, Prediction, Tag, User, utcnow
from db.session import SessionFactory, make_private_dir
from labeling import assessment, audit, baseline, label_errors, promotion
from labeling.config import Settings
from labeling.corpus import CorpusRows, load_corpus
from labeling.model import (
    CrossFit,
    ModelParams,
    TagModel,
    evaluate,
    fit_tag_model_and_cross_fit,
    label_matrix,
)
from labeling.project_state import drop_predicted_tags, store_predicted_tags
from labeling.strategies import (
    AUTO,
    STRATEGIES,
    WARM_START_DEFAULT,
    WARM_STRATEGIES,
    uncertainty_scores,
)
from labeling.version_summaries import metric_deltas

KEPT_PREDICTION_VERSIONS = 2
STORED_PROBABILITY_FLOOR = 0.005


class TrainingError(RuntimeError):
    """A training that cannot run (no labels, no trainable tag); shown to the person who asked."""


def label_snapshot(corpus: CorpusRows) -> dict[str, Any]:
    """What a version was trained on, so two versions' numbers can be compared knowingly."""
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    labelled = {"train": 0, "eval": 0}
    for project_id, split, tags in zip(corpus.ids, corpus.splits, corpus.labels, strict=True):
        if tags is None:
            continue
        labelled[split] += 1
        digest.update(f"{project_id}:{','.join(sorted(tags))};".encode())
        if split == "train":
            for tag in tags:
                counts[tag] = counts.get(tag, 0) + 1
    return {
        "train_projects": labelled["train"],
        "eval_projects": labelled["eval"],
        "tag_counts": dict(sorted(counts.items())),
        "hash": digest.hexdigest()[:16],
    }


def _report_progress(make_session: SessionFactory, version_id: int, stage: str, pct: float) -> None:
    with make_session.begin() as session:
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == version_id)
            .values(progress_stage=stage, progress_pct=round(pct, 1), heartbeat_at=utcnow())
        )


# --- training --------------------------------------------------------------------------------


def artifact_path(settings: Settings, version_id: int) -> Path:
    return settings.data_dir / "models" / f"model-{version_id}.joblib"


def write_artifact_atomically(model: TagModel, path: Path) -> None:
    """Temp file in the same directory, then rename: readers see the old file or the whole
    new one, never half of one. The directory is created 0700 and mkstemp makes the file
    0600, so no other local user can read a model trained on the catalogue."""
    make_private_dir(path.parent)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".joblib")
    os.close(handle)
    try:
        joblib.dump(model, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@lru_cache(maxsize=4)
def load_artifact(path: str) -> TagModel:
    return joblib.load(path)


def _active_tag_names(session: Session) -> list[str]:
    return list(session.scalars(select(Tag.name).where(Tag.active.is_(True)).order_by(Tag.name)))


def _scores(settings: Settings, model: TagModel, probabilities: np.ndarray) -> np.ndarray:
    """The per-project score serving orders by (higher = serve sooner), for the active
    strategy; random gets a stable pseudo-random order instead. Warm-start strategies serve
    by the stored label-error scores and keep threshold-margin uncertainty here, for their
    uncertainty share and for projects nobody suspects."""
    name = serving_strategy_name(settings.strategy)
    if name in WARM_STRATEGIES or name == "ranked_batch":
        return uncertainty_scores("threshold_margin", probabilities, model.thresholds_)
    if name == "random":
        return np.random.default_rng(model.params.seed).random(probabilities.shape[0])
    return uncertainty_scores(name, probabilities, model.thresholds_)


def serving_strategy_name(configured: str) -> str:
    """``auto`` resolves to the warm-start default: serving falls back to uncertainty by
    itself when nobody's tags are suspect (a catalogue without source tags)."""
    name = WARM_START_DEFAULT if configured == AUTO else configured
    if name not in STRATEGIES and name not in WARM_STRATEGIES:
        choices = ", ".join([AUTO, *WARM_STRATEGIES, *STRATEGIES])
        raise TrainingError(
            f"unknown strategy {configured!r} in LABELLOOP_STRATEGY; choose one of: {choices}"
        )
    return name


def train_version(
    make_session: SessionFactory,
    version_id: int,
    settings: Settings,
    progress: Callable[[str, float], None] | None = None,
) -> None:
    """Run one claimed job to the end: ready with metrics and predictions, or failed with
    the reason. Exceptions are recorded on the version, not raised."""
    started = time.perf_counter()

    def report(stage: str, pct: float) -> None:
        _report_progress(make_session, version_id, stage, pct)
        if progress:
            progress(stage, pct)

    path = artifact_path(settings, version_id)
    try:
        with make_session() as session:
            version = session.get(ModelVersion, version_id)
            assert version is not None
            params = replace(
                ModelParams.from_dict(version.params or {}), min_positives=settings.min_positives
            )
            report("loading labels", 5)
            corpus = load_corpus(session, settings.trust_source_tags, params.features.title_repeats)
            candidate_tags = _active_tag_names(session)
            parents = label_errors.taxonomy_parents(session)
            rules = baseline.load_rules(session)
        model, cross_fit, evaluation, snapshot = _fit_and_evaluate(
            corpus, candidate_tags, params, report
        )
        report("scoring every project", 85)
        features = model.transform(corpus.texts)
        probabilities = model.predict_proba(features)
        scores = _scores(settings, model, probabilities)
        errors = (
            _label_errors_by_row(corpus, model, report, (parents, rules), (cross_fit, features))
            if settings.label_errors
            else {}
        )
        report("assessing", 92)
        assessed = assessment.assess_new_version(
            make_session, version_id, corpus, model, probabilities, settings.min_eval_support
        )
        evaluation.update(assessed.metrics)
        report("saving", 95)
        write_artifact_atomically(model, path)
        _finish_ready(
            make_session,
            version_id,
            model,
            corpus,
            probabilities,
            scores,
            errors,
            evaluation,
            snapshot,
            str(path),
            time.perf_counter() - started,
        )
        promotion.decide_after_training(
            make_session,
            version_id,
            assessed.eval_set,
            assessed.predicted,
            settings.promotion_rule,
            settings.min_eval_support,
        )
    except Exception as error:  # any failure must end as a failed version, never a crash
        path.unlink(missing_ok=True)
        _finish_failed(make_session, version_id, error, time.perf_counter() - started)


def _fit_and_evaluate(
    corpus: CorpusRows,
    candidate_tags: list[str],
    params: ModelParams,
    report: Callable[[str, float], None],
) -> tuple[TagModel, CrossFit | None, dict[str, Any], dict[str, Any]]:
    train = [
        i
        for i, (s, y) in enumerate(zip(corpus.splits, corpus.labels, strict=True))
        if s == "train" and y is not None
    ]
    held_out = [
        i
        for i, (s, y) in enumerate(zip(corpus.splits, corpus.labels, strict=True))
        if s == "eval" and y is not None
    ]
    if not train:
        raise TrainingError("no labelled training projects yet: import projects with tags first")
    snapshot = label_snapshot(corpus)

    def fit_progress(stage: str, fraction: float) -> None:
        report(stage, 10 + 60 * fraction)

    model, cross_fit = fit_tag_model_and_cross_fit(
        [corpus.texts[i] for i in train],
        [corpus.labels[i] for i in train],  # type: ignore[misc]
        candidate_tags,
        params,
        fit_progress,
    )
    report("evaluating on the evaluation split", 75)
    if held_out:
        eval_probabilities = model.predict_proba_texts([corpus.texts[i] for i in held_out])
        truth = [corpus.labels[i] for i in held_out]
        evaluation = evaluate(truth, model.decide(eval_probabilities), model.tags)  # type: ignore[arg-type]
    else:
        evaluation = {"overall": {"projects": 0}, "per_class": {}}
    evaluation["not_enough_data"] = model.not_enough_data
    return model, cross_fit, evaluation, snapshot


LabelErrors = dict[int, tuple[float, dict[str, dict[str, float]] | None]]


def _label_errors_by_row(
    corpus: CorpusRows,
    model: TagModel,
    report: Callable[[str, float], None],
    taxonomy: tuple[dict[str, list[str]], baseline.Rules],
    shared: tuple[CrossFit | None, Any],
) -> LabelErrors:
    """Corpus row -> (label-error score, suspected tags) for every labelled project, from
    out-of-fold predictions calibrated fold by fold and the taxonomy (``taxonomy`` = (its
    parents, its names and aliases: no removal of a tag the text names is pre-selected)):
    the training's own cross-validation when it kept one (``shared`` = (cross-fit, every
    corpus row's features), see ``label_errors.cross_fit_out_of_fold``), else folds fitted
    for this (``reference_out_of_fold``); unlabelled rows are absent, and a project whose
    evidence is below ``label_errors.SUSPECT_WEIGHT`` stores 0 (no suspect). Stored with the
    predictions so that serving suspects is an indexed query."""
    report("finding likely label errors", 88)
    rows = [i for i, labels in enumerate(corpus.labels) if labels is not None]
    label_sets = [corpus.labels[i] for i in rows]
    if len(rows) < 2 * label_errors.LABEL_ERROR_FOLDS:
        return {}
    texts = [corpus.texts[i] for i in rows]
    cross_fit, features = shared
    if cross_fit is None:
        probabilities, thresholds = label_errors.reference_out_of_fold(texts, label_sets, model)
    else:
        trained = np.array([corpus.splits[i] == "train" for i in rows])
        probabilities, thresholds = label_errors.cross_fit_out_of_fold(
            model, cross_fit, trained, features[[i for i in rows if corpus.splits[i] != "train"]]
        )
    labels = label_matrix(label_sets, model.tags)
    parents, rules = taxonomy
    implied = label_errors.implied_parents(labels, model.tags, parents)
    found = {
        suspect.project_id: suspect
        for suspect in label_errors.suspects(
            rows,
            probabilities,
            labels,
            thresholds,
            model.tags,
            implied,
            parents=parents,
            names=label_errors.names_in(texts, rules),
        )
    }
    return {
        row: ((found[row].score, found[row].suspicions()) if row in found else (0.0, None))
        for row in rows
    }


def _prediction_rows(
    version_id: int,
    corpus: CorpusRows,
    model: TagModel,
    probabilities: np.ndarray,
    scores: np.ndarray,
    errors: LabelErrors,
) -> list[dict[str, Any]]:
    """Probabilities under half a percent are left out: they are never suggested and make up
    most of the storage at 100,000 projects."""
    rounded = np.round(probabilities, 4)
    rows = []
    for row, project_id in enumerate(corpus.ids):
        kept = np.flatnonzero(rounded[row] >= STORED_PROBABILITY_FLOOR)
        rows.append(
            {
                "model_version_id": version_id,
                "project_id": project_id,
                "probabilities": {model.tags[j]: float(rounded[row, j]) for j in kept},
                "uncertainty": float(scores[row]),
                "label_error_score": errors.get(row, (None, None))[0],
                "suspicions": errors.get(row, (None, None))[1],
            }
        )
    return rows


def prediction_digest(model: TagModel, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the stored predictions say about the whole catalogue, counted once while they are
    in memory, so that the Model and Insights pages need not read 100,000 predictions back:
    projects per predicted tag (stored probability at or above the tag's threshold), how many
    projects get k predicted tags, and how many projects each tag probably misses or wrongly
    carries."""
    thresholds = model.threshold_map()
    per_tag = dict.fromkeys(model.tags, 0)
    per_project: dict[str, int] = {}
    suspected: dict[str, dict[str, int]] = {}
    for row in rows:
        predicted = [t for t, p in row["probabilities"].items() if p >= thresholds[t]]
        for tag in predicted:
            per_tag[tag] += 1
        per_project[str(len(predicted))] = per_project.get(str(len(predicted)), 0) + 1
        for kind, key in (("missing", "probably_missing"), ("wrong", "probably_wrong")):
            for tag in (row["suspicions"] or {}).get(kind, {}):
                counts = suspected.setdefault(tag, {"probably_missing": 0, "probably_wrong": 0})
                counts[key] += 1
    return {
        "projects": len(rows),
        "predicted_per_tag": per_tag,
        "tags_per_project": per_project,
        "suspected": suspected,
    }


def _finish_ready(
    make_session: SessionFactory,
    version_id: int,
    model: TagModel,
    corpus: CorpusRows,
    probabilities: np.ndarray,
    scores: np.ndarray,
    errors: LabelErrors,
    evaluation: dict[str, Any],
    snapshot: dict[str, Any],
    path: str,
    duration: float,
) -> None:
    rows = _prediction_rows(version_id, corpus, model, probabilities, scores, errors)
    evaluation["predictions"] = prediction_digest(model, rows)
    with make_session.begin() as session:
        previous = current_version(session)
        if previous is not None:
            evaluation["deltas"] = metric_deltas(previous.metrics, evaluation)
            evaluation["previous_version"] = previous.id
        for start in range(0, len(rows), 5_000):
            session.execute(insert(Prediction), rows[start : start + 5_000])
        store_predicted_tags(session, version_id, rows, model.threshold_map())
        version = session.get(ModelVersion, version_id)
        assert version is not None
        version.status = "ready"
        version.params = model.params.to_dict()
        version.metrics = evaluation
        version.thresholds = model.threshold_map()
        version.label_snapshot = snapshot
        version.artifact_path = path
        version.duration_s = round(duration, 3)
        version.finished_at = utcnow()
        version.progress_stage = "ready"
        version.progress_pct = 100.0
        _drop_old_predictions(session)
        audit.record(
            session,
            session.get(User, version.created_by_id) if version.created_by_id else None,
            "train.ready",
            version=version_id,
            weighted_f1=evaluation["overall"].get("weighted_f1"),
        )


def _finish_failed(
    make_session: SessionFactory, version_id: int, error: Exception, duration: float
) -> None:
    message = (
        str(error)
        if isinstance(error, TrainingError | ValueError)
        else (f"{type(error).__name__}: {error}")
    )
    with make_session.begin() as session:
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == version_id)
            .values(
                status="failed",
                error=message,
                duration_s=round(duration, 3),
                finished_at=utcnow(),
                progress_stage="failed",
            )
        )
        audit.record(session, None, "train.failed", version=version_id, error=message)


def _drop_old_predictions(session: Session) -> None:
    """Only the newest ready versions' scores and the serving one's are kept; older ones
    would only grow the table."""
    kept = [
        *session.scalars(
            select(ModelVersion.id)
            .where(ModelVersion.status == "ready")
            .order_by(ModelVersion.id.desc())
            .limit(KEPT_PREDICTION_VERSIONS)
        )
    ]
    serving = current_version(session)
    if serving is not None:
        kept.append(serving.id)
    session.execute(delete(Prediction).where(Prediction.model_version_id.not_in(kept)))
    drop_predicted_tags(session, kept)


# --- reading versions ------------------------------------------------------------------------


def current_version(session: Session) -> ModelVersion | None:
    """The serving version: the ready one promoted last (labeling.promotion), whatever is
    queued, training, failed or held; serving, suggestions and label-error order follow it."""
    return promotion.serving_version(session)


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))
