"""Per-class and overall metric tables of model versions, as DataFrames for pages and charts.

The numbers themselves are computed once, at training time (labeling.model.evaluate, with
scikit-learn's definitions), and stored on the version; these functions only arrange them so
that a reader sees at a glance which tags are weak, and what the last retrain changed. Where
each version stands (serving, held, running, failed, who started it) is
``labeling.version_status``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from db.models import ModelVersion
from labeling import baseline, intervals, version_summaries

OVERALL_METRICS = {"micro_f1": "Micro F1", "macro_f1": "Macro F1", "weighted_f1": "Weighted F1"}
PER_CLASS_COLUMNS = [
    "tag",
    "precision",
    "recall",
    "f1",
    "support",
    "f1_change",
    "threshold",
    "training_projects",
    "measured",
    "note",
    "f1_low",
    "f1_high",
    "rules_f1",
    "vs_rules",
    "change_verdict",
]
TOO_FEW_NOTE = "too few evaluation projects to tell ({support})"
# What a person can sort the per-class view by: column, ascending.
SORT_ORDERS: dict[str, tuple[str, bool]] = {
    "Weakest F1 first": ("f1", True),
    "Strongest F1 first": ("f1", False),
    "Most evaluation projects first": ("support", False),
    "Biggest drop since the previous version first": ("f1_change", True),
    "Tag name": ("tag", True),
}


def per_class_frame(
    metrics: Mapping[str, Any],
    thresholds: Mapping[str, float],
    tag_counts: Mapping[str, int],
) -> pd.DataFrame:
    """One row per tag the model was asked to learn: its evaluation metrics, the F1 change
    against the previous version (NaN without one), its decision threshold and how many
    training projects carry it. A tag is ``measured`` when the model learnt it and at least
    one evaluation project carries it; the others keep their row with a ``note`` saying why
    there is no score, because a tag that silently disappears (or shows F1 0 for want of
    evaluation projects) misleads more than one marked unknown."""
    changes = metrics.get("deltas", {}).get("per_class", {})
    rows = [
        {
            "tag": tag,
            "precision": values["precision"],
            "recall": values["recall"],
            "f1": values["f1"],
            "support": values["support"],
            "f1_change": changes.get(tag, {}).get("f1"),
            "threshold": thresholds.get(tag),
            "training_projects": tag_counts.get(tag, 0),
            "measured": values["support"] > 0,
            "note": "" if values["support"] > 0 else "no evaluation project carries it",
        }
        for tag, values in metrics.get("per_class", {}).items()
    ]
    rows += [
        {
            "tag": tag,
            "precision": None,
            "recall": None,
            "f1": None,
            "support": None,
            "f1_change": None,
            "threshold": None,
            "training_projects": count,
            "measured": False,
            "note": f"not enough data ({count} training projects)",
        }
        for tag, count in metrics.get("not_enough_data", {}).items()
    ]
    frame = pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)
    for column in (
        "precision",
        "recall",
        "f1",
        "f1_change",
        "threshold",
        "f1_low",
        "f1_high",
        "rules_f1",
    ):
        frame[column] = frame[column].astype(float)
    frame["support"] = frame["support"].astype("Int64")
    frame["measured"] = frame["measured"].astype(bool)
    for column in ("vs_rules", "change_verdict"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
    return frame.sort_values("tag", ignore_index=True)


def version_per_class(
    version: ModelVersion, labels: str = "all", min_support: int | None = None
) -> pd.DataFrame:
    """Per-tag figures of a version against ``labels`` ("all" or "verified"); with stored
    intervals, tags below ``min_support`` positives read "too few to tell" instead of a
    number."""
    frame = per_class_frame(
        version.metrics or {},
        version.thresholds or {},
        (version.label_snapshot or {}).get("tag_counts", {}),
    )
    return with_intervals(frame, version.metrics or {}, labels, min_support)


def with_intervals(
    frame: pd.DataFrame, metrics: Mapping[str, Any], labels: str, min_support: int | None
) -> pd.DataFrame:
    """The per-class frame re-read from the stored intervals on ``labels``: F1 with its 95%
    interval, the rules' F1, the model-vs-rules and change verdicts; versions trained before
    intervals existed are returned as they are."""
    stored = metrics.get("intervals", {}).get(labels)
    if not stored:
        return frame
    minimum = min_support if min_support is not None else metrics.get("min_support", 10)
    rules = metrics.get("baseline", {}).get("intervals", {}).get(labels, {}).get("per_class", {})
    versus = metrics.get("baseline", {}).get("model_vs_rules", {}).get(labels, {})
    change = ((metrics.get("gate") or {}).get("difference") or {}).get(labels, {})
    frame = frame.copy()
    for i, tag in frame["tag"].items():
        row = stored["per_class"].get(tag)
        if row is None:
            continue
        support = row["support"]
        enough = support >= minimum
        frame.at[i, "support"] = support
        for key in ("precision", "recall", "f1"):
            frame.at[i, key] = row[key]["value"] if enough else np.nan
        frame.at[i, "f1_low"] = row["f1"]["low"] if enough else np.nan
        frame.at[i, "f1_high"] = row["f1"]["high"] if enough else np.nan
        rules_f1 = rules.get(tag, {}).get("f1", {}).get("value", np.nan)
        frame.at[i, "rules_f1"] = rules_f1 if enough else np.nan
        frame.at[i, "vs_rules"] = _verdict_text(versus.get("per_class", {}).get(tag), enough)
        frame.at[i, "change_verdict"] = _verdict_text(change.get("per_class", {}).get(tag), enough)
        frame.at[i, "measured"] = enough
        frame.at[i, "note"] = "" if enough else TOO_FEW_NOTE.format(support=support)
        if not enough:
            frame.at[i, "f1_change"] = np.nan
    return frame


def _verdict_text(row: Mapping[str, Any] | None, enough: bool) -> str:
    """ "better (+0.120, +0.030 to +0.210)": the verdict, the difference and its interval."""
    if row is None:
        return ""
    if not enough:
        return intervals.TOO_FEW
    return f"{row['verdict']} ({row['value']:+.3f}, {row['low']:+.3f} to {row['high']:+.3f})"


def figure_text(figure: Mapping[str, float] | None) -> str:
    """ "0.781 (0.72-0.83)": a value with its 95% interval."""
    if not figure:
        return "-"
    return f"{figure['value']:.3f} ({figure['low']:.2f}-{figure['high']:.2f})"


def overall_frame(metrics: Mapping[str, Any], labels: str) -> pd.DataFrame:
    """One row per overall metric against ``labels``: the model's and the rules' figure with
    intervals, the model-vs-rules verdict, and the change against the version that served."""
    stored = metrics.get("intervals", {}).get(labels, {})
    rules = metrics.get("baseline", {}).get("intervals", {}).get(labels, {})
    versus = metrics.get("baseline", {}).get("model_vs_rules", {}).get(labels, {})
    change = ((metrics.get("gate") or {}).get("difference") or {}).get(labels, {})
    against = (metrics.get("gate") or {}).get("against")
    return pd.DataFrame(
        [
            {
                "Metric": title,
                "Model (95% interval)": figure_text(stored.get("overall", {}).get(key)),
                "Rules (95% interval)": figure_text(rules.get("overall", {}).get(key)),
                "Model vs rules": _verdict_text(versus.get("overall", {}).get(key), True),
                (f"vs v{against}" if against else "vs serving version"): _verdict_text(
                    change.get("overall", {}).get(key), True
                ),
                "Evaluation projects": stored.get("n", 0),
            }
            for key, title in OVERALL_METRICS.items()
        ]
    )


def labelled_counts(metrics: Mapping[str, Any]) -> dict[str, int]:
    """n of each label set: how many evaluation projects the figures rest on."""
    return {
        which: metrics.get("intervals", {}).get(which, {}).get("n", 0)
        for which in ("all", "verified")
    }


def rescored_frame(metrics: Mapping[str, Any], key: str = "weighted_f1") -> pd.DataFrame:
    """Every version (0 = rules) re-scored on the labels of this version's training, with
    intervals: one line of versions that differ only by the model."""
    rows = [
        {
            "version": row["version"],
            "label": "rules" if row["version"] == baseline.VERSION else f"v{row['version']}",
            "n": row["n"],
            **(row.get(key) or {"value": np.nan, "low": np.nan, "high": np.nan}),
        }
        for row in metrics.get("rescored", [])
    ]
    return pd.DataFrame(rows, columns=["version", "label", "n", "value", "low", "high"])


def paired_frames(
    difference: Mapping[str, Any], a: str, b: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall, per tag) of a paired comparison: b minus a with its interval and verdict;
    per tag, worse first, then can't tell, then better, then too few."""
    overall = pd.DataFrame(
        [
            {
                "Metric": title,
                a: row["a"],
                b: row["b"],
                "Change": row["value"],
                "95% interval": f"{row['low']:+.3f} to {row['high']:+.3f}",
                "Verdict": row["verdict"],
            }
            for key, title in OVERALL_METRICS.items()
            if (row := difference.get("overall", {}).get(key))
        ]
    )
    rank = {intervals.WORSE: 0, intervals.CANT_TELL: 1, intervals.BETTER: 2, intervals.TOO_FEW: 3}
    rows = sorted(
        difference.get("per_class", {}).items(),
        key=lambda item: (rank[item[1]["verdict"]], item[0]),
    )
    per_class = pd.DataFrame(
        [
            {
                "Tag": tag,
                f"F1 {a}": row["a"],
                f"F1 {b}": row["b"],
                "Change": row["value"],
                "95% interval": f"{row['low']:+.3f} to {row['high']:+.3f}",
                "Verdict": row["verdict"],
                "Evaluation projects": row["support"],
            }
            for tag, row in rows
        ]
    )
    return overall, per_class


