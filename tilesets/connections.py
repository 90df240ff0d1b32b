"""Database connections the tile service keeps for itself: one per thread of its own, in
autocommit, statements prepared once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg2
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from planning.db import ReadPool

# Threads (and so connections) per process, as many as the engine's default pool_size. A cold
# tile is bound by the database's CPU: a few keep it busy, many more would only queue inside
# PostgreSQL and contend for the GIL here (and on a machine shared with other work, far fewer
# than other services' pools get a smaller share of the CPU).
SIZE = 8
WAIT_S = 5.0  # like the engine's pool_timeout: a tile not started by then is a 503
RECYCLE_S = 1800.0  # like the engine's pool_recycle
T = TypeVar("T")


class _Held:
    """One connection of our own, with the statements prepared on it."""

    __slots__ = ("dbapi", "opened", "prepared")

    def __init__(self, dbapi: Any) -> None:
        self.dbapi = dbapi
        self.opened = time.monotonic()
        self.prepared: set[str] = set()


class TileConnections:
    """A few threads, each with a connection taken out of the engine's pool for good (detached,
    so it does not count against the pool), used directly through the driver.

    A cold tile then costs one thread hop and one round trip, and no per-request bookkeeping:
    no pool checkout and check-in, no isolation level set and reset, no BEGIN and ROLLBACK.
    Connections come from the engine (or the replica pool, which picks a replica that
    answers); one found broken is dropped and the statement retried once on a new one."""

    def __init__(self, engine: Engine | ReadPool, size: int = SIZE) -> None:
        self.engine = engine
        self.size = size
        self._executor = ThreadPoolExecutor(size, thread_name_prefix="tiles")
        self._local = threading.local()
        self._lock = threading.Lock()
        self.held: list[_Held] = []  # every open connection (tests look at them)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on one of the service's threads (where `execute` may be called)."""
        loop = asyncio.get_running_loop()
        started = threading.Event()

        def call() -> T:
            started.set()
            return fn(*args)

        future = loop.run_in_executor(self._executor, call)
        try:
            # Waiting for a free thread is bounded, like waiting for a pooled connection.
            return await asyncio.wait_for(asyncio.shield(future), WAIT_S)
        except TimeoutError:
            if started.is_set():
                return await future  # running: the statement timeout bounds it
            future.cancel()
            raise PoolTimeout("no tile database connection free") from None

    def _connect(self) -> _Held:
        conn = self.engine.connect()
        fairy = conn.connection
        dbapi: Any = fairy.dbapi_connection
        # The pool forgets it (and may open another in its place); closing it is ours to do.
        fairy.detach()
        dbapi.autocommit = True
        held = _Held(dbapi)
        with self._lock:
            self.held.append(held)
        return held

    def _drop(self, held: _Held) -> None:
        with self._lock:
            if held in self.held:
                self.held.remove(held)
        self._local.held = None
        held.dbapi.close()

    def execute(self, sql: str, params: Any = None, prepare: tuple[str, str] | None = None) -> Any:
        """Run one statement on this thread's connection and return its first row; ``prepare``
        = (name, PREPARE command) is run first on a connection that has not prepared it yet."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and time.monotonic() - held.opened > RECYCLE_S:
            self._drop(held)
            held = None
        reused = held is not None
        for attempt in (1, 2):
            try:
                if held is None:
                    held = self._local.held = self._connect()
                if prepare is not None and prepare[0] not in held.prepared:
                    self._run(held, prepare[1], None)
                    held.prepared.add(prepare[0])
                return self._run(held, sql, params)
            except psycopg2.Error as exc:
                broken = held is not None and bool(held.dbapi.closed)
                if held is not None:
                    # Broken, or in an unknown state after an error: start afresh next time.
                    self._drop(held)
                    held = None
                if broken and reused and attempt == 1:
                    # Stale after a database restart or a failover: once more, on a new one.
                    reused = False
                    continue
                raise DBAPIError.instance(
                    sql, params, exc, psycopg2.Error, connection_invalidated=broken
                ) from exc
        raise AssertionError("unreachable")

    def _run(self, held: _Held, sql: str, params: Any) -> Any:
        """Send one statement (tests count the round trips here)."""
        with held.dbapi.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone() if cur.description else None

    def dispose(self) -> None:
        """Stop the threads and close the connections."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            held, self.held = self.held, []
        for h in held:
            h.dbapi.close()
