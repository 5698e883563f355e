"""The review page's defences: CSRF on every POST, a strict CSP, escaped feed text, links
only to http(s), the access token, and no public address without one."""

from __future__ import annotations

import re

import pytest

from pipeline.errors import ConfigError
from pipeline.web.security import safe_url
from pipeline.web.server import check_exposure, is_loopback
from tests.fixtures_web import NOW, Entry, review_app_fixture, store_matches  # noqa: F401

FEED = "http://127.0.0.1:9/hostile.xml"
HOSTILE_TITLE = '<img src=x onerror="alert(1)">Alibaba <script>alert(2)</script> Pakistan'
TOKEN_ENV = "FOLLOWUP_TEST_TOKEN"
TOKEN = "s3cret-token-for-tests"
TOKEN_CONFIG = f'\n[serve]\ntoken_env = "{TOKEN_ENV}"\n'


@pytest.fixture
def hostile(review_app):
    app = review_app()
    store_matches(
        app.store,
        FEED,
        [
            Entry(
                "h1",
                HOSTILE_TITLE,
                summary='"><svg onload=alert(3)>',
                url="javascript:alert(4)",
                reasons=(("<b>Entity</b>", "Alibaba"), ("Pakistan", "<script>")),
                story="s",
            ),
            Entry("h2", "Alibaba in Pakistan, again", url=" JaVaScRiPt:alert(5)", story="s"),
            Entry("h3", "A fine link", url="https://news.example/a?b=1&c=2"),
        ],
    )
    return app


PAGES = ["/", "/?q=alibaba", "/timeline", "/timeline?by=lang", "/feeds"]


@pytest.mark.parametrize("path", PAGES)
def test_feed_text_is_escaped_on_every_page(hostile, path):
    page = hostile.client.get(path).text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<svg onload" not in page
    assert "<b>Entity</b>" not in page
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    assert not [t for t in tags if re.search(r"\son\w+\s*=", t)], "an event handler got in"


def test_hostile_text_is_still_readable(hostile):
    page = re.sub(r"</?mark>", "", hostile.client.get("/").text)
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;b&gt;Entity&lt;/b&gt;" in page


