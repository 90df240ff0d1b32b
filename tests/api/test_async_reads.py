"""planning.async_reads: the point lookup on asynchronous connections — replicas first and
skipped while unreachable, stale connections replaced, errors as SQLAlchemy's, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg2
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from planning.async_reads import AsyncReads, Database
from planning.location import from_projected
from planning.lookup import point_answer, point_lookup, point_params
from tests.api import dataset as ds
from tests.api.conftest import free_port
from tests.api.proxy import Relay

AREA = (102.0, 8.0, 110.0, 23.5)
LOC = from_projected(*ds.P_DETAIL, 9214, AREA)  # two plans, a parcel
PARAMS = point_params(LOC, date.today())


def _db(url: str, name: str = "test-async") -> Database:
    engine = create_engine(url)
    try:
        return Database.of(engine, {"application_name": name, "connect_timeout": 3})
    finally:
        engine.dispose()


def _via(relay: Relay, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=relay.port).render_as_string(False)


@pytest.fixture
def relay(api_url: str) -> Iterator[Relay]:
    u = make_url(api_url)
    r = Relay((u.host or "127.0.0.1", int(u.port or 5432)))
    r.start()
    yield r
    r.stop()


def _expected(api_url: str) -> dict[str, Any]:
    engine = create_engine(api_url)
    try:
        with engine.connect() as conn:
            return point_lookup(conn, LOC, date.today())
    finally:
        engine.dispose()


def test_answer_equals_the_threaded_path(api_url: str) -> None:
    reads = AsyncReads(_db(api_url), [])

    async def go() -> list[dict[str, Any]]:
        rows = [await reads.fetch("lookup_point", PARAMS) for _ in range(3)]
        assert len(reads.primary.idle) == 1  # one connection, reused, prepared once
        return rows

    rows = asyncio.run(go())
    reads.close()
    expected = _expected(api_url)
    assert expected["plans"] and expected["parcel"]
    for row in rows:
        assert point_answer(row, LOC, date.today()) == expected


def test_replica_first_then_primary_while_it_is_down(api_url: str, relay: Relay) -> None:
    primary, replica = _db(api_url), _db(_via(relay, api_url), "test-async-read")
    reads = AsyncReads(primary, [replica], retry_after_s=1.0)

    async def go() -> None:
        await reads.fetch("lookup_point", PARAMS)
        assert (len(replica.idle), len(primary.idle)) == (1, 0)  # the replica answered
        relay.stop()  # its connection breaks under the next statement
        row = await reads.fetch("lookup_point", PARAMS)
        assert row["zones"]
        assert (len(replica.idle), len(primary.idle)) == (0, 1)  # the primary answered
        relay.start()
        await reads.fetch("lookup_point", PARAMS)  # still skipped: retry_after_s not over
        assert (len(replica.idle), len(primary.idle)) == (0, 1)
        await asyncio.sleep(1.1)  # the skip interval is over
        await reads.fetch("lookup_point", PARAMS)
        assert len(replica.idle) == 1

    asyncio.run(go())
    reads.close()


def test_a_stale_connection_is_replaced_not_reported(api_url: str, relay: Relay) -> None:
    reads = AsyncReads(_db(_via(relay, api_url)), [])

    async def go() -> None:
        first = await reads.fetch("lookup_point", PARAMS)
        relay.stop()  # a database restart: the idle connection is dead
        relay.start()
        assert await reads.fetch("lookup_point", PARAMS) == first

    asyncio.run(go())
    reads.close()


def test_primary_unreachable_is_an_operational_error() -> None:
    reads = AsyncReads(_db(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x"), [])
    with pytest.raises(OperationalError) as caught:
        asyncio.run(reads.fetch("lookup_point", PARAMS))
    assert isinstance(caught.value.orig, psycopg2.OperationalError)


def test_cancelled_statement_drops_its_connection(api_url: str) -> None:
    """A request cancelled while its statement waits on a lock: the connection is closed, not
    returned mid-statement, and the next lookup works."""
    reads = AsyncReads(_db(api_url), [])
    u = make_url(api_url)
    blocker = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
    )

    async def go() -> None:
        await reads.fetch("lookup_point", PARAMS)
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE planning.zone_piece IN ACCESS EXCLUSIVE MODE")
            task = asyncio.create_task(reads.fetch("lookup_point", PARAMS))
            await asyncio.sleep(0.3)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert reads.primary.idle == []
        blocker.rollback()
        assert (await reads.fetch("lookup_point", PARAMS))["zones"]

    try:
        asyncio.run(go())
    finally:
        blocker.close()
        reads.close()


def test_statement_error_keeps_the_connection(api_url: str) -> None:
    """A statement that fails (a bad parameter) is an error of the statement: the connection
    stays in the pool and serves the next one."""
    reads = AsyncReads(_db(api_url), [])

    async def go() -> None:
        await reads.fetch("lookup_point", PARAMS)
        conn = reads.primary.idle[0]
        with pytest.raises(DBAPIError) as caught:
            await reads.fetch("lookup_point", {**PARAMS, "epsg": "not a number"})
        assert "invalid input syntax" in str(caught.value)
        assert reads.primary.idle == [conn]
        assert (await reads.fetch("lookup_point", PARAMS))["zones"]

    asyncio.run(go())
    reads.close()
