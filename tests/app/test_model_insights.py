"""The Model and Insights pages through AppTest, per role: who may open them, what an empty
database shows, the numbers a trained model puts in their tables, and the Retrain button."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent, ModelVersion, Prediction, User
from db.session import SessionFactory
from labeling import assessment, drift, insights, io, metrics, promotion, registry, training_jobs
from labeling.config import load_settings
from labeling.synthetic import DEMO_DIR
from labeling.text import escape_markdown
from tests.app.test_review import _catalogue as review_catalogue

PAGES = {"model": "pages/model.py", "insights": "pages/insights.py"}


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def _demo_with_versions(make_session: SessionFactory, trainings: int) -> list[ModelVersion]:
    projects = io.parse_projects((DEMO_DIR / "projects.json").read_bytes(), "projects.json")
    taxonomy = io.parse_taxonomy((DEMO_DIR / "taxonomy.json").read_bytes(), "taxonomy.json")
    with make_session.begin() as session:
        io.import_catalogue(session, projects, "projects.json", "json", taxonomy=taxonomy)
    settings = load_settings()
    for _ in range(trainings):
        with make_session.begin() as session:
            training_jobs.queue_training(session, None)
        training_jobs.work_once(make_session, settings)
    with make_session() as session:
        versions = registry.list_versions(session)
        for version in versions:
            session.expunge(version)
    assert all(v.status == "ready" for v in versions), [v.error for v in versions]
    return versions


@pytest.mark.parametrize("page", ["model", "insights"])
@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotators_and_reviewers_are_refused(
    app_as: Callable[[str], AppTest], page: str, role: str
) -> None:
    at = _open(app_as(role), page)
    assert [e.value for e in at.error] == [
        f"Not allowed: the {page.title()} page is not open to the {role} role."
    ]
    assert not at.title or at.title[0].value != page.title()


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_empty_database_says_nothing_yet(app_as: Callable[[str], AppTest], role: str) -> None:
    at = _open(app_as(role), "model")
    assert at.title[0].value == "Model"
    assert at.info[0].value.startswith("No model version is ready yet. Press Retrain now")
    assert [b.label for b in at.button if b.label == "Retrain now"] == ["Retrain now"]
    at = _open(at, "insights")
    assert at.title[0].value == "Insights"
    assert at.info[0].value.startswith("Nothing yet: the catalogue is empty.")


def test_retrain_queues_a_job_and_shows_its_progress(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = _open(app_as("manager"), "model")
    next(b for b in at.button if b.label == "Retrain now").click().run()
    assert not at.exception, at.exception
    with with_users() as session:
        version = session.scalars(select(ModelVersion)).one()
        starter = session.get(User, version.created_by_id)
    assert starter is not None and starter.username == "manager"
    # The app's background worker may already have claimed the job (and, on an empty
    # catalogue, failed it); the page shows whichever state it read.
    if at.get("progress"):
        assert at.get("progress")[0].proto.text.startswith(f"Version {version.id}: ")
        assert next(b for b in at.button if b.label == "Retrain now").disabled
    else:
        assert at.error[0].value.startswith(escape_markdown(f"Version {version.id} failed"))


def test_failed_version_is_shown_while_the_previous_one_serves(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    versions = _demo_with_versions(with_users, 1)
    with with_users.begin() as session:
        session.add(
            ModelVersion(status="failed", error="the worker ran out of memory", progress_stage="x")
        )
    at = _open(app_as("manager"), "model")
    assert at.error[0].value == (
        escape_markdown("Version 2 failed: the worker ran out of memory")
        + " — version 1 keeps serving."
    )
    assert at.metric[0].value == str(versions[0].id)


def test_trained_model_tables_show_the_stored_numbers(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    versions = _demo_with_versions(with_users, 2)
    current = versions[0]
    at = _open(app_as("manager"), "model")
    assert [m.label for m in at.metric] == [
        "Serving version",
        "Weighted F1",
        "Training projects",
        "Evaluation projects",
    ]
    # Two trainings on the same labels tie; the default rule serves a tie and says so.
    assert current.id == 2 and current.promoted_at is not None
    assert "the rule 'not_worse' serves a tie" in current.promotion["reason"]
    assert at.metric[0].value == str(current.id)
    assert at.metric[1].value == f"{current.metrics['overall']['weighted_f1']:.3f}"
    assert at.metric[2].value == f"{current.label_snapshot['train_projects']:,}"
    assert at.metric[3].value == "55"
    assert "can't tell vs v1" in at.metric[1].delta

    overall = at.dataframe[0].value.set_index("Metric")
    assert overall.loc["Weighted F1", "Evaluation projects"] == 55
    assert overall.loc["Weighted F1", "vs v1"].startswith("can't tell (+0.000")

    per_class = at.dataframe[1].value
    expected = metrics.sorted_per_class(
        metrics.version_per_class(current, "all", 10), "Weakest F1 first"
    )
    assert per_class["Tag"].tolist() == expected["tag"].tolist()
    stored = current.metrics["intervals"]["all"]["per_class"]
    few = per_class[per_class["Evaluation projects"] < 10]
    assert len(few) > 0 and few["F1"].isna().all()
    assert few["Note"].str.startswith("too few evaluation projects to tell").all()
    enough = per_class[per_class["Evaluation projects"] >= 10]
    assert len(enough) > 0
    for _, row in enough.iterrows():
        assert row["F1"] == pytest.approx(current.metrics["per_class"][row["Tag"]]["f1"])
        figure = stored[row["Tag"]]["f1"]
        assert (row["F1 low (95%)"], row["F1 high (95%)"]) == (figure["low"], figure["high"])
        assert row["F1 low (95%)"] <= row["F1"] <= row["F1 high (95%)"]

    assert any(
        w.value == "Against v1 on the same 55 evaluation projects and today's labels: 0 tags "
        "better, 0 worse, 3 can't tell, 25 with too few evaluation projects to tell."
        for w in at.markdown
    )
    at.radio[0].set_value("verified").run()
    assert at.metric[3].value == "0"
    assert any(
        info.value.startswith("0 verified evaluation projects; 0 of 28 tags have 10+ verified")
        and "Too few to tell yet" in info.value
        for info in at.info
    )

    table = at.dataframe[2].value
    assert table["Version"].tolist() == [v.id for v in versions]
    assert table["Weighted F1"].tolist() == pytest.approx(
        [v.metrics["overall"]["weighted_f1"] for v in versions]
    )
    at.radio[0].set_value("all").run()
    next(b for b in at.button if b.label == "Compare on today's labels").click().run()
    compared = at.dataframe[3].value.set_index("Metric")
    assert compared.loc["Weighted F1", "Verdict"] == "can't tell"
    assert compared.loc["Weighted F1", "Change"] == 0

    at = _open(at, "insights")
    assert at.title[0].value == "Insights"
    assert at.metric[0].value == "320"
    assert at.metric[1].value == "0"
    coverage = at.dataframe[0].value.set_index("Tag")
    with with_users() as session:
        predictions = insights.prediction_summary(session, current.id)
        sources = insights.label_summary(session, True).source_per_tag
    assert coverage["Model predictions"].to_dict() == pytest.approx(predictions.predicted_per_tag)
    assert coverage["Source tags"].to_dict() == dict(sources)
    assert coverage["Effective labels"].to_dict() == dict(sources)
    assert at.info[0].value.startswith("Nothing labelled yet")


def test_admin_sees_both_pages_with_a_model(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    _demo_with_versions(with_users, 1)
    at = _open(app_as("admin"), "model")
    assert at.title[0].value == "Model" and not at.error
    assert "Versions" in [s.value for s in at.subheader]
    assert any(
        i.value == "There is no earlier version compared on the same labels yet." for i in at.info
    )
    next(b for b in at.button if b.label == "Check the latest import against the model").click()
    at.run()
    assert not at.exception
    assert any(t.value.startswith("Import batch 1 (projects.json): 320 new") for t in at.text)
    checks = next(
        d.value for d in at.dataframe if list(d.value.columns) == ["Check", "Finding"]
    ).set_index("Check")["Finding"]
    assert checks["Predicted tags vs the catalogue"].endswith(": like the catalogue")
    assert checks["Likely duplicates of existing projects"] == "0"
    at = _open(at, "insights")
    assert [s.value for s in at.subheader] == [
        "Labelling progress",
        "Agreement between annotators",
        "Tags",
        "Discoverability",
        "Suspected tag errors",
        "What is new in the latest import",
    ]
    assert any(t.value.startswith("Import batch 1 (projects.json): 320 new") for t in at.text)
    insights_checks = next(
        d.value for d in at.dataframe if list(d.value.columns) == ["Check", "Finding"]
    ).set_index("Check")["Finding"]
    assert insights_checks.to_dict() == checks.to_dict()  # the same checks as the Model page
    with with_users() as session:
        shift = drift.check_after_import(session, None)[0]["tag_distribution"]
    titles = [json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")]
    assert (
        f"Predicted tags: this import ({shift['batch_tags']:,} on 320 projects) vs the catalogue "
        f"({shift['catalogue_tags']:,})"
    ) in titles
    assert shift["batch_tags"] > 0 and shift["catalogue_tags"] > 0


def test_insights_shows_the_agreement_summary(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    """The same three doubly judged projects as the Review page's agreement test."""
    review_catalogue(with_users)
    at = _open(app_as("manager"), "insights")
    metrics_shown = {m.label: m.value for m in at.metric}
    assert metrics_shown["Projects judged by 2+ annotators"] == "3"
    assert metrics_shown["Krippendorff's alpha"] == "0.53"


