"""Database connections the tile service keeps for itself: autocommit, statements prepared once."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg2
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from planning.db import ReadPool

# Connections kept per process. A cold tile is bound by the database's CPU, so a few
# connections keep it busy; more would only queue inside PostgreSQL.
SIZE = 4
WAIT_S = 5.0  # like the engine's pool_timeout: then 503
RECYCLE_S = 1800.0  # like the engine's pool_recycle


class _Held:
    """One connection of our own, with the statements prepared on it."""

    __slots__ = ("dbapi", "opened", "prepared")

    def __init__(self, dbapi: Any) -> None:
        self.dbapi = dbapi
        self.opened = time.monotonic()
        self.prepared: set[str] = set()


class TileConnections:
    """A few connections taken out of the engine's pool for good (detached, so they do not
    count against it), used directly through the driver.

    A tile then costs one round trip and no per-request bookkeeping: no pool checkout and
    check-in, no isolation level set and reset, no BEGIN and ROLLBACK. Connections come from
    the engine (or the replica pool, which picks a replica that answers); one found broken is
    dropped and the statement retried once on a new one."""

    def __init__(self, engine: Engine | ReadPool, size: int = SIZE) -> None:
        self.engine = engine
        self.size = size
        self._idle: list[_Held] = []
        self._open = 0
        self._cond = threading.Condition()

    def _connect(self) -> _Held:
        conn = self.engine.connect()
        fairy = conn.connection
        dbapi: Any = fairy.dbapi_connection
        # The pool forgets it (and may open another in its place); closing it is ours to do.
        fairy.detach()
        dbapi.autocommit = True
        return _Held(dbapi)

    def _acquire(self) -> tuple[_Held | None, bool]:
        """Return an idle connection (None: open one) and whether it has been used before."""
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop(), True
                if self._open < self.size:
                    self._open += 1
                    return None, False
                if not self._cond.wait(deadline - time.monotonic()):
                    raise PoolTimeout("no tile database connection free")

    def _release(self, held: _Held | None, healthy: bool) -> None:
        if held is not None and not (
            healthy and time.monotonic() - held.opened < RECYCLE_S and not held.dbapi.closed
        ):
            held.dbapi.close()
            held = None
        with self._cond:
            if held is None:
                self._open -= 1
            else:
                self._idle.append(held)
            self._cond.notify()

    def execute(self, sql: str, params: Any = None, prepare: tuple[str, str] | None = None) -> Any:
        """Run one statement and return its first row; ``prepare`` = (name, PREPARE command)
        is run first on a connection that has not prepared that statement yet."""
        held, reused = self._acquire()
        healthy = False
        try:
            for attempt in (1, 2):
                try:
                    if held is None:
                        held = self._connect()
                    if prepare is not None and prepare[0] not in held.prepared:
                        self._run(held, prepare[1], None)
                        held.prepared.add(prepare[0])
                    row = self._run(held, sql, params)
                    healthy = True
                    return row
                except psycopg2.Error as exc:
                    broken = held is not None and bool(held.dbapi.closed)
                    if broken and reused and attempt == 1:
                        # Stale after a database restart or a failover: once more, afresh.
                        held.dbapi.close()  # type: ignore[union-attr]
                        held, reused = None, False
                        continue
                    raise DBAPIError.instance(
                        sql, params, exc, psycopg2.Error, connection_invalidated=broken
                    ) from exc
            raise AssertionError("unreachable")
        finally:
            self._release(held, healthy)

    def _run(self, held: _Held, sql: str, params: Any) -> Any:
        """Send one statement (tests count the round trips here)."""
        with held.dbapi.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone() if cur.description else None

    def dispose(self) -> None:
        """Close the idle connections."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for held in idle:
            held.dbapi.close()
