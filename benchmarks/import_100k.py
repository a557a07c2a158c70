"""Import a 100,000-project synthetic catalogue (Made With ML JSON + the demo taxonomy) into a
fresh SQLite database with the CLI, as a user would, and print the timings as JSON.

Usage: python -m benchmarks.import_100k [--size N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from labeling import cli
from labeling.synthetic import DEMO_DIR, synthetic_catalogue, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        projects = write_json(Path(workdir) / "catalogue.json", synthetic_catalogue(args.size))
        os.environ["LABELLOOP_DATABASE_URL"] = f"sqlite:///{workdir}/bench.db"
        taxonomy = str(DEMO_DIR / "taxonomy.json")
        argv = ["import", "--projects", str(projects), "--taxonomy", taxonomy]
        started = time.perf_counter()
        code = cli.main(argv, out=io.StringIO())
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = cli.main(argv, out=io.StringIO())
        second = time.perf_counter() - started
    result = {
        "benchmark": "import",
        "projects": args.size,
        "exit_codes": [code, again],
        "first_import_seconds": round(first, 2),
        "reimport_unchanged_seconds": round(second, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "target_seconds": 60,
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
