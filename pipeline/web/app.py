"""``create_app``: the review page, ``/healthz`` and ``/metrics`` as one Starlette app.

Server-rendered with Jinja2 (autoescape on); one small static script enhances the label
buttons and the page works without it. The app receives its store: ``server.serve`` (or a
test) opens the database, the app never does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.profile import profile_for_seed
from pipeline.storage.review import ReviewQueries
from pipeline.storage.store import Store
from pipeline.web import views
from pipeline.web.metrics import health, metrics_page
from pipeline.web.security import SecurityMiddleware, auth_cookie, check_csrf, safe_next, same

HERE = Path(__file__).parent


def create_app(
    store: Store,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The web app over ``store``. The access token is read from the variable
    ``[serve] token_env`` names; when it is set, every page but ``/healthz`` requires it."""
    name = settings.serve.token_env
    token = (environ.get(name) or None) if name else None
    web = views.Web(
        store=store,
        review=ReviewQueries(store.engine),
        settings=settings,
        templates=_templates(),
        clock=clock or (lambda: datetime.now(UTC)),
        token=token,
        entities=_entity_names(settings),
    )
    app = Starlette(routes=_routes(), middleware=[Middleware(SecurityMiddleware, token=token)])
    app.state.web = web
    return app


def _routes() -> list[Route | Mount]:
    return [
        Route("/", views.match_list),
        Route("/matches/{match_id:int}/label", views.label_match, methods=["POST"]),
        Route("/timeline", views.timeline),
        Route("/feeds", views.feeds),
        Route("/export.{fmt:str}", _export),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    return Jinja2Templates(env=env)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _entity_names(settings: Settings) -> tuple[str, ...]:
    """Entity names of the configured seeds' profiles, offered by the entity filter."""
    names: dict[str, None] = {}
    for seed in settings.seeds:
        source = str(seed.profile_path or seed.article_path)
        try:
            profile = profile_for_seed(seed.id, seed.article_text, seed.profile_text, source)
        except ConfigError:
            continue  # the page still works; `followup poll` reports the broken profile
        names.update(dict.fromkeys(entity.name for entity in profile.entities))
    return tuple(names)


async def _export(request: Request) -> Response:
    if request.path_params["fmt"] not in ("csv", "json"):
        return Response("followup: export as .csv or .json", status_code=404)
    return await views.export(request)


async def healthz(request: Request) -> Response:
    status, body = await run_in_threadpool(health, views.web_of(request).store)
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})


async def metrics(request: Request) -> Response:
    web = views.web_of(request)
    status, body, media = await run_in_threadpool(metrics_page, web.store, web.clock)
    return Response(body, status_code=status, media_type=media)


async def login(request: Request) -> Response:
    web = views.web_of(request)
    target = safe_next(request.query_params.get("next"))
    if web.token is None:
        return RedirectResponse(target, status_code=303)
    if request.method == "GET":
        return web.render(request, "login.html", target=target, error=None)
    if not await check_csrf(request):
        return Response("followup: missing or wrong CSRF token", status_code=403)
    form = await request.form()
    given = form.get("token")
    if not same(given if isinstance(given, str) else None, web.token):
        return web.render(request, "login.html", 401, target=target, error="Wrong token.")
    response = RedirectResponse(safe_next(str(form.get("next") or target)), status_code=303)
    response.headers.append("set-cookie", auth_cookie(web.token, request))
    return response


async def logout(request: Request) -> Response:
    if not await check_csrf(request):
        return Response("followup: missing or wrong CSRF token", status_code=403)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie("followup_auth", path="/")
    return response
