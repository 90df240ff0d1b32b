"""Database engines and migrations."""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SATimeout

from planning.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from alembic.config import Config


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "planning") -> Engine:
    """Build an engine with bounded pool waits and a statement timeout."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"application_name": application_name, "connect_timeout": 5},
    )


def alembic_config(url: str) -> Config:
    """Return an Alembic config for the project's migrations pointed at ``url``."""
    # Imported here: Alembic costs a quarter of a second at the start of every command.
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT) / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (PostGIS created when missing)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def database_url(settings: Settings) -> str:
    """Return the URL everything uses: the setting, or the local cluster's."""
    return settings.resolved_database_url()


class ReplicaTurns:
    """Round robin over ``n`` replicas; one that failed is skipped for ``retry_after_s``."""

    def __init__(self, n: int, retry_after_s: float = 5.0) -> None:
        self.n = n
        self.retry_after_s = retry_after_s
        self._next = itertools.count()
        self._down_until: dict[int, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[int]:
        """Return the replicas to try now, in turn (empty: none configured or none up)."""
        if not self.n:
            return []
        start = next(self._next)
        now = time.monotonic()
        turns = ((start + i) % self.n for i in range(self.n))
        return [i for i in turns if self._down_until.get(i, 0.0) <= now]

    def failed(self, idx: int) -> None:
        """Skip replica ``idx`` for a while."""
        with self._lock:
            self._down_until[idx] = time.monotonic() + self.retry_after_s


class ReadPool:
    """Reads spread over replica engines, round robin; a replica that cannot be reached is
    skipped for a few seconds; with no replica answering (or none configured) the primary."""

    def __init__(self, primary: Engine, replicas: list[Engine], retry_after_s: float = 5.0):
        self.primary = primary
        self.replicas = replicas
        self.turns = ReplicaTurns(len(replicas), retry_after_s)

    def connect(self) -> Connection:
        """Return a connection for reading."""
        for idx in self.turns.order():
            try:
                return self.replicas[idx].connect()
            except (OperationalError, SATimeout):
                self.turns.failed(idx)
        return self.primary.connect()

    def dispose(self) -> None:
        """Close every pooled connection."""
        for e in self.replicas:
            e.dispose()


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Read everything one answer states from one snapshot: a REPEATABLE READ, READ ONLY
    transaction on ``conn`` (a publish committed meanwhile is either wholly in it or not).

    The isolation level is set by SQL, never through the driver's connection settings: a
    driver call on a connection the server has just closed raises the driver's own error,
    which would pass for a bug rather than an unreachable database."""
    if conn in _IN_SNAPSHOT:
        yield conn  # already inside one: the outer answer's snapshot covers this part
        return
    if conn.in_transaction() or conn.invalidated:
        # An autocommit connection's autobegun (empty) transaction, or what is left of a
        # connection lost before: the pool gives a new one on the next statement.
        conn.rollback()
    _IN_SNAPSHOT.add(conn)
    try:
        if getattr(conn.connection.dbapi_connection, "autocommit", False):
            # The read pools are in autocommit: the transaction is the server's alone.
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            except BaseException:
                with suppress(SQLAlchemyError):
                    conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        else:
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn
    finally:
        _IN_SNAPSHOT.discard(conn)


_IN_SNAPSHOT: weakref.WeakSet[Connection] = weakref.WeakSet()


QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled (by statement_timeout)


def is_statement_timeout(exc: BaseException) -> bool:
    """Tell whether a database error is a statement cancelled by its timeout (by SQLSTATE,
    whatever the server's language)."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "pgcode", None) == QUERY_CANCELED