def sorted_per_class(frame: pd.DataFrame, order: str) -> pd.DataFrame:
    """The rows in the chosen order; unmeasured tags always last (they have no numbers to
    sort by), ties by tag name so the order is stable between reruns."""
    try:
        column, ascending = SORT_ORDERS[order]
    except KeyError:
        raise ValueError(
            f"unknown order {order!r}; choose one of: {', '.join(SORT_ORDERS)}"
        ) from None
    keys = [column, "tag"] if column != "tag" else ["tag"]
    ordered = frame.sort_values(
        keys, ascending=[ascending, True][: len(keys)], na_position="last", kind="stable"
    )
    return pd.concat(
        [ordered[ordered["measured"]], ordered[~ordered["measured"]]], ignore_index=True
    )


def per_class_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-class frame with the headings a reader (and a CSV download) should see."""
    table = frame.rename(
        columns={
            "tag": "Tag",
            "precision": "Precision",
            "recall": "Recall",
            "f1": "F1",
            "support": "Evaluation projects",
            "f1_change": "F1 change",
            "threshold": "Threshold",
            "training_projects": "Training projects",
            "note": "Note",
            "f1_low": "F1 low (95%)",
            "f1_high": "F1 high (95%)",
            "rules_f1": "Rules F1",
            "vs_rules": "Model vs rules",
            "change_verdict": "Change vs serving version",
        }
    )
    order = [
        "Tag",
        "F1",
        "F1 low (95%)",
        "F1 high (95%)",
        "Precision",
        "Recall",
        "Evaluation projects",
        "Rules F1",
        "Model vs rules",
        "F1 change",
        "Change vs serving version",
        "Threshold",
        "Training projects",
        "Note",
    ]
    return table[order]


def per_class_csv(frame: pd.DataFrame) -> bytes:
    return per_class_table(frame).to_csv(index=False, float_format="%.4f").encode()


def ready_versions(versions: Sequence[ModelVersion]) -> list[ModelVersion]:
    """Ready versions, oldest first: the order in which their metrics tell a story."""
    return sorted((v for v in versions if v.status == "ready"), key=lambda v: v.id)


def overall_history_frame(versions: Sequence[ModelVersion]) -> pd.DataFrame:
    """Long format, one row per ready version and overall metric, with what the version was
    trained on, so a chart can put labels and time next to every point."""
    rows = [
        {
            "version": version.id,
            "finished": version.finished_at,
            "train_projects": (version.label_snapshot or {}).get("train_projects", 0),
            "eval_projects": (version.metrics or {}).get("overall", {}).get("projects", 0),
            "metric": title,
            "value": (version.metrics or {}).get("overall", {}).get(key),
        }
        for version in ready_versions(versions)
        for key, title in OVERALL_METRICS.items()
    ]
    columns = ["version", "finished", "train_projects", "eval_projects", "metric", "value"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.dropna(subset=["value"]).reset_index(drop=True)


def threshold_frame(thresholds: Mapping[str, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"tag": list(thresholds), "threshold": [float(t) for t in thresholds.values()]}
    )
    return frame.sort_values("tag", ignore_index=True)


def comparison_frames(a: ModelVersion, b: ModelVersion) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall, per class) of two versions side by side with b minus a; per class sorted by
    the change, biggest loss first, so that what got worse is read first (before = a,
    after = b)."""
    compared = version_summaries.compare(a, b)
    overall = pd.DataFrame(
        [
            {
                "Metric": title,
                f"v{a.id}": compared["a"][key],
                f"v{b.id}": compared["b"][key],
                "Change": compared["b_minus_a"]["overall"].get(key),
            }
            for key, title in OVERALL_METRICS.items()
        ]
    )
    before = (a.metrics or {}).get("per_class", {})
    after = (b.metrics or {}).get("per_class", {})
    rows = [
        {
            "tag": tag,
            "before": before[tag]["f1"] if tag in before else None,
            "after": after[tag]["f1"] if tag in after else None,
            "support": after.get(tag, before.get(tag, {})).get("support"),
        }
        for tag in sorted(set(before) | set(after))
    ]
    return overall, _with_change(pd.DataFrame(rows, columns=["tag", "before", "after", "support"]))


