"""Synthetic catalogues built from the demo texts, for benchmarks and simulations at sizes the
hand-written demo cannot reach.

Each synthetic project starts from a demo project and, half of the time, borrows a sentence
from another project that shares one of its tags (taking that project's tags too), then drops
a few words. The language stays the demo's, the label structure stays learnable, and no two
projects are exact copies — a model cannot score well by memorising duplicates.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from labeling.config import PROJECT_ROOT
from labeling.io import split_for

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def demo_projects(with_true_tags: bool = True) -> list[dict[str, Any]]:
    """The demo catalogue; with ``with_true_tags`` the planted errors of noise.json are undone,
    giving the clean labels a simulator needs."""
    projects = json.loads((DEMO_DIR / "projects.json").read_text(encoding="utf-8"))
    if with_true_tags:
        truth = {
            entry["id"]: entry["true_tags"]
            for entry in json.loads((DEMO_DIR / "noise.json").read_text(encoding="utf-8"))
        }
        projects = [{**p, "tags": truth.get(p["id"], p["tags"])} for p in projects]
    return projects


def demo_taxonomy() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "taxonomy.json").read_text(encoding="utf-8"))


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def synthetic_catalogue(
    size: int, seed: int = 0, base: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    base = base or demo_projects()
    by_tag: dict[str, list[int]] = defaultdict(list)
    for index, project in enumerate(base):
        for tag in project["tags"]:
            by_tag[tag].append(index)
    catalogue = []
    for number in range(size):
        source = base[int(rng.integers(len(base)))]
        sentences = _sentences(source["description"])
        tags = list(source["tags"])
        if tags and rng.random() < 0.5:
            donor = base[int(rng.choice(by_tag[tags[int(rng.integers(len(tags)))]]))]
            donor_sentences = _sentences(donor["description"])
            sentences.insert(
                int(rng.integers(len(sentences) + 1)),
                donor_sentences[int(rng.integers(len(donor_sentences)))],
            )
            tags = list(dict.fromkeys(tags + list(donor["tags"])))
        words = " ".join(sentences).split()
        kept = [w for w in words if rng.random() > 0.1] or words
        catalogue.append(
            {
                "id": f"syn-{seed}-{number}",
                "title": source["title"],
                "description": " ".join(kept),
                "tags": tags,
            }
        )
    return catalogue


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def split_respecting_catalogue(size: int, seed: int = 0) -> list[dict[str, Any]]:
    """A synthetic catalogue for simulations whose evaluation split stays honest.

    :func:`synthetic_catalogue` makes near-copies of demo projects under fresh ids, and the
    split hashes the id, so copies of one demo project land on both sides of the train/eval
    split and a model scores well on evaluation projects it has effectively seen. Here every
    project is made only from demo projects of one split (its donors included) and gets an id
    that hashes to that same split, so no evaluation text has a relative in the pool. The
    splits keep the demo's proportions."""
    base = demo_projects()
    parts = {
        split: [project for project in base if split_for(str(project["id"])) == split]
        for split in ("eval", "train")
    }
    sizes = {"eval": round(size * len(parts["eval"]) / len(base))}
    sizes["train"] = size - sizes["eval"]
    catalogue = []
    for offset, (split, part) in enumerate(parts.items()):
        counter = 0
        for project in synthetic_catalogue(sizes[split], seed * 2 + offset, base=part):
            while split_for(f"syn-{seed}-{counter}") != split:
                counter += 1
            catalogue.append({**project, "id": f"syn-{seed}-{counter}"})
            counter += 1
    return catalogue
