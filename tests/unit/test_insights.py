"""Catalogue-wide aggregates on a hand-made catalogue whose every count is worked out below."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from itertools import chain

import pandas as pd
import pytest

from db.models import Annotation, ModelVersion, Prediction, Project, Resolution, User
from db.session import SessionFactory
from labeling import insights, io
from labeling.annotations import all_label_states, status_counts
from labeling.catalogue import project_statuses

DAY1, DAY2, DAY3 = (datetime(2026, 11, day, 10) for day in (1, 2, 3))
SOURCE_TAGS = {
    "p1": ["a", "b"],
    "p2": ["a"],
    "p3": ["b"],
    "p4": [],
    "p5": ["c"],
    "p6": ["a"],
}
# (project, annotator, tags or None for a skip, when)
JUDGEMENTS = [
    ("p1", "u1", ["a", "b"], DAY1),
    ("p2", "u1", ["a", "c"], DAY1),
    ("p3", "u1", ["b"], DAY1),
    ("p6", "u1", ["a"], DAY1),
    ("p6", "u2", ["b"], DAY1),
    ("p1", "u2", ["a", "b"], DAY2),
    ("p3", "u2", ["c"], DAY2),
    ("p4", "u2", None, DAY2),
    ("p6", "u2", ["b"], DAY3),
]
RESOLUTIONS = [("p6", ["a"], DAY2), ("p3", ["b", "c"], DAY3)]
# p1 agreed {a,b}; p2 single {a,c}; p3 resolved {b,c}; p4 unlabeled (only a skip) {};
# p5 unlabeled {c}; p6 reopened (u2 judged {b} after the resolution {a}), keeps {a}.
STATUSES = {"unlabeled": 2, "single": 1, "agreed": 1, "resolved": 1, "reopened": 1}


def _catalogue(make_session: SessionFactory) -> dict[str, int]:
    taxonomy = {tag: {"aliases": [], "parents": []} for tag in "abc"}
    projects = [
        {"id": key, "title": f"Project {key}", "description": "text", "tags": tags}
        for key, tags in SOURCE_TAGS.items()
    ]
    with make_session.begin() as session:
        io.import_catalogue(
            session,
            io.parse_projects(json.dumps(projects).encode(), "p.json"),
            "p.json",
            "json",
            taxonomy=io.parse_taxonomy(json.dumps(taxonomy).encode(), "t.json"),
        )
        users = {}
        for name, role in (("u1", "annotator"), ("u2", "annotator"), ("rev", "reviewer")):
            user = User(username=name, password_hash="-", role=role)
            session.add(user)
            session.flush()
            users[name] = user.id
        ids = {p.external_id: p.id for p in session.query(Project)}
        for key, name, tags, when in JUDGEMENTS:
            session.add(
                Annotation(
                    project_id=ids[key],
                    user_id=users[name],
                    tags=tags or [],
                    skipped=tags is None,
                    created_at=when,
                )
            )
            session.flush()
        for key, tags, when in RESOLUTIONS:
            session.add(
                Resolution(
                    project_id=ids[key], reviewer_id=users["rev"], tags=tags, created_at=when
                )
            )
            session.flush()
    return ids


def _model(make_session: SessionFactory, ids: dict[str, int]) -> int:
    """A ready version whose stored predictions give p1 {a, c}, p2 {a}, p3 {b}, p5 {c}, and
    p4, p6 nothing (z has no threshold: not a tag of this version)."""
    probabilities = {
        "p1": {"a": 0.9, "b": 0.2, "c": 0.7},
        "p2": {"a": 0.5},
        "p3": {"b": 0.31, "c": 0.1},
        "p4": {},
        "p5": {"c": 0.6, "z": 0.99},
        "p6": {"a": 0.2},
    }
    suspicions = {
        "p1": (0.5, {"wrong": {"b": 0.2}, "missing": {"c": 0.7}}),
        "p3": (0.3, {"wrong": {}, "missing": {"a": 0.9}}),
        "p2": (0.0, None),
    }
    with make_session.begin() as session:
        version = ModelVersion(status="ready", thresholds={"a": 0.5, "b": 0.3, "c": 0.6})
        session.add(version)
        session.flush()
        for key, probs in probabilities.items():
            score, found = suspicions.get(key, (None, None))
            session.add(
                Prediction(
                    model_version_id=version.id,
                    project_id=ids[key],
                    probabilities=probs,
                    uncertainty=0.0,
                    label_error_score=score,
                    suspicions=found,
                )
            )
        return version.id


def test_empty_catalogue_gives_empty_frames(make_session: SessionFactory) -> None:
    with make_session() as session:
        assert insights.data_version(session) == (0, 0, 0, 0, 0, 0)
        predictions = insights.prediction_summary(session, None)
        found = insights.catalogue_insights(session, True, predictions)
    assert (found.projects, found.judgements, found.resolutions) == (0, 0, 0)
    assert found.model_version is None and predictions.projects == 0
    assert found.activity.empty and found.throughput.empty and found.coverage.empty
    assert found.suspected.empty
    assert found.statuses["projects"].sum() == 0
    assert insights.discoverability_headline(found.coverage)["gain_pct"] is None
    assert insights.coverage_long(found.coverage).empty


def test_label_counts_match_every_project_state(make_session: SessionFactory) -> None:
    _catalogue(make_session)
    with make_session() as session:
        for trust in (True, False):
            summary = insights.label_summary(session, trust)
            states = all_label_states(session, trust).values()
            assert summary.statuses == Counter(s.status for s in states)
            assert summary.effective_per_tag == Counter(chain.from_iterable(s.tags for s in states))
            assert summary.effective_sizes == +Counter(len(s.tags) for s in states)
        summary = insights.label_summary(session, True)
    assert summary.statuses == STATUSES
    assert summary.source_per_tag == {"a": 3, "b": 2, "c": 1}
    assert summary.effective_per_tag == {"a": 3, "b": 2, "c": 3}
    assert summary.source_sizes == {0: 1, 1: 4, 2: 1}
    assert summary.effective_sizes == {0: 1, 1: 2, 2: 3}


def test_activity_and_throughput_per_day(make_session: SessionFactory) -> None:
    _catalogue(make_session)
    with make_session() as session:
        activity = insights.activity_frame(session)
        throughput = insights.throughput_frame(session)
    rows = {
        (series, day.day): (count, cumulative)
        for day, series, count, cumulative in activity.itertuples(index=False)
    }
    assert rows == {
        ("Judgements", 1): (5, 5),
        ("Judgements", 2): (2, 7),
        ("Judgements", 3): (1, 8),
        ("Projects judged", 1): (4, 4),
        ("Resolutions", 2): (1, 1),
        ("Resolutions", 3): (1, 2),
    }
    assert [
        (day.day, name, judged, skips)
        for day, name, judged, skips in throughput.itertuples(index=False)
    ] == [(1, "u1", 4, 0), (1, "u2", 1, 0), (2, "u2", 2, 1), (3, "u2", 1, 0)]


def test_activity_and_throughput_leave_out_undone_judgements_and_undos(
    make_session: SessionFactory,
) -> None:
    """u1 judges p5 on day 3 and takes it back the same day: neither row is work that stands,
    so day 3 still reads one judgement (u2's p6) and u1 has no row on day 3."""
    ids = _catalogue(make_session)
    with make_session.begin() as session:
        u1 = session.query(User).filter_by(username="u1").one().id
        judged = Annotation(project_id=ids["p5"], user_id=u1, tags=["c"], created_at=DAY3)
        session.add(judged)
        session.flush()
        session.add(
            Annotation(
                project_id=ids["p5"],
                user_id=u1,
                tags=[],
                skipped=True,
                undoes_id=judged.id,
                created_at=DAY3,
            )
        )
    with make_session() as session:
        activity = insights.activity_frame(session)
        throughput = insights.throughput_frame(session)
    judgements = activity[activity["series"] == "Judgements"]
    assert [(d.day, c) for d, c in zip(judgements["day"], judgements["count"], strict=True)] == [
        (1, 5),
        (2, 2),
        (3, 1),
    ]
    assert [
        (day.day, name, judged, skips)
        for day, name, judged, skips in throughput.itertuples(index=False)
    ] == [(1, "u1", 4, 0), (1, "u2", 1, 0), (2, "u2", 2, 1), (3, "u2", 1, 0)]


def test_predictions_coverage_and_suspicions(make_session: SessionFactory) -> None:
    ids = _catalogue(make_session)
    version_id = _model(make_session, ids)
    with make_session() as session:
        version = insights.data_version(session)
        predictions = insights.prediction_summary(session, version.serving_model)
        found = insights.catalogue_insights(session, True, predictions)
    assert version.serving_model == version_id
    assert (version.projects, version.active_tags) == (6, 3)
    assert predictions.projects == 6
    assert predictions.predicted_per_tag == {"a": 2, "b": 1, "c": 2}
    assert predictions.tags_per_project.to_dict("records") == [
        {"predicted_tags": 0, "projects": 2},
        {"predicted_tags": 1, "projects": 3},
        {"predicted_tags": 2, "projects": 1},
    ]
    assert found.suspected.to_dict("records") == [
        {"tag": "a", "probably_missing": 1, "probably_wrong": 0},
        {"tag": "b", "probably_missing": 0, "probably_wrong": 1},
        {"tag": "c", "probably_missing": 1, "probably_wrong": 0},
    ]
    assert found.coverage.to_dict("records") == [
        {
            "tag": "c",
            "source": 1,
            "effective": 3,
            "model": 2.0,
            "effective_gain": 2,
            "model_gain": 1.0,
        },
        {
            "tag": "a",
            "source": 3,
            "effective": 3,
            "model": 2.0,
            "effective_gain": 0,
            "model_gain": -1.0,
        },
        {
            "tag": "b",
            "source": 2,
            "effective": 2,
            "model": 1.0,
            "effective_gain": 0,
            "model_gain": -1.0,
        },
    ]
    headline = insights.discoverability_headline(found.coverage)
    assert (headline["source"], headline["effective"], headline["model"]) == (6, 8, 5)
    assert headline["gain_pct"] == pytest.approx(-100 / 6)
    sizes = found.tags_per_project.pivot(index="tags", columns="label_set", values="projects")
    assert sizes[insights.MODEL].tolist() == [2, 3, 1]
    assert sizes[insights.SOURCE].tolist() == [1, 4, 1]
    assert sizes[insights.EFFECTIVE].tolist() == [1, 2, 3]
    assert found.statuses.set_index("status")["projects"].to_dict() == {"conflict": 0, **STATUSES}


def test_without_a_model_the_gain_is_the_effective_labels(make_session: SessionFactory) -> None:
    _catalogue(make_session)
    with make_session() as session:
        found = insights.catalogue_insights(
            session, True, insights.prediction_summary(session, None)
        )
    assert found.coverage["tag"].tolist() == ["c", "a", "b"]
    assert found.coverage["model"].isna().all()
    assert set(found.tags_per_project["label_set"]) == {insights.SOURCE, insights.EFFECTIVE}
    assert set(insights.coverage_long(found.coverage)["label_set"]) == {
        insights.SOURCE,
        insights.EFFECTIVE,
    }
    assert insights.discoverability_headline(found.coverage)["gain_pct"] == pytest.approx(100 / 3)


def test_unknown_statuses_are_kept_after_the_known_ones() -> None:
    frame = insights.status_frame({"single": 2, "escalated": 1, "unlabeled": 5})
    assert frame["status"].tolist()[-1] == "escalated"
    assert frame["status"].tolist()[0] == "unlabeled"
    assert isinstance(frame, pd.DataFrame) and frame["projects"].sum() == 8


def test_home_page_status_counts_equal_status_counts(make_session: SessionFactory) -> None:
    """The Home page counts statuses the fast way; it must agree with every project's state,
    listing statuses nobody has as 0."""
    _catalogue(make_session)
    with make_session() as session:
        for trust in (True, False):
            assert project_statuses(session, trust) == status_counts(session, trust)
