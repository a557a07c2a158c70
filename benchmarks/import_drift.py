"""Calibrates the import checks (labeling.drift): the demo catalogue is imported without a
held-back batch, a model is trained, then the batch is imported and checked. Two batches: a
random fifth of the demo (should read "like the catalogue") and the demo's projects of one
topic area (natural-language-processing, should read "shifted"), plus copies of existing
projects with new ids (should be found as duplicates). Prints JSON.

    python -m benchmarks.import_drift
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from db.session import engine_for, session_factory, upgrade_to_head
from labeling import drift, io, registry, training_jobs
from labeling.config import Settings
from labeling.synthetic import demo_projects, demo_taxonomy


def _check(batch: list[dict], rest: list[dict], copies: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(database_url=f"sqlite:///{workdir}/d.db", data_dir=Path(workdir))
        make_session = session_factory(engine_for(settings.database_url))
        upgrade_to_head(make_session.engine)
        taxonomy = io.parse_taxonomy(json.dumps(demo_taxonomy()).encode(), "taxonomy.json")
        with make_session.begin() as session:
            io.import_catalogue(
                session,
                io.parse_projects(json.dumps(rest).encode(), "rest.json"),
                "rest.json",
                "json",
                taxonomy=taxonomy,
            )
            training_jobs.queue_training(session, None)
        training_jobs.work_once(make_session, settings)
        duplicated = [{**p, "id": f"copy-{p['id']}"} for p in rest[:copies]]
        with make_session.begin() as session:
            io.import_catalogue(
                session,
                io.parse_projects(json.dumps(batch + duplicated).encode(), "b.json"),
                "batch.json",
                "json",
            )
        with make_session() as session:
            version = registry.current_version(session)
            model = registry.load_artifact(version.artifact_path)
            report = drift.batch_report(session, None, model, version)
    return {
        "projects": report["projects"],
        "copies_planted": copies,
        "unseen_word_share": report["unseen_word_share"],
        "unseen_word_share_of_evaluation_projects": report[
            "unseen_word_share_of_evaluation_projects"
        ],
        "js_distance": report["tag_distribution"]["distance"],
        "shifted": report["tag_distribution"]["shifted"],
        "no_confident_tag": report["no_confident_tag"]["count"],
        "likely_duplicates": report["likely_duplicates"]["count"],
    }


def main() -> None:
    projects = demo_projects(with_true_tags=False)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(projects))
    fifth = [projects[i] for i in order[: len(projects) // 5]]
    others = [projects[i] for i in order[len(projects) // 5 :]]
    nlp = [p for p in projects if "natural-language-processing" in p["tags"]]
    not_nlp = [p for p in projects if "natural-language-processing" not in p["tags"]]
    print(
        json.dumps(
            {
                "random_fifth": _check(fifth, others, copies=5),
                "one_topic_area": _check(nlp, not_nlp, copies=0),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
