"""Request dependencies: a database connection, the settings, common query parameters."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from planning import clock
from planning.errors import InvalidInput
from planning.settings import Settings

log = logging.getLogger("api")


def engine_of(request: Request) -> Engine:
    """Return the app's engine (owned by the lifespan)."""
    engine: Engine = request.app.state.engine
    return engine


def _close(conn: Connection) -> None:
    try:
        conn.close()
    except SQLAlchemyError as exc:
        # The connection is closed after the answer has started on its way: a database that
        # goes away just then costs the connection (the pool drops it), not the answer.
        log.warning("closing a database connection failed: %s", type(exc).__name__)


def get_conn(request: Request) -> Iterator[Connection]:
    """Yield a pooled connection for reading (a replica when configured)."""
    conn: Connection = request.app.state.reader.connect()
    try:
        yield conn
    finally:
        _close(conn)


# How long a request waits for a database connection before a 503 (the pool's pool_timeout).
READ_WAIT_S = 5.0


async def fetch_row(request: Request, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run the prepared SQL file ``name`` on the event loop (planning.async_reads); return its
    row. Requests queue for one of the app's read slots first, first come first served, so at
    most ``pool_size`` statements run at once and as many connections stay open."""
    slots: asyncio.Semaphore = request.app.state.read_slots
    if slots.locked():
        try:
            async with asyncio.timeout(READ_WAIT_S):  # no task per wait, unlike wait_for
                await slots.acquire()
        except TimeoutError:
            raise PoolTimeout(f"no database connection free within {READ_WAIT_S:g} s") from None
    else:
        await slots.acquire()
    try:
        row: dict[str, Any] = await request.app.state.async_reads.fetch(name, params)
        return row
    finally:
        slots.release()


def json_response(body: Any) -> Response:
    """Answer JSON serialised once, by json.dumps (no response-model validation on hot paths:
    tests check those answers against the OpenAPI schema)."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


def base_url(request: Request) -> str:
    """Return the service's public base URL (PLANNING_PUBLIC_URL, else the request's)."""
    configured = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


Conn = Annotated[Connection, Depends(get_conn)]
AppSettings = Annotated[Settings, Depends(get_settings)]


async def as_of(
    on: Annotated[
        date | None,
        Query(alias="date", description="answer as of this date (YYYY-MM-DD); default today"),
    ] = None,
) -> date:
    """Return the as-of date of a request."""
    return checked_date(on)


def checked_date(on: date | None) -> date:
    """Return an as-of date (default today) after checking its range."""
    if on is not None and not (date(1900, 1, 1) <= on <= date(2200, 1, 1)):
        raise InvalidInput("date must lie between 1900-01-01 and 2200-01-01")
    return on or clock.today()


AsOf = Annotated[date, Depends(as_of)]
