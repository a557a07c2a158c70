"""Metric tables of model versions, checked against scikit-learn and hand-computed values on a
small hand-made case."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from db.models import ModelVersion
from db.session import SessionFactory
from labeling import intervals, metrics, version_status, version_summaries
from labeling.model import evaluate, label_matrix

TAGS = ["a", "b", "c"]
TRUTH = [{"a", "b"}, {"a"}, {"b", "c"}, {"c"}, {"a", "c"}]
PREDICTED = [{"a"}, {"a", "b"}, {"b"}, {"c"}, {"c"}]
# Hand-computed: a tp 2 fp 0 fn 1; b tp 1 fp 1 fn 1; c tp 2 fp 0 fn 1.
EXPECTED = {
    "a": (1.0, 2 / 3, 0.8, 3),
    "b": (0.5, 0.5, 0.5, 2),
    "c": (1.0, 2 / 3, 0.8, 3),
}


def _metrics(truth=TRUTH, predicted=PREDICTED) -> dict:
    result = evaluate(
        [frozenset(t) for t in truth], label_matrix([frozenset(p) for p in predicted], TAGS), TAGS
    )
    result["not_enough_data"] = {"d": 2}
    return result


def _version(version_id: int, status: str = "ready", **fields) -> ModelVersion:
    defaults = {
        "id": version_id,
        "status": status,
        "created_at": datetime(2026, 11, 1, 10, version_id),
        "finished_at": datetime(2026, 11, 1, 11, version_id) if status == "ready" else None,
        "metrics": {},
        "thresholds": {},
        "label_snapshot": {},
        "progress_stage": status,
        "progress_pct": 100.0 if status == "ready" else 0.0,
        "duration_s": 12.5,
        "created_by_id": None,
        "error": None,
    }
    return ModelVersion(**{**defaults, **fields})


def test_per_class_frame_matches_scikit_learn_and_hand_counts() -> None:
    frame = metrics.per_class_frame(
        _metrics(), {"a": 0.4, "b": 0.55, "c": 0.3}, {"a": 10, "b": 7, "c": 9, "d": 2}
    )
    assert frame["tag"].tolist() == ["a", "b", "c", "d"]
    precision, recall, f1, support = precision_recall_fscore_support(
        label_matrix([frozenset(t) for t in TRUTH], TAGS),
        label_matrix([frozenset(p) for p in PREDICTED], TAGS),
        zero_division=0,
    )
    rated = frame.iloc[:3]
    np.testing.assert_allclose(rated["precision"], precision)
    np.testing.assert_allclose(rated["recall"], recall)
    np.testing.assert_allclose(rated["f1"], f1)
    assert rated["support"].tolist() == support.tolist()
    for tag, (p, r, f, s) in EXPECTED.items():
        row = frame.set_index("tag").loc[tag]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p, r, f, s)
        )
    assert frame["threshold"].tolist()[:3] == [0.4, 0.55, 0.3]
    assert frame["training_projects"].tolist() == [10, 7, 9, 2]
    unrated = frame.set_index("tag").loc["d"]
    assert not unrated["measured"] and np.isnan(unrated["f1"])
    assert unrated["note"] == "not enough data (2 training projects)"
    assert rated["measured"].all() and (rated["note"] == "").all()
    assert frame["f1_change"].isna().all()


def test_per_class_frame_takes_changes_from_the_stored_deltas() -> None:
    stored = _metrics()
    stored["deltas"] = version_summaries.metric_deltas(
        _metrics(predicted=[{"a"}, {"a"}, {"b"}, {"c"}, {"a"}]), stored
    )
    frame = metrics.per_class_frame(stored, {}, {}).set_index("tag")
    # Before: a tp 3 -> F1 1.0; b tp 1 fp 0 fn 1 -> 2/3; c tp 1 fp 0 fn 2 -> 0.5.
    assert frame.loc["a", "f1_change"] == pytest.approx(-0.2, abs=1e-4)
    assert frame.loc["b", "f1_change"] == pytest.approx(0.5 - 2 / 3, abs=1e-4)
    assert frame.loc["c", "f1_change"] == pytest.approx(0.3, abs=1e-4)
    change = metrics.change_frame(frame.reset_index())
    assert change["tag"].tolist() == ["a", "b", "c"]
    assert change.loc[1, "before"] == pytest.approx(2 / 3, abs=1e-4)
    assert change.loc[1, "after"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("Weakest F1 first", ["b", "a", "c", "d"]),
        ("Strongest F1 first", ["a", "c", "b", "d"]),
        ("Most evaluation projects first", ["a", "c", "b", "d"]),
        ("Tag name", ["a", "b", "c", "d"]),
    ],
)
def test_sorting_keeps_tags_without_data_last(order: str, expected: list[str]) -> None:
    frame = metrics.per_class_frame(_metrics(), {}, {})
    assert metrics.sorted_per_class(frame, order)["tag"].tolist() == expected


def test_tags_without_evaluation_projects_are_unmeasured_not_zero() -> None:
    stored = _metrics(truth=[{"a"}, {"a", "b"}, {"b"}, {"b"}, {"a"}])
    frame = metrics.per_class_frame(stored, {}, {})
    row = frame.set_index("tag").loc["c"]
    assert row["support"] == 0 and not row["measured"]
    assert row["note"] == "no evaluation project carries it"
    ordered = metrics.sorted_per_class(frame, "Weakest F1 first")["tag"].tolist()
    assert ordered[-2:] == ["c", "d"]


def test_sorting_by_an_unknown_order_is_refused() -> None:
    frame = metrics.per_class_frame(_metrics(), {}, {})
    with pytest.raises(ValueError, match="unknown order 'loudest'; choose one of: Weakest"):
        metrics.sorted_per_class(frame, "loudest")


def test_csv_has_readable_headings_and_marks_tags_without_data() -> None:
    frame = metrics.per_class_frame(_metrics(), {"a": 0.4}, {"d": 2})
    lines = metrics.per_class_csv(frame).decode().splitlines()
    assert lines[0] == (
        "Tag,F1,F1 low (95%),F1 high (95%),Precision,Recall,Evaluation projects,Rules F1,"
        "Model vs rules,F1 change,Change vs serving version,Threshold,Training projects,Note"
    )
    assert lines[1] == "a,0.8000,,,1.0000,0.6667,3,,,,,0.4000,0,"
    assert lines[4] == "d,,,,,,,,,,,,2,not enough data (2 training projects)"


def test_overall_history_follows_ready_versions_with_scikit_learn_averages() -> None:
    truth = label_matrix([frozenset(t) for t in TRUTH], TAGS)
    predicted = label_matrix([frozenset(p) for p in PREDICTED], TAGS)
    versions = [
        _version(3, metrics=_metrics(), label_snapshot={"train_projects": 40}),
        _version(2, status="failed", error="boom"),
        _version(1, metrics=_metrics(predicted=TRUTH), label_snapshot={"train_projects": 20}),
    ]
    history = metrics.overall_history_frame(versions)
    assert history["version"].tolist() == [1, 1, 1, 3, 3, 3]
    assert history["metric"].tolist()[:3] == ["Micro F1", "Macro F1", "Weighted F1"]
    latest = history[history["version"] == 3].set_index("metric")["value"]
    for average, title in (
        ("micro", "Micro F1"),
        ("macro", "Macro F1"),
        ("weighted", "Weighted F1"),
    ):
        assert latest[title] == pytest.approx(f1_score(truth, predicted, average=average))
    assert latest["Micro F1"] == pytest.approx(10 / 14)
    assert latest["Macro F1"] == pytest.approx(0.7)
    assert latest["Weighted F1"] == pytest.approx(0.725)
    assert history[history["version"] == 1]["value"].tolist() == [1.0, 1.0, 1.0]
    assert history["train_projects"].tolist() == [20, 20, 20, 40, 40, 40]
    assert history["eval_projects"].tolist() == [5] * 6


def test_comparison_puts_two_versions_side_by_side_biggest_loss_first() -> None:
    before = _version(1, metrics=_metrics(predicted=TRUTH))
    after = _version(2, metrics=_metrics())
    overall, per_class = metrics.comparison_frames(before, after)
    assert overall.columns.tolist() == ["Metric", "v1", "v2", "Change"]
    weighted = overall.set_index("Metric").loc["Weighted F1"]
    assert (weighted["v1"], weighted["v2"], weighted["Change"]) == pytest.approx(
        (1.0, 0.725, -0.275)
    )
    assert per_class["tag"].tolist() == ["b", "a", "c"]
    assert per_class["change"].tolist() == pytest.approx([-0.5, -0.2, -0.2])
    table = metrics.comparison_table(per_class, 1, 2)
    assert table.columns.tolist() == ["Tag", "F1 v1", "F1 v2", "Evaluation projects", "Change"]


def test_failures_and_jobs_that_the_page_reports() -> None:
    ready = _version(2)
    old_failure = _version(1, status="failed", error="old")
    new_failure = _version(3, status="failed", error="no labelled training projects yet")
    assert version_status.newest_failure([old_failure, ready]) is None
    assert version_status.newest_failure([old_failure, ready, new_failure]) is new_failure
    queued_a, queued_b = _version(5, status="queued"), _version(4, status="queued")
    training = _version(6, status="training")
    assert version_status.running_job([ready]) is None
    assert version_status.running_job([queued_a, queued_b]) is queued_b
    assert version_status.running_job([queued_a, training]) is training


def test_versions_table_names_who_started_each_version() -> None:
    versions = [
        _version(1, metrics=_metrics(), label_snapshot={"train_projects": 40}, created_by_id=7),
        _version(2, status="failed", error="no labelled training projects yet"),
    ]
    table = version_status.versions_frame(versions, {7: "mia"})
    assert table["Version"].tolist() == [2, 1]
    assert table["Started by"].tolist() == ["automatic", "mia"]
    assert table["Error"].tolist() == ["no labelled training projects yet", ""]
    assert table.loc[1, "Weighted F1"] == pytest.approx(0.725)
    assert table.loc[1, "Training projects"] == 40
    facts = version_status.training_facts(versions[0], {7: "mia"})
    assert (facts["started_by"], facts["train_projects"], facts["duration_s"]) == ("mia", 40, 12.5)


def test_latest_simulation_is_the_newest_readable_result(tmp_path: Path) -> None:
    assert metrics.latest_simulation(tmp_path / "missing") is None
    older, newer, broken = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    older.write_text(json.dumps({"strategies": {"random": {"curve": []}}}))
    newer.write_text(json.dumps({"strategies": {"max_score": {"curve": []}}}))
    broken.write_text("{not json")
    for age, path in enumerate((older, newer, broken)):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    path, result = metrics.latest_simulation(tmp_path)
    assert path == newer and "max_score" in result["strategies"]


def test_threshold_frame_and_text_helpers() -> None:
    frame = metrics.threshold_frame({"b": 0.3, "a": 0.6})
    assert frame.to_dict("records") == [
        {"tag": "a", "threshold": 0.6},
        {"tag": "b", "threshold": 0.3},
    ]
    assert version_status.duration_text(42) == "42 s"
    assert version_status.duration_text(150) == "2.5 min"
    assert version_status.when_text(None) == "-"
    assert version_status.when_text(datetime(2026, 11, 1, 9, 5)) == "2026-11-01 09:05 UTC"
    assert isinstance(metrics.per_class_table(metrics.per_class_frame({}, {}, {})), pd.DataFrame)


def test_the_progress_poll_reads_only_unfinished_versions(make_session: SessionFactory) -> None:
    with make_session.begin() as session:
        for status in ("ready", "failed", "training", "queued"):
            session.add(ModelVersion(status=status))
    with make_session() as session:
        polled = version_status.unfinished_versions(session)
        assert sorted(v.status for v in polled) == ["queued", "training"]
        assert version_status.running_job(polled).status == "training"


# --- bootstrap intervals and paired differences (labeling.intervals) ---------------------------


def test_interval_of_two_projects_spans_every_resample_value() -> None:
    # One tag, project A a true positive, project B a false positive. A resample draws
    # {A, A} (F1 1), {A, B} (F1 2/3) or {B, B} (F1 0), each extreme with chance 1/4, so 1,000
    # seeded resamples cover both: the 95% interval is 0 to 1 around the point figure 2/3.
    truth, predicted = np.array([[1], [0]]), np.array([[1], [1]])
    result = intervals.metric_intervals(truth, predicted, ["a"])
    assert result["n"] == 2
    tag = result["per_class"]["a"]
    assert tag["support"] == 1
    assert tag["f1"] == {"value": 0.6667, "low": 0.0, "high": 1.0}
    assert tag["precision"] == {"value": 0.5, "low": 0.0, "high": 1.0}
    assert result["overall"]["micro_f1"] == {"value": 0.6667, "low": 0.0, "high": 1.0}


def test_intervals_are_seeded_and_collapse_when_every_decision_is_right() -> None:
    truth = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    perfect = intervals.metric_intervals(truth, truth, ["a", "b"])
    assert perfect["overall"]["weighted_f1"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    noisy = np.array([[1, 1], [0, 1], [0, 1], [1, 0]])
    first = intervals.metric_intervals(truth, noisy, ["a", "b"])
    assert first == intervals.metric_intervals(truth, noisy, ["a", "b"])


def test_point_figures_match_scikit_learn() -> None:
    truth = label_matrix([frozenset(t) for t in TRUTH], TAGS)
    predicted = label_matrix([frozenset(p) for p in PREDICTED], TAGS)
    result = intervals.metric_intervals(truth, predicted, TAGS)
    for average in ("micro", "macro", "weighted"):
        expected = f1_score(truth, predicted, average=average, zero_division=0)
        figure = result["overall"][f"{average}_f1"]
        assert figure["value"] == pytest.approx(expected, abs=1e-4)
        assert figure["low"] <= figure["value"] <= figure["high"]


def test_paired_difference_hand_computed_and_verdicts() -> None:
    # a: A true positive, B false positive; b: A true positive, B left empty. Resamples:
    # {A,A} 1 vs 1, {A,B} 2/3 vs 1, {B,B} 0 vs 0: the difference is 0 or +1/3, never
    # negative, and 0 is in the interval: can't tell, though b is never worse.
    truth = np.array([[1], [0]])
    a, b = np.array([[1], [1]]), np.array([[1], [0]])
    result = intervals.paired_difference(truth, a, b, ["t"], min_support=1)
    row = result["per_class"]["t"]
    assert (row["a"], row["b"], row["value"]) == (0.6667, 1.0, 0.3333)
    assert (row["low"], row["high"], row["verdict"]) == (0.0, 0.3333, "can't tell")
    # 40 projects where b is right and a wrong on every positive: clearly better, and the
    # reverse comparison clearly worse.
    truth = np.array([[1]] * 20 + [[0]] * 20)
    wrong = np.zeros_like(truth)
    better = intervals.paired_difference(truth, wrong, truth, ["t"], min_support=10)
    assert better["overall"]["weighted_f1"]["verdict"] == "better"
    assert better["per_class"]["t"] | {"verdict": "better"} == better["per_class"]["t"]
    worse = intervals.paired_difference(truth, truth, wrong, ["t"], min_support=10)
    assert worse["overall"]["weighted_f1"]["verdict"] == "worse"
    assert worse["overall"]["weighted_f1"]["value"] == -1.0


def test_tags_below_the_minimum_support_read_too_few() -> None:
    truth = np.array([[1, 1]] * 3 + [[0, 1]] * 9)
    difference = intervals.paired_difference(truth, truth, truth, ["rare", "common"], 10)
    assert difference["per_class"]["rare"]["verdict"] == "too few"
    assert difference["per_class"]["common"]["verdict"] == "can't tell"
    assert intervals.verdict_counts(difference) == {
        "better": 0,
        "worse": 0,
        "can't tell": 1,
        "too few": 1,
    }
    stored = {
        "min_support": 10,
        "per_class": {"rare": {"precision": 1, "recall": 1, "f1": 1, "support": 3}},
        "intervals": {
            "all": intervals.metric_intervals(truth[:, :1], truth[:, :1], ["rare"]),
        },
        "baseline": {
            "intervals": {"all": {"per_class": {"rare": {"f1": {"value": 0.5}}}}},
        },
    }
    frame = metrics.with_intervals(
        metrics.per_class_frame(stored, {"rare": 0.5}, {}), stored, "all", None
    )
    row = frame.iloc[0]
    assert np.isnan(row["f1"]) and not row["measured"]
    assert np.isnan(row["rules_f1"])  # the rules' figure on 3 projects is no figure either
    assert row["note"] == "too few evaluation projects to tell (3)"
    lowered = metrics.with_intervals(
        metrics.per_class_frame(stored, {"rare": 0.5}, {}), stored, "all", 3
    )
    assert lowered.iloc[0]["f1"] == 1.0 and lowered.iloc[0]["f1_high"] == 1.0
    assert lowered.iloc[0]["rules_f1"] == 0.5


def test_versions_table_says_which_version_serves_and_why_one_is_held() -> None:
    reason = "held: weighted F1 -0.300 vs v2 (...): worse"
    versions = [
        _version(1, promotion={"decision": "promoted", "reason": "the first ready version serves"}),
        _version(2, promotion={"decision": "promoted", "reason": "serves: ..."}),
        _version(3, promotion={"decision": "held", "reason": reason}),
        _version(4, status="failed", error="boom"),
    ]
    for version in versions[:2]:
        version.promoted_at = version.finished_at
    table = version_status.versions_frame(versions, {}, serving_id=2)
    assert table["Status"].tolist() == ["failed", "held", "serving", "ready"]
    assert table["Why it serves or is held"].tolist()[:2] == ["", reason]
    assert [v.id for v in version_status.held_versions(versions)] == [3]
