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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labeling.config import PROJECT_ROOT
from labeling.io import split_for
from labeling.text import slugify_tag

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


# --- messy catalogues shaped like a real export ------------------------------------------------

_DOMAINS = (
    "image", "text", "audio", "video", "graph", "tabular", "speech", "medical", "satellite",
    "document", "code", "music", "point-cloud", "time-series", "multimodal", "financial",
    "retail", "biology", "chemistry", "robotics",
)  # fmt: skip
_TASKS = (
    "classification", "segmentation", "detection", "generation", "retrieval", "embeddings",
    "augmentation", "summarization", "translation", "forecasting", "clustering",
    "anomaly-detection", "captioning", "denoising", "compression", "search", "labeling",
    "visualization", "recommendation", "question-answering", "super-resolution",
)  # fmt: skip
_NAMED = (
    "pytorch", "tensorflow", "keras", "jax", "scikit-learn", "huggingface", "transformers",
    "yolov3", "yolov4", "yolov5", "gpt2", "gpt3", "bert", "roberta", "t5", "resnet50",
    "efficientnet", "covid19", "tensorflow-lite", "onnx", "mlflow", "kubeflow", "airflow",
    "docker", "fastapi", "streamlit", "gradio", "spacy", "nltk", "opencv", "pandas", "numpy",
    "xgboost", "lightgbm", "catboost", "dvc", "wandb", "ray", "dask", "spark", "nsfw",
    "benchmark", "dataset", "tutorial", "library", "course", "paper", "api", "interpretability",
    "fairness", "privacy", "federated-learning", "reinforcement-learning", "self-supervised",
    "few-shot", "zero-shot", "active-learning", "transfer-learning", "meta-learning", "gan",
    "diffusion", "autoencoder", "transformer", "attention", "lstm", "cnn", "graph-neural-network",
)  # fmt: skip
_ROOTS = (
    "computer-vision", "natural-language-processing", "mlops", "machine-learning",
    "deep-learning", "data-engineering", "reinforcement", "production",
)  # fmt: skip
_DANGLING_PARENTS = ("testing", "health", "audio-processing", "security", "ethics", "edge", "web")
_IDENTIFIER_TEMPLATES = ("arxiv:{a}.{b}", "{conf}{year}", "{conf}-{year}", "doi:10.{a}/{b}")
_CONFERENCES = ("cvpr", "iccv", "neurips", "icml", "acl", "emnlp", "iclr", "kdd")
_FILLER = (
    "a", "simple", "and", "fast", "implementation", "with", "examples", "notebooks", "demo",
    "that", "shows", "how", "to", "use", "it", "on", "your", "own", "data", "pretrained",
    "weights", "clear", "documentation", "for", "beginners", "open", "source", "model",
)  # fmt: skip


