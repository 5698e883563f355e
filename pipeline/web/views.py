"""The review pages: the match list, labelling, the timeline, feed health and exports.

Handlers are thin: parse the request, ask ``Store`` / ``ReviewQueries`` in a worker thread
(the database driver blocks), render a template. ``Web`` holds what they share.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.templating import Jinja2Templates

from pipeline.cli.review import matches_csv
from pipeline.config import Settings
from pipeline.storage.review import Facets, ReviewQueries
from pipeline.storage.store import Store
from pipeline.stories import FOLD_APART, same_event, signature
from pipeline.types import Match
from pipeline.web.charts import timeline_chart
from pipeline.web.filters import PER_PAGE, FilterState, parse_filters
from pipeline.web.rows import make_row
from pipeline.web.security import check_csrf, safe_next

FACETS_TTL = 60.0  # seconds: the filter form's choices change slowly, the list does not
EXPORT_MAX = 200_000
VERDICTS = ("relevant", "irrelevant")


@dataclass
class Web:
    store: Store
    review: ReviewQueries
    settings: Settings
    templates: Jinja2Templates
    clock: Callable[[], datetime]
    token: str | None = None
    entities: tuple[str, ...] = ()
    _facets: tuple[float, Facets] | None = field(default=None, repr=False)

    def facets(self) -> Facets:
        now = time.monotonic()
        if self._facets is None or now - self._facets[0] > FACETS_TTL:
            self._facets = (now, self.review.facets())
        return self._facets[1]

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.update(
            csrf=request.state.csrf, locked=self.token is not None, path=request.url.path
        )
        return self.templates.TemplateResponse(request, name, context, status_code=status)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


async def match_list(request: Request) -> Response:
    web, state = web_of(request), parse_filters(request.query_params)
    data = await run_in_threadpool(_list_data, web, state)
    return web.render(request, "matches.html", state=state, **data)


def _list_data(web: Web, state: FilterState) -> dict[str, Any]:
    page = web.review.matches(state.paged())
    total = web.review.count(state.filter)
    others = web.review.siblings(page)
    versions = language_versions(page, web.review.nearby(page, 2 * FOLD_APART))
    pages = max(1, -(-total // PER_PAGE))
    return {
        "rows": [make_row(m, _story_of(m, others, versions)) for m in page],
        "total": total,
        "pages": pages,
        "first": (state.page - 1) * PER_PAGE + 1 if page else 0,
        "last": (state.page - 1) * PER_PAGE + len(page),
        "facets": web.facets(),
        "entities": web.entities,
    }


def language_versions(page: list[Match], nearby: list[Match]) -> dict[int, list[Match]]:
    """match id → the other language versions of its event among ``nearby``: stored story
    keys come from one language's words, so the page folds languages as digests do."""
    signatures = {m.id: signature(m) for m in [*page, *nearby]}
    return {
        m.id: [
            o
            for o in nearby
            if o.id != m.id and same_event(m, o, signatures[m.id], signatures[o.id])
        ]
        for m in page
    }


def _story_of(
    match: Match, others: dict[int, list[Match]], versions: dict[int, list[Match]]
) -> list[Match]:
    """Its story's other matches, by key and by language, newest first, each once."""
    found = {o.id: o for o in [*others.get(match.id, ()), *versions.get(match.id, ())]}
    return sorted(found.values(), key=lambda o: (o.matched_at, o.id), reverse=True)


async def label_match(request: Request) -> Response:
    web = web_of(request)
    if not await check_csrf(request):
        return PlainTextResponse("followup: missing or wrong CSRF token", status_code=403)
    form = await request.form()
    verdict = form.get("label")
    if verdict not in VERDICTS:
        return PlainTextResponse("followup: label must be relevant or irrelevant", 400)
    match_id: int = request.path_params["match_id"]
    found = await run_in_threadpool(web.store.label_match, match_id, str(verdict), web.clock())
    if not found:
        return PlainTextResponse(f"followup: no match with id {match_id}", status_code=404)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"id": match_id, "label": verdict})
    target = safe_next(str(form.get("next") or "/"))
    return RedirectResponse(f"{target}#m{match_id}", status_code=303)


async def timeline(request: Request) -> Response:
    web, state = web_of(request), parse_filters(request.query_params)
    by = "lang" if request.query_params.get("by") == "lang" else "entity"
    found = await run_in_threadpool(web.review.timeline, state.filter, by, web.clock())
    facets = await run_in_threadpool(web.facets)
    return web.render(
        request,
        "timeline.html",
        state=state,
        by=by,
        timeline=found,
        chart=timeline_chart(found),
        facets=facets,
        entities=web.entities,
    )


async def feeds(request: Request) -> Response:
    web = web_of(request)
    health = await run_in_threadpool(web.store.feed_health, web.clock())
    return web.render(request, "feeds.html", feeds=health, now=web.clock())


async def export(request: Request) -> Response:
    """The current filter, every match of it, streamed: memory stays flat for any size."""
    web, state = web_of(request), parse_filters(request.query_params)
    fmt = request.path_params["fmt"]
    chunks = web.review.iter_matches(replace(state.filter, limit=EXPORT_MAX))
    stamp = web.clock().strftime("%Y%m%d-%H%M")
    disposition = {"content-disposition": f'attachment; filename="followup-{stamp}.{fmt}"'}
    if fmt == "csv":
        return StreamingResponse(_csv_chunks(chunks), media_type="text/csv", headers=disposition)
    return StreamingResponse(
        _json_chunks(chunks), media_type="application/json", headers=disposition
    )


def _csv_chunks(chunks: Iterator[list[Match]]) -> Iterator[str]:
    first = True
    for found in chunks:
        text = matches_csv(found)
        # Every chunk comes with the header row; only the first keeps it.
        yield text if first else text.split("\r\n", 1)[1]
        first = False
    if first:
        yield matches_csv([])


def _json_chunks(chunks: Iterator[list[Match]]) -> Iterator[str]:
    separator = "[\n"
    for found in chunks:
        for match in found:
            yield separator + json.dumps(match.to_json(), ensure_ascii=False)
            separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"
