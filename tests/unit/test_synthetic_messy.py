"""The messy catalogue generator: shaped like a real export, with its answers kept."""

from __future__ import annotations

import pytest

from labeling.synthetic import messy_catalogue, messy_taxonomy, planted_variant
from labeling.text import slugify_tag


@pytest.fixture(scope="module")
def catalogue():
    return messy_catalogue(600, seed=3)


def test_same_seed_gives_the_same_catalogue(catalogue) -> None:
    again = messy_catalogue(600, seed=3)
    assert again.projects == catalogue.projects
    assert again.variants == catalogue.variants
    assert messy_catalogue(600, seed=4).projects != catalogue.projects


def test_taxonomy_has_400_tags_aliases_parents_and_seven_dangling_parents() -> None:
    taxonomy = messy_taxonomy()
    assert len(taxonomy) == 400
    parents = {p for entry in taxonomy.values() for p in entry["parents"]}
    assert len(parents - set(taxonomy)) == 7
    aliases = [a for entry in taxonomy.values() for a in entry["aliases"]]
    assert aliases and len(aliases) == len(set(aliases))
    assert not set(aliases) & set(taxonomy)


def test_planted_variants_are_new_names_whose_truth_is_a_taxonomy_tag(catalogue) -> None:
    names = set(catalogue.taxonomy)
    aliases = {a for entry in catalogue.taxonomy.values() for a in entry["aliases"]}
    assert len(catalogue.variants) >= 10
    assert set(catalogue.variants.values()) <= names
    assert not set(catalogue.variants) & (names | aliases)
    used = {slugify_tag(t) for p in catalogue.projects for t in p["tags"]}
    assert set(catalogue.variants) <= used
    assert catalogue.identifiers and catalogue.free_tags and catalogue.overlong_tags
    assert all(len(slugify_tag(t)) > 100 for t in catalogue.overlong_tags)


def test_variant_kinds_by_hand() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    assert planted_variant("yolov4", "digits", rng) == "yolo-v4"
    assert planted_variant("covid-19", "digits", rng) == "covid19"
    assert planted_variant("benchmark", "plural", rng) == "benchmarks"
    assert planted_variant("image-search", "separator", rng) == "imagesearch"
    typo = planted_variant("pytorch", "typo", rng)
    assert sorted(typo) == sorted("pytorch") and typo != "pytorch"
