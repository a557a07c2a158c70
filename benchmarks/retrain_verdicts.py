"""The closing-note figures of "Numbers a manager can trust": what the Model page says about one
retrain on the demo. Sets the demo up as `python -m labeling init --demo --train` does (v1
trained), lets modelled annotators (labeling.annotator: accept the pre-selection with
probability a, else type the true tags with per-tag accuracy q) judge the next served projects,
retrains through the real job (v2, gated against v1) and prints JSON:

- "What the last retrain changed": v2 vs v1 on the same evaluation projects and today's labels
  (the gate's paired bootstrap), per tag better / worse / can't tell / too few, and overall
  (weighted F1), on all and on verified labels;
- the model vs the rules (version 0) for v1 and v2: weighted F1 of each with its interval,
  the paired difference and the per-tag verdict counts.

    python -m benchmarks.retrain_verdicts [--judgements 50] [--accept 0.3] [--accuracy 0.95]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from sqlalchemy import select

from benchmarks.common import trained_demo
from db.models import ModelVersion, User
from labeling import judgements, serving, training_jobs
from labeling.annotate import annotation_form
from labeling.annotator import Annotator, judgement
from labeling.intervals import verdict_counts
from labeling.synthetic import DEMO_DIR


def _overall(difference: dict[str, Any]) -> dict[str, Any] | None:
    """The overall weighted-F1 figure, None when there is nothing to score (no verified
    evaluation project yet)."""
    row = difference.get("overall", {}).get("weighted_f1")
    return (
        {key: row[key] for key in ("value", "low", "high", "verdict") if key in row}
        if row
        else None
    )


def _change(difference: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": difference["n"],
        "weighted_f1": _overall(difference),
        "tags": verdict_counts(difference),
    }


def _versus_rules(version: ModelVersion) -> dict[str, Any]:
    metrics = version.metrics or {}
    result = {}
    for which in ("all", "verified"):
        model = metrics["intervals"][which]
        rules = metrics["baseline"]["intervals"][which]
        result[which] = {
            "n": model["n"],
            "model_weighted_f1": model["overall"].get("weighted_f1"),
            "rules_weighted_f1": rules["overall"].get("weighted_f1"),
            "model_minus_rules": _change(metrics["baseline"]["model_vs_rules"][which]),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--judgements", type=int, default=50)
    parser.add_argument("--accept", type=float, default=0.3)
    parser.add_argument("--accuracy", type=float, default=0.95)
    args = parser.parse_args()
    truth = {
        str(row["id"]): set(row["true_tags"])
        for row in json.loads((DEMO_DIR / "noise.json").read_text(encoding="utf-8"))
    }
    annotator = Annotator(args.accept, args.accuracy)
    generator = np.random.default_rng(0)
    started = time.perf_counter()
    with trained_demo() as (settings, make_session):
        with make_session.begin() as session:
            people = [
                User(username=f"sim-{i}", password_hash="x", role="annotator") for i in range(3)
            ]
            session.add_all(people)
            session.flush()
            user_ids = [p.id for p in people]
        changed = judged = 0
        for number in range(args.judgements):
            user_id = user_ids[number % len(user_ids)]
            served = serving.serve_next(make_session, user_id, settings)
            if served is None:
                break
            with make_session() as session:
                form = annotation_form(session, served)
            true = truth.get(served.external_id, set(served.source_tags))
            tags = judgement(annotator, served.source_tags, form.preselected, true, generator)
            changed += set(tags) != set(served.source_tags)
            judged += 1
            judgements.submit(
                make_session,
                user_id,
                served.project_id,
                sorted(tags),
                form.preselected,
                served.model_version_id,
                20.0,
                None,
                no_tag_applies=not tags,
                settings_like=settings,
            )
        with make_session.begin() as session:
            training_jobs.queue_training(session, None)
        training_jobs.work_once(make_session, settings)
        with make_session() as session:
            v1, v2 = session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()[:2]
            gate = v2.metrics["gate"]
            result = {
                "judgements": judged,
                "judgements_that_changed_the_tags": changed,
                "annotator": {"accept_rate": args.accept, "accuracy": args.accuracy},
                "gate": {
                    "decision": "serves" if gate["promoted"] else "held",
                    "reason": gate["reason"],
                },
                "v2_vs_v1": {w: _change(gate["difference"][w]) for w in ("all", "verified")},
                "v1_vs_rules": _versus_rules(v1),
                "v2_vs_rules": _versus_rules(v2),
            }
    print(json.dumps({**result, "seconds": round(time.perf_counter() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
