"""Weighted and macro F1 of a training on the evaluation split, for paired before/after checks
of model changes: the demo catalogue as the app imports it (planted errors kept) and
generated many-tag catalogues, each trained through the registry exactly as the app trains
(same data, same split, so two code versions compare paired). Prints JSON.

Usage: python -m benchmarks.train_quality [--catalogues demo,2000x160]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.train_scale import DEMO_TAGS, many_tag_database
from db.models import ModelVersion
from db.session import engine_for, session_factory, upgrade_to_head
from labeling import io, training_jobs
from labeling.config import Settings
from labeling.synthetic import demo_projects, demo_taxonomy


def demo_database(workdir: Path) -> tuple[Settings, object]:
    settings = Settings(database_url=f"sqlite:///{workdir}/demo.db", data_dir=workdir)
    make_session = session_factory(engine_for(settings.database_url))
    upgrade_to_head(make_session.engine)
    catalogue = json.dumps(demo_projects(with_true_tags=False)).encode()
    projects = io.parse_projects(catalogue, "demo.json")
    taxonomy = io.parse_taxonomy(json.dumps(demo_taxonomy()).encode(), "taxonomy.json")
    with make_session.begin() as session:
        io.import_catalogue(session, projects, "demo.json", "json", taxonomy=taxonomy)
    return settings, make_session


def quality(name: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        if name == "demo":
            settings, make_session = demo_database(Path(workdir))
        else:
            size, n_tags = (int(part) for part in name.split("x"))
            assert n_tags != DEMO_TAGS, "use the demo or a many-tag catalogue"
            settings, make_session = many_tag_database(Path(workdir), size, n_tags)
        with make_session.begin() as session:  # type: ignore[attr-defined]
            version_id = training_jobs.queue_training(session, None).id
        training_jobs.work_once(make_session, settings)  # type: ignore[arg-type]
        with make_session() as session:  # type: ignore[operator]
            version = session.get(ModelVersion, version_id)
            overall = (version.metrics or {}).get("overall", {})
            return {
                "catalogue": name,
                "status": version.status,
                "trainable_tags": len(version.thresholds or {}),
                "weighted_f1": overall.get("weighted_f1"),
                "macro_f1": overall.get("macro_f1"),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalogues", default="demo,2000x160")
    args = parser.parse_args()
    json.dump([quality(name) for name in args.catalogues.split(",")], sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
