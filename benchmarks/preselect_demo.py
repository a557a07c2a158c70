"""Does a fast annotator make the demo catalogue better or worse? The "Done when" figure of
issue 13, measured as a new user meets the app after ``make run``.

In a temporary data directory: ``python -m labeling init --demo --train``, then the demo
annotator is served the first ``--projects`` projects with ``serve_next`` exactly as the
Annotate page serves them, and submits what ``annotation_form`` pre-selects (automation bias
a = 1: every pre-selection accepted, nothing typed). Tag errors fixed and introduced are
counted against ``data/demo/noise.json`` (a planted project's true tags; every other
project's source tags are taken as true), with the same count for the other pre-selection
policies on the same served projects (the serving order does not depend on what is
submitted until the next retrain, which this script does not run). Also: the precision of
the pre-selected changes, the share of labelled projects flagged as suspects, and the
planted-error projects among the top 10 / top 50 label-error scores.

Usage: python -m benchmarks.preselect_demo [--projects 50]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping

from sqlalchemy import select

from benchmarks.common import trained_demo
from db.models import Prediction, Project, User
from labeling.annotate import annotation_form
from labeling.annotator import TagChanges, tag_changes
from labeling.judgements import submit
from labeling.label_errors import PRESELECT_POLICIES, preselected_tags
from labeling.registry import current_version
from labeling.serving import ServedProject, serve_next
from labeling.synthetic import DEMO_DIR

NOISE = DEMO_DIR / "noise.json"


def _totals(rows: list[TagChanges]) -> dict[str, float | int | None]:
    fixed = sum(row.fixed for row in rows)
    introduced = sum(row.introduced for row in rows)
    changes = sum(row.changes for row in rows)
    right = sum(row.right_changes for row in rows)
    return {
        "fixed": fixed,
        "introduced": introduced,
        "net": fixed - introduced,
        "changes": changes,
        "precision": round(right / changes, 3) if changes else None,
    }


def _kind_of_change(served: ServedProject, tag: str) -> str:
    if tag in served.implied:
        return "implied_parent"
    return "remove" if tag in served.source_tags else "add"


def _by_kind(served: ServedProject, truth: set[str], counts: dict[str, list[int]]) -> None:
    """Adds the default policy's pre-selected changes of one project to [right, all] per kind
    (an added tag, a removed one, a parent the taxonomy implies): the rule needs each kind
    to be right, not only their mix."""
    for tag in served.preselect:
        right = tag not in truth if tag in served.source_tags else tag in truth
        tally = counts.setdefault(_kind_of_change(served, tag), [0, 0])
        tally[0] += right
        tally[1] += 1


def _suspicions(served: ServedProject) -> Mapping[str, Mapping[str, object]]:
    return {
        "wrong": served.suspected_wrong,
        "missing": served.suspected_missing,
        "preselect": dict.fromkeys(served.preselect, True),
        "implied": served.implied,
    }


def run(n_projects: int) -> dict[str, object]:
    truth_of = {str(row["id"]): set(row["true_tags"]) for row in json.loads(NOISE.read_text())}
    started = time.perf_counter()
    with trained_demo() as (settings, make_session):
        init_seconds = time.perf_counter() - started
        with make_session() as session:
            user_id = session.scalar(select(User.id).where(User.username == "demo-annotator"))
            version = current_version(session)
            assert version is not None and user_id is not None
            scored = session.execute(
                select(Project.external_id, Prediction.label_error_score)
                .join(Prediction, Prediction.project_id == Project.id)
                .where(
                    Prediction.model_version_id == version.id,
                    Prediction.label_error_score.is_not(None),
                )
                .order_by(Prediction.label_error_score.desc(), Project.id)
            ).all()
        per_policy: dict[str, list[TagChanges]] = {name: [] for name in PRESELECT_POLICIES}
        served_rows = []
        kinds: dict[str, list[int]] = {}
        for position in range(n_projects):
            served = serve_next(make_session, user_id, settings)
            if served is None:
                break
            with make_session() as session:
                form = annotation_form(session, served)
            truth = truth_of.get(served.external_id, set(served.source_tags))
            _by_kind(served, truth, kinds)
            for name in PRESELECT_POLICIES:
                chosen = preselected_tags(served.source_tags, _suspicions(served), name)
                per_policy[name].append(tag_changes(served.source_tags, chosen, truth))
            served_rows.append(
                {
                    "position": position + 1,
                    "id": served.external_id,
                    "planted": served.external_id in truth_of,
                    "source": sorted(served.source_tags),
                    "submitted": sorted(form.preselected),
                    "truth": sorted(truth),
                }
            )
            submit(
                make_session,
                user_id,
                served.project_id,
                form.preselected,
                form.preselected,
                served.model_version_id,
                1.0,
                f"bench-{position}",
            )
    suspects = [external_id for external_id, score in scored if score > 0]
    ranked = [external_id for external_id, _ in scored]
    return {
        "benchmark": "preselect_demo",
        "annotator": "accepts every pre-selection (a = 1)",
        "projects_served": len(served_rows),
        "planted_among_served": sum(row["planted"] for row in served_rows),
        "default_policy": _totals(per_policy["confident"]),
        "policies": {name: _totals(rows) for name, rows in per_policy.items()},
        "default_policy_by_kind": {
            kind: {"right": right, "changes": changes} for kind, (right, changes) in kinds.items()
        },
        "flagged": len(suspects),
        "labelled": len(scored),
        "flagged_share": round(len(suspects) / len(scored), 3) if scored else None,
        "flagged_planted": sum(external_id in truth_of for external_id in suspects),
        "planted_projects": len(truth_of),
        "planted_in_top10": sum(external_id in truth_of for external_id in ranked[:10]),
        "planted_in_top50": sum(external_id in truth_of for external_id in ranked[:50]),
        "init_and_train_seconds": round(init_seconds, 1),
        "served": served_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--brief", action="store_true", help="leave out the served projects")
    args = parser.parse_args()
    result = run(args.projects)
    if args.brief:
        result.pop("served")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
