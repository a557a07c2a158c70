"""Merge a tag carried by 10,000 of 100,000 projects into its canonical tag, in one transaction
as the Tags page does, on a fresh SQLite database holding a generated messy catalogue; print the
time of the merge (and of its undo) as JSON.

Usage: python -m benchmarks.tag_merge [--size 100000] [--carriers 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import messy_database
from labeling import tag_history, tags
from labeling.synthetic import messy_catalogue

VARIANT = "yolo-v4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--carriers", type=int, default=10_000)
    args = parser.parse_args()
    catalogue = messy_catalogue(args.size, seed=0)
    step = args.size // args.carriers
    for project in catalogue.projects[::step][: args.carriers]:
        project["tags"] = [*project["tags"], VARIANT]
    with tempfile.TemporaryDirectory() as workdir:
        make_session = messy_database(Path(workdir), catalogue)
        started = time.perf_counter()
        with make_session.begin() as session:
            details = tags.merge(session, None, VARIANT, "yolov4")
        merge_seconds = time.perf_counter() - started
        with make_session() as session:
            event_id = tag_history.tag_history(session, "yolov4")[0].id
        started = time.perf_counter()
        with make_session.begin() as session:
            tag_history.undo(session, None, event_id)
        undo_seconds = time.perf_counter() - started
    result = {
        "benchmark": "tag_merge",
        "projects": args.size,
        "projects_with_source_tag": len(details["projects_moved"])
        + len(details["projects_with_both"]),
        "merge_seconds": round(merge_seconds, 2),
        "undo_seconds": round(undo_seconds, 2),
        "target_seconds": 5,
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