def _held_copy(
    make_session: SessionFactory, source: ModelVersion, probabilities: dict | None = None
) -> int:
    """A ready copy of ``source`` that predicts no tag on any evaluation project: clearly
    worse, so the gate holds it; its stored catalogue scores are ``source``'s, or
    ``probabilities`` for every project when given (to tell its suggestions apart)."""
    with make_session.begin() as session:
        copy = ModelVersion(
            status="ready",
            params=source.params,
            label_snapshot=source.label_snapshot,
            thresholds=source.thresholds,
            metrics=source.metrics,
            artifact_path=source.artifact_path,
            finished_at=source.finished_at,
        )
        session.add(copy)
        session.flush()
        for row in session.scalars(
            select(Prediction).where(Prediction.model_version_id == source.id)
        ):
            session.add(
                Prediction(
                    model_version_id=copy.id,
                    project_id=row.project_id,
                    probabilities=probabilities or row.probabilities,
                    uncertainty=row.uncertainty,
                )
            )
        copy_id = copy.id
    with make_session() as session:
        eval_set = assessment.load_eval_set(session, True)
    empty = {pid: frozenset() for pid in eval_set.ids}
    gate = promotion.decide_after_training(make_session, copy_id, eval_set, empty, "not_worse", 10)
    assert not gate.promote
    return copy_id


def test_manager_sees_a_held_version_with_its_reason_and_promotes_it(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    (first,) = _demo_with_versions(with_users, 1)
    held = _held_copy(with_users, first)
    at = _open(app_as("manager"), "model")
    assert at.metric[0].value == str(first.id)
    warning = at.warning[0].value
    assert warning.startswith(f"Version {held} is held, v{first.id} keeps serving")
    assert "worse" in warning and "the rule 'not\\_worse' does not serve a worse version" in warning
    next(b for b in at.button if b.label == f"Promote version {held}").click().run()
    assert not at.exception
    assert at.metric[0].value == str(held)
    assert at.success[0].value == escape_markdown(f"Promoted by manager (was v{first.id})")
    with with_users() as session:
        assert registry.current_version(session).id == held
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "model.promote")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor == "manager" and event.details["version"] == held
