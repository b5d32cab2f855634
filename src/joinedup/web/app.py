"""create_app(): the FastAPI application, its middleware, error pages and routers."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from joinedup.config import Settings, get_settings
from joinedup.db.session import DatabaseUnavailable
from joinedup.web.authz import NotSignedIn
from joinedup.web.routers import ROUTERS
from joinedup.web.security import SecurityHeaders, csrf_protect
from joinedup.web.templating import render

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

ERROR_PAGES = {
    400: ("There is a problem with the request", "errors/400.html"),
    403: ("You do not have permission to see this page", "errors/403.html"),
    404: ("Page not found", "errors/404.html"),
    405: ("Page not found", "errors/404.html"),
    500: ("Sorry, there is a problem with the service", "errors/500.html"),
    503: ("Sorry, the service is unavailable", "errors/503.html"),
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="joinedup",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings

    # Order matters: the outermost middleware is added last. Security headers wrap everything,
    # including error pages; sessions sit inside so CSRF and sign-in can read them.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie="joinedup_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.https,
    )
    app.add_middleware(SecurityHeaders, https=settings.https, on_error=_server_error_page)

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _add_error_handlers(app)
    return app


def error_page(request: Request, status: int) -> HTMLResponse:
    title, template = ERROR_PAGES.get(status, ERROR_PAGES[500])
    return render(request, template, {"title": title, "status": status}, status_code=status)


def _server_error_page(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    if isinstance(exc, OperationalError | DatabaseUnavailable):
        return error_page(request, 503)
    return error_page(request, 500)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _sign_in_first(request: Request, _exc: NotSignedIn) -> Response:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        from urllib.parse import quote

        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307, 308) and exc.headers:
            return Response(status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 403 and exc.detail == "csrf":
            request.session.pop("csrf", None)
        return error_page(request, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, _exc: RequestValidationError) -> Response:
        # Path or query values of the wrong type (e.g. /collaborations/abc) are not found.
        return error_page(request, 404)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", exc.orig)
        return error_page(request, 503)

    @app.exception_handler(DatabaseUnavailable)
    async def _database_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        log.error("%s", exc)
        return error_page(request, 503)

