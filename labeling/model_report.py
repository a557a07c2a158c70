"""Readable text reports of model versions for the command line."""

from __future__ import annotations

from typing import Any

from db.models import ModelVersion
from labeling.intervals import CANT_TELL, verdict_counts
from labeling.version_summaries import weighted_interval


def _number(value: Any, width: int = 8) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.3f}".rjust(width)
    return str(value).rjust(width)


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.3f}"


def versions_table(summaries: list[dict[str, Any]]) -> str:
    if not summaries:
        return "No model versions yet. Train one: python -m labeling train\n"
    header = (
        f"{'version':>7}  {'status':<8}  {'created':<19}  {'train':>6}  {'eval':>5}  "
        f"{'micro':>6}  {'macro':>6}  {'weighted':>8}  {'secs':>6}\n"
    )
    lines = [header]
    for s in summaries:
        lines.append(
            f"{s['version']:>7}  {_state(s):<8}  {s['created_at']:<19}  "
            f"{_number(s['train_projects'], 6)}  {_number(s['eval_projects'], 5)}  "
            f"{_number(s['micro_f1'], 6)}  {_number(s['macro_f1'], 6)}  "
            f"{_number(s['weighted_f1'], 8)}  {_number(s['duration_s'], 6)}"
            + _interval_text(s.get("weighted_f1_interval"))
            + (f"  {s['error']}" if s["error"] else "")
            + "\n"
        )
    lines.append(
        "serving = the version annotators are served; held = ready but worse than the serving "
        "one (python -m labeling models promote N serves it anyway); rules = version 0, the "
        "rule-based baseline, scored on the serving version's evaluation projects.\n"
    )
    return "".join(lines)


def _state(summary: dict[str, Any]) -> str:
    """ "serving", "held", "ready" (promoted once, no longer serving), or the job status."""
    if summary["status"] != "ready":
        return summary["status"]
    if summary.get("serving"):
        return "serving"
    if (summary.get("promotion") or {}).get("decision") == "held":
        return "held"
    return "ready"


def _interval_text(interval: list[float] | None) -> str:
    return "" if not interval else f"  (95%: {interval[0]:.3f}-{interval[1]:.3f})"


def version_text(details: dict[str, Any]) -> str:
    lines = [f"Model version {details['version']}: {details['status']}"]
    if details["status"] == "failed":
        lines.append(f"  failed: {details['error']}")
        return "\n".join(lines) + "\n"
    if details["status"] != "ready":
        lines.append(f"  {details['progress']}")
        return "\n".join(lines) + "\n"
    metrics = details["metrics"]
    overall = metrics["overall"]
    deltas = metrics.get("deltas", {})
    snapshot = details["label_snapshot"]
    lines.append(
        f"  trained on {snapshot['train_projects']} projects (labels {snapshot['hash']}) in "
        f"{details['duration_s']:.1f} s; evaluated on {overall.get('projects', 0)} "
        "held-out projects"
    )
    for key in ("micro_f1", "macro_f1", "weighted_f1", "samples_f1"):
        if key in overall:
            change = deltas.get("overall", {}).get(key)
            versus = (
                f"  ({_signed(change)} vs v{metrics['previous_version']})"
                if change is not None
                else ""
            )
            lines.append(f"  {key:<12} {overall[key]:.3f}{versus}")
    lines += _trust_lines(details)
    lines.append("")
    lines.append(
        f"  {'tag':<34} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8} {'thresh':>7}"
    )
    thresholds = details["thresholds"]
    for tag, row in sorted(metrics["per_class"].items(), key=lambda item: -item[1]["f1"]):
        lines.append(
            f"  {tag:<34} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} "
            f"{row['support']:>8} {thresholds.get(tag, 0.5):>7.3f}"
        )
    for tag, count in sorted(metrics.get("not_enough_data", {}).items()):
        lines.append(f"  {tag:<34} not enough data ({count} labelled projects)")
    return "\n".join(lines) + "\n"


def comparison_text(data: dict[str, Any]) -> str:
    a, b, change = data["a"], data["b"], data["b_minus_a"]
    lines = [f"{'':<14}{'v' + str(a['version']):>10}{'v' + str(b['version']):>10}{'change':>10}"]
    for key in ("micro_f1", "macro_f1", "weighted_f1", "samples_f1"):
        lines.append(
            f"{key:<14}{_number(a[key], 10)}{_number(b[key], 10)}"
            f"{_signed(change['overall'].get(key)):>10}"
        )
    lines.append("")
    lines.append(f"{'tag':<34}{'f1 change':>10}")
    for tag, row in sorted(change["per_class"].items(), key=lambda item: item[1]["f1"]):
        lines.append(f"{tag:<34}{_signed(row['f1']):>10}")
    return "\n".join(lines) + "\n"


