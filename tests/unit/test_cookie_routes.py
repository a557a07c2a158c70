"""The HTTP routes that set and clear the HttpOnly session cookie, called through Starlette's
ASGI interface (httpx, which TestClient needs, is not installed): exact status codes, bodies
and Set-Cookie headers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from streamlit.web.server.app_discovery import discover_asgi_app

from db.models import utcnow
from db.session import SessionFactory
from labeling import auth, session_handoff, sessions
from labeling.config import Settings
from ui.cookie_routes import CLEAR_PATH, SET_PATH, cookie_routes, route_path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@pytest.fixture
def two_hours(settings: Settings) -> Settings:
    return replace(settings, session_hours=2)


@pytest.fixture
def app(make_session: SessionFactory, two_hours: Settings) -> Starlette:
    return Starlette(routes=cookie_routes(lambda: make_session, lambda: two_hours))


@pytest.fixture
def token(make_session: SessionFactory, two_hours: Settings) -> str:
    with make_session.begin() as session:
        user = auth.create_user(session, "ada", "correct-horse-1", "annotator")
        return sessions.start(session, user, two_hours)


def issue(make_session: SessionFactory, token: str, seconds_ago: int = 0) -> str:
    with make_session.begin() as session:
        return session_handoff.issue(session, token, now=utcnow() - timedelta(seconds=seconds_ago))


def call(
    app: Starlette,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    scheme: str = "http",
) -> Answer:
    """One request through the ASGI interface, as uvicorn would make it."""
    messages: list[dict] = []
    request_sent = False

    async def receive() -> dict:
        nonlocal request_sent
        if request_sent:
            return {"type": "http.disconnect"}
        request_sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8501),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        text.decode(),
    )


JSON = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}


def post_code(app: Starlette, code: str, **headers: str) -> Answer:
    return call(app, "POST", "/" + SET_PATH, json.dumps({"code": code}).encode(), JSON | headers)


def post_clear(app: Starlette, cookie: str | None = None) -> Answer:
    headers = {"Sec-Fetch-Site": "same-origin"}
    if cookie is not None:
        headers["Cookie"] = f"{sessions.COOKIE_NAME}={cookie}"
    return call(app, "POST", "/" + CLEAR_PATH, b"", headers)


def test_a_code_is_answered_with_the_httponly_cookie_of_its_session(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    answer = post_code(app, issue(make_session, token))
    assert answer.status == 200
    assert answer.body == "Session cookie set.\n"
    assert answer.headers["set-cookie"] == (
        f"labelloop_session={token}; Max-Age=7200; Path=/; SameSite=Strict; HttpOnly"
    )
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        ({"Origin": "https://labels.example.org"}, "http"),
        ({"X-Forwarded-Proto": "https"}, "http"),
        ({}, "https"),
    ],
    ids=["browser-origin", "proxy-header", "tls"],
)
def test_the_cookie_is_secure_when_the_browser_came_over_https(
    app: Starlette,
    make_session: SessionFactory,
    token: str,
    headers: dict[str, str],
    scheme: str,
) -> None:
    body = json.dumps({"code": issue(make_session, token)}).encode()
    answer = call(app, "POST", "/" + SET_PATH, body, JSON | headers, scheme)
    assert answer.status == 200
    assert answer.headers["set-cookie"] == (
        f"labelloop_session={token}; Max-Age=7200; Path=/; SameSite=Strict; HttpOnly; Secure"
    )


def test_an_http_origin_gets_no_secure_flag(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    answer = post_code(app, issue(make_session, token), Origin="http://127.0.0.1:8501")
    assert answer.headers["set-cookie"].endswith("; HttpOnly")


def test_a_used_code_is_refused_and_sets_nothing(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    code = issue(make_session, token)
    assert post_code(app, code).status == 200
    again = post_code(app, code)
    assert (again.status, again.body) == (403, "Unknown or already used sign-in code.\n")
    assert "set-cookie" not in again.headers


def test_an_unknown_code_is_refused(app: Starlette, token: str) -> None:
    answer = post_code(app, session_handoff.new_code())
    assert (answer.status, answer.body) == (403, "Unknown or already used sign-in code.\n")
    assert "set-cookie" not in answer.headers


def test_an_expired_code_is_refused(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    answer = post_code(app, issue(make_session, token, seconds_ago=61))
    assert (answer.status, answer.body) == (403, "This sign-in code has expired. Sign in again.\n")
    assert "set-cookie" not in answer.headers


def test_a_code_of_a_session_signed_out_since_is_refused(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    code = issue(make_session, token)
    with make_session.begin() as session:
        sessions.sign_out(session, token, None)
    answer = post_code(app, code)
    assert (answer.status, answer.body) == (403, "This session is over. Sign in again.\n")
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"code=abc", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b'{"code": 42}', "application/json"),
        (b'["abc"]', "application/json"),
        (json.dumps({"code": "a" * 2000}).encode(), "application/json"),
    ],
    ids=["form", "bad-json", "not-a-string", "not-an-object", "too-large"],
)
def test_a_malformed_body_is_a_bad_request(
    app: Starlette, token: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type, "Sec-Fetch-Site": "same-origin"}
    answer = call(app, "POST", "/" + SET_PATH, body, headers)
    assert (answer.status, answer.body) == (400, 'Expected a JSON body {"code": "..."}.\n')
    assert "set-cookie" not in answer.headers


def test_a_cross_site_post_is_refused_without_spending_the_code(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    code = issue(make_session, token)
    answer = post_code(app, code, **{"Sec-Fetch-Site": "cross-site"})
    assert (answer.status, answer.body) == (403, "Cross-site request refused.\n")
    assert "set-cookie" not in answer.headers
    assert post_code(app, code).status == 200


@pytest.mark.parametrize("path", [SET_PATH, CLEAR_PATH])
def test_the_routes_answer_post_only(app: Starlette, path: str) -> None:
    assert call(app, "GET", "/" + path).status == 405


def test_clearing_drops_a_signed_out_token(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    with make_session.begin() as session:
        sessions.sign_out(session, token, None)
    answer = post_clear(app, token)
    assert (answer.status, answer.body) == (200, "Session cookie cleared.\n")
    assert answer.headers["set-cookie"] == (
        "labelloop_session=; Max-Age=0; Path=/; SameSite=Strict; HttpOnly"
    )


def test_clearing_drops_a_revoked_or_unknown_token(
    app: Starlette, make_session: SessionFactory, token: str
) -> None:
    with make_session.begin() as session:
        user_id = auth.find_user(session, "ada").id
        sessions.revoke_user_sessions(session, user_id, sessions.SIGN_OUT_EVERYWHERE)
    assert post_clear(app, token).body == "Session cookie cleared.\n"
    assert post_clear(app, sessions.new_token()).body == "Session cookie cleared.\n"


def test_clearing_drops_an_expired_token(make_session: SessionFactory, two_hours: Settings) -> None:
    with make_session.begin() as session:
        user = auth.create_user(session, "old", "correct-horse-1", "annotator")
        token = sessions.start(session, user, two_hours, now=utcnow() - timedelta(hours=3))
    app = Starlette(routes=cookie_routes(lambda: make_session, lambda: two_hours))
    assert post_clear(app, token).headers["set-cookie"].startswith("labelloop_session=; Max-Age=0")


def test_clearing_keeps_a_live_token(app: Starlette, token: str) -> None:
    answer = post_clear(app, token)
    assert (answer.status, answer.body) == (200, "The session is live; the cookie stays.\n")
    assert "set-cookie" not in answer.headers


def test_clearing_without_a_cookie_sets_nothing(app: Starlette) -> None:
    answer = post_clear(app)
    assert (answer.status, answer.body) == (200, "No session cookie.\n")
    assert "set-cookie" not in answer.headers


def test_routes_follow_the_base_url_path() -> None:
    assert route_path("", SET_PATH) == "/api/session-cookie"
    assert route_path("/labels/", CLEAR_PATH) == "/labels/api/session-cookie/clear"


def test_streamlit_run_finds_the_app_with_the_cookie_routes() -> None:
    found = discover_asgi_app(ROOT / "streamlit_app.py")
    assert (found.is_asgi_app, found.import_string) == (True, "streamlit_app:app")
