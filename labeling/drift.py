"""What is new in an import: does the batch look like the catalogue the model learned from?

Four checks, against the serving model version:

- unseen vocabulary: the share of the batch's words the model's word vocabulary has never seen,
  beside the same share for the evaluation projects (which the vectorizer never saw either),
  so a reader can tell "new words" from "the usual rare words";
- predicted-tag distribution: the share of each tag among the model's tags on the batch against
  its share among the stored predictions of the catalogue, as a Jensen-Shannon distance
  (base 2, 0 = identical, 1 = disjoint); above ``SHIFT_THRESHOLD`` the batch is called shifted;
- projects with no confident tag (no probability reaches its tag's threshold): possible new
  topics, remembered after an import (``check_import``) and served to annotators before
  anything else when LABELLOOP_NEW_TOPICS_FIRST is on;
- likely duplicates of existing projects: same title after normalising case and punctuation
  and near-identical descriptions (word-set Jaccard at least ``DUPLICATE_JACCARD``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.models import ImportBatch, ModelVersion, NewTopic, Project
from db.session import SessionFactory
from labeling.baseline import words
from labeling.features import project_text
from labeling.model import TagModel

# Measured by benchmarks/import_drift.py on the demo: a random fifth (69 projects) against a
# model trained on the rest 0.17 (small batches are noisy), the natural-language-processing
# projects (99) against a model trained on the others 0.41.
SHIFT_THRESHOLD = 0.25
DUPLICATE_JACCARD = 0.8
EXAMPLES = 20
STORED_CHECK = "new_in_import"  # the key of the checks in ImportBatch.report


class DriftError(ValueError):
    """No import or no serving model to compare with; shown to the person."""


def _word_vocabulary(model: TagModel) -> set[str]:
    vectorizer = model.vectorizer
    word_part = (
        dict(vectorizer.transformer_list)["words"]
        if hasattr(vectorizer, "transformer_list")
        else vectorizer
    )
    return {term for term in word_part.vocabulary_ if " " not in term}


def unseen_share(texts: list[str], vocabulary: set[str]) -> float:
    """Share of word occurrences in ``texts`` outside ``vocabulary``."""
    counts = Counter(word for text in texts for word in words(text))
    total = sum(counts.values())
    unseen = sum(n for word, n in counts.items() if word not in vocabulary)
    return round(unseen / total, 4) if total else 0.0


def tag_shift(batch: dict[str, int], catalogue: dict[str, int]) -> dict[str, Any]:
    """Jensen-Shannon distance between the two tag distributions, and the tags whose share
    moved most."""
    tags = sorted(set(batch) | set(catalogue))
    p = np.array([batch.get(t, 0) for t in tags], dtype=float)
    q = np.array([catalogue.get(t, 0) for t in tags], dtype=float)
    if not p.sum() or not q.sum():
        return {"distance": None, "threshold": SHIFT_THRESHOLD, "shifted": False, "tags": []}
    distance = float(jensenshannon(p / p.sum(), q / q.sum(), base=2))
    moved = sorted(
        (
            {
                "tag": tag,
                "batch_share": round(p[i] / p.sum(), 4),
                "catalogue_share": round(q[i] / q.sum(), 4),
            }
            for i, tag in enumerate(tags)
        ),
        key=lambda row: -abs(row["batch_share"] - row["catalogue_share"]),
    )
    return {
        "measure": "Jensen-Shannon distance (base 2)",
        "distance": round(distance, 4),
        "threshold": SHIFT_THRESHOLD,
        "shifted": distance > SHIFT_THRESHOLD,
        "batch_tags": int(p.sum()),
        "catalogue_tags": int(q.sum()),
        "tags": moved[:EXAMPLES],
    }


def likely_duplicates(
    new: list[tuple[str, str, str]], existing: list[tuple[str, str, str]]
) -> list[tuple[str, str]]:
    """(new external id, existing external id) pairs with the same normalised title and
    near-identical descriptions. Rows are (external id, title, description)."""
    by_title: dict[tuple[str, ...], list[tuple[str, set[str]]]] = {}
    for external_id, title, description in existing:
        by_title.setdefault(words(title), []).append((external_id, set(words(description))))
    pairs = []
    for external_id, title, description in new:
        mine = set(words(description))
        for other_id, theirs in by_title.get(words(title), []):
            union = mine | theirs
            if not union or len(mine & theirs) / len(union) >= DUPLICATE_JACCARD:
                pairs.append((external_id, other_id))
                break
    return pairs


def batch_report(
    session: Session, batch_id: int | None, model: TagModel, version: ModelVersion
) -> dict[str, Any]:
    """The four checks for import batch ``batch_id`` (the newest when None) against the
    serving ``version`` (whose artifact is ``model``)."""
    if batch_id is None:
        batch_id = session.scalar(select(func.max(ImportBatch.id)))
    batch = session.get(ImportBatch, batch_id) if batch_id is not None else None
    if batch is None:
        raise DriftError(
            "no import to check" if batch_id is None else f"no import batch {batch_id}"
        )
    rows = session.execute(
        select(
            Project.id,
            Project.external_id,
            Project.title,
            Project.description,
            Project.imported_in_id,
            Project.split,
        )
    ).all()
    new_rows = [r for r in rows if r.imported_in_id == batch_id]
    new = [(r.external_id, r.title, r.description) for r in new_rows]
    existing = [
        (r.external_id, r.title, r.description) for r in rows if r.imported_in_id != batch_id
    ]
    if not new:
        raise DriftError(f"import batch {batch_id} added no project (all were already known)")
    title_repeats = model.params.features.title_repeats
    texts = [project_text(title, description, title_repeats) for _, title, description in new]
    probabilities = model.predict_proba_texts(texts)
    decisions = model.decide(probabilities)
    confident = (probabilities >= model.thresholds_[None, :]).any(axis=1)
    vocabulary = _word_vocabulary(model)
    reference = [
        project_text(r.title, r.description, 1)
        for r in rows
        if r.split == "eval" and r.imported_in_id != batch_id
    ]
    predicted = dict(zip(model.tags, (int(n) for n in decisions.sum(0)), strict=True))
    catalogue = (version.metrics or {}).get("predictions", {}).get("predicted_per_tag", {})
    duplicates = likely_duplicates(new, existing)
    unconfident_rows = [new_rows[i] for i in np.flatnonzero(~confident)]
    unconfident = [r.external_id for r in unconfident_rows]
    return {
        "batch": batch.id,
        "file": batch.filename,
        "projects": len(new),
        "model_version": version.id,
        "unseen_word_share": unseen_share([project_text(t, d, 1) for _, t, d in new], vocabulary),
        "unseen_word_share_of_evaluation_projects": (
            unseen_share(reference, vocabulary) if reference else None
        ),
        "tag_distribution": tag_shift(predicted, catalogue),
        "no_confident_tag": {
            "count": len(unconfident),
            "share": round(len(unconfident) / len(new), 4),
            "examples": unconfident[:EXAMPLES],
            "project_ids": [r.id for r in unconfident_rows],
        },
        "likely_duplicates": {"count": len(duplicates), "pairs": duplicates[:EXAMPLES]},
    }


NO_MODEL_YET = "no model version serves yet, so there is nothing to compare the batch with"


def check_after_import(session: Session, batch_id: int | None) -> tuple[dict[str, Any] | None, str]:
    """The four checks for a batch just imported, against the serving version, as (report,
    why there is none). Run right after every import (CLI and Data page) so that the person
    who imported reads what is new while they still remember the file; with no model yet, or
    a batch that only updated known projects, the reason says so instead of failing the
    import that already succeeded. ``batch_id`` None checks the newest import (Insights)."""
    from labeling.registry import current_version, load_artifact

    version = current_version(session)
    if version is None or not version.artifact_path:
        return None, NO_MODEL_YET
    try:
        return batch_report(session, batch_id, load_artifact(version.artifact_path), version), ""
    except DriftError as error:
        return None, str(error)
    except OSError as error:
        return None, f"the serving model's file could not be read ({error.strerror})"


def check_import(
    make_session: SessionFactory, batch_id: int | None
) -> tuple[dict[str, Any] | None, str]:
    """``check_after_import`` for a batch just imported (the newest when None), stored on the
    batch with its projects with no confident tag remembered as possible new topics (one
    transaction). Stored, because the checks read every new project through the model (about
    half a minute for a 100,000-project import) and Insights shows them on every visit;
    remembered, so that serving can offer the new topics first (LABELLOOP_NEW_TOPICS_FIRST)."""
    with make_session() as session:
        report, why_not = check_after_import(session, batch_id)
        target = report["batch"] if report else batch_id or _newest_batch_id(session)
    if target is None:
        return report, why_not
    with make_session.begin() as session:
        if report is not None:
            remember_new_topics(session, target, report["no_confident_tag"]["project_ids"])
        _store_check(session, target, report, why_not)
    return report, why_not


def _newest_batch_id(session: Session) -> int | None:
    return session.scalar(select(func.max(ImportBatch.id)))


def _store_check(
    session: Session, batch_id: int, report: dict[str, Any] | None, why_not: str
) -> None:
    """Keep the checks on the batch's report, without the full list of new-topic ids (those
    are in new_topics), so the stored report stays as small as the printed one."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return
    shown = None
    if report is not None:
        unconfident = {k: v for k, v in report["no_confident_tag"].items() if k != "project_ids"}
        shown = {**report, "no_confident_tag": unconfident}
    batch.report = {**(batch.report or {}), STORED_CHECK: {"report": shown, "why_not": why_not}}


