"""What keeps the review page safe: headers, the access token, CSRF tokens, safe links.

- Every response carries a strict Content-Security-Policy: scripts and styles only from our
  own ``/static`` files (no inline script, no inline style), no frames, forms post to us only.
- With an access token configured, every page but ``/healthz`` and the login form needs it:
  ``Authorization: Bearer <token>`` (scripts, Prometheus) or the cookie the login form sets.
  The cookie holds an HMAC of the token, never the token itself.
- Every POST carries a CSRF token equal to the ``followup_csrf`` cookie (double submit; the
  cookie is SameSite=Strict), and a cross-origin ``Origin`` header is refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "followup_csrf"
AUTH_COOKIE = "followup_auth"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
OPEN_PATHS = ("/healthz", "/login", "/static/")

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Outlets need not learn what an analyst was reviewing when a link is followed.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def session_value(token: str) -> str:
    """What the login cookie holds: proof of the token, useless as the token."""
    return hmac.new(token.encode(), b"followup review session", hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def safe_url(url: str | None) -> str | None:
    """``url`` if it may be a link (http or https); ``javascript:``, ``data:`` … never are."""
    if not url:
        return None
    cleaned = url.strip()
    scheme = urlsplit(cleaned).scheme.lower()
    return cleaned if scheme in ("http", "https") and "\\" not in cleaned else None


def safe_next(target: str | None) -> str:
    """A local path to go back to: never another site (no ``//host``, no scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


class SecurityMiddleware:
    """Adds the security headers, hands out the CSRF cookie and enforces the access token."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        csrf = cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf"] = csrf
        fresh = CSRF_COOKIE not in cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if fresh:
                    headers.append((b"set-cookie", _csrf_cookie(csrf, scope)))
                message["headers"] = headers
            await send(message)

        if self.token and not self._allowed(scope, cookies):
            await _refuse(scope, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _allowed(self, scope: Scope, cookies: dict[str, str]) -> bool:
        assert self.token is not None
        path = scope.get("path", "")
        if path in OPEN_PATHS or path.startswith("/static/"):
            return True
        auth = _header(scope, b"authorization")
        if auth.lower().startswith("bearer ") and same(auth[7:].strip(), self.token):
            return True
        return same(cookies.get(AUTH_COOKIE), session_value(self.token))


async def _refuse(scope: Scope, send: Send) -> None:
    """HTML readers go to the login form; everything else gets a plain 401."""
    wants_html = "text/html" in _header(scope, b"accept") and scope.get("method") == "GET"
    if wants_html:
        path = scope.get("path", "/")
        query = scope.get("query_string", b"").decode("latin-1")
        target = quote(path + ("?" + query if query else ""), safe="")
        headers = [(b"location", f"/login?next={target}".encode())]
        status, body = 303, b""
    else:
        headers = [
            (b"www-authenticate", b'Bearer realm="followup"'),
            (b"content-type", b"text/plain; charset=utf-8"),
        ]
        status, body = 401, b"followup: an access token is required\n"
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def check_csrf(request: Request) -> bool:
    """True when a POST proves it comes from our own page."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(origin, request):
        return False
    expected = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return same(given, expected)


def _same_origin(origin: str, request: Request) -> bool:
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.rstrip("/") == own


def _csrf_cookie(value: str, scope: Scope) -> bytes:
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    return f"{CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}".encode()


def auth_cookie(token: str, request: Request) -> str:
    secure = "; Secure" if request.url.scheme == "https" else ""
    return f"{AUTH_COOKIE}={session_value(token)}; Path=/; HttpOnly; SameSite=Strict{secure}"


def _cookies(scope: Scope) -> dict[str, str]:
    raw = _header(scope, b"cookie")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header counts as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""