def test_javascript_urls_are_never_links(hostile):
    page = hostile.client.get("/").text
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert not [h for h in hrefs if "script:" in h.lower()]
    assert "https://news.example/a?b=1&amp;c=2" in page


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://a.example/x", "https://a.example/x"),
        ("http://a.example", "http://a.example"),
        ("javascript:alert(1)", None),
        ("  JAVASCRIPT:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("vbscript:x", None),
        ("//evil.example/x", None),
        ("https:\\\\evil.example", None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_and_https_urls_become_links(url, expected):
    assert safe_url(url) == expected


@pytest.mark.parametrize("path", [*PAGES, "/healthz", "/metrics", "/export.csv"])
def test_every_response_carries_a_strict_content_security_policy(hostile, path):
    answer = hostile.client.get(path)
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(hostile, path):
    page = hostile.client.get(path).text
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "<style" not in page and " style=" not in page


def test_the_static_files_the_policy_allows_are_served(hostile):
    assert hostile.client.get("/static/app.js").status_code == 200
    assert hostile.client.get("/static/app.css").status_code == 200


@pytest.mark.parametrize(
    "form, headers",
    [
        ({"label": "relevant"}, {}),
        ({"label": "relevant", "csrf": "forged"}, {}),
        ({"label": "relevant", "csrf": "<from the cookie>"}, {"origin": "http://evil.example"}),
    ],
    ids=["no token", "wrong token", "other origin"],
)
def test_a_label_post_without_a_valid_csrf_token_is_refused(hostile, form, headers):
    csrf = hostile.csrf()
    if form.get("csrf") == "<from the cookie>":
        form = {**form, "csrf": csrf}
    answer = hostile.client.post("/matches/1/label", data=form, headers=headers)
    assert answer.status_code == 403
    assert all(m.label is None for m in hostile.store.list_matches())


def test_a_csrf_token_from_another_browser_is_refused(hostile):
    first = hostile.csrf()
    hostile.client.cookies.clear()
    hostile.client.get("/healthz")  # a fresh cookie, as another browser has
    answer = hostile.client.post("/matches/1/label", data={"label": "relevant", "csrf": first})
    assert answer.status_code == 403


def test_the_csrf_cookie_is_http_only_and_same_site_strict(hostile):
    answer = hostile.client.get("/")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("followup_csrf=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


# -- the access token -------------------------------------------------------------------


@pytest.fixture
def locked(review_app):
    app = review_app(extra=TOKEN_CONFIG, environ={TOKEN_ENV: TOKEN})
    store_matches(app.store, FEED, [Entry("a", "Alibaba in Pakistan")])
    return app


@pytest.mark.parametrize("path", ["/", "/timeline", "/feeds", "/export.json", "/metrics"])
def test_with_a_token_configured_every_page_requires_it(locked, path):
    answer = locked.client.get(path, headers={"accept": "application/json"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    bearer = locked.client.get(path, headers={"authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


def test_a_wrong_bearer_token_is_refused(locked):
    answer = locked.client.get("/", headers={"authorization": "Bearer nope"})
    assert answer.status_code in (303, 401)
    assert "Alibaba in Pakistan" not in answer.text


def test_a_browser_is_sent_to_the_login_form_and_back(locked):
    answer = locked.client.get("/?lang=en", headers={"accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2F%3Flang%3Den"
    form = locked.client.get(answer.headers["location"]).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    wrong = locked.client.post("/login", data={"token": "nope", "csrf": csrf, "next": "/?lang=en"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    right = locked.client.post(
        "/login",
        data={"token": TOKEN, "csrf": csrf, "next": "/?lang=en"},
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/?lang=en"
    cookie = right.headers["set-cookie"]
    assert TOKEN not in cookie and "HttpOnly" in cookie
    assert "Alibaba in Pakistan" in locked.client.get("/").text


def test_the_login_form_needs_its_csrf_token(locked):
    locked.client.get("/login")
    answer = locked.client.post("/login", data={"token": TOKEN})
    assert answer.status_code == 403
    assert "followup_auth" not in answer.headers.get("set-cookie", "")


def test_logging_out_ends_the_session(locked):
    csrf = locked.csrf()
    locked.client.post("/login", data={"token": TOKEN, "csrf": csrf})
    assert locked.client.get("/", headers={"accept": "application/json"}).status_code == 200
    locked.client.post("/logout", data={"csrf": csrf})
    assert locked.client.get("/", headers={"accept": "application/json"}).status_code == 401


def test_the_health_check_needs_no_token(locked):
    assert locked.client.get("/healthz").status_code == 200


def test_without_a_token_configured_the_login_form_just_goes_back(hostile):
    answer = hostile.client.get("/login?next=/feeds", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/feeds"


# -- where the page may listen -------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_no_token(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.4", "::", "example.org"])
def test_other_addresses_are_not_loopback(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(
    "extra, environ",
    [("", {}), (TOKEN_CONFIG, {}), (TOKEN_CONFIG, {TOKEN_ENV: ""})],
    ids=["no token_env", "variable unset", "variable empty"],
)
def test_a_public_address_without_a_token_is_refused(write_config, extra, environ):
    from pipeline.config import load_settings

    settings = load_settings(str(write_config(extra=extra)), {})
    with pytest.raises(ConfigError) as caught:
        check_exposure(settings, environ, "0.0.0.0")
    assert caught.value.key == "serve.token_env"
    check_exposure(settings, environ, "127.0.0.1")  # loopback is always fine


def test_a_public_address_with_a_token_is_allowed(write_config):
    from pipeline.config import load_settings

    settings = load_settings(str(write_config(extra=TOKEN_CONFIG)), {})
    check_exposure(settings, {TOKEN_ENV: TOKEN}, "0.0.0.0")


def test_serve_on_a_public_address_without_a_token_exits_2_naming_the_key(
    followup, write_config, monkeypatch
):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = write_config(extra=TOKEN_CONFIG)
    result = followup("serve", "--host", "0.0.0.0", "--port", "1", "--config", str(config))
    assert result.code == 2
    assert "serve.token_env" in result.err and TOKEN_ENV in result.err
    assert "Traceback" not in result.err
