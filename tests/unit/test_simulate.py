"""The active-learning simulator: curve points, paired seed sets, ceiling summaries with
hand-computed expectations, reproducibility, validation messages."""

from __future__ import annotations

import io as stdio
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from labeling import cli
from labeling import strategies as strategy_registry
from labeling.charts import common
from labeling.config import Settings
from labeling.io import RawProject, TaxonomyEntry, split_for
from labeling.label_errors import DEFAULT_DETECTOR
from labeling.model import ModelParams
from labeling.simulate import (
    format_table,
    labels_to_fraction,
    run_simulation,
    summarise_strategy,
    summary_table,
)
from labeling.simulate_common import build_corpus, curve_auc, label_counts
from labeling.simulate_warm import WarmChoice, errors_fixed_at, warm_choice, warm_start
from labeling.strategies import top_indices
from labeling.synthetic import (
    DEMO_DIR,
    demo_projects,
    demo_taxonomy,
    split_respecting_catalogue,
)

STRATEGIES = ["random", "threshold_margin", "ranked_batch"]
OPTIONS: dict[str, Any] = {
    "strategies": STRATEGIES,
    "seed_size": 10,
    "batch_size": 10,
    "budget": 40,
    "repeats": 2,
}


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, Any]]:
    return demo_projects()[:120]


@pytest.fixture(scope="module")
def taxonomy() -> dict[str, Any]:
    return demo_taxonomy()


@pytest.fixture(scope="module")
def messages() -> list[str]:
    return []


@pytest.fixture(scope="module")
def result(
    catalogue: list[dict[str, Any]], taxonomy: dict[str, Any], messages: list[str]
) -> dict[str, Any]:
    return run_simulation(catalogue, taxonomy, progress=messages.append, **OPTIONS)


# --- a real (small) run ----------------------------------------------------------------------


def test_curve_points_are_at_the_seed_and_every_batch(result: dict[str, Any]) -> None:
    for data in result["strategies"].values():
        assert [point["labels"] for point in data["curve"]] == [10, 20, 30, 40]
    assert result["config"]["label_counts"] == [10, 20, 30, 40]


def test_every_strategy_starts_from_the_same_seed_set(result: dict[str, Any]) -> None:
    firsts = [data["curve"][0] for data in result["strategies"].values()]
    assert all(first == firsts[0] for first in firsts)
    per_repeat = [
        [run[0] for run in data["repeats_weighted_f1"]] for data in result["strategies"].values()
    ]
    assert all(values == per_repeat[0] for values in per_repeat)


def test_summaries_agree_with_the_curves_and_the_ceiling(result: dict[str, Any]) -> None:
    ceiling = result["full_data"]["weighted_f1"]
    assert 0.0 < ceiling <= 1.0
    for data in result["strategies"].values():
        labels = [p["labels"] for p in data["curve"]]
        weighted = [p["weighted_f1_mean"] for p in data["curve"]]
        reached = [n for n, f1 in zip(labels, weighted, strict=True) if f1 >= 0.9 * ceiling]
        assert data["labels_to_90pct"] == (reached[0] if reached else None)
        assert data["auc_weighted_f1"] == pytest.approx(np.trapezoid(weighted, labels) / 30)
        means = np.mean(data["repeats_weighted_f1"], axis=0)
        assert weighted == pytest.approx(means.tolist())


def test_config_and_json(result: dict[str, Any], catalogue: list[dict[str, Any]]) -> None:
    config = result["config"]
    n_eval = sum(split_for(str(p["id"])) == "eval" for p in catalogue)
    assert (config["n_projects"], config["n_eval"], config["n_pool"]) == (120, n_eval, 120 - n_eval)
    assert config["strategies"] == STRATEGIES
    assert config["n_tags"] == len(demo_taxonomy())
    assert json.loads(json.dumps(result)) == result


def test_progress_is_reported_after_every_batch(messages: list[str]) -> None:
    assert len(messages) == 2 * 3 * 4
    assert messages[1].startswith("repeat 1/2 strategy random: 20/40 labels, weighted F1 ")


