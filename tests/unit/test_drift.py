"""What is new in an import (labeling.drift): hand-computed checks on small inputs."""

from __future__ import annotations

import pytest

from labeling import drift


def test_unseen_share_counts_word_occurrences_outside_the_vocabulary() -> None:
    # 6 words, of which "quantum" twice and "annealing" once are unseen: 3/6.
    assert (
        drift.unseen_share(
            ["Quantum annealing, quantum", "graph neural nets"], {"graph", "neural", "nets"}
        )
        == 0.5
    )
    assert drift.unseen_share([], {"a"}) == 0.0


def test_tag_shift_is_the_jensen_shannon_distance_with_its_threshold() -> None:
    same = drift.tag_shift({"nlp": 2, "vision": 2}, {"nlp": 50, "vision": 50})
    assert same["distance"] == 0.0 and not same["shifted"]
    # Disjoint supports: distance 1 (base 2), the maximum.
    apart = drift.tag_shift({"nlp": 3}, {"vision": 7})
    assert apart["distance"] == pytest.approx(1.0) and apart["shifted"]
    assert apart["measure"] == "Jensen-Shannon distance (base 2)"
    assert apart["tags"][0] == {"tag": "nlp", "batch_share": 1.0, "catalogue_share": 0.0}
    assert drift.tag_shift({}, {"nlp": 1})["distance"] is None


def test_likely_duplicates_need_the_same_title_and_a_near_identical_description() -> None:
    existing = [
        ("old-1", "YOLO v4: Real-time Detection", "fast object detection in one stage on gpus"),
        ("old-2", "Other", "something else entirely"),
    ]
    new = [
        ("new-1", "yolo v4 real time detection", "Fast object detection in one stage on GPUs!"),
        ("new-2", "YOLO v4: Real-time Detection", "a survey of transformers for translation"),
        ("new-3", "Brand new", "fast object detection in one stage on gpus"),
    ]
    assert drift.likely_duplicates(new, existing) == [("new-1", "old-1")]


def test_tag_shift_gives_the_number_of_predicted_tags_on_each_side() -> None:
    shift = drift.tag_shift({"nlp": 3, "vision": 1}, {"nlp": 10, "audio": 30})
    assert (shift["batch_tags"], shift["catalogue_tags"]) == (4, 40)
