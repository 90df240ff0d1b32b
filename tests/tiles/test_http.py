"""TileJSON, and the HTTP side of tiles: ETag and 304, gzip, cache headers, the in-process cache."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from api.main import create_app
from planning import clock
from planning.db import make_engine
from tests.tiles import dataset
from tests.tiles.conftest import decode, identity, settings_for
from tilesets.cache import TileCache, make_tile

IMMUTABLE = "public, max-age=31536000, immutable"
CENTRE = dataset.at(100, 60)
FIELDS = {
    "zoning": {"code", "function", "road", "plan", "lot", "density_max", "floors_max", "far_max"},
    "parcels": {"commune", "sheet", "parcel"},
    "red_lines": {"road_name", "row_width_m", "plan"},
    "plans": {"code", "name", "level", "decision", "decision_date"},
}
HAND_MADE: dict[str, list[Any]] = {
    "zoning": [lot.geom for lot in dataset.LOTS_V1],
    "plans": [lot.geom for lot in dataset.LOTS_V1],
    "parcels": [geom for *_, geom in dataset.PARCELS],
    "red_lines": [line for *_, line in dataset.RED_LINES],
}
ZOOMS = {"zoning": (10, 18), "parcels": (15, 18), "red_lines": (12, 18), "plans": (8, 18)}


@pytest.fixture(scope="module")
def current_version(tiles_url: str) -> int:
    """Return the data version of the shared database, read directly."""
    engine = make_engine(tiles_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT max(id) FROM planning.publication")).scalar_one())
    finally:
        engine.dispose()


class Statements:
    """Count the connections checked out of the app's pool and the statements run, on it and on
    the tile service's own connections."""

    def __init__(self, app: Any) -> None:
        self.engine: Engine = app.state.engine
        self.db = app.state.tiles.db
        self.checkouts = 0
        self.statements: list[str] = []

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1

    def _execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine.pool, "checkout", self._checkout)
        event.listen(self.engine, "before_cursor_execute", self._execute)
        run = type(self.db)._run

        def counted(held: Any, sql: str, params: Any) -> Any:
            self.statements.append(sql)
            return run(self.db, held, sql, params)

        self.db._run = counted
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine.pool, "checkout", self._checkout)
        event.remove(self.engine, "before_cursor_execute", self._execute)
        del self.db._run

    @property
    def renders(self) -> int:
        """Return how many tile statements ran (prepared ones, or the text of one)."""
        return sum(
            s.startswith("EXECUTE planning_tile_") or "ST_AsMVT(" in s for s in self.round_trips
        )

    @property
    def round_trips(self) -> list[str]:
        """Return the statements run, without the once-per-connection PREPAREs."""
        return [s for s in self.statements if not s.startswith("PREPARE ")]


def template(client: TestClient, name: str, query: str = "") -> str:
    r = client.get(f"/tiles/{name}.json" + (f"?{query}" if query else ""))
    assert r.status_code == 200
    url: str = r.json()["tiles"][0]
    return url


def fill(url_template: str, z: int, x: int, y: int) -> str:
    """Return the path and query of a tile from a TileJSON URL template."""
    parts = urlsplit(
        url_template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    )
    return f"{parts.path}?{parts.query}"


def raw_get(client: TestClient, url: str, **headers: str) -> tuple[Any, bytes]:
    """GET without decoding the content encoding; return the response and the bytes as sent."""
    with client.stream("GET", url, headers=headers) as r:
        return r, b"".join(r.iter_raw())


# ---------------------------------------------------------------------------------------------
# TileJSON


def _lonlat_bounds(*geoms: Any) -> tuple[float, float, float, float]:
    b = shapely.union_all([dataset.to_lonlat(g) for g in geoms]).bounds
    return (b[0], b[1], b[2], b[3])


