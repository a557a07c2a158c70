"""Noise injection for the warm-start simulator: reproducible, expected counts, no-op at zero."""

from __future__ import annotations

import pytest

from labeling.simulate_warm import inject_noise

TAGS = [f"tag-{i}" for i in range(10)]


def _labels(n: int) -> list[frozenset[str]]:
    """n hand-made projects with 1, 2 or 3 true tags (2 on average)."""
    return [frozenset(TAGS[j] for j in range(i % 3 + 1)) for i in range(n)]


def test_same_seed_same_noise_other_seed_other_noise() -> None:
    labels = _labels(300)
    first = inject_noise(labels, TAGS, 0.2, 0.3, seed=7)
    assert inject_noise(labels, TAGS, 0.2, 0.3, seed=7) == first
    assert inject_noise(labels, TAGS, 0.2, 0.3, seed=8)[0] != first[0]


def test_counts_are_near_the_binomial_means() -> None:
    labels = _labels(6_000)  # 12,000 true tags
    noisy, summary = inject_noise(labels, TAGS, 0.1, 0.05, seed=0)
    # dropped ~ Bin(12000, 0.1): mean 1200, sd ~33; added ~ Bin(6000, 0.05): mean 300, sd ~17
    assert summary["dropped"] == pytest.approx(1_200, abs=5 * 33)
    assert summary["added"] == pytest.approx(300, abs=5 * 17)
    assert summary["dropped"] == sum(len(t - n) for t, n in zip(labels, noisy, strict=True))
    assert summary["added"] == sum(len(n - t) for t, n in zip(labels, noisy, strict=True))
    assert summary["projects_with_error"] == sum(t != n for t, n in zip(labels, noisy, strict=True))


def test_added_tags_are_wrong_and_at_most_one_per_project() -> None:
    labels = _labels(500)
    noisy, _ = inject_noise(labels, TAGS, 0.0, 1.0, seed=3)
    for true, source in zip(labels, noisy, strict=True):
        assert true < source and len(source - true) == 1
        assert (source - true) <= set(TAGS)


def test_no_noise_gives_the_true_tags() -> None:
    labels = _labels(200)
    noisy, summary = inject_noise(labels, TAGS, 0.0, 0.0, seed=1)
    assert noisy == labels
    assert summary == {"dropped": 0, "added": 0, "projects_with_error": 0}


def test_a_project_with_every_tag_gets_nothing_added() -> None:
    noisy, summary = inject_noise([frozenset(TAGS)], TAGS, 0.0, 1.0, seed=0)
    assert noisy == [frozenset(TAGS)] and summary["added"] == 0


def test_probabilities_outside_0_1_are_refused() -> None:
    with pytest.raises(ValueError, match=r"noise drop must be between 0 and 1; got 1\.5"):
        inject_noise(_labels(3), TAGS, 1.5, 0.0, seed=0)