@dataclass(frozen=True)
class MessyCatalogue:
    """A generated catalogue with the answers kept: ``variants`` maps every planted variant
    (as its slug, the form an import stores) to the canonical tag it stands for, so that merge
    suggestions can be scored; ``identifiers``, ``free_tags`` and ``overlong_tags`` are the
    other kinds of noise planted, and ``dangling_parents`` the parents named but not defined.
    ``projects`` and ``taxonomy`` are in Made With ML's shapes (``projects.json``,
    ``tags.json``)."""

    projects: list[dict[str, Any]]
    taxonomy: dict[str, dict[str, list[str]]]
    variants: dict[str, str]
    identifiers: frozenset[str]
    free_tags: frozenset[str]
    overlong_tags: frozenset[str]
    dangling_parents: frozenset[str]

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write ``projects.json`` and ``tags.json`` into ``directory``; returns both paths."""
        return (
            write_json(directory / "projects.json", self.projects),
            write_json(directory / "tags.json", self.taxonomy),
        )


def messy_taxonomy(n_tags: int = 400, seed: int = 0) -> dict[str, dict[str, list[str]]]:
    """``n_tags`` canonical tags: a few roots, named tools and models, and domain-task pairs;
    about one in eight has an alias (its acronym or its underscore-free squashed form), about
    half have a root as parent, and seven name a parent that is not in the file, as the real
    Made With ML tags.json does."""
    rng = np.random.default_rng(seed)
    pairs = [f"{domain}-{task}" for domain in _DOMAINS for task in _TASKS]
    rng.shuffle(pairs)  # type: ignore[arg-type]
    names = list(dict.fromkeys([*_ROOTS, *_NAMED, *pairs]))[:n_tags]
    if len(names) < n_tags:
        raise ValueError(f"at most {len(names)} tags can be generated, not {n_tags}")
    taxonomy: dict[str, dict[str, list[str]]] = {
        name: {"aliases": [], "parents": []} for name in names
    }
    taken = set(names)
    for name in names[len(_ROOTS) :]:
        if rng.random() < 0.5:
            taxonomy[name]["parents"].append(_ROOTS[int(rng.integers(len(_ROOTS)))])
        words = name.split("-")
        alias = "".join(word[0] for word in words) if len(words) > 2 else name.replace("-", "")
        if rng.random() < 0.125 and alias not in taken and len(alias) > 2:
            taxonomy[name]["aliases"].append(alias)
            taken.add(alias)
    for number, parent in enumerate(_DANGLING_PARENTS):
        taxonomy[names[len(_ROOTS) + 3 * number]]["parents"].append(parent)
    return taxonomy


def planted_variant(name: str, kind: str, rng: np.random.Generator) -> str:
    """One variant of a canonical tag, written the ways people write tags: a hyphen put in or
    taken out around digits, a plural, another separator, a typo (two letters swapped), or a
    near-synonym with a suffix."""
    if kind == "digits":
        if re.search(r"[a-z]-\d", name):
            return re.sub(r"([a-z])-(\d)", r"\1\2", name)
        if re.search(r"[a-z]v\d", name):  # yolov4 -> yolo-v4
            return re.sub(r"([a-z])(v\d)", r"\1-\2", name, count=1)
        if re.search(r"[a-z]\d", name):  # covid19 -> covid-19
            return re.sub(r"([a-z])(\d)", r"\1-\2", name, count=1)
        return name.replace("-", "")
    if kind == "plural":
        return name[:-1] if name.endswith("s") else name + "s"
    if kind == "separator":
        return name.replace("-", "") if "-" in name else name + "-ml"
    if kind == "typo":
        letters = [i for i in range(len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha()]
        i = letters[int(rng.integers(len(letters)))] if letters else 0
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == "suffix":
        return name + ("-detection", "-classifier", "-model", "-project")[int(rng.integers(4))]
    raise ValueError(f"unknown variant kind {kind!r}")


VARIANT_KINDS = ("digits", "plural", "separator", "typo", "suffix")


def _plant_variants(
    taxonomy: dict[str, dict[str, list[str]]], share: float, rng: np.random.Generator
) -> dict[str, list[str]]:
    """canonical -> its planted variants (as slugs), for ``share`` of the tags; a variant that
    happens to be another tag or alias, or to repeat its tag, is not planted."""
    taken = set(taxonomy) | {alias for entry in taxonomy.values() for alias in entry["aliases"]}
    planted: dict[str, list[str]] = {}
    for name in taxonomy:
        if rng.random() >= share:
            continue
        kinds = rng.choice(len(VARIANT_KINDS), size=int(rng.integers(1, 3)), replace=False)
        for kind in kinds:
            variant = slugify_tag(planted_variant(name, VARIANT_KINDS[int(kind)], rng))
            if variant and variant not in taken:
                planted.setdefault(name, []).append(variant)
                taken.add(variant)
    return planted


def _tag_words(name: str, rng_seed: int) -> list[str]:
    """Words a project about this tag tends to use: the tag's own words plus two invented
    words particular to it, so that a text model can learn every tag."""
    rng = np.random.default_rng(rng_seed)
    syllables = ("ka", "lo", "mi", "ra", "ten", "vor", "qui", "zel", "pa", "dru", "sen", "tho")
    invented = ["".join(rng.choice(syllables, size=3)) for _ in range(2)]
    return [*name.replace("-", " ").split(), *invented]


def _noisy_spelling(tag: str, rng: np.random.Generator) -> str:
    """Casing and whitespace as people type them; the import's normalising undoes it."""
    roll = rng.random()
    if roll < 0.05:
        return tag.upper()
    if roll < 0.10:
        return f"  {tag.replace('-', ' ').title()} "
    if roll < 0.13:
        return tag.replace("-", "_")
    return tag