@pytest.mark.parametrize("name", list(ZOOMS))
def test_tilejson_describes_the_tileset(
    client: TestClient, name: str, current_version: int
) -> None:
    r = client.get(f"/tiles/{name}.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["name"] == name and doc["scheme"] == "xyz"
    assert (doc["minzoom"], doc["maxzoom"]) == ZOOMS[name]
    [url] = doc["tiles"]
    parts = urlsplit(url)
    assert url.startswith("http://testserver/")
    assert parts.path == f"/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt"
    query = parse_qs(parts.query)
    assert query["v"] == [str(current_version)]
    # Today in Vietnam, whatever the host's time zone.
    assert query["date"] == [clock.today().isoformat()]
    assert doc["data_version"] == current_version
    [layer] = doc["vector_layers"]
    assert layer["id"] == name
    assert set(layer["fields"]) >= FIELDS[name]
    assert all(isinstance(v, str) for v in layer["fields"].values())
    assert (layer["minzoom"], layer["maxzoom"]) == ZOOMS[name]
    west, south, east, north = doc["bounds"]
    lon, lat, zoom = doc["center"]
    assert west < lon < east and south < lat < north
    assert doc["minzoom"] <= zoom <= doc["maxzoom"]
    # The hand-made data lies inside the bounds, and they reach no further than Huế's demo area.
    hand = _lonlat_bounds(*HAND_MADE[name])
    assert west <= hand[0] and south <= hand[1] and hand[2] <= east and hand[3] <= north
    assert 107.4 < west and east < 107.7 and 16.3 < south and north < 16.6


def test_tilejson_bounds_follow_the_date(client: TestClient) -> None:
    # Before the demo plan took effect (2025-04-01) only the hand-made plan is on the map.
    doc = client.get("/tiles/zoning.json?date=2025-02-01").json()
    expected = _lonlat_bounds(*[lot.geom for lot in dataset.LOTS_V1])
    assert doc["bounds"] == pytest.approx(expected, abs=2e-6)
    assert parse_qs(urlsplit(doc["tiles"][0]).query)["date"] == ["2025-02-01"]
    assert client.get("/tiles/zoning.json?date=2025-02-30").status_code == 422


def test_tilejson_uses_the_public_url(tiles_url: str, tmp_path: Path) -> None:
    settings = settings_for(tiles_url, tmp_path, public_url="https://quyhoach.example.vn/api/")
    with TestClient(create_app(settings)) as c:
        url = c.get("/tiles/plans.json").json()["tiles"][0]
    assert url.startswith("https://quyhoach.example.vn/api/tiles/plans/{z}/{x}/{y}.mvt?v=")


# ---------------------------------------------------------------------------------------------
# Cache headers, ETag, gzip


def test_versioned_tiles_are_immutable_and_others_short_lived(client: TestClient) -> None:
    x, y = dataset.tile_of(*CENTRE, 16)
    versioned = fill(template(client, "zoning"), 16, x, y)
    r = identity(client, versioned)
    assert r.status_code == 200
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    plain = identity(client, f"/tiles/zoning/16/{x}/{y}.mvt")
    assert plain.status_code == 200
    control = plain.headers["cache-control"]
    assert "immutable" not in control
    max_age = int(control.split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 300
    # The same bytes whichever URL asked (today is the default date).
    assert plain.content == r.content
    # A version without a date is not immutable either: a revision effective tomorrow changes
    # tomorrow's tile of this version.
    version_only = identity(client, versioned.split("&date=")[0])
    assert version_only.status_code == 200 and version_only.content == r.content
    assert "immutable" not in version_only.headers["cache-control"]
    dated = identity(client, f"/tiles/zoning/16/{x}/{y}.mvt?date={clock.today().isoformat()}")
    assert "immutable" not in dated.headers["cache-control"]


def test_etag_and_304(client: TestClient, tiles_url: str, tmp_path: Path) -> None:
    x, y = dataset.tile_of(*CENTRE, 16)
    url = f"/tiles/zoning/16/{x}/{y}.mvt"
    first = identity(client, url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    again = identity(client, url, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "cache-control" in again.headers
    # Weak comparison and lists, as RFC 9110 asks of If-None-Match.
    assert identity(client, url, **{"If-None-Match": f'"nope", W/{etag}'}).status_code == 304
    assert identity(client, url, **{"If-None-Match": '"nope"'}).status_code == 200
    # A different tile has a different tag; the same tile from another process the same tag.
    other = identity(client, f"/tiles/zoning/15/{x // 2}/{y // 2}.mvt").headers["etag"]
    assert other != etag
    with TestClient(create_app(settings_for(tiles_url, tmp_path))) as fresh:
        assert identity(fresh, url).headers["etag"] == etag


def test_gzip_when_accepted(client: TestClient) -> None:
    x, y = dataset.tile_of(*CENTRE, 16)
    url = f"/tiles/zoning/16/{x}/{y}.mvt"
    plain = identity(client, url)
    r, body = raw_get(client, url, **{"Accept-Encoding": "gzip, deflate"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert gzip.decompress(body) == plain.content
    # Each representation has its own strong tag, and each revalidates.
    assert r.headers["etag"] != plain.headers["etag"]
    r304, _ = raw_get(
        client, url, **{"Accept-Encoding": "gzip", "If-None-Match": r.headers["etag"]}
    )
    assert r304.status_code == 304
    refused, body = raw_get(client, url, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers
    assert body == plain.content


def test_empty_tile_is_204_even_when_revalidated(client: TestClient) -> None:
    x, y = dataset.tile_of(*dataset.at(0, -5000), 16)
    url = fill(template(client, "zoning"), 16, x, y)
    r = client.get(url)
    assert r.status_code == 204
    assert r.headers["cache-control"] == IMMUTABLE
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 204


# ---------------------------------------------------------------------------------------------
# The in-process cache


def test_warm_versioned_tile_does_not_touch_the_database(client: TestClient) -> None:
    x, y = dataset.tile_of(*CENTRE, 17)
    url = fill(template(client, "zoning"), 17, x, y)
    with Statements(client.app) as cold:
        first = identity(client, url)
    assert first.status_code == 200
    # One statement answers the data version and renders the tile.
    assert cold.renders == 1 and len(cold.round_trips) == 1, cold.statements
    with Statements(client.app) as warm:
        for _ in range(5):
            again = identity(client, url)
            assert again.content == first.content
    assert warm.checkouts == 0 and warm.statements == []
    # An unversioned URL checks the version in the database, but renders nothing again.
    with Statements(client.app) as plain:
        assert identity(client, f"/tiles/zoning/17/{x}/{y}.mvt").content == first.content
    assert plain.renders == 0 and len(plain.round_trips) == 1, plain.statements


def test_cache_can_be_turned_off(tiles_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(tiles_url, tmp_path, tile_cache_mb=0))) as c:
        x, y = dataset.tile_of(*CENTRE, 16)
        url = fill(template(c, "zoning"), 16, x, y)
        first = identity(c, url).content
        with Statements(c.app) as seen:
            assert identity(c, url).content == first
        assert seen.renders == 1 and len(seen.round_trips) == 1, seen.statements
        assert len(c.app.state.tiles.cache) == 0  # type: ignore[attr-defined]


def test_cache_is_bounded_by_bytes() -> None:
    tiles = [make_tile(bytes([i]) * 1000) for i in range(10)]
    one = tiles[0].size
    cache = TileCache(max_bytes=3 * one + 10)
    key = [("zoning", 16, i, 0, 1, date(2025, 1, 1)) for i in range(10)]
    for k, t in zip(key[:3], tiles[:3], strict=True):
        cache.put(k, t)
    assert len(cache) == 3
    assert cache.get(key[0]) is tiles[0]  # now the most recently used
    cache.put(key[3], tiles[3])
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert cache.get(key[1]) is None  # the least recently used went
    assert cache.get(key[0]) is tiles[0] and cache.get(key[3]) is tiles[3]
    # Same z/x/y, another version or date: another entry.
    assert cache.get(("zoning", 16, 0, 0, 2, date(2025, 1, 1))) is None
    assert cache.get(("zoning", 16, 0, 0, 1, date(2025, 1, 2))) is None
    huge = make_tile(bytes(range(256)) * 100)
    cache.put(key[5], huge)
    assert cache.get(key[5]) is None  # larger than the whole budget: not stored
    assert make_tile(b"abc").etag == make_tile(b"abc").etag != make_tile(b"abd").etag


def test_tile_bytes_decode_and_differ_by_date(client: TestClient) -> None:
    x, y = dataset.tile_of(*CENTRE, 16)
    now = identity(client, f"/tiles/zoning/16/{x}/{y}.mvt?date=2025-06-01")
    before = identity(client, f"/tiles/zoning/16/{x}/{y}.mvt?date=2024-06-01")
    assert now.status_code == 200 and before.status_code == 204
    assert "zoning" in decode(now.content)