def rules_summary(serving: ModelVersion | None) -> dict[str, Any]:
    """Version 0, the rules baseline, as scored by the serving version's training (on the
    same evaluation projects and labels)."""
    metrics = (serving.metrics if serving else None) or {}
    stored = metrics.get("baseline", {}).get("intervals", {}).get("all", {})
    overall = {key: value["value"] for key, value in stored.get("overall", {}).items()}
    return {
        "version": 0,
        "status": "rules",
        "created_at": "",
        "duration_s": None,
        "progress": "",
        "train_projects": None,
        "eval_projects": stored.get("n"),
        "micro_f1": overall.get("micro_f1"),
        "macro_f1": overall.get("macro_f1"),
        "weighted_f1": overall.get("weighted_f1"),
        "samples_f1": None,
        "error": None,
        "promotion": None,
        "weighted_f1_interval": weighted_interval(metrics, "baseline", "intervals"),
        "scored_with": serving.id if serving else None,
    }


def rules_details(serving: ModelVersion | None) -> dict[str, Any]:
    metrics = (serving.metrics if serving else None) or {}
    return {
        **rules_summary(serving),
        "intervals": metrics.get("baseline", {}).get("intervals"),
        "model_vs_rules": metrics.get("baseline", {}).get("model_vs_rules"),
    }


def _trust_lines(details: dict[str, Any]) -> list[str]:
    """Why the version serves or is held, and its weighted F1 with intervals on all and
    verified labels next to the rules'."""
    metrics = details["metrics"]
    lines = []
    if details.get("promotion"):
        lines.append(f"  {details['promotion']['decision']}: {details['promotion']['reason']}")
    for which in ("all", "verified"):
        stored = metrics.get("intervals", {}).get(which)
        if not stored:
            continue
        model = stored["overall"].get("weighted_f1")
        rules = metrics["baseline"]["intervals"][which]["overall"].get("weighted_f1")
        versus = metrics["baseline"]["model_vs_rules"][which]["overall"].get("weighted_f1")
        lines.append(
            f"  weighted F1 on {which} labels (n={stored['n']}): model {_figure(model)}, "
            f"rules {_figure(rules)}; model vs rules: {_difference(versus)}"
        )
    return lines


def _figure(figure: dict[str, float] | None) -> str:
    if not figure:
        return "-"
    return f"{figure['value']:.3f} (95%: {figure['low']:.3f}-{figure['high']:.3f})"


def _difference(row: dict[str, Any] | None) -> str:
    if not row:
        return "-"
    return f"{row['verdict']} ({row['value']:+.3f}, {row['low']:+.3f} to {row['high']:+.3f})"


def rules_text(details: dict[str, Any]) -> str:
    if details["scored_with"] is None or not details.get("intervals"):
        return "Version 0 (rules) is scored when a model version is trained; none serves yet.\n"
    lines = [
        "Model version 0: rules (tag names and aliases in title and description, with the "
        f"taxonomy's parents), scored in v{details['scored_with']}'s training"
    ]
    for which in ("all", "verified"):
        stored = details["intervals"][which]
        lines.append(
            f"  weighted F1 on {which} labels (n={stored['n']}): "
            f"{_figure(stored['overall'].get('weighted_f1'))}"
        )
    lines.append("")
    lines.append(f"  {'tag':<34} {'f1 (95% interval)':>26} {'support':>8}")
    for tag, row in sorted(details["intervals"]["all"]["per_class"].items()):
        lines.append(f"  {tag:<34} {_figure(row['f1']):>26} {row['support']:>8}")
    return "\n".join(lines) + "\n"


def paired_text(data: dict[str, Any]) -> str:
    """B minus A on today's labels, all and verified, each with n and verdicts."""
    a = "rules" if data["a"] == 0 else f"v{data['a']}"
    b = "rules" if data["b"] == 0 else f"v{data['b']}"
    lines = [f"{b} minus {a} on the same evaluation projects and today's labels (paired)"]
    for which in ("all", "verified"):
        part = data[which]
        counts = verdict_counts(part)
        lines.append("")
        lines.append(
            f"{which} labels, n={part['n']}: {counts['better']} tags better, "
            f"{counts['worse']} worse, {counts[CANT_TELL]} can't tell, "
            f"{counts['too few']} too few"
        )
        for key, row in part.get("overall", {}).items():
            lines.append(f"  {key:<12} {row['a']:.3f} -> {row['b']:.3f}  {_difference(row)}")
        for tag, row in sorted(part.get("per_class", {}).items()):
            if row["verdict"] in ("better", "worse"):
                lines.append(f"  {tag:<34} {_difference(row)}")
    return "\n".join(lines) + "\n"
