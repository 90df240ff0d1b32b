"""planning.db.snapshot: every statement of one answer sees the same state of the data, on the
service's autocommit read connections as on ordinary ones, and a connection the server has
closed fails as an unreachable database, not as a driver error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from planning.db import make_engine, snapshot

VERSION = text("SELECT version FROM planning.data_version")
BUMP = text("UPDATE planning.data_version SET version = version + 1")


@pytest.mark.parametrize("autocommit", [True, False])
def test_a_commit_meanwhile_is_not_seen_inside(db_url: str, autocommit: bool) -> None:
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    reader = create_engine(db_url, **options)  # type: ignore[arg-type]
    writer = make_engine(db_url, pool_size=1)
    try:
        with reader.connect() as conn:
            with snapshot(conn):
                before = conn.execute(VERSION).scalar_one()
                with writer.begin() as w:
                    w.execute(BUMP)
                assert conn.execute(VERSION).scalar_one() == before
                with snapshot(conn):  # nested: the same snapshot
                    assert conn.execute(VERSION).scalar_one() == before
                with pytest.raises(DBAPIError, match="read-only"):
                    conn.execute(BUMP)
            with snapshot(conn):
                assert conn.execute(VERSION).scalar_one() == before + 1
    finally:
        reader.dispose()
        writer.dispose()


def test_a_closed_connection_is_an_unreachable_database(db_url: str) -> None:
    reader = create_engine(db_url, isolation_level="AUTOCOMMIT")
    admin = make_engine(db_url, pool_size=1)
    try:
        with reader.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.begin() as a:
                a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            with pytest.raises(OperationalError), snapshot(conn):
                conn.execute(VERSION)
            # The connection serves again (a new one from the pool).
            with snapshot(conn):
                assert conn.execute(VERSION).scalar_one() >= 0
    finally:
        reader.dispose()
        admin.dispose()
