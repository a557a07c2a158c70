"""The HTTP routes that set and clear the HttpOnly session cookie (mounted by ``st.App`` in
``streamlit_app.py``). A page run cannot send headers, so the page places a tiny script that
POSTs here: a one-time code to set the cookie, nothing to clear it (the route reads the cookie
the browser sends and clears it only when its session is over in the database)."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from db.session import SessionFactory
from labeling import session_handoff, sessions
from labeling.config import Settings

SET_PATH = "api/session-cookie"
CLEAR_PATH = "api/session-cookie/clear"
# A request body larger than this is no code of ours.
MAX_BODY_BYTES = 1024

REFUSALS = {
    session_handoff.UNKNOWN: "Unknown or already used sign-in code.",
    session_handoff.EXPIRED: "This sign-in code has expired. Sign in again.",
    session_handoff.SESSION_OVER: "This session is over. Sign in again.",
}


def route_path(base_url_path: str, path: str) -> str:
    """The absolute URL path of a route under Streamlit's ``server.baseUrlPath``."""
    return "/" + "/".join(part for part in (base_url_path.strip("/"), path) if part)


def cookie_header(token: str, max_age: int, secure: bool) -> str:
    """The Set-Cookie value: HttpOnly so page scripts never see the token, SameSite=Strict so
    no other site's link or form sends it, Path=/ for every page, Secure over HTTPS."""
    parts = [
        f"{sessions.COOKIE_NAME}={token}",
        f"Max-Age={max_age}",
        "Path=/",
        "SameSite=Strict",
        "HttpOnly",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def came_over_https(request: Request) -> bool:
    """Whether the browser reached the app over HTTPS: its Origin header (what the browser's
    address bar says, also behind a TLS-terminating proxy), X-Forwarded-Proto from such a
    proxy, or TLS served by Streamlit itself. Each of them can only add Secure, and only the
    requester could forge them, for their own cookie."""
    origin = request.headers.get("origin", "")
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or origin.startswith("https://") or forwarded == "https"


def _cross_site(request: Request) -> bool:
    """A browser marks every request with where it came from; the page's own fetch is
    same-origin, anything else (a form or script on another site) is refused."""
    site = request.headers.get("sec-fetch-site")
    return site is not None and site != "same-origin"


def _plain(message: str, status: int, set_cookie: str | None = None) -> Response:
    response = PlainTextResponse(message + "\n", status_code=status)
    response.headers["Cache-Control"] = "no-store"
    if set_cookie is not None:
        response.headers["Set-Cookie"] = set_cookie
    return response


async def _posted_code(request: Request) -> str | None:
    """The code of a JSON body ``{"code": "..."}``; None for anything else. JSON, not a form,
    so that another site cannot post it without a CORS preflight this app never grants."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None  # read no further than a code needs
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, str) else None


def cookie_routes(
    database: Callable[[], SessionFactory],
    settings: Callable[[], Settings],
    base_url_path: str = "",
) -> list[Route]:
    """The two POST routes, reading the app's database and settings through the given
    callables (the app's cached ones, or a test's)."""

    def redeem(code: str) -> session_handoff.Redeemed:
        with database().begin() as session:
            return session_handoff.redeem(session, code, settings())

    def is_over(token: str) -> bool:
        with database()() as session:
            return sessions.peek(session, token, settings()).user is None

    async def set_cookie(request: Request) -> Response:
        """Redeem a one-time code for the HttpOnly cookie of its session."""
        if _cross_site(request):
            return _plain("Cross-site request refused.", 403)
        code = await _posted_code(request)
        if code is None:
            return _plain('Expected a JSON body {"code": "..."}.', 400)
        redeemed = await run_in_threadpool(redeem, code)
        if redeemed.token is None:
            return _plain(REFUSALS[redeemed.refusal or session_handoff.UNKNOWN], 403)
        max_age = settings().session_hours * 3600
        header = cookie_header(redeemed.token, max_age, came_over_https(request))
        return _plain("Session cookie set.", 200, header)

    async def clear_cookie(request: Request) -> Response:
        """Drop the cookie the browser sent, but only when its session is over, so that a stale
        tab can never sign out a newer sign-in made in another tab."""
        if _cross_site(request):
            return _plain("Cross-site request refused.", 403)
        token = request.cookies.get(sessions.COOKIE_NAME)
        if not token:
            return _plain("No session cookie.", 200)
        if not await run_in_threadpool(is_over, token):
            return _plain("The session is live; the cookie stays.", 200)
        cleared = cookie_header("", 0, came_over_https(request))
        return _plain("Session cookie cleared.", 200, cleared)

    return [
        Route(route_path(base_url_path, SET_PATH), set_cookie, methods=["POST"]),
        Route(route_path(base_url_path, CLEAR_PATH), clear_cookie, methods=["POST"]),
    ]