def stored_check(session: Session) -> tuple[dict[str, Any] | None, str]:
    """The checks stored for the newest import, as (report, why there is none): what Insights
    shows, read from one row instead of re-reading the batch through the model."""
    batch = session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))
    if batch is None:
        return None, "no import to check"
    stored = (batch.report or {}).get(STORED_CHECK)
    if stored is None:
        return None, (
            f"import batch {batch.id} was not checked when it was imported; the Model page "
            "checks it against the serving model on demand"
        )
    if stored["report"] is None and stored["why_not"] == NO_MODEL_YET:
        return None, _no_model_then(session, batch.id)
    return stored["report"], stored["why_not"]


def _no_model_then(session: Session, batch_id: int) -> str:
    """The stored "no model yet" reason as true today: once a version serves, the page must
    not keep saying none does, and should say how to get the check."""
    from labeling.registry import current_version

    if current_version(session) is None:
        return NO_MODEL_YET
    return (
        f"no model version served when import batch {batch_id} was imported; one serves now, "
        'and the Model page\'s "Check the latest import against the model" compares the '
        "batch with it"
    )


def remember_new_topics(session: Session, batch_id: int, project_ids: list[int]) -> None:
    """Store the batch's possible new topics, replacing an earlier check of the same batch."""
    session.execute(delete(NewTopic).where(NewTopic.batch_id == batch_id))
    if project_ids:
        session.execute(
            insert(NewTopic), [{"batch_id": batch_id, "project_id": p} for p in project_ids]
        )


