"""The review page in headless Chromium: filter, label with one click, check the database.

A real uvicorn serves the app on 127.0.0.1 (a free port, in a thread that stops itself);
Debian's chromium is driven by Playwright. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.web import create_app
from tests.fixtures_web import NOW, Entry, store_matches

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def stories(store):
    store_matches(
        store,
        "http://127.0.0.1:9/dawn.xml",
        [
            Entry(
                "d1",
                "Alibaba Cloud to open a data centre in Karachi",
                "The Chinese firm signed an agreement with Pakistan's IT ministry on Monday.",
                url="https://dawn.example/alibaba-cloud-karachi",
                score=0.93,
                reasons=(("Alibaba Cloud", "Alibaba Cloud"), ("Pakistan", "Karachi")),
                topics=(("Cloud and data centres", "data centre"),),
                story="cloud-karachi",
            ),
            Entry(
                "d2",
                "Pakistan widens e-commerce rules for cross-border sellers",
                score=0.61,
                kind="thread",
                reasons=(("Pakistan", "Pakistan"),),
                topics=(("E-commerce", "e-commerce"),),
            ),
        ],
        NOW - timedelta(days=2),
    )
    store_matches(
        store,
        "http://127.0.0.1:9/bbc-urdu.json",
        [
            Entry(
                "b1",
                "علی بابا کلاؤڈ کراچی میں ڈیٹا سینٹر قائم کرے گا",
                lang="ur",
                score=0.88,
                reasons=(("Alibaba Cloud", "علی بابا کلاؤڈ"), ("Pakistan", "کراچی")),
                story="cloud-karachi",
            )
        ],
        NOW - timedelta(days=1),
    )
    store_matches(
        store,
        "http://127.0.0.1:9/xinhua.atom",
        [
            Entry(
                "x1",
                "阿里云将在卡拉奇建设数据中心",
                lang="zh",
                score=0.9,
                reasons=(("Alibaba Cloud", "阿里云"), ("Pakistan", "卡拉奇")),
                story="cloud-karachi",
            ),
            Entry(
                "x2",
                '<img src=x onerror="alert(1)"> Daraz opens a Lahore warehouse',
                url="javascript:alert(2)",
                score=0.81,
                reasons=(("Daraz", "Daraz"), ("Pakistan", "Lahore")),
            ),
        ],
        NOW,
    )


@pytest.fixture
def served(tmp_path: Path, store_for, write_config) -> Iterator[tuple[str, object]]:
    """The app under uvicorn on 127.0.0.1:<free port>; yields (base URL, store)."""
    import uvicorn

    url = f"sqlite:///{tmp_path / 'review.db'}"
    store = store_for(url)
    stories(store)
    settings = load_settings(str(write_config(db_url=url)), {})
    app = create_app(store, settings, {}, clock=lambda: NOW)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):  # bounded: up to 5 s for the server to come up
        if server.started:
            break
        threading.Event().wait(0.01)  # ok: polling a flag another thread sets
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
        yield page, problems
        browser.close()


def test_an_analyst_filters_labels_a_match_and_the_database_has_it(served, browser_page, tmp_path):
    base, store = served
    page, problems = browser_page
    page.goto(base + "/")
    assert page.locator("li.match").count() == 5
    page.screenshot(path=str(tmp_path / "review-list.png"), full_page=True)

    page.fill("input[name=q]", "karachi")
    page.select_option("select[name=lang]", "en")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/?q=karachi*")
    rows = page.locator("li.match")
    assert rows.count() == 1
    assert "Alibaba Cloud" in rows.first.locator("mark").first.inner_text()

    row = rows.first
    row.locator("details.others summary").click()
    assert row.locator("details.others li").count() == 2
    row.get_by_role("button", name="Relevant", exact=True).click()
    page.wait_for_selector("li.match[data-label=relevant]")
    assert row.locator(".label-state").inner_text() == "relevant"
    page.screenshot(path=str(tmp_path / "review-labelled.png"), full_page=True)

    [labelled] = [m for m in store.list_matches() if m.label]
    assert (labelled.title, labelled.label) == (
        "Alibaba Cloud to open a data centre in Karachi",
        "relevant",
    )
    page.reload()  # the label is there for the next reader too
    assert page.locator("li.match[data-label=relevant]").count() == 1
    assert problems == [], "console errors (a CSP violation would show here)"


def test_the_timeline_and_feeds_pages_render_without_errors(served, browser_page, tmp_path):
    base, _ = served
    page, problems = browser_page
    page.goto(base + "/timeline?since=2026-06-01&until=2026-06-10")
    assert page.locator("figure.chart svg polyline").count() == 3  # Pakistan, Alibaba Cloud, Daraz
    page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)
    page.goto(base + "/feeds")
    assert page.locator("table.feeds tbody tr").count() == 3
    assert problems == []
