"""Map domain errors to HTTP answers: JSON ``{"detail": ...}``, never a trace or SQL."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import base_url
from planning.db import is_statement_timeout
from planning.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    MultipleMatches,
    NotFound,
    NotReached,
    OutsideServiceArea,
    PayloadTooLarge,
    PlanningError,
    QueryFailed,
    QueryTooLong,
)

log = logging.getLogger("api")

# One table from domain error to status.
STATUS: dict[type[PlanningError], int] = {
    MultipleMatches: 300,
    QueryTooLong: 503,
    NotReached: 503,
    QueryFailed: 500,
    NotFound: 404,
    PayloadTooLarge: 413,
    OutsideServiceArea: 422,
    InvalidInput: 422,
    Conflict: 409,
    DatabaseUnavailable: 503,
}
RETRY_AFTER_S = "5"
DB_DOWN = "the database is unavailable; try again shortly"
TOO_LONG = "the query took too long"


def with_links(
    matches: list[dict[str, object]], request: Request, path: str | None = None
) -> list[dict[str, object]]:
    """Add to each match the link that names it uniquely: ``path`` (default: the request's
    own) with its id, the request's other parameters kept."""
    base = base_url(request)
    query = {k: v for k, v in request.query_params.items() if k != "id"}
    out = []
    for m in matches:
        where = request.url.path if path is None else path.format(**m)
        link = f"{base}{where}?{urlencode({**query, 'id': m['id']})}"
        out.append({**m, "link": link})
    return out


def status_of(exc: PlanningError) -> int:
    """Return the HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _validation_detail(exc: RequestValidationError) -> list[dict[str, object]]:
    out = []
    for err in exc.errors()[:20]:
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {"loc": loc, "msg": str(err.get("msg", "invalid"))[:200], "type": err.get("type")}
        )
    return out


def _timed_out(exc: DBAPIError) -> bool:
    """Tell whether a database error is a statement cancelled by the statement timeout."""
    return is_statement_timeout(exc)


def _too_long() -> JSONResponse:
    log.warning("statement timeout")
    return JSONResponse(
        {"detail": TOO_LONG}, status_code=503, headers={"Retry-After": RETRY_AFTER_S}
    )


def install(app: FastAPI) -> None:
    """Register the exception handlers."""

    @app.exception_handler(PlanningError)
    async def planning_error(request: Request, exc: PlanningError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": RETRY_AFTER_S} if status == 503 else None
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, MultipleMatches):
            # Each candidate with the same URL naming it by its id.
            body["matches"] = with_links(exc.matches, request)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def db_down(request: Request, exc: Exception) -> JSONResponse:
        # psycopg2 reports a statement timeout as an OperationalError (QueryCanceled).
        if isinstance(exc, DBAPIError) and _timed_out(exc):
            return _too_long()
        log.warning("database unavailable: %s", type(exc).__name__)
        return JSONResponse(
            {"detail": DB_DOWN},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER_S},
        )

    @app.exception_handler(DBAPIError)
    async def db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if _timed_out(exc):
            return _too_long()
        log.error("database error on %s: %s", request.url.path, exc.orig)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)
