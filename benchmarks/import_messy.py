"""Import a generated messy catalogue (labeling.synthetic.messy_catalogue: 400-tag taxonomy with
dangling parents, planted variants, free tags, identifiers, over-long tags) with the CLI, as a
user would, into a fresh SQLite database; print the time, the import process's peak RSS and the
head of its report as JSON.

Usage: python -m benchmarks.import_messy [--size 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labeling.synthetic import messy_catalogue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        projects, taxonomy = messy_catalogue(args.size, seed=args.seed).write(Path(workdir))
        generated = time.perf_counter() - started
        env = {**os.environ, "LABELLOOP_DATABASE_URL": f"sqlite:///{workdir}/bench.db"}
        command = [
            sys.executable, "-m", "labeling", "import", "--projects", str(projects),
            "--taxonomy", str(taxonomy), "--unknown-tags", "candidate",
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        file_mb = projects.stat().st_size / 2**20
    report = done.stdout.splitlines()
    result = {
        "benchmark": "import_messy",
        "projects": args.size,
        "file_mb": round(file_mb, 1),
        "exit_code": done.returncode,
        "generate_seconds": round(generated, 2),
        "import_seconds_wall": round(seconds, 2),
        "import_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "report_lines": len(report),
        "report_head": report[:6],
        "targets": {"seconds": 60, "peak_rss_mb": 2048},
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
