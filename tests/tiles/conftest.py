"""Fixtures of the tile tests: one database loaded once (the hand-made plan and the generated Huế
demo) for the read-only tests, an app on it, and helpers to decode served tiles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import create_app
from planning.db import make_engine
from planning.settings import Settings
from tests.tiles import dataset

DEMO_PARCELS = 300
QUIET = (
    "ignore:Normalized/laundered field name",
    "ignore:Column names longer than 10",
    "ignore:Value .* of field .* has been truncated",
)
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the warnings GDAL gives while the demo generator writes shapefiles."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            for spec in QUIET:
                item.add_marker(pytest.mark.filterwarnings(spec))


def _admin(url: str) -> Any:
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def tiles_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """Create one database from the migrated template and load the test data into it, once."""
    name = f"planning_tiles_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1)
    try:
        folder = tmp_path_factory.mktemp("tiles_data")
        revisions = dataset.load_hand_made(engine, folder / "hand")
        revisions |= dataset.load_demo(engine, folder / "demo", DEMO_PARCELS)
    finally:
        engine.dispose()
    yield url, revisions
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def tiles_url(tiles_db: tuple[str, dict[str, int]]) -> str:
    """Return the URL of the shared, loaded database (tests must not change its data)."""
    return tiles_db[0]


def settings_for(url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Return the settings of an app on a test database (no quota in the way)."""
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": data_dir,
        "secret": "tiles-tests-secret",
        "anon_quota_per_min": 1_000_000,
        "pool_size": 2,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def client(tiles_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Return a client of an app on the shared database, lifespan running."""
    app = create_app(settings_for(tiles_url, tmp_path_factory.mktemp("app")))
    with TestClient(app) as c:
        yield c


def decode(data: bytes) -> dict[str, Any]:
    """Decode MVT bytes into {layer: {"extent", "features"}} with tile-grid coordinates (y down)."""
    decoded: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True}
    )
    return decoded


def identity(client: TestClient, url: str, **headers: str) -> Any:
    """GET without gzip (so the body is the MVT bytes themselves), not following redirects."""
    return client.get(
        url, headers={"Accept-Encoding": "identity", **headers}, follow_redirects=False
    )
