"""Every page through Streamlit's AppTest, per role: what is shown, what is refused, and what
the database holds after an action."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import AuditEvent, Project, Tag, User
from db.session import SessionFactory
from labeling import auth, io
from labeling.text import escape_markdown
from tests.app.conftest import APP, PASSWORD

HOSTILE_TITLE = "<script>alert(1)</script> **bold** [link](javascript:alert(1))"


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.text]
    parts += [e.value for e in at.title] + [e.value for e in at.subheader]
    parts += (
        [e.value for e in at.error] + [e.value for e in at.info] + [e.value for e in at.success]
    )
    return "\n".join(str(p) for p in parts)


def test_first_start_asks_for_the_first_admin(app_session: SessionFactory) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.title[0].value == "Welcome to LabelLoop"
    at.text_input[0].input("root-admin")
    at.text_input[1].input("long-enough-1")
    at.text_input[2].input("long-enough-1")
    at.button[0].click().run()
    with app_session() as session:
        admin = auth.find_user(session, "root-admin")
        assert admin is not None and admin.role == "admin"
    assert [b.label for b in at.button] == ["Sign in"]


def test_first_admin_form_rejects_mismatched_passwords(app_session: SessionFactory) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("root-admin")
    at.text_input[1].input("long-enough-1")
    at.text_input[2].input("different-22")
    at.button[0].click().run()
    assert at.error[0].value == "The two passwords differ."
    with app_session() as session:
        assert auth.user_count(session) == 0


def test_sign_in_form_has_the_documented_labels(with_users: SessionFactory) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.button[0].label == "Sign in"


def test_wrong_password_is_refused_and_audited(with_users: SessionFactory) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("admin")
    at.text_input[1].input("not-the-password")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong username or password."
    with with_users() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "sign_in.failed" in actions


def test_admin_sees_home_with_role_and_counts(app_as: Callable[[str], AppTest]) -> None:
    at = app_as("admin")
    text = _texts(at)
    assert "You are signed in as admin, with the admin role" in text
    assert "The catalogue is empty" in text


def test_home_shows_catalogue_counts(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    projects = io.parse_projects(
        b'[{"id": 1, "title": "A", "tags": ["x"]}, {"id": 2, "title": "B", "tags": ["x", "y"]}]',
        "p.json",
    )
    with with_users.begin() as session:
        io.import_catalogue(session, projects, "p.json", "json", unknown_tags="create")
    at = app_as("annotator")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Projects"] == "2"
    assert metrics["Active tags"] == "2"
    assert metrics["Tags per project (source)"] == "1.50"


def test_sidebar_lists_only_pages_the_role_may_open(app_as: Callable[[str], AppTest]) -> None:
    for role, expected in [
        ("annotator", ["Home", "Projects", "Annotate", "My history", "My account"]),
        ("reviewer", ["Home", "Projects", "Annotate", "My history", "Review", "My account"]),
        ("manager", ["Home", "Projects", "Model", "Insights", "My account"]),
        (
            "admin",
            [
                "Home",
                "Projects",
                "Annotate",
                "My history",
                "Review",
                "Model",
                "Insights",
                "Data",
                "Tags",
                "Users",
                "My account",
            ],
        ),
    ]:
        at = app_as(role)
        links = [link.proto.label or link.proto.page for link in at.sidebar.get("page_link")]
        assert links == expected, role


def test_annotator_opening_data_page_is_refused(app_as: Callable[[str], AppTest]) -> None:
    at = app_as("annotator")
    at.switch_page("pages/data.py").run()
    assert [e.value for e in at.main.get("alert")] or at.error
    assert at.error[0].value == "Not allowed: the Data page is not open to the annotator role."
    assert len(at.main.get("file_uploader")) == 0
    assert [t.value for t in at.title] == []


def test_manager_opening_users_page_is_refused(app_as: Callable[[str], AppTest]) -> None:
    at = app_as("manager")
    at.switch_page("pages/users.py").run()
    assert at.error[0].value == "Not allowed: the Users page is not open to the manager role."
    assert len(at.dataframe) == 0


def test_deactivated_user_is_signed_out_on_next_run(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("reviewer")
    with with_users.begin() as session:
        auth.deactivate(session, "reviewer")
    at.run()
    assert [b.label for b in at.button] == ["Sign in"]


def test_sign_out_returns_to_the_sign_in_form(app_as: Callable[[str], AppTest]) -> None:
    at = app_as("annotator")
    at.sidebar.button[0].click().run()
    assert [b.label for b in at.button] == ["Sign in"]


def test_admin_data_page_lists_imports_and_prepares_an_export(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    projects = io.parse_projects(
        f'[{{"id": 7, "title": "{HOSTILE_TITLE}", "tags": ["x"]}}]'.encode(), "hostile.json"
    )
    with with_users.begin() as session:
        io.import_catalogue(session, projects, "hostile.json", "json", unknown_tags="create")
    at = app_as("admin")
    at.switch_page("pages/data.py").run()
    assert not at.exception
    history = at.dataframe[0].value
    assert list(history["file"]) == ["hostile.json"]
    assert list(history["added"]) == [1]
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download export"]
    assert downloads[0].proto.url == ""  # built on click (deferred), never stored before


def test_admin_adds_a_user_and_changes_roles(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/users.py").run()
    form_inputs = at.main.text_input
    form_inputs[0].input("newcomer")
    form_inputs[1].input(PASSWORD)
    at.main.selectbox[0].select("reviewer")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert at.success[0].value == "Created newcomer (reviewer)."
    with with_users() as session:
        newcomer = auth.find_user(session, "newcomer")
        assert newcomer is not None and newcomer.role == "reviewer"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).all()
        assert [e.actor for e in event][-1] == "admin"
    at.main.selectbox[1].select("newcomer").run()
    at.main.selectbox[2].select("manager")
    next(b for b in at.button if b.label == "Set role").click().run()
    assert at.success[0].value == "newcomer is now manager."
    next(b for b in at.button if b.label == "Deactivate").click().run()
    with with_users() as session:
        user = session.scalar(select(User).where(User.username == "newcomer"))
        assert user is not None and user.role == "manager" and user.active is False


def test_users_page_refuses_to_demote_the_last_admin(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/users.py").run()
    at.main.selectbox[1].select("admin").run()
    at.main.selectbox[2].select("annotator")
    next(b for b in at.button if b.label == "Set role").click().run()
    assert "last active admin" in at.error[0].value
    with with_users() as session:
        admin = auth.find_user(session, "admin")
        assert admin is not None and admin.role == "admin"


def test_data_page_upload_previews_literally_and_imports(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/data.py").run()
    payload = json.dumps(
        [
            {
                "id": 9,
                "title": HOSTILE_TITLE,
                "description": "<img src=x onerror=alert(1)>",
                "tags": ["made-up"],
            }
        ]
    ).encode()
    at.main.file_uploader[0].upload("hostile.json", payload, "application/json").run()
    preview = at.dataframe[0].value
    assert list(preview["title"]) == [HOSTILE_TITLE]
    assert list(preview["description"]) == ["<img src=x onerror=alert(1)>"]
    at.main.selectbox[0].select("create").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert at.success[0].value == "Import finished."
    assert {m.label: m.value for m in at.metric}["Added"] == "1"
    with with_users() as session:
        stored = session.scalars(select(Project.title)).all()
    assert stored == [HOSTILE_TITLE]


def test_data_page_bad_upload_shows_the_error_and_writes_nothing(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/data.py").run()
    at.main.file_uploader[0].upload("bad.json", b'{"id": 1}', "application/json").run()
    assert at.error[0].value == escape_markdown(
        "bad.json: expected a JSON list of projects, found dict"
    )
    assert not [b for b in at.button if b.label == "Import"]
    with with_users() as session:
        assert session.scalars(select(Project)).all() == []


def test_data_page_keeps_unknown_tags_as_candidates_and_lists_warnings(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/data.py").run()
    long_tag = "x" * 120
    payload = json.dumps([{"id": 1, "title": "A", "tags": ["zzz", long_tag]}]).encode()
    at.main.file_uploader[0].upload("p.json", payload, "application/json").run()
    assert "1 values will be dropped or cleaned" in at.warning[0].value
    next(b for b in at.button if b.label == "Import").click().run()
    assert at.success[0].value == "Import finished."
    report = at.text[0].value
    assert "  candidate tags created: 1" not in report  # counts are on the summary line
    assert "  warnings (value dropped, import went on): 1" in report
    assert "  unknown tags (candidate), by projects: 1" in report
    with with_users() as session:
        assert session.execute(select(Tag.name, Tag.candidate)).all() == [("zzz", True)]


def test_data_page_unknown_tags_rejected_on_import(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/data.py").run()
    payload = b'[{"id": 1, "title": "A", "tags": ["zzz", "zzz2"]}]'
    at.main.file_uploader[0].upload("p.json", payload, "application/json").run()
    at.main.selectbox[0].select("reject").run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert at.error[0].value.startswith("Nothing was imported. ")
    assert "2 unknown tags" in at.error[0].value
    with with_users() as session:
        assert session.scalars(select(Project)).all() == []
