"""The tile service's own connections: one round trip a tile, outside the pool, replaced when
broken; the tile statement renders nothing for a stale version."""

from __future__ import annotations

from pathlib import Path

import psycopg2
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import create_app
from planning.db import make_engine
from planning.revisions import data_version
from tests.tiles import dataset
from tests.tiles.conftest import identity, settings_for
from tests.tiles.test_http import Statements, fill, template
from tilesets.render import execute_tile

CENTRE = dataset.at(100, 60)


def _terminate(url: str, pids: list[int]) -> None:
    u = make_url(url)
    admin = psycopg2.connect(host=u.host, port=u.port, user=u.username, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        for pid in pids:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()


def test_tiles_use_their_own_connections_and_survive_a_lost_one(
    tiles_url: str, tmp_path: Path
) -> None:
    with TestClient(create_app(settings_for(tiles_url, tmp_path, tile_cache_mb=0))) as c:
        x, y = dataset.tile_of(*CENTRE, 16)
        url = fill(template(c, "zoning"), 16, x, y)
        first = identity(c, url)
        assert first.status_code == 200
        db = c.app.state.tiles.db  # type: ignore[attr-defined]
        # Not borrowed from the engine's pool: lookups keep all of it.
        assert c.app.state.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert 1 <= len(db.held) <= db.size
        # The server drops them (a restart, a failover): the next tile still comes, on a new one.
        _terminate(tiles_url, [held.dbapi.get_backend_pid() for held in db.held])
        with Statements(c.app) as seen:
            again = identity(c, url)
        assert again.status_code == 200 and again.content == first.content
        # Prepared again on the new connection, then run.
        assert [s.split()[0] for s in seen.statements][-2:] == ["PREPARE", "EXECUTE"]
        assert len(db.held) <= db.size


def test_a_stale_version_renders_nothing(tiles_url: str) -> None:
    engine = make_engine(tiles_url, pool_size=1)
    try:
        with engine.connect() as conn:
            version = data_version(conn)
            day = dataset.EFFECTIVE
            # z16 runs a prepared statement, z14 its text (see tilesets.render.statement).
            for z in (16, 14):
                x, y = dataset.tile_of(*CENTRE, z)
                current, mvt = execute_tile(conn, "zoning", z, x, y, day, None)
                assert current == version and mvt
                assert execute_tile(conn, "zoning", z, x, y, day, version) == (version, mvt)
                stale = execute_tile(conn, "zoning", z, x, y, day, version - 1)
                assert stale == (version, None)
    finally:
        engine.dispose()