def _with_change(frame: pd.DataFrame) -> pd.DataFrame:
    """(tag, before, after, ...) plus ``change`` = after - before, biggest loss first; tags
    known to only one side (no change to show) last."""
    frame = frame.astype({"before": float, "after": float})
    frame["change"] = (frame["after"] - frame["before"]).round(4)
    return frame.sort_values(
        ["change", "tag"], na_position="last", kind="stable", ignore_index=True
    )


def comparison_table(per_class: pd.DataFrame, a: int, b: int) -> pd.DataFrame:
    return per_class.rename(
        columns={
            "tag": "Tag",
            "before": f"F1 v{a}",
            "after": f"F1 v{b}",
            "support": "Evaluation projects",
            "change": "Change",
        }
    )


def change_frame(per_class: pd.DataFrame) -> pd.DataFrame:
    """F1 of each tag before (the previous version) and after (this one), for the change
    chart; tags new in this version have no change and are left out."""
    known = per_class[per_class["f1_change"].notna()]
    frame = pd.DataFrame(
        {
            "tag": known["tag"],
            "before": (known["f1"] - known["f1_change"]).round(4),
            "after": known["f1"],
        }
    )
    return _with_change(frame)


def latest_simulation(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest readable simulation result (``python -m labeling simulate --out``) in
    ``directory``; files that are not a simulation result are passed over, not fatal."""
    candidates = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(result, dict) and isinstance(result.get("strategies"), dict):
            return path, result
    return None


def version_name(version_id: int) -> str:
    return "rules (v0)" if version_id == baseline.VERSION else f"v{version_id}"


@dataclass(frozen=True)
class Headline:
    """The page's weighted F1 on one label set: value, interval and the verdict against the
    version that served before (``real`` when better or worse, not "can't tell")."""

    value: float | None
    low: float | None
    high: float | None
    change: str | None
    real: bool


def headline(metrics: Mapping[str, Any], labels: str) -> Headline:
    figure = metrics.get("intervals", {}).get(labels, {}).get("overall", {}).get("weighted_f1")
    gate = metrics.get("gate") or {}
    change = ((gate.get("difference") or {}).get(labels) or {}).get("overall", {})
    row = change.get("weighted_f1")
    return Headline(
        value=figure["value"] if figure else None,
        low=figure["low"] if figure else None,
        high=figure["high"] if figure else None,
        change=(f"{row['verdict']} vs v{gate['against']} ({row['value']:+.3f})" if row else None),
        real=bool(row) and row["verdict"] in (intervals.BETTER, intervals.WORSE),
    )


def tags_with_enough_support(metrics: Mapping[str, Any], labels: str, min_support: int) -> int:
    """How many tags have ``min_support`` positive evaluation projects on ``labels``: the
    verified figures are worth reading once most tags do."""
    per_class = metrics.get("intervals", {}).get(labels, {}).get("per_class", {})
    return sum(row["support"] >= min_support for row in per_class.values())


def change_sentence(metrics: Mapping[str, Any], labels: str) -> str | None:
    """What the last retrain changed for real, in one sentence; None without a comparison."""
    gate = metrics.get("gate") or {}
    difference = (gate.get("difference") or {}).get(labels) or {}
    counts = intervals.verdict_counts(difference)
    if gate.get("against") is None or not sum(counts.values()):
        return None
    return (
        f"Against v{gate['against']} on the same {difference['n']:,} evaluation projects and "
        f"today's labels: {counts[intervals.BETTER]} tags better, {counts[intervals.WORSE]} "
        f"worse, {counts[intervals.CANT_TELL]} can't tell, {counts[intervals.TOO_FEW]} with "
        "too few evaluation projects to tell."
    )