def test_same_inputs_give_the_same_numbers(
    result: dict[str, Any], catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    again = run_simulation(catalogue, taxonomy, **OPTIONS)
    assert again["strategies"] == result["strategies"]
    assert again["full_data"] == result["full_data"]


def test_worker_processes_give_the_same_numbers(
    result: dict[str, Any], catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    messages: list[str] = []
    parallel = run_simulation(catalogue, taxonomy, progress=messages.append, n_jobs=2, **OPTIONS)
    assert parallel["strategies"] == result["strategies"]
    assert len(messages) == 2 * 3 * 4


def test_budget_equal_to_the_pool_ends_at_the_ceiling(taxonomy: dict[str, Any]) -> None:
    """Labelling the whole pool is the full-data model, whatever order it was labelled in."""
    small = demo_projects()[:60]
    pool = sum(split_for(str(p["id"])) != "eval" for p in small)
    result = run_simulation(
        small, taxonomy, ["random", "max_score"], pool - 10, 10, pool, repeats=1
    )
    for data in result["strategies"].values():
        assert data["curve"][-1]["labels"] == pool
        assert data["curve"][-1]["weighted_f1_mean"] == result["full_data"]["weighted_f1"]


def test_without_a_trainable_tag_f1_is_zero_and_queries_are_random(
    catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    params = ModelParams(min_positives=10_000)
    result = run_simulation(catalogue, taxonomy, params=params, full_data=False, **OPTIONS)
    assert result["full_data"] is None
    for data in result["strategies"].values():
        assert [p["weighted_f1_mean"] for p in data["curve"]] == [0.0, 0.0, 0.0, 0.0]
        assert data["labels_to_90pct"] is None
        assert data["labels_to_95pct"] is None


# --- hand-made curves ------------------------------------------------------------------------


def test_auc_is_the_trapezoid_mean() -> None:
    # ((0.5 + 0.7) / 2 * 10 + (0.7 + 0.9) / 2 * 10) / 20 = (6 + 8) / 20 = 0.7
    assert curve_auc([10, 20, 30], [0.5, 0.7, 0.9]) == pytest.approx(0.7)
    assert curve_auc([10], [0.4]) == pytest.approx(0.4)


def test_labels_to_a_share_of_the_ceiling() -> None:
    labels, f1 = [10, 20, 30], [0.5, 0.7, 0.9]
    assert labels_to_fraction(labels, f1, 0.9, 0.9) == 30  # 0.81 first reached at 30
    assert labels_to_fraction(labels, f1, 0.7, 0.9) == 20  # 0.63
    assert labels_to_fraction(labels, f1, 0.5, 0.95) == 10  # 0.475
    assert labels_to_fraction(labels, f1, 1.0, 0.95) is None  # 0.95 never reached
    assert labels_to_fraction(labels, f1, None, 0.9) is None


def test_summarise_strategy_on_hand_made_repeats() -> None:
    # two repeats x three points x (weighted, macro, trained tags)
    runs = np.array(
        [
            [[0.4, 0.2, 3], [0.6, 0.4, 5], [0.8, 0.6, 7]],
            [[0.6, 0.4, 5], [0.8, 0.6, 7], [1.0, 0.8, 9]],
        ]
    )
    summary = summarise_strategy(runs, [10, 20, 30], {"weighted_f1": 0.9, "macro_f1": 0.8})
    assert [p["weighted_f1_mean"] for p in summary["curve"]] == pytest.approx([0.5, 0.7, 0.9])
    assert [p["weighted_f1_std"] for p in summary["curve"]] == pytest.approx([0.1, 0.1, 0.1])
    assert [p["macro_f1_mean"] for p in summary["curve"]] == pytest.approx([0.3, 0.5, 0.7])
    assert summary["auc_weighted_f1"] == pytest.approx(0.7)
    assert summary["auc_macro_f1"] == pytest.approx(0.5)
    assert summary["labels_to_90pct"] == 30  # 0.81
    assert summary["labels_to_95pct"] == 30  # 0.855


def _hand_result() -> dict[str, Any]:
    def strategy(f1: list[float], to90: int | None) -> dict[str, Any]:
        curve = [
            {"labels": n, "weighted_f1_mean": v, "weighted_f1_std": 0.0}
            for n, v in zip([10, 20, 30], f1, strict=True)
        ]
        auc = curve_auc([10, 20, 30], f1)
        return {
            "curve": curve,
            "auc_weighted_f1": auc,
            "auc_macro_f1": auc - 0.1,
            "labels_to_90pct": to90,
            "labels_to_95pct": None,
        }

    return {
        "strategies": {
            "random": strategy([0.5, 0.7, 0.9], 30),
            "max_score": strategy([0.5, 0.8, 0.9], 20),
        }
    }


def test_summary_table_is_sorted_by_auc() -> None:
    rows = summary_table(_hand_result())
    assert [row["strategy"] for row in rows] == ["max_score", "random"]
    assert rows[0]["auc_weighted_f1"] == pytest.approx(0.75)
    assert rows[1] == {
        "strategy": "random",
        "auc_weighted_f1": pytest.approx(0.7),
        "auc_macro_f1": pytest.approx(0.6),
        "labels_to_90pct": 30,
        "labels_to_95pct": None,
        "final_weighted_f1": 0.9,
    }


def test_format_table() -> None:
    lines = format_table(summary_table(_hand_result())).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "strategy",
        "AUC weighted F1",
        "AUC macro F1",
        "labels to 90%",
        "labels to 95%",
        "final weighted F1",
    ]
    assert lines[2].split() == ["max_score", "0.750", "0.650", "20", "-", "0.900"]
    assert lines[3].split() == ["random", "0.700", "0.600", "30", "-", "0.900"]


def test_label_counts_end_at_the_budget() -> None:
    assert label_counts(10, 10, 40) == [10, 20, 30, 40]
    assert label_counts(10, 15, 40) == [10, 25, 40]
    assert label_counts(10, 10, 10) == [10]


# --- input handling --------------------------------------------------------------------------


def test_tags_are_mapped_through_the_taxonomy() -> None:
    taxonomy = {
        "natural-language-processing": TaxonomyEntry(aliases=("nlp",)),
        "computer-vision": {"aliases": ["cv"], "parents": []},
    }
    projects = [
        {"id": 1, "title": "A", "description": "x", "tags": ["NLP", "made-up", "cv"]},
        RawProject("2", "B", "y", ("computer-vision", "made-up"), "item 1"),
    ]
    corpus = build_corpus(projects, taxonomy, title_repeats=2)
    labels = corpus.pool_labels + corpus.eval_labels
    assert sorted(map(sorted, labels)) == [
        ["computer-vision"],
        ["computer-vision", "natural-language-processing"],
    ]
    assert corpus.dropped_tags == {"made-up": 2}
    assert corpus.candidate_tags == ["natural-language-processing", "computer-vision"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"strategies": ["random", "nope"]},
            "unknown strategy 'nope'; choose one of: random, min_confidence, avg_confidence, "
            "max_score, mean_max_loss, threshold_margin, ranked_batch",
        ),
        (
            {"strategies": []},
            "choose at least one strategy: random, min_confidence, avg_confidence, max_score, "
            "mean_max_loss, threshold_margin, ranked_batch",
        ),
        ({"seed_size": 0}, "seed_size must be at least 1; got 0"),
        ({"batch_size": 0}, "batch_size must be at least 1; got 0"),
        ({"budget": 9}, "budget (9) must be at least seed_size (10)"),
        ({"repeats": 0}, "repeats must be at least 1; got 0"),
        (
            {"budget": 1_000},
            "budget (1000) is larger than the pool of 99 training projects "
            "(21 more are kept for evaluation)",
        ),
        ({"n_jobs": 0}, "n_jobs must be at least 1; got 0"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(
    catalogue: list[dict[str, Any]],
    taxonomy: dict[str, Any],
    change: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError) as error:
        run_simulation(catalogue, taxonomy, **{**OPTIONS, **change})
    assert str(error.value) == message


# --- warm start ------------------------------------------------------------------------------

WARM: dict[str, Any] = {
    "seed_size": 999,  # ignored in warm mode
    "batch_size": 10,
    "budget": 40,
    "repeats": 1,
    "noise_drop": 0.2,
    "noise_add": 0.2,
    "accept_rates": (0.0,),  # one annotator who types the truth keeps these tests cheap
}
ERROR_TEXTS: set[str] = set()  # pool texts whose source tags are wrong, read by the oracle


def oracle(classifier: Any, X_pool: Any, n_instances: int = 1) -> np.ndarray:
    """Serves the projects known to carry an error first: a pool row is one of them when its
    features equal (cosine 1) those of an erroneous project's text."""
    errors = classifier.transform(sorted(ERROR_TEXTS))
    similarity = cosine_similarity(X_pool, errors).max(axis=1)
    return top_indices(np.where(similarity > 1 - 1e-9, 1.0, 0.0), n_instances)


@pytest.fixture(scope="module")
def warm_catalogue() -> list[dict[str, Any]]:
    return demo_projects()[:150]


@pytest.fixture(scope="module")
def warm_result(warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]) -> dict[str, Any]:
    corpus = build_corpus(warm_catalogue, taxonomy, ModelParams().features.title_repeats)
    start = warm_start(corpus, WARM["noise_drop"], WARM["noise_add"], seed=0)  # repeat 0
    ERROR_TEXTS.update(
        text for text, errors in zip(corpus.pool_texts, start.errors, strict=True) if errors
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(strategy_registry.STRATEGIES, "oracle", oracle)
        return run_simulation(
            warm_catalogue,
            taxonomy,
            ["random", "threshold_margin", "ranked_batch", "oracle"],
            **WARM,
        )


def test_warm_curves_start_at_zero_labels(warm_result: dict[str, Any]) -> None:
    for data in warm_result["strategies"].values():
        assert [point["labels"] for point in data["curve"]] == [0, 10, 20, 30, 40]
    assert warm_result["config"]["label_counts"] == [0, 10, 20, 30, 40]
    assert warm_result["config"]["seed_size"] is None
    assert json.loads(json.dumps(warm_result)) == warm_result


def test_errors_fixed_grow_and_stay_below_the_injected_errors(
    warm_result: dict[str, Any],
) -> None:
    injected = warm_result["injected_errors"]
    assert injected["tag_errors"] == injected["dropped"] + injected["added"] > 0
    assert 0 < injected["projects_with_error"] <= injected["tag_errors"]
    for data in warm_result["strategies"].values():
        fixed = [point["errors_fixed"] for point in data["curve"]]
        assert fixed[0] == 0
        assert fixed == sorted(fixed)
        assert fixed[-1] <= injected["tag_errors"]
        precision = [point["batch_precision"] for point in data["curve"]]
        assert precision[0] is None
        assert all(0.0 <= value <= 1.0 for value in precision[1:])
        for key in ("weighted_f1", "macro_f1"):
            assert all(0.0 <= point[key] <= 1.0 for point in data["curve"])


def test_every_warm_strategy_starts_from_the_same_noisy_model(
    warm_result: dict[str, Any],
) -> None:
    firsts = [data["curve"][0] for data in warm_result["strategies"].values()]
    assert all(first == firsts[0] for first in firsts)
    assert warm_result["full_data"]["weighted_f1"] > 0


def test_the_oracle_fixes_more_errors_than_random(warm_result: dict[str, Any]) -> None:
    oracle_curve = warm_result["strategies"]["oracle"]["curve"]
    random_curve = warm_result["strategies"]["random"]["curve"]
    assert all(point["batch_precision"] == 1.0 for point in oracle_curve[1:])
    assert oracle_curve[-1]["errors_fixed"] > random_curve[-1]["errors_fixed"]


def test_warm_summary_table_and_format(warm_result: dict[str, Any]) -> None:
    rows = summary_table(warm_result)
    assert rows[0]["strategy"] == "oracle"
    assert rows[0]["errors_fixed_at_100"] is None  # beyond the budget of 40
    assert rows[0]["final_labels"] == 40
    lines = format_table(rows).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "strategy",
        "a",
        "errors fixed @100",
        "errors fixed @250",
        "errors fixed @500",
        "labels",
        "errors fixed",
        "introduced",
        "net",
        "batch precision",
        "pre-selection precision",
        "weighted F1",
        "macro F1",
    ]
    assert lines[2].split()[:6] == ["oracle", "0", "-", "-", "-", "40"]
    # an annotator who types the true tags (a = 0, q = 1) never introduces an error
    assert all(row["final_errors_introduced"] == 0 for row in rows)
    assert all(row["final_net"] == row["final_errors_fixed"] for row in rows)


def test_errors_fixed_at_the_nearest_point() -> None:
    curve = [{"labels": n, "errors_fixed": float(n // 2)} for n in (0, 90, 180, 270)]
    assert errors_fixed_at(curve, 100) == 45.0  # 90 is nearest
    assert errors_fixed_at(curve, 250) == 135.0  # 270 is nearest
    assert errors_fixed_at(curve, 135) == 45.0  # a tie goes to the lower point
    assert errors_fixed_at(curve, 500) is None  # beyond the budget


def test_without_noise_the_cold_output_is_unchanged(result: dict[str, Any]) -> None:
    assert set(result) == {"config", "full_data", "strategies", "seconds"}
    assert "mode" not in result["config"] and "noise_drop" not in result["config"]
    for data in result["strategies"].values():
        assert set(data) == {
            "curve",
            "auc_weighted_f1",
            "auc_macro_f1",
            "labels_to_90pct",
            "labels_to_95pct",
            "repeats_weighted_f1",
            "repeats_macro_f1",
        }
        assert set(data["curve"][0]) == {
            "labels",
            "weighted_f1_mean",
            "weighted_f1_std",
            "macro_f1_mean",
            "macro_f1_std",
            "trained_tags_mean",
        }


def test_warm_strategy_names() -> None:
    assert warm_choice("label_errors") == WarmChoice(DEFAULT_DETECTOR)
    assert warm_choice("label_errors_flips") == WarmChoice("flips")
    assert warm_choice("label_errors_cleanlab") == WarmChoice("cleanlab")
    assert warm_choice("label_errors_mix") == WarmChoice(DEFAULT_DETECTOR, "uncertainty")
    assert warm_choice("label_errors_mix", "random") == WarmChoice(DEFAULT_DETECTOR, "random")
    assert warm_choice("label_errors_mix_random") == WarmChoice(DEFAULT_DETECTOR, "random")
    assert warm_choice("threshold_margin") == WarmChoice(None)
    assert warm_choice("label_errors_sum") == WarmChoice(None)


DETECTOR_NAMES = [
    "label_errors",
    f"label_errors_{DEFAULT_DETECTOR}",
    "label_errors_flips",
    "label_errors_cleanlab",
    "label_errors_mix",
    "label_errors_mix_random",
]


@pytest.fixture(scope="module")
def detector_result(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> dict[str, Any]:
    return run_simulation(warm_catalogue, taxonomy, DETECTOR_NAMES, **{**WARM, "budget": 20})


def test_label_error_strategies_find_more_errors_than_chance(
    detector_result: dict[str, Any],
) -> None:
    strategies = detector_result["strategies"]
    assert list(strategies) == DETECTOR_NAMES
    injected = detector_result["injected_errors"]
    chance = injected["projects_with_error"] / detector_result["config"]["n_pool"]
    for data in strategies.values():
        assert [point["labels"] for point in data["curve"]] == [0, 10, 20]
        # every batch is drawn from the whole pool: about 45% of it carries an error here
        assert data["curve"][-1]["errors_fixed"] >= 1
    best = max(data["curve"][1]["batch_precision"] for data in strategies.values())
    assert best > chance
    # label_errors is the default detector under its own name: the very same curve
    assert strategies["label_errors"] == strategies[f"label_errors_{DEFAULT_DETECTOR}"]
    assert detector_result["config"]["mix_share"] == 0.2
    assert detector_result["config"]["mix_with"] == "uncertainty"


def test_a_mix_at_share_0_is_label_errors_and_at_share_1_its_partner(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    options = {**WARM, "budget": 20}
    none_mixed = run_simulation(
        warm_catalogue, taxonomy, ["label_errors", "label_errors_mix"], mix_share=0.0, **options
    )["strategies"]
    assert none_mixed["label_errors_mix"]["curve"] == none_mixed["label_errors"]["curve"]
    all_mixed = run_simulation(
        warm_catalogue,
        taxonomy,
        ["threshold_margin", "label_errors_mix"],
        mix_share=1.0,
        mix_with="uncertainty",
        **options,
    )["strategies"]
    assert all_mixed["label_errors_mix"]["curve"] == all_mixed["threshold_margin"]["curve"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mix_share": 1.5}, "mix share must be between 0 and 1; got 1.5"),
        (
            {"mix_with": "margin"},
            "unknown mix partner 'margin'; choose one of: uncertainty, random",
        ),
    ],
)
def test_bad_mix_settings_are_refused(
    warm_catalogue: list[dict[str, Any]],
    taxonomy: dict[str, Any],
    change: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(ValueError) as error:
        run_simulation(warm_catalogue, taxonomy, ["label_errors_mix"], **{**WARM, **change})
    assert str(error.value) == message


def test_an_unknown_warm_strategy_lists_the_label_error_ones(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    with pytest.raises(ValueError) as error:
        run_simulation(warm_catalogue, taxonomy, ["label_errors_sum"], **WARM)
    assert str(error.value).startswith("unknown strategy 'label_errors_sum'; choose one of: ")
    assert str(error.value).endswith(
        "label_errors, label_errors_max, label_errors_flips, label_errors_cleanlab, "
        "label_errors_mix, label_errors_mix_uncertainty, label_errors_mix_random"
    )


def test_cli_simulate_warm_writes_the_errors_chart_and_the_table(
    warm_catalogue: list[dict[str, Any]],
    cli_env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(common, "png_export_available", lambda: False)
    projects = tmp_path / "projects.json"
    projects.write_text(json.dumps(warm_catalogue[:100]), encoding="utf-8")
    out = stdio.StringIO()
    args = ["simulate", "--projects", str(projects), "--taxonomy", str(DEMO_DIR / "taxonomy.json")]
    args += ["--strategies", "random,label_errors_mix", "--batch-size", "10", "--budget", "10"]
    args += ["--repeats", "1", "--noise-drop", "0.1", "--noise-add", "0.05"]
    args += ["--mix-share", "0.3", "--mix-with", "random", "--out", str(tmp_path / "run.json")]
    assert cli.main(args, out=out) == 0
    for name in ("run.json", "run-weighted_f1.html", "run-macro_f1.html", "run-errors_fixed.html"):
        assert (tmp_path / name).exists()
    result = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert (result["config"]["mix_share"], result["config"]["mix_with"]) == (0.3, "random")
    header = out.getvalue().splitlines()[0]
    assert "errors fixed @250" in header and header.endswith("weighted F1  macro F1")


@pytest.mark.parametrize("name", ["label_errors", "label_errors_mix_random"])
def test_label_error_strategies_need_a_warm_start(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError) as error:
        run_simulation(warm_catalogue, taxonomy, [name], 10, 10, 20, 1)
    assert str(error.value) == f"strategy '{name}' needs a warm start (noise_drop, noise_add)"


def test_the_split_respecting_catalogue_keeps_relatives_on_one_side_of_the_split() -> None:
    catalogue = split_respecting_catalogue(400, seed=3)
    assert len(catalogue) == len({project["id"] for project in catalogue}) == 400
    demo_split = {project["title"]: split_for(str(project["id"])) for project in demo_projects()}
    # a synthetic project keeps its source's title, and its donors come from the same split
    for project in catalogue:
        assert split_for(project["id"]) == demo_split[project["title"]]
    eval_share = sum(split_for(p["id"]) == "eval" for p in catalogue) / len(catalogue)
    demo_share = sum(split == "eval" for split in demo_split.values()) / len(demo_split)
    assert eval_share == pytest.approx(demo_share, abs=0.005)
    assert split_respecting_catalogue(400, seed=3) == catalogue


# --- the simulated annotator -----------------------------------------------------------------


def test_an_annotator_who_accepts_submits_the_preselection() -> None:
    from labeling.annotator import Annotator, judgement

    # default_rng(0) draws 0.637, 0.270, 0.041, 0.017, ...: 0.637 < 0.9 -> accept
    submitted = judgement(Annotator(0.9), {"a"}, {"a", "b"}, {"a", "c"}, np.random.default_rng(0))
    assert submitted == {"a", "b"}


def test_an_annotator_who_types_gets_each_considered_tag_right_with_accuracy_q() -> None:
    from labeling.annotator import Annotator, judgement

    # a = 0.5: 0.637 >= 0.5 -> types. Considered tags, sorted: a, b, c (truth a, c).
    # q = 0.5: a 0.270 < 0.5 right (kept); b 0.041 right (left out); c 0.017 right (kept)
    typed = judgement(Annotator(0.5, 0.5), {"a"}, {"a", "b"}, {"a", "c"}, np.random.default_rng(0))
    assert typed == {"a", "c"}
    # default_rng(3) draws 0.086, 0.237, 0.801, 0.582: a = 0 -> types; q = 0.5:
    # a 0.237 right (kept), b 0.801 wrong (added), c 0.582 wrong (left out)
    typed = judgement(Annotator(0.0, 0.5), {"a"}, {"a", "b"}, {"a", "c"}, np.random.default_rng(3))
    assert typed == {"a", "b"}


def test_tag_changes_count_fixed_introduced_and_right_changes() -> None:
    from labeling.annotator import tag_changes

    # truth {a, c}; before {a, b}: errors b (wrong) and c (missing)
    # after {c, d}: b removed (fixed), c added (fixed), a removed (introduced), d (introduced)
    changes = tag_changes({"a", "b"}, {"c", "d"}, {"a", "c"})
    assert (changes.fixed, changes.introduced, changes.net) == (2, 2, 0)
    assert (changes.changes, changes.right_changes) == (4, 2)


def test_annotator_settings_outside_0_1_are_refused() -> None:
    from labeling.annotator import Annotator

    with pytest.raises(
        ValueError, match=r"^annotator accept rate must be between 0 and 1; got 1\.5$"
    ):
        Annotator(1.5)
    with pytest.raises(
        ValueError, match=r"^annotator accuracy must be between 0 and 1; got -0\.1$"
    ):
        Annotator(0.5, -0.1)


def test_a_fast_annotator_only_makes_the_changes_the_policy_preselects(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    """a = 1 with nothing pre-selected changes nothing; flipping every contradicted tag
    introduces errors that a = 0 (typing the truth) never does."""
    options = {**WARM, "budget": 20, "full_data": False, "accept_rates": (0.0, 1.0)}
    runs = {
        policy: run_simulation(
            warm_catalogue, taxonomy, ["label_errors"], preselect_policy=policy, **options
        )["strategies"]["label_errors"]["by_accept_rate"]
        for policy in ("none", "all")
    }
    untouched = runs["none"]["1"]["curve"][-1]
    assert (untouched["errors_fixed"], untouched["errors_introduced"]) == (0.0, 0.0)
    assert untouched["preselect_precision"] is None
    flipped = runs["all"]["1"]["curve"][-1]
    assert flipped["errors_introduced"] > 0 and flipped["preselected_changes"] > 0
    # whatever is pre-selected, a = 0 types the truth: the same curve
    assert (
        runs["none"]["0"]["curve"][-1]["errors_fixed"]
        == runs["all"]["0"]["curve"][-1]["errors_fixed"]
    )
    assert runs["all"]["0"]["curve"][-1]["errors_introduced"] == 0


def test_bad_annotator_settings_are_refused_before_any_fit(
    warm_catalogue: list[dict[str, Any]], taxonomy: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"^unknown pre-selection policy 'most'; choose one of"):
        run_simulation(warm_catalogue, taxonomy, ["label_errors"], preselect_policy="most", **WARM)
    with pytest.raises(ValueError, match=r"^annotator accept rate must be between 0 and 1"):
        run_simulation(warm_catalogue, taxonomy, ["label_errors"], **{**WARM, "accept_rates": (2,)})
