"""Merge suggestions against the planted variants of a generated messy catalogue: precision
of the top 50 suggestions and recall over every planted variant that reached the database,
and how long suggesting takes. Prints JSON.

Usage: python -m benchmarks.merge_suggestions [--size 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks.common import messy_database
from db.models import Tag
from labeling.synthetic import messy_catalogue
from labeling.tag_suggestions import identifier_tags, merge_suggestions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    catalogue = messy_catalogue(args.size, seed=args.seed)
    with tempfile.TemporaryDirectory() as workdir:
        make_session = messy_database(Path(workdir), catalogue)
        with make_session() as session:
            started = time.perf_counter()
            suggestions = merge_suggestions(session)
            seconds = time.perf_counter() - started
            identifiers = identifier_tags(session)
            candidates = set(session.scalars(select(Tag.name).where(Tag.candidate.is_(True))))
    truth = {v: t for v, t in catalogue.variants.items() if v in candidates}
    top = suggestions[:50]
    suggested = {s.source: s.target for s in suggestions}
    result = {
        "benchmark": "merge_suggestions",
        "projects": args.size,
        "seed": args.seed,
        "candidates": len(candidates),
        "planted_variants": len(truth),
        "suggestions": len(suggestions),
        "precision_top_50": round(
            sum(truth.get(s.source) == s.target for s in top) / max(1, len(top)), 3
        ),
        "recall": round(
            sum(suggested.get(v) == t for v, t in truth.items()) / max(1, len(truth)), 3
        ),
        "identifiers_grouped": len(identifiers),
        "identifiers_planted": len(catalogue.identifiers),
        "suggest_seconds": round(seconds, 3),
        "wrong_in_top_50": [
            f"{s.source} -> {s.target}" for s in top if truth.get(s.source) != s.target
        ],
        "missed": sorted(f"{v} -> {t}" for v, t in truth.items() if suggested.get(v) != t),
        "targets": {"precision_top_50": 0.8, "recall": 0.7},
    }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