def report_text(report: dict[str, Any]) -> str:
    shift = report["tag_distribution"]
    reference = report["unseen_word_share_of_evaluation_projects"]
    lines = [
        f"Import batch {report['batch']} ({report['file']}): {report['projects']} new projects, "
        f"checked with model version {report['model_version']}",
        f"  words the model has never seen: {report['unseen_word_share']:.1%} "
        + (
            f"(evaluation projects: {reference:.1%})"
            if reference is not None
            else "(no earlier evaluation project to compare with)"
        ),
    ]
    if shift["distance"] is None:
        lines.append("  predicted-tag distribution: nothing to compare")
    else:
        verdict = "shifted" if shift["shifted"] else "like the catalogue"
        lines.append(
            f"  predicted-tag distribution: {shift['measure']} {shift['distance']:.3f} "
            f"(threshold {shift['threshold']}): {verdict}"
        )
        for row in shift["tags"][:5]:
            lines.append(
                f"    {row['tag']:<34} batch {row['batch_share']:.1%}  "
                f"catalogue {row['catalogue_share']:.1%}"
            )
    lines.append(
        f"  no confident tag (possible new topics): {report['no_confident_tag']['count']} "
        f"({report['no_confident_tag']['share']:.1%})"
    )
    lines.append(
        f"  likely duplicates of existing projects: {report['likely_duplicates']['count']}"
    )
    for new_id, old_id in report["likely_duplicates"]["pairs"][:5]:
        lines.append(f"    {new_id} ~ {old_id}")
    return "\n".join(lines) + "\n"


def summary_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The four checks as (check, finding) rows for a table."""
    shift = report["tag_distribution"]
    reference = report["unseen_word_share_of_evaluation_projects"]
    return [
        {
            "Check": "Words the model has never seen",
            "Finding": f"{report['unseen_word_share']:.1%}"
            + (f" (evaluation projects: {reference:.1%})" if reference is not None else ""),
        },
        {
            "Check": "Predicted tags vs the catalogue",
            "Finding": "nothing to compare"
            if shift["distance"] is None
            else f"{shift['measure']} {shift['distance']:.3f} (threshold {shift['threshold']}): "
            + ("shifted" if shift["shifted"] else "like the catalogue"),
        },
        {
            "Check": "No confident tag (possible new topics)",
            "Finding": f"{report['no_confident_tag']['count']:,} "
            f"({report['no_confident_tag']['share']:.1%})",
        },
        {
            "Check": "Likely duplicates of existing projects",
            "Finding": f"{report['likely_duplicates']['count']:,}",
        },
    ]
