"""Train a model version and score every project of a generated catalogue, through the same
registry path the app and the CLI use, and print each stage's time and the peak memory as JSON.

Two axes: projects and tags. ``--tags 28`` (the default for the project axis) uses the
synthetic demo-like catalogue and its 28-tag taxonomy, as every earlier run did; any other
tag count uses ``labeling.synthetic.messy_catalogue`` with a taxonomy of that many tags and a
Zipf long tail of tag popularity, so that the number of *trainable* tags (reported) is what a
real many-tag catalogue has. Each run is its own process so that peak memory is its own.

Usage: python -m benchmarks.train_scale [--sizes 2000,20000] [--tags 28,160,400]
       python -m benchmarks.train_scale --profile 2000x160   (cProfile of one training)
       python -m benchmarks.train_scale --sizes 20000 --tags 400 --suspects-to DIR
           (also writes each run's label-error suspects to DIR/SIZExTAGS.json)
       python -m benchmarks.train_scale --compare-suspects BEFORE.json AFTER.json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.common import synthetic_database
from db.models import ModelVersion, Prediction
from db.session import SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import io, training_jobs
from labeling.config import Settings
from labeling.synthetic import messy_catalogue

DEMO_TAGS = 28


def many_tag_database(workdir: Path, size: int, n_tags: int) -> tuple[Settings, SessionFactory]:
    """A fresh SQLite database holding a generated catalogue over an ``n_tags`` taxonomy. The
    import noise (variants, free tags, identifiers, dangling parents) is left out: it is the
    import benchmarks' subject, and here it would only change how many tags are trainable."""
    settings = Settings(database_url=f"sqlite:///{workdir}/bench.db", data_dir=workdir)
    make_session = session_factory(engine_for(settings.database_url))
    upgrade_to_head(make_session.engine)
    catalogue = messy_catalogue(
        size, seed=0, n_tags=n_tags, variant_share=0.0, free_tag_rate=0.0,
        identifier_rate=0.0, overlong_rate=0.0,
    )  # fmt: skip
    defined = {
        name: {**entry, "parents": [p for p in entry["parents"] if p in catalogue.taxonomy]}
        for name, entry in catalogue.taxonomy.items()
    }
    projects = io.parse_projects(json.dumps(catalogue.projects).encode(), "projects.json")
    taxonomy = io.parse_taxonomy(json.dumps(defined).encode(), "tags.json")
    with make_session.begin() as session:
        io.import_catalogue(session, projects, "projects.json", "json", taxonomy=taxonomy)
    return settings, make_session