def messy_catalogue(
    size: int,
    seed: int = 0,
    n_tags: int = 400,
    variant_share: float = 0.15,
    variant_rate: float = 0.25,
    free_tag_rate: float = 0.35,
    identifier_rate: float = 0.03,
    overlong_rate: float = 0.002,
    free_tag_pool: int = 3_000,
) -> MessyCatalogue:
    """A catalogue of ``size`` projects over a generated ``n_tags`` taxonomy, with the noise of a
    real export. Each project carries 1-4 canonical tags drawn from a Zipf-like popularity; a
    tag with planted variants is written as one of them with probability ``variant_rate``;
    a project gains a free tag from a Zipf long tail of ``free_tag_pool`` invented names with
    probability ``free_tag_rate``, an identifier (arXiv id, conference-year) with
    ``identifier_rate``, and a pasted sentence with ``overlong_rate``. Same arguments, same
    catalogue."""
    rng = np.random.default_rng(seed)
    taxonomy = messy_taxonomy(n_tags, seed)
    names = list(taxonomy)
    planted = _plant_variants(taxonomy, variant_share, rng)
    popularity = 1.0 / np.arange(1, len(names) + 1) ** 0.9
    order = rng.permutation(len(names))
    weights = np.empty(len(names))
    weights[order] = popularity
    weights /= weights.sum()
    words = {name: _tag_words(name, seed * 10_007 + index) for index, name in enumerate(names)}
    free_names = _free_tag_names(free_tag_pool, rng)
    free_weights = 1.0 / np.arange(1, free_tag_pool + 1) ** 1.1
    free_weights /= free_weights.sum()
    variants_used: dict[str, str] = {}
    identifiers: set[str] = set()
    free_used: set[str] = set()
    overlong: set[str] = set()
    projects = []
    for number in range(size):
        count = int(rng.integers(1, 5))
        true_tags = [names[i] for i in rng.choice(len(names), size=count, replace=False, p=weights)]
        tags: list[str] = []
        for tag in true_tags:
            if tag in planted and rng.random() < variant_rate:
                variant = planted[tag][int(rng.integers(len(planted[tag])))]
                variants_used[variant] = tag
                tags.append(variant)
            elif taxonomy[tag]["aliases"] and rng.random() < 0.2:
                tags.append(taxonomy[tag]["aliases"][0])
            else:
                tags.append(_noisy_spelling(tag, rng))
        if rng.random() < free_tag_rate:
            free = free_names[int(rng.choice(free_tag_pool, p=free_weights))]
            free_used.add(free)
            tags.append(free)
        if rng.random() < identifier_rate:
            identifier = _identifier(rng)
            identifiers.add(identifier)
            tags.append(identifier)
        if rng.random() < overlong_rate:
            sentence = "this project " + " ".join(rng.choice(_FILLER, size=25))
            overlong.add(sentence)
            tags.append(sentence)
        text_words = [w for tag in true_tags for w in words[tag]]
        body = list(rng.choice(_FILLER, size=12)) + list(rng.choice(text_words, size=10))
        rng.shuffle(body)  # type: ignore[arg-type]
        projects.append(
            {
                "id": 100_000 + number,
                "title": " ".join(w.capitalize() for w in words[true_tags[0]][:3]) + f" {number}",
                "description": " ".join(body).capitalize() + ".",
                "tags": tags,
            }
        )
    return MessyCatalogue(
        projects=projects,
        taxonomy=taxonomy,
        variants=variants_used,
        identifiers=frozenset(identifiers),
        free_tags=frozenset(free_used),
        overlong_tags=frozenset(overlong),
        dangling_parents=frozenset(_DANGLING_PARENTS),
    )


def _free_tag_names(count: int, rng: np.random.Generator) -> list[str]:
    """Invented one- or two-word tags, unrelated to the taxonomy: the long tail of tags that
    one or a few authors used once, which no merge should swallow."""
    syllables = ("bro", "ve", "nix", "tal", "oru", "ghe", "sim", "pla", "dex", "mun", "cor", "fy")
    names: dict[str, None] = {}
    while len(names) < count:
        parts = ["".join(rng.choice(syllables, size=int(rng.integers(2, 4)))) for _ in range(2)]
        names["-".join(parts[: int(rng.integers(1, 3))])] = None
    return list(names)


def _identifier(rng: np.random.Generator) -> str:
    template = _IDENTIFIER_TEMPLATES[int(rng.integers(len(_IDENTIFIER_TEMPLATES)))]
    return template.format(
        a=int(rng.integers(1000, 2400)),
        b=int(rng.integers(10000, 99999)),
        conf=_CONFERENCES[int(rng.integers(len(_CONFERENCES)))],
        year=int(rng.integers(2015, 2025)),
    )
