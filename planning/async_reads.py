"""Prepared reads on asynchronous psycopg2 connections, run on the event loop itself.

The hottest read (the point lookup) used to hop to a thread and back for its one statement.
On two cores each hop is a thread wake-up and a fight for the GIL with the event loop: about
0.6 ms of the 2 ms a lookup took on one connection. psycopg2's asynchronous mode lets the event
loop send the statement and wait for the socket instead.

``AsyncReads`` keeps, per database, the idle connections (opened on first need; at most as many
as callers run at once, which the caller bounds). Replicas come first, round robin, as in
``planning.db.ReadPool``: one that cannot be reached, or whose connection breaks, is skipped for
a few seconds and the statement runs on the next one, then on the primary. Errors are raised as
SQLAlchemy's (what the service's error handlers map to answers): a primary that cannot be
reached is an ``OperationalError``, a statement timeout the driver's ``QueryCanceled`` wrapped
the same way. A connection is reused only when its statement ended normally.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions as pgx
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from planning.db import ReplicaTurns
from planning.lookup import prepared

CONNECT_TIMEOUT_S = 3.0


class Unreachable(Exception):
    """A database could not be reached, or its connection broke during the statement."""


@dataclass
class Database:
    """Where to connect (psycopg2.connect keywords) and the connections idle there."""

    dsn: dict[str, Any]
    idle: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, engine: Engine, extra: Mapping[str, Any]) -> Database:
        """Connect where ``engine`` connects, with ``extra`` keywords (application name...)."""
        _, kwargs = engine.dialect.create_connect_args(engine.url)
        return cls({**kwargs, **extra})


async def _ready(conn: Any) -> None:
    """Wait until an asynchronous connection has finished what it was asked (poll loop)."""
    loop = asyncio.get_running_loop()
    while True:
        state = conn.poll()
        if state == pgx.POLL_OK:
            return
        if state == pgx.POLL_READ:
            watch, unwatch = loop.add_reader, loop.remove_reader
        elif state == pgx.POLL_WRITE:
            watch, unwatch = loop.add_writer, loop.remove_writer
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        fd = conn.fileno()
        done = loop.create_future()
        watch(fd, done.set_result, None)
        try:
            await done
        finally:
            unwatch(fd)


def _close(conn: Any) -> None:
    with contextlib.suppress(psycopg2.Error):  # closing a broken connection
        conn.close()


class AsyncReads:
    """Run prepared read statements on asynchronous connections (see the module's text)."""

    def __init__(
        self, primary: Database, replicas: list[Database], retry_after_s: float = 5.0
    ) -> None:
        self.primary = primary
        self.replicas = replicas
        self.turns = ReplicaTurns(len(replicas), retry_after_s)
        self._prepared: dict[int, set[str]] = {}

    async def fetch(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run the SQL file ``name`` as a prepared statement; return its one row by column."""
        for idx in self.turns.order():
            try:
                return await self._fetch(self.replicas[idx], name, params)
            except Unreachable:
                self.turns.failed(idx)
        try:
            return await self._fetch(self.primary, name, params)
        except Unreachable as exc:
            # What the error handlers know as "the database is unavailable".
            cause = exc.__cause__
            orig = (
                cause
                if isinstance(cause, psycopg2.OperationalError)
                else psycopg2.OperationalError(str(cause or "unreachable"))
            )
            raise DBAPIError.instance(None, None, orig, psycopg2.Error) from cause

    async def _connect(self, db: Database) -> Any:
        try:
            conn = psycopg2.connect(**db.dsn, async_=1)
        except psycopg2.Error as exc:
            raise Unreachable() from exc
        try:
            await asyncio.wait_for(_ready(conn), CONNECT_TIMEOUT_S)
        except psycopg2.Error as exc:
            _close(conn)
            raise Unreachable() from exc
        except TimeoutError:
            _close(conn)
            raise Unreachable() from psycopg2.OperationalError("timeout expired")
        except BaseException:
            _close(conn)
            raise
        self._prepared[id(conn)] = set()
        return conn

    def _drop(self, conn: Any) -> None:
        self._prepared.pop(id(conn), None)
        _close(conn)

    async def _fetch(self, db: Database, name: str, params: dict[str, Any]) -> dict[str, Any]:
        if db.idle:
            try:
                return await self._run(db, db.idle.pop(), name, params)
            except Unreachable:
                pass  # an idle connection gone stale (a restart): once more on a new one
        return await self._run(db, await self._connect(db), name, params)

    async def _run(
        self, db: Database, conn: Any, name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        stmt = prepared(name)
        args = stmt.arguments(params)
        try:
            cur = conn.cursor()
            done = self._prepared[id(conn)]
            if name not in done:
                cur.execute(stmt.prepare)
                await _ready(conn)
                done.add(name)
            cur.execute(stmt.execute, args)
            await _ready(conn)
            row = cur.fetchone()
            columns = [d[0] for d in cur.description or ()]
            cur.close()
        except psycopg2.Error as exc:
            if conn.closed or isinstance(exc, psycopg2.InterfaceError):
                self._drop(conn)
                raise Unreachable() from exc
            cur.close()  # a statement's error: the cursor exists
            db.idle.append(conn)  # the statement failed; the connection is fine
            raise DBAPIError.instance(stmt.execute, args, exc, psycopg2.Error) from exc
        except BaseException:
            # Cancelled while the statement ran: the connection is mid-statement, not reusable.
            self._drop(conn)
            raise
        db.idle.append(conn)
        if row is None:
            raise RuntimeError(f"{name}: the statement returned no row")
        return dict(zip(columns, row, strict=True))

    def close(self) -> None:
        """Close every idle connection."""
        for db in (self.primary, *self.replicas):
            while db.idle:
                self._drop(db.idle.pop())
