"""Which ready version serves: the promotion gate after training, and managers' promote and
roll back.

A new version serves only when it is not worse than the serving one on the same evaluation
projects and today's labels (a paired bootstrap of the weighted F1 difference); otherwise it is
held with the reason, until a manager decides. The rule is LABELLOOP_PROMOTION_RULE:
``not_worse`` (default) serves unless the whole interval is below 0, ``better`` serves only
when the whole interval is above 0, ``always`` serves every new version (no gate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db.models import ModelVersion, Prediction, utcnow
from db.session import SessionFactory
from labeling import audit, intervals
from labeling.assessment import EvalSet, aligned, paired, stored_predictions
from labeling.config import Settings
from labeling.corpus import load_corpus
from labeling.project_state import store_predicted_tags

GATE_METRIC = "weighted_f1"
RULES = {
    "not_worse": "serves unless clearly worse",
    "better": "serves only when clearly better",
    "always": "every new version serves",
}


class PromotionError(ValueError):
    """A promotion that cannot happen (unknown or unready version); shown to the person."""


@dataclass(frozen=True)
class Gate:
    promote: bool
    reason: str


def serving_version(session: Session, exclude: int | None = None) -> ModelVersion | None:
    """The ready version promoted last (the newest ready one when none ever was, as before
    promotion existed). ``exclude`` leaves out a version that has just become ready."""
    query = select(ModelVersion).where(ModelVersion.status == "ready")
    if exclude is not None:
        query = query.where(ModelVersion.id != exclude)
    return session.scalar(
        query.order_by(ModelVersion.promoted_at.desc().nulls_last(), ModelVersion.id.desc()).limit(
            1
        )
    )


def gate(rule: str, serving_id: int, difference: Mapping[str, Any] | None) -> Gate:
    """Promote or hold, and the sentence that says why (shown on the Model page and audited)."""
    if rule == "always":
        return Gate(True, "the rule 'always' serves every new version without comparing")
    if difference is None or not difference.get("overall"):
        return Gate(
            True,
            f"v{serving_id} has no stored evaluation decisions to compare with, so the new "
            "version serves without a paired comparison",
        )
    figure = difference["overall"][GATE_METRIC]
    said = (
        f"weighted F1 {figure['value']:+.3f} vs v{serving_id} (95% interval "
        f"{figure['low']:+.3f} to {figure['high']:+.3f}, {difference['n']} evaluation projects, "
        f"today's labels): {figure['verdict']}"
    )
    if figure["verdict"] == intervals.WORSE:
        return Gate(False, f"held: {said}; the rule '{rule}' does not serve a worse version")
    if figure["verdict"] == intervals.BETTER:
        return Gate(True, f"serves: {said}")
    if rule == "better":
        return Gate(False, f"held: {said}; the rule 'better' serves only a clearly better version")
    return Gate(True, f"serves: {said}; the rule 'not_worse' serves a tie")


def decide_after_training(
    make_session: SessionFactory,
    version_id: int,
    eval_set: EvalSet,
    predicted: Mapping[int, frozenset[str]],
    rule: str,
    min_support: int,
) -> Gate:
    """Store the new version's evaluation decisions and promote or hold it, in one
    transaction, against whatever serves at that moment."""
    with make_session.begin() as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        version.eval_predictions = stored_predictions(list(predicted), list(predicted.values()))
        serving = serving_version(session, exclude=version_id)
        if serving is None:
            decision = Gate(True, "the first ready version serves")
            difference = None
        else:
            before = aligned(eval_set, serving.eval_predictions)
            tags = sorted(set(serving.thresholds or {}) | set(version.thresholds or {}))
            difference = (
                paired(eval_set, before, predicted, tags, min_support)
                if before is not None
                else None
            )
            decision = gate(rule, serving.id, difference["all"] if difference else None)
        version.metrics = {
            **(version.metrics or {}),
            "gate": {
                "against": serving.id if serving else None,
                "rule": rule,
                "promoted": decision.promote,
                "reason": decision.reason,
                "difference": difference,
            },
        }
        _record(session, version, None, "promoted" if decision.promote else "held", decision.reason)
        return decision


def _record(
    session: Session, version: ModelVersion, actor: audit.Actor | None, decision: str, reason: str
) -> None:
    if decision != "held":
        version.promoted_at = utcnow()
    version.promotion = {
        "decision": decision,
        "reason": reason,
        "by": actor.username if actor is not None else "automatic",
        "at": utcnow().isoformat(timespec="seconds"),
    }
    action = {"held": "model.hold", "rolled back": "model.rollback"}.get(decision, "model.promote")
    audit.record(session, actor, action, version=version.id, reason=reason)


def promote(
    session: Session,
    version_id: int,
    actor: audit.Actor | None,
    note: str = "",
    settings: Settings | None = None,
) -> str:
    """Make a ready version serve (a newer one: promote; an older one: roll back); serving,
    suggestions and label-error order follow it at once. A version whose stored scores were
    dropped is re-scored from its artifact first (with ``settings``). Returns what happened."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise PromotionError(f"there is no model version {version_id}")
    if version.status != "ready":
        raise PromotionError(f"version {version_id} is {version.status}, not ready")
    serving = serving_version(session)
    if serving is not None and serving.id == version_id:
        raise PromotionError(f"version {version_id} already serves")
    stored = session.scalar(
        select(func.count())
        .select_from(Prediction)
        .where(Prediction.model_version_id == version_id)
    )
    if not stored:
        if settings is None:
            raise PromotionError(
                f"version {version_id}'s scores of the catalogue were dropped to save space "
                "(only the newest versions and the serving one keep them); retrain instead"
            )
        rescore(session, version, settings)
    decision = "rolled back" if serving is not None and version_id < serving.id else "promoted"
    who = actor.username if actor is not None else "the command line"
    reason = f"{decision} by {who}" + (f" (was v{serving.id})" if serving else "")
    if note:
        reason += f": {note}"
    _record(session, version, actor, decision, reason)
    return reason


def rescore(session: Session, version: ModelVersion, settings: Settings) -> int:
    """Score every project again with a version's artifact, for a roll back to a version
    whose stored scores were dropped: probabilities and the serving score come back; the
    label-error scores (out-of-fold, a training-time cost) do not, so serving falls back to
    uncertainty order for that version. Returns the number of rows written."""
    from labeling import registry  # registry imports this module for the gate

    if not version.artifact_path or not Path(version.artifact_path).exists():
        raise PromotionError(f"version {version.id}'s model file is missing; retrain instead")
    model = registry.load_artifact(version.artifact_path)
    corpus = load_corpus(session, settings.trust_source_tags, model.params.features.title_repeats)
    probabilities = model.predict_proba_texts(corpus.texts)
    scores = registry._scores(settings, model, probabilities)
    rows = registry._prediction_rows(version.id, corpus, model, probabilities, scores, {})
    for start in range(0, len(rows), 5_000):
        session.execute(insert(Prediction), rows[start : start + 5_000])
    store_predicted_tags(session, version.id, rows, version.thresholds or {})
    return len(rows)
