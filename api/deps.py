"""Request dependencies: a database connection, the settings, common query parameters."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from planning.errors import InvalidInput
from planning.settings import Settings

log = logging.getLogger("api")
T = TypeVar("T")


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


async def read(request: Request, work: Callable[[Connection], T]) -> T:
    """Run ``work`` on a pooled reading connection in one trip to a reading thread.

    What a sync endpoint with the ``Conn`` dependency does in three trips (the dependency's
    entry, the endpoint, the dependency's exit), for the hot paths. Requests queue for one of
    the app's read slots first, so they never wait inside the pool."""
    slots: asyncio.Semaphore = request.app.state.read_slots
    if slots.locked():
        try:
            await asyncio.wait_for(slots.acquire(), READ_WAIT_S)
        except TimeoutError:
            raise PoolTimeout(f"no database connection free within {READ_WAIT_S:g} s") from None
    else:
        await slots.acquire()

    def run() -> T:
        conn: Connection = request.app.state.reader.connect()
        try:
            return work(conn)
        finally:
            _close(conn)

    try:
        # The app's own threads, one per slot, so one is always free: a plain executor hop
        # costs less than the framework's thread pool with its capacity limiter and cancel
        # scopes (the work holds no context variables).
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(request.app.state.read_threads, run)
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
    return on or date.today()


AsOf = Annotated[date, Depends(as_of)]
