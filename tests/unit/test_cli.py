"""``python -m labeling``: exit codes, reports on stdout, errors on stderr, and what is stored."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import (
    Annotation,
    AuditEvent,
    ImportBatch,
    ModelVersion,
    NewTopic,
    Prediction,
    Project,
    Tag,
    User,
)
from db.session import SessionFactory
from labeling import auth, drift
from labeling.cli import DEMO_PASSWORD, DEMO_USERS, main
from labeling.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECTS = str(FIXTURES / "small_projects.json")
TAXONOMY = str(FIXTURES / "small_taxonomy.json")
PASSWORD = "correct-horse-1"

EXPORTED = [
    {
        "id": 1,
        "title": "Tiny BERT sentiment",
        "description": "Classifies movie reviews as positive or negative.",
        "tags": ["natural-language-processing", "text-classification"],
        "label_source": "source",
        "status": "unlabeled",
    },
    {
        "id": 2,
        "title": "Pallet detector",
        "description": "Finds pallets in warehouse camera frames.",
        "tags": ["computer-vision", "object-detection"],
        "label_source": "source",
        "status": "unlabeled",
    },
    {
        "id": "ext-3",
        "title": "Forecasting power demand",
        "description": "Predicts tomorrow's load per substation.",
        "tags": ["time-series"],
        "label_source": "source",
        "status": "unlabeled",
    },
]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def last_stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def import_small() -> None:
    code, _ = run("import", "--projects", PROJECTS, "--taxonomy", TAXONOMY)
    assert code == 0


def count(make_session: SessionFactory, model: type) -> int:
    with make_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def stored_users(make_session: SessionFactory) -> list[tuple[str, str, bool]]:
    with make_session() as session:
        return [(u.username, u.role, u.active) for u in auth.list_users(session)]


def set_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def add_user_cli(monkeypatch: pytest.MonkeyPatch, name: str, role: str) -> tuple[int, str]:
    set_stdin(monkeypatch, PASSWORD + "\n")
    return run("users", "add", name, "--role", role, "--password-stdin")


# --- import ----------------------------------------------------------------------------------


def test_import_with_taxonomy_prints_the_report(cli_env: Settings) -> None:
    code, out = run("import", "--projects", PROJECTS, "--taxonomy", TAXONOMY)
    assert code == 0
    lines = out.splitlines()
    assert lines[:6] == [
        "Imported small_projects.json (json): 3 rows read",
        "  projects added: 3, updated: 0, unchanged: 0, skipped (changed, kept as is): 0",
        "  tags created: 0, candidate tags created: 0, taxonomy tags added: 5, aliases mapped: 2",
        "  aliases mapped to their tag: 2",
        "    forecasting -> time-series",
        "    nlp -> natural-language-processing",
    ]
    assert lines[6].startswith("  took ")
    assert lines[7] == (
        "What is new in this import: not checked (no model version serves yet, so there is "
        "nothing to compare the batch with)"
    )


def test_import_stores_projects_and_tags(cli_env: Settings, make_session: SessionFactory) -> None:
    import_small()
    with make_session() as session:
        assert session.scalars(select(Project.external_id).order_by(Project.id)).all() == [
            "1",
            "2",
            "ext-3",
        ]
        assert session.scalars(select(Tag.name).order_by(Tag.name)).all() == [
            "computer-vision",
            "natural-language-processing",
            "object-detection",
            "text-classification",
            "time-series",
        ]


def test_import_shows_progress_on_stderr(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import_small()
    assert capsys.readouterr().err.splitlines() == [
        f"reading {PROJECTS} ...",
        "validated 3 projects",
        "taxonomy: 5 tags",
        "writing to the database (one transaction) ...",
    ]


def test_import_json_prints_parseable_json(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("import", "--projects", PROJECTS, "--taxonomy", TAXONOMY, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["projects_added"] == 3
    assert report["taxonomy_tags_added"] == 5
    assert report["tags_mapped_from_aliases"] == {
        "forecasting": "time-series",
        "nlp": "natural-language-processing",
    }
    assert report["rows_rejected"] == []
    assert isinstance(report["seconds"], float)
    assert "reading" not in out
    assert "reading" in capsys.readouterr().err


def test_importing_the_same_file_twice_changes_nothing(cli_env: Settings) -> None:
    import_small()
    code, out = run("import", "--projects", PROJECTS, "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["projects_added"], report["projects_unchanged"]) == (0, 3)


def test_import_of_a_bad_file_returns_2_and_names_file_location_and_problem(
    cli_env: Settings,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": 1, "title": "ok"}, {"id": 2, "title": "  "}]))
    code, out = run("import", "--projects", str(bad))
    assert (code, out) == (2, "")
    assert last_stderr_line(capsys) == "error: bad.json: item 1 (id 2): title is empty"
    assert count(make_session, Project) == 0


def test_import_of_invalid_json_reports_line_and_column(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('[\n {"id": 1 "title": "x"}\n]\n')
    code, _ = run("import", "--projects", str(bad))
    assert code == 2
    assert last_stderr_line(capsys) == (
        "error: broken.json: line 2, column 11: not valid JSON: Expecting ',' delimiter"
    )


def test_import_with_unknown_tags_and_no_taxonomy_returns_2_and_writes_nothing(
    cli_env: Settings, make_session: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("import", "--projects", PROJECTS)
    assert (code, out) == (2, "")
    assert last_stderr_line(capsys) == (
        "error: small_projects.json: 5 unknown tags: computer-vision (1), forecasting (1), "
        "nlp (1), object-detection (1), text-classification (1); import a taxonomy that has "
        "them, or use --unknown-tags create or ignore"
    )
    assert [count(make_session, model) for model in (Project, Tag, ImportBatch, AuditEvent)] == [
        0,
        0,
        0,
        0,
    ]


def test_import_of_a_missing_file_returns_2(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.json"
    code, out = run("import", "--projects", str(missing))
    assert (code, out) == (2, "")
    assert last_stderr_line(capsys) == f"error: {missing}: file not found"


def test_import_without_projects_is_a_usage_error(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("import", "--taxonomy", TAXONOMY)
    assert (code, out) == (2, "")
    assert last_stderr_line(capsys) == (
        "python -m labeling import: error: the following arguments are required: --projects"
    )


def test_unknown_command_is_a_usage_error(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("frobnicate")
    assert (code, out) == (2, "")
    assert "invalid choice: 'frobnicate'" in last_stderr_line(capsys)


def test_no_command_is_a_usage_error(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run() == (2, "")
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_bad_setting_returns_2(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LABELLOOP_LOCKOUT_SECONDS", "soon")
    assert run("export") == (2, "")
    assert last_stderr_line(capsys) == (
        "error: LABELLOOP_LOCKOUT_SECONDS='soon' is not a whole number"
    )


# --- export ----------------------------------------------------------------------------------


def test_export_json_to_stdout(cli_env: Settings) -> None:
    import_small()
    code, out = run("export")
    assert code == 0
    assert json.loads(out) == EXPORTED


def test_export_csv_to_stdout(cli_env: Settings) -> None:
    import_small()
    code, out = run("export", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == "id,title,description,tags,label_source,status"
    assert list(csv.DictReader(io.StringIO(out))) == [
        {**row, "id": str(row["id"]), "tags": ";".join(row["tags"])} for row in EXPORTED
    ]


def test_export_jsonl_to_stdout(cli_env: Settings) -> None:
    import_small()
    code, out = run("export", "--format", "jsonl")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == EXPORTED


def test_export_of_an_empty_database(cli_env: Settings) -> None:
    assert run("export") == (0, "[]\n")


def test_export_filters_by_status(cli_env: Settings) -> None:
    import_small()
    assert run("export", "--status", "agreed") == (0, "[]\n")
    code, out = run("export", "--status", "unlabeled")
    assert (code, json.loads(out)) == (0, EXPORTED)


def test_export_to_a_file(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import_small()
    target = tmp_path / "out.jsonl"
    code, out = run("export", "--format", "jsonl", "--out", str(target))
    assert (code, out) == (0, "")
    assert [json.loads(line) for line in target.read_text().splitlines()] == EXPORTED
    assert last_stderr_line(capsys) == f"wrote 3 projects to {target}"


def test_export_writes_the_taxonomy(cli_env: Settings, tmp_path: Path) -> None:
    import_small()
    target = tmp_path / "tags.json"
    code, out = run("export", "--taxonomy-out", str(target))
    assert code == 0
    assert json.loads(out) == EXPORTED
    assert json.loads(target.read_text()) == json.loads(Path(TAXONOMY).read_text())


def test_exported_file_imports_into_a_new_database_unchanged(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import_small()
    projects, tags = tmp_path / "projects.json", tmp_path / "tags.json"
    assert run("export", "--out", str(projects), "--taxonomy-out", str(tags))[0] == 0
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'copy.db'}")
    code, out = run("import", "--projects", str(projects), "--taxonomy", str(tags), "--json")
    assert (code, json.loads(out)["projects_added"]) == (0, 3)
    assert json.loads(run("export")[1]) == EXPORTED


# --- users -----------------------------------------------------------------------------------


def test_users_add_reads_the_password_from_stdin(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, make_session: SessionFactory
) -> None:
    assert add_user_cli(monkeypatch, "alice", "annotator") == (0, "created annotator alice\n")
    assert stored_users(make_session) == [("alice", "annotator", True)]
    with make_session.begin() as session:
        outcome = auth.sign_in(session, "alice", PASSWORD, cli_env)
    assert outcome.user is not None
    assert (outcome.user.username, outcome.user.role) == ("alice", "annotator")


def test_users_list_json(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user_cli(monkeypatch, "bob", "reviewer")
    add_user_cli(monkeypatch, "alice", "annotator")
    code, out = run("users", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"username": "alice", "role": "annotator", "active": True},
        {"username": "bob", "role": "reviewer", "active": True},
    ]


def test_users_list_text(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user_cli(monkeypatch, "alice", "annotator")
    code, out = run("users", "list")
    assert code == 0
    assert out.splitlines() == [
        f"{'username':<24} {'role':<10} active",
        f"{'alice':<24} {'annotator':<10} True",
    ]


def test_users_set_role(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, make_session: SessionFactory
) -> None:
    add_user_cli(monkeypatch, "alice", "annotator")
    assert run("users", "set-role", "alice", "reviewer") == (0, "alice is now reviewer\n")
    assert stored_users(make_session) == [("alice", "reviewer", True)]


def test_users_deactivate(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, make_session: SessionFactory
) -> None:
    add_user_cli(monkeypatch, "alice", "annotator")
    assert run("users", "deactivate", "alice") == (0, "deactivated alice\n")
    assert stored_users(make_session) == [("alice", "annotator", False)]
    assert json.loads(run("users", "list", "--json")[1]) == [
        {"username": "alice", "role": "annotator", "active": False}
    ]


def test_users_add_without_password_stdin_on_a_pipe_returns_2(
    cli_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    set_stdin(monkeypatch, PASSWORD + "\n")
    assert run("users", "add", "alice", "--role", "admin") == (2, "")
    assert last_stderr_line(capsys) == (
        "error: pass the password on standard input with --password-stdin"
    )
    assert stored_users(make_session) == []


def test_users_add_with_empty_stdin_returns_2(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "")
    assert run("users", "add", "alice", "--role", "admin", "--password-stdin") == (2, "")
    assert last_stderr_line(capsys) == "error: no password on standard input"


def test_users_add_with_a_short_password_returns_2(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, "short\n")
    assert run("users", "add", "alice", "--role", "admin", "--password-stdin") == (2, "")
    assert last_stderr_line(capsys) == "error: Password must be at least 8 characters."


def test_users_add_duplicate_returns_2(
    cli_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_user_cli(monkeypatch, "alice", "annotator")
    assert add_user_cli(monkeypatch, "alice", "admin") == (2, "")
    assert last_stderr_line(capsys) == "error: User 'alice' already exists."
    assert stored_users(make_session) == [("alice", "annotator", True)]


def test_users_add_with_an_unknown_role_is_a_usage_error(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_stdin(monkeypatch, PASSWORD + "\n")
    assert run("users", "add", "alice", "--role", "owner", "--password-stdin") == (2, "")
    assert "argument --role: invalid choice: 'owner'" in last_stderr_line(capsys)


def test_users_set_role_of_an_unknown_user_returns_2(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("users", "set-role", "ghost", "admin") == (2, "")
    assert last_stderr_line(capsys) == "error: No user named 'ghost'."


def test_users_deactivate_refuses_the_last_admin(
    cli_env: Settings,
    monkeypatch: pytest.MonkeyPatch,
    make_session: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_user_cli(monkeypatch, "root", "admin")
    assert run("users", "deactivate", "root") == (2, "")
    assert last_stderr_line(capsys) == (
        "error: 'root' is the last active admin; make another admin first."
    )
    assert stored_users(make_session) == [("root", "admin", True)]


# --- init ------------------------------------------------------------------------------------


def test_init_demo_on_an_empty_database_loads_the_demo(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    code, out = run("init", "--demo")
    assert code == 0
    assert f"database: {cli_env.database_url} (schema at the latest migration)" in out
    assert "loaded the demo catalogue: 320 projects" in out
    assert count(make_session, Project) == 320


def test_init_demo_creates_the_demo_accounts_and_prints_them(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    code, out = run("init", "--demo")
    assert code == 0
    assert "*** DEMO ACCOUNTS (demo data only; never use them for real work) ***" in out
    for name, role in DEMO_USERS:
        assert f"    {name:<16} role {role:<10} password labelloop-demo\n" in out
    assert stored_users(make_session) == [
        ("demo-admin", "admin", True),
        ("demo-annotator", "annotator", True),
        ("demo-manager", "manager", True),
        ("demo-reviewer", "reviewer", True),
    ]
    with make_session.begin() as session:
        outcome = auth.sign_in(session, "demo-admin", DEMO_PASSWORD, cli_env)
    assert outcome.user is not None
    assert outcome.user.role == "admin"


def test_init_demo_on_a_database_with_projects_loads_nothing_and_adds_no_accounts(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    import_small()
    code, out = run("init", "--demo")
    assert code == 0
    assert "loaded the demo" not in out
    assert "DEMO ACCOUNTS" not in out
    assert DEMO_PASSWORD not in out
    assert count(make_session, Project) == 3
    assert count(make_session, User) == 0


def test_init_demo_twice_loads_the_demo_once(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    assert run("init", "--demo")[0] == 0
    code, out = run("init", "--demo")
    assert code == 0
    assert "loaded the demo" not in out
    assert "DEMO ACCOUNTS" not in out
    assert (count(make_session, Project), count(make_session, User)) == (320, 4)


def test_init_demo_with_existing_users_loads_the_demo_but_adds_no_accounts(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, make_session: SessionFactory
) -> None:
    add_user_cli(monkeypatch, "root", "admin")
    code, out = run("init", "--demo")
    assert code == 0
    assert "loaded the demo catalogue: 320 projects" in out
    assert "DEMO ACCOUNTS" not in out
    assert stored_users(make_session) == [("root", "admin", True)]


def test_init_without_users_says_how_to_create_the_first_admin(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    code, out = run("init")
    assert code == 0
    assert out == (
        f"database: {cli_env.database_url} (schema at the latest migration)\n"
        "No users yet. Create the first admin in the browser (the app asks for it),\n"
        "or: python -m labeling users add NAME --role admin --password-stdin\n"
    )
    assert (count(make_session, Project), count(make_session, User)) == (0, 0)


def test_init_with_users_only_reports_the_database(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user_cli(monkeypatch, "root", "admin")
    assert run("init") == (
        0,
        f"database: {cli_env.database_url} (schema at the latest migration)\n",
    )


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["import"],
        ["export"],
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "set-role"],
        ["users", "deactivate"],
        ["init"],
    ],
    ids=lambda argv: " ".join(argv) or "top",
)
def test_every_command_has_help(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert run(*argv, "--help") == (0, "")
    assert capsys.readouterr().out.startswith(" ".join(["usage: python -m labeling", *argv]))


# --- agreement -------------------------------------------------------------------------------


def test_agreement_reports_hand_computed_figures_as_json_and_text(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    """Two annotators on the three small projects, disagreeing once (project 1, third tag):
    over the 5 active tags x 3 projects, 30 decisions in 15 pairs, 1 pair differing. Observed
    agreement 14/15; positive agreement = sum p(p-1) / sum p(n-1) = 2*3 / (2*3 + 1) = 6/7."""
    import_small()
    with make_session.begin() as session:
        ids = dict(session.execute(select(Project.external_id, Project.id)).all())
        tags = sorted(session.scalars(select(Tag.name).where(Tag.active)))
        people = [User(username=n, password_hash="x", role="annotator") for n in ("ann", "bo")]
        session.add_all(people)
        session.flush()
        first = {"1": [tags[0]], "2": [tags[1]], "ext-3": [tags[2]]}
        for person in people:
            for external_id, chosen in first.items():
                if person.username == "bo" and external_id == "1":
                    chosen = [tags[0], tags[2]]
                session.add(Annotation(project_id=ids[external_id], user_id=person.id, tags=chosen))
    assert len(tags) == 5
    code, output = run("agreement", "--json")
    assert code == 0
    overall = json.loads(output)["overall"]
    assert (overall["annotators"], overall["projects"], overall["decisions"]) == (2, 3, 30)
    assert overall["observed_agreement"] == pytest.approx(14 / 15)
    assert overall["positive_agreement"] == pytest.approx(6 / 7)
    assert (overall["enough_data"], overall["disputed_projects"]) == (False, 1)
    code, text = run("agreement")
    assert code == 0
    assert text.startswith("Agreement: 2 annotators, 3 projects judged by at least two of them")


def test_init_train_trains_the_first_version_once(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    """`make run` passes --train, so the first annotator is served likely label errors."""
    code, output = run("init", "--demo", "--train")
    assert code == 0
    assert "model version 1 ready (weighted F1 0." in output
    with make_session() as session:
        versions = session.execute(select(ModelVersion.id, ModelVersion.status)).all()
        suspects = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.label_error_score > 0)
        )
    assert [tuple(v) for v in versions] == [(1, "ready")]
    assert suspects > 0
    code, output = run("init", "--demo", "--train")
    assert code == 0 and "training" not in output
    assert count(make_session, ModelVersion) == 1

    # every import from now on is checked against the serving model
    demo = json.loads((Path(__file__).resolve().parents[2] / "data/demo/projects.json").read_text())
    batch = [
        {**demo[0], "id": "copy-of-the-first", "tags": []},
        {
            "id": "new-1",
            "title": "Quantum annealing schedules",
            "description": "Qubits.",
            "tags": [],
        },
    ]
    path = cli_env.data_dir / "batch.json"
    path.write_text(json.dumps(batch))
    code, output = run("import", "--projects", str(path), "--unknown-tags", "ignore")
    assert code == 0
    after = output[output.index("What is new in this import:") :].splitlines()
    assert after[1] == "Import batch 2 (batch.json): 2 new projects, checked with model version 1"
    assert "  likely duplicates of existing projects: 1" in after
    assert f"    copy-of-the-first ~ {demo[0]['id']}" in after
    # nothing without a confident tag here, so nothing is recorded as a new topic
    assert "  no confident tag (possible new topics): 0 (0.0%)" in after
    assert count(make_session, NewTopic) == 0
    with make_session() as session:
        stored, why_not = drift.stored_check(session)  # kept for Insights
    assert (stored["batch"], stored["likely_duplicates"]["count"], why_not) == (2, 1, "")


def test_init_train_on_an_empty_catalogue_trains_nothing(
    cli_env: Settings, make_session: SessionFactory
) -> None:
    code, output = run("init", "--train")
    assert code == 0 and "training" not in output
    assert count(make_session, ModelVersion) == 0
