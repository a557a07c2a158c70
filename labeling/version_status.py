"""Where each model version stands, for the Model page's version list and progress bar: which
one serves, which are held, which job runs, which failed, who started each and when.

Split out of ``labeling.metrics``, which arranges the stored metric figures into tables: these
functions read a version's status, promotion and provenance, not its scores (the versions
table shows the scores through ``version_summaries``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ModelVersion, User
from labeling import version_summaries


def held_versions(versions: Sequence[ModelVersion]) -> list[ModelVersion]:
    """Ready versions the gate held and nobody promoted since, newest first."""
    return sorted(
        (
            v
            for v in versions
            if v.status == "ready"
            and v.promoted_at is None
            and (v.promotion or {}).get("decision") == "held"
        ),
        key=lambda v: -v.id,
    )


def versions_frame(
    versions: Sequence[ModelVersion], usernames: Mapping[int, str], serving_id: int | None = None
) -> pd.DataFrame:
    """Every version, newest first, as a table: who asked, when, what it scored, which one
    serves and which are held (and why), or why it failed."""
    rows = []
    for version in sorted(versions, key=lambda v: -v.id):
        summary = version_summaries.version_summary(version)
        rows.append(
            {
                "Version": version.id,
                "Status": version_state(version, serving_id),
                "Started by": _starter(version, usernames),
                "Queued at": version.created_at,
                "Seconds": version.duration_s,
                "Training projects": summary["train_projects"],
                "Evaluation projects": summary["eval_projects"],
                "Micro F1": summary["micro_f1"],
                "Macro F1": summary["macro_f1"],
                "Weighted F1": summary["weighted_f1"],
                "Error": version.error or "",
                "Why it serves or is held": (version.promotion or {}).get("reason", ""),
            }
        )
    return pd.DataFrame(rows)


def version_state(version: ModelVersion, serving_id: int | None) -> str:
    """ "serving", "held" (the gate held it and nobody promoted it since), or the status."""
    if version.status != "ready":
        return version.status
    if version.id == serving_id:
        return "serving"
    if version.promoted_at is None and (version.promotion or {}).get("decision") == "held":
        return "held"
    return "ready"


def _starter(version: ModelVersion, usernames: Mapping[int, str]) -> str:
    if version.created_by_id is None:
        return "automatic"
    return usernames.get(version.created_by_id, f"user {version.created_by_id}")


def training_facts(version: ModelVersion, usernames: Mapping[int, str]) -> dict[str, Any]:
    """What a version was trained on, when and by whom: the sentence under the version number."""
    snapshot = version.label_snapshot or {}
    return {
        "version": version.id,
        "train_projects": snapshot.get("train_projects", 0),
        "eval_projects": snapshot.get("eval_projects", 0),
        "labels_hash": snapshot.get("hash", ""),
        "finished_at": version.finished_at,
        "started_by": _starter(version, usernames),
        "duration_s": version.duration_s or 0.0,
        "previous_version": (version.metrics or {}).get("previous_version"),
        "weighted_f1": (version.metrics or {}).get("overall", {}).get("weighted_f1"),
        "weighted_f1_change": (version.metrics or {})
        .get("deltas", {})
        .get("overall", {})
        .get("weighted_f1"),
    }


def newest_failure(versions: Sequence[ModelVersion]) -> ModelVersion | None:
    """The newest version if it failed after the serving one was made: a failure that has since
    been followed by a ready version is history, not news."""
    newest_ready = max((v.id for v in versions if v.status == "ready"), default=0)
    failed = [v for v in versions if v.status == "failed" and v.id > newest_ready]
    return max(failed, key=lambda v: v.id) if failed else None


def running_job(versions: Sequence[ModelVersion]) -> ModelVersion | None:
    """The job the progress bar follows: the training one, else the oldest queued one."""
    training = [v for v in versions if v.status == "training"]
    queued = sorted((v for v in versions if v.status == "queued"), key=lambda v: v.id)
    return (training or queued or [None])[0]


def unfinished_versions(session: Session) -> list[ModelVersion]:
    """Queued and training versions only: what the progress bar polls every two seconds, so
    the poll does not read every version's metrics."""
    return list(
        session.scalars(select(ModelVersion).where(ModelVersion.status.in_(("queued", "training"))))
    )


def usernames(session: Session) -> dict[int, str]:
    """Every account's name by id, to say who started each version (a few rows per team)."""
    return dict(session.execute(select(User.id, User.username)).all())


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def when_text(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
