"""Readable text reports of model versions for the command line."""

from __future__ import annotations

from typing import Any


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
            f"{s['version']:>7}  {s['status']:<8}  {s['created_at']:<19}  "
            f"{_number(s['train_projects'], 6)}  {_number(s['eval_projects'], 5)}  "
            f"{_number(s['micro_f1'], 6)}  {_number(s['macro_f1'], 6)}  "
            f"{_number(s['weighted_f1'], 8)}  {_number(s['duration_s'], 6)}"
            + (f"  {s['error']}" if s["error"] else "")
            + "\n"
        )
    return "".join(lines)


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