def measure(
    size: int, n_tags: int, profile_to: Path | None = None, suspects_to: Path | None = None
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        if n_tags == DEMO_TAGS:
            settings, make_session = synthetic_database(Path(workdir), size)
        else:
            settings, make_session = many_tag_database(Path(workdir), size, n_tags)
        stages: list[tuple[str, float]] = []
        peaks: list[float] = []  # the peak RSS so far when each stage starts
        profiler = cProfile.Profile() if profile_to else None
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        with make_session.begin() as session:
            version_id = training_jobs.queue_training(session, None).id
        if profiler:
            profiler.enable()

        def mark(stage: str, _: float) -> None:
            stages.append((stage, time.perf_counter()))
            peaks.append(_peak_rss_mb())
            print(f"{stages[-1][1] - started:8.2f} s  {stage}", file=sys.stderr, flush=True)

        training_jobs.work_once(make_session, settings, mark)
        total = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
        if profiler and profile_to:
            profiler.disable()
            profiler.dump_stats(str(profile_to))
        with make_session() as session:
            version = session.get(ModelVersion, version_id)
            assert version is not None
            status, error = version.status, version.error
            overall = (version.metrics or {}).get("overall", {})
            trainable = len(version.thresholds or {})
            features = (version.params or {}).get("features", {})
            if suspects_to:
                suspects_to.write_text(json.dumps(stored_suspects(session, version_id)))
    marks = [("start", started), *stages, ("stored", started + total)]
    return {
        "projects": size,
        "taxonomy_tags": n_tags,
        "trainable_tags": trainable,
        "status": status,
        "error": error,
        "train_and_score_seconds": round(total, 2),
        "cpu_seconds": round(cpu, 2),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "stage_seconds": {
            name: round(marks[i + 1][1] - at, 2) for i, (name, at) in enumerate(marks[:-1])
        },
        "char_ngrams": features.get("char_ngrams"),
        "weighted_f1_eval_split": overall.get("weighted_f1"),
        "macro_f1_eval_split": overall.get("macro_f1"),
        "peak_rss_mb": _peak_rss_mb(),
        # the stage during which the peak RSS grew (to the value at the next stage's start)
        "peak_rss_mb_by_end_of_stage": {
            name: peak for (name, _), peak in zip(marks[:-1], [*peaks, _peak_rss_mb()], strict=True)
        },
    }


def stored_suspects(session: Session, version_id: int) -> dict[str, dict[str, object]]:
    """Project id -> its stored label-error score and suspicions, for every suspect of the
    version: what a code change must not make worse (``compare_suspects``)."""
    rows = session.scalars(
        select(Prediction).where(
            Prediction.model_version_id == version_id, Prediction.label_error_score > 0
        )
    )
    return {
        str(row.project_id): {"score": row.label_error_score, "suspicions": row.suspicions}
        for row in rows
    }


def compare_suspects(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], top: int = 500
) -> dict[str, object]:
    """How two trainings' label-error suspects (``stored_suspects``) of the same catalogue
    agree: counts, the suspected projects shared (and their Jaccard index), the shared
    (project, tag, wrong/missing) suspicions, and the overlap of each side's ``top`` most
    suspicious projects. The generated catalogues plant no label errors, so agreement with
    the current suspects is the yardstick, not precision."""

    def suspicions(found: dict[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (project, tag, kind)
            for project, entry in found.items()
            for kind, tags in (entry["suspicions"] or {}).items()
            for tag in tags
        }

    def most_suspicious(found: dict[str, dict[str, Any]]) -> set[str]:
        return set(sorted(found, key=lambda p: (-found[p]["score"], int(p)))[:top])

    shared = set(before) & set(after)
    union = set(before) | set(after)
    before_suspicions, after_suspicions = suspicions(before), suspicions(after)
    return {
        "suspects_before": len(before),
        "suspects_after": len(after),
        "shared_suspects": len(shared),
        "jaccard": round(len(shared) / max(len(union), 1), 4),
        "suspicions_before": len(before_suspicions),
        "suspicions_after": len(after_suspicions),
        "shared_suspicions": len(before_suspicions & after_suspicions),
        f"shared_top_{top}": len(most_suspicious(before) & most_suspicious(after)),
    }


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu_seconds() -> float:
    """This process's user + system time, BLAS threads included: on a machine shared with other
    jobs the wall time grows with their load, the CPU time much less."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def print_profile(path: Path, top: int = 25) -> None:
    stats = pstats.Stats(str(path), stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--tags", default="28,160,400")
    parser.add_argument("--profile", help="SIZExTAGS: profile one training, print to stderr")
    parser.add_argument("--suspects-to", type=Path, help="directory for each run's suspects")
    parser.add_argument("--compare-suspects", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--single", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare_suspects:
        before, after = (json.loads(path.read_text()) for path in args.compare_suspects)
        print(json.dumps(compare_suspects(before, after), indent=2))
        return
    if args.profile:
        size, n_tags = (int(part) for part in args.profile.split("x"))
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "train.prof"
            print(json.dumps(measure(size, n_tags, path, _suspects_file(args, size, n_tags))))
            print_profile(path)
        return
    if args.single:
        size, n_tags = (int(part) for part in args.single.split("x"))
        print(json.dumps(measure(size, n_tags, suspects_to=_suspects_file(args, size, n_tags))))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for n_tags in (int(t) for t in args.tags.split(",")):
            suspects = ["--suspects-to", str(args.suspects_to)] if args.suspects_to else []
            command = [sys.executable, "-m", "benchmarks.train_scale", "--single"]
            output = subprocess.run(
                [*command, f"{size}x{n_tags}", *suspects],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), file=sys.stderr)
    json.dump(
        {
            "benchmark": "train_and_score",
            "targets": {
                "2000x160": "<= 10 s, <= 1 GB",
                "20000x400": "<= 60 s, <= 2 GB",
                "100000x400": "<= 5 min, <= 4 GB",
            },
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()


def _suspects_file(args: argparse.Namespace, size: int, n_tags: int) -> Path | None:
    return args.suspects_to / f"{size}x{n_tags}.json" if args.suspects_to else None


if __name__ == "__main__":
    main()
