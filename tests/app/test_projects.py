"""The Projects page per role (search, open a story, label now, send to review, what a
searcher finds), My account, the forced password change, and the Users page's new actions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db.models import Lease, Project, ReviewRequest
from db.session import SessionFactory
from labeling import accounts, auth
from labeling.text import escape_markdown
from tests.app.conftest import APP, PASSWORD
from tests.unit.test_search import build_catalogue

NEW = "violet-kettle-42"
HOSTILE = "<script>alert(1)</script> **bold** [link](javascript:alert(1))"


@pytest.fixture
def catalogue(with_users: SessionFactory) -> SessionFactory:
    build_catalogue(with_users)
    with with_users.begin() as session:
        session.get(Project, 3).description = HOSTILE
    return with_users


def projects_page(app_as: Callable[[str], AppTest], role: str) -> AppTest:
    at = app_as(role)
    at.switch_page("pages/projects.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def search(at: AppTest, words: str) -> AppTest:
    at.text_input(key="projects_words").input(words).run()
    return at


def open_project(at: AppTest, project_id: int) -> AppTest:
    at.selectbox(key="projects_open").select(project_id).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", "admin"])
def test_every_role_searches_and_reads_a_story(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest], role: str
) -> None:
    at = search(projects_page(app_as, role), "transformer")
    assert at.caption[0].value.startswith("3 projects found · page 1 of 1")
    frame = at.dataframe[0].value
    assert frame["id"].iloc[0] == 1
    open_project(search(at, "detection"), 3)
    texts = [t.value for t in at.text]
    assert HOSTILE in texts  # the description, literally
    labels = [b.label for b in at.button]
    assert ("Label it now" in labels) == (role != "manager")
    assert ("Send to review" in labels) == (role in ("reviewer", "admin"))


def test_annotators_see_only_their_own_judgements(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = open_project(projects_page(app_as, "annotator"), 1)
    assert any("2 other annotator(s) judged this project" in c.value for c in at.caption)
    at = open_project(projects_page(app_as, "reviewer"), 1)
    judgements = at.dataframe[1].value
    assert list(judgements["who"]) == ["alice", "bob"]


def test_filters_narrow_the_results(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = projects_page(app_as, "manager")
    at.selectbox(key="projects_tag").select("nlp")
    at.selectbox(key="projects_tag_in").select("effective").run()
    assert list(at.dataframe[0].value["id"]) == [5, 1]
    at.selectbox(key="projects_status").select("resolved").run()
    assert list(at.dataframe[0].value["id"]) == [5]
    at.selectbox(key="projects_status").select("agreed").run()
    assert at.info[0].value == "No project matches. Remove a filter or use fewer words."


def test_label_it_now_opens_annotate_on_that_project(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = open_project(projects_page(app_as, "annotator"), 4)
    button(at, "Label it now").click().run()
    assert not at.exception, at.exception
    with catalogue() as session:
        user = auth.find_user(session, "annotator")
        assert session.scalars(select(Lease.project_id).where(Lease.user_id == user.id)).all() == [
            4
        ]
    assert [t.value for t in at.title] == ["Annotate"]
    assert any("Speech recognition" in m.value for m in at.markdown)


def test_label_it_now_says_why_not(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = open_project(projects_page(app_as, "reviewer"), 1)
    button(at, "Label it now").click().run()
    assert at.warning[0].value.startswith("This project already has 2 annotators")


def test_reviewer_sends_a_project_to_review(
    catalogue: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = open_project(projects_page(app_as, "reviewer"), 2)
    at.text_input(key="projects_review_note").input("tags look thin")
    button(at, "Send to review").click().run()
    assert at.success[0].value == "Sent: the project waits on the Review page."
    with catalogue() as session:
        assert [(r.project_id, r.note) for r in session.scalars(select(ReviewRequest))] == [
            (2, "tags look thin")
        ]
    button(at, "Send to review").click().run()
    assert at.warning[0].value == escape_markdown("This project is already waiting for review.")


def test_what_a_searcher_finds(catalogue: SessionFactory, app_as: Callable[[str], AppTest]) -> None:
    at = projects_page(app_as, "manager")
    at.selectbox(key="findings_tag").select("nlp").run()
    metrics = {m.label: (m.value, m.proto.body) for m in at.metric}
    assert metrics["source tags"][0] == "1"
    assert metrics["effective labels"][0] == "2"
    assert metrics["model predictions"][0] == "2"
    table = at.dataframe[-1].value
    assert list(table["id"]) == [5, 4]


# --- accounts ----------------------------------------------------------------------------------


def test_my_account_changes_the_password(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("annotator")
    at.switch_page("pages/account.py").run()
    fields = at.main.text_input
    fields[0].input("wrong-password")
    fields[1].input(NEW)
    fields[2].input(NEW)
    button(at, "Change password").click().run()
    assert at.error[0].value == escape_markdown("Current password is wrong.")
    fields = at.main.text_input
    fields[0].input(PASSWORD)
    fields[1].input("qwerty123")
    fields[2].input("qwerty123")
    button(at, "Change password").click().run()
    assert at.error[0].value == escape_markdown(
        "Password is on the list of commonly used passwords; choose another."
    )
    fields = at.main.text_input
    fields[0].input(PASSWORD)
    fields[1].input(NEW)
    fields[2].input(NEW)
    button(at, "Change password").click().run()
    assert at.success[0].value == "Password changed."
    with with_users() as session:
        user = auth.find_user(session, "annotator")
        assert auth.password_matches(user.password_hash, NEW)
    # the browser that changed its own password keeps its session (every other one ends)
    at.switch_page("pages/history.py").run()
    assert [t.value for t in at.title] == ["My history"]


def test_a_reset_user_must_choose_a_password_before_any_page(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    with with_users.begin() as session:
        one_time = accounts.reset_password(session, "reviewer")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input("reviewer")
    at.text_input[1].input(one_time)
    at.button[0].click().run()
    assert [t.value for t in at.title] == ["Choose a new password"]
    at.switch_page("pages/review.py").run()
    assert [t.value for t in at.title] == ["Choose a new password"]
    fields = at.main.text_input
    fields[0].input(one_time)
    fields[1].input(NEW)
    fields[2].input(NEW)
    button(at, "Save and continue").click().run()
    assert "Choose a new password" not in [t.value for t in at.title]
    at.switch_page("pages/review.py").run()
    assert [t.value for t in at.title] == ["Review"]  # still signed in after the change
    with with_users() as session:
        assert not accounts.must_change_password(session, auth.find_user(session, "reviewer").id)


def test_users_page_opens_on_no_one_then_on_the_accounts_own_role(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/users.py").run()
    account = at.selectbox(key="change_account")
    assert account.value is None
    assert [b.label for b in at.main.button if b.label == "Set role"] == []
    account.select("reviewer").run()
    assert at.selectbox(key="change_role_reviewer").value == "reviewer"


def test_users_page_resets_and_reactivates(
    with_users: SessionFactory, app_as: Callable[[str], AppTest]
) -> None:
    at = app_as("admin")
    at.switch_page("pages/users.py").run()
    at.selectbox(key="change_account").select("annotator").run()
    button(at, "Reset password").click().run()
    one_time = at.code[0].value
    with with_users() as session:
        user = auth.find_user(session, "annotator")
        assert user.must_change_password and auth.password_matches(user.password_hash, one_time)
    button(at, "Deactivate").click().run()
    button(at, "Reactivate").click().run()
    assert at.success[0].value == "annotator can sign in again."
    with with_users() as session:
        assert auth.find_user(session, "annotator").active
