"""Train a model version and score every project of a synthetic catalogue, through the same
registry path the app and the CLI use, and print the timings and peak memory as JSON.

Each size runs in its own process so that peak memory is that size's alone.
Usage: python -m benchmarks.train_scale [--sizes 2000,100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import synthetic_database
from db.models import ModelVersion
from labeling import registry


def measure(size: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        settings, make_session = synthetic_database(Path(workdir), size)
        stages: list[tuple[str, float]] = []
        started = time.perf_counter()
        with make_session.begin() as session:
            version_id = registry.queue_training(session, None).id
        registry.work_once(
            make_session, settings, lambda stage, _: stages.append((stage, time.perf_counter()))
        )
        total = time.perf_counter() - started
        with make_session() as session:
            version = session.get(ModelVersion, version_id)
            assert version is not None
            status, error = version.status, version.error
            weighted = (version.metrics or {}).get("overall", {}).get("weighted_f1")
            features = (version.params or {}).get("features", {})
    marks = [("start", started), *stages, ("stored", started + total)]
    return {
        "projects": size,
        "status": status,
        "error": error,
        "train_and_score_seconds": round(total, 2),
        "stage_seconds": {
            name: round(marks[i + 1][1] - at, 2) for i, (name, at) in enumerate(marks[:-1])
        },
        "char_ngrams": features.get("char_ngrams"),
        "weighted_f1_eval_split": weighted,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2000,100000")
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(measure(args.single)))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.train_scale", "--single", str(size)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    json.dump(
        {
            "benchmark": "train_and_score",
            "targets": {"2000": "< 2 s", "100000": "< 60 s, < 2 GB"},
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()


if __name__ == "__main__":
    main()
