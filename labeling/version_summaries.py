"""Model versions as plain dicts: a version's summary and details, two versions compared, and
the change of every metric from one version to the next.

Split out of ``labeling.registry`` because reading what versions scored (the command line's
``models`` report, the Model page's table and comparisons) needs none of the training code;
``registry`` uses ``metric_deltas`` to store a new version's change against the serving one.
"""

from __future__ import annotations

from typing import Any

from db.models import ModelVersion


def metric_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Change of every overall and per-class metric from one version to the next (after minus
    before); tags present in only one of them are left out."""
    overall = {
        key: round(value - before.get("overall", {})[key], 4)
        for key, value in after.get("overall", {}).items()
        if key.endswith("_f1") and key in before.get("overall", {})
    }
    per_class = {
        tag: {
            key: round(values[key] - before["per_class"][tag][key], 4)
            for key in ("precision", "recall", "f1")
        }
        for tag, values in after.get("per_class", {}).items()
        if tag in before.get("per_class", {})
    }
    return {"overall": overall, "per_class": per_class}


def version_summary(version: ModelVersion) -> dict[str, Any]:
    overall = (version.metrics or {}).get("overall", {})
    return {
        "version": version.id,
        "status": version.status,
        "created_at": version.created_at.isoformat(timespec="seconds"),
        "duration_s": version.duration_s,
        "progress": f"{version.progress_stage} {version.progress_pct:.0f}%",
        "train_projects": (version.label_snapshot or {}).get("train_projects"),
        "eval_projects": overall.get("projects"),
        "micro_f1": overall.get("micro_f1"),
        "macro_f1": overall.get("macro_f1"),
        "weighted_f1": overall.get("weighted_f1"),
        "samples_f1": overall.get("samples_f1"),
        "error": version.error,
        "promotion": version.promotion,
        "weighted_f1_interval": weighted_interval(version.metrics or {}, "intervals"),
    }


def weighted_interval(metrics: dict[str, Any], *path: str) -> list[float] | None:
    """[low, high] of the weighted F1 on all labels stored under ``path``, if any."""
    stored: Any = metrics
    for key in (*path, "all", "overall", "weighted_f1"):
        stored = stored.get(key) if isinstance(stored, dict) else None
    return [stored["low"], stored["high"]] if stored else None


def version_details(version: ModelVersion) -> dict[str, Any]:
    return {
        **version_summary(version),
        "params": version.params,
        "label_snapshot": version.label_snapshot,
        "thresholds": version.thresholds,
        "metrics": version.metrics,
        "artifact_path": version.artifact_path,
    }


def compare(a: ModelVersion, b: ModelVersion) -> dict[str, Any]:
    return {
        "a": version_summary(a),
        "b": version_summary(b),
        "b_minus_a": metric_deltas(a.metrics or {}, b.metrics or {}),
    }
