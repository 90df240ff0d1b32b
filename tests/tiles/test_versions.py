"""A publish changes the TileJSON URL and the served tile; a rollback restores the tile; a stale
versioned URL redirects to the current one, and no stale tile is served from the cache."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from planning import clock
from tests.conftest import Cli
from tests.tiles import dataset
from tests.tiles.conftest import decode, identity, settings_for
from tests.tiles.test_http import fill
from tilesets.service import VERSION_TTL_S

IMMUTABLE = "public, max-age=31536000, immutable"
V2_EFFECTIVE = date(2025, 2, 1)
CENTRE = dataset.at(100, 60)
Z = 16


def tilejson(client: TestClient, name: str) -> tuple[str, int]:
    """Return a tileset's URL template and the version it carries."""
    doc = client.get(f"/tiles/{name}.json").json()
    url: str = doc["tiles"][0]
    version = int(parse_qs(urlsplit(url).query)["v"][0])
    assert version == doc["data_version"]
    return url, version


def absolute(url_template: str, z: int, x: int, y: int) -> str:
    """Return the full URL of a tile from a TileJSON URL template."""
    return url_template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def green_lot_code(content: bytes) -> str:
    """Return the land-use code the tile gives the lot east of the housing lot."""
    feats = decode(content)["zoning"]["features"]
    (code,) = {
        f["properties"]["code"] for f in feats if f["properties"]["lot"] in ("CX-01", "GD-01")
    }
    return str(code)


def test_publish_and_rollback_change_what_is_served(
    db_url: str, engine: Engine, run: Cli, tmp_path: Path
) -> None:
    dataset.load_zoning(engine, tmp_path, dataset.LOTS_V1, "zoning_v1")
    x, y = dataset.tile_of(*CENTRE, Z)
    with TestClient(create_app(settings_for(db_url, tmp_path))) as client:
        template1, v1 = tilejson(client, "zoning")
        plans1, pv1 = tilejson(client, "plans")
        assert pv1 == v1
        url1 = fill(template1, Z, x, y)
        first = identity(client, url1)
        assert first.status_code == 200 and first.headers["cache-control"] == IMMUTABLE
        assert green_lot_code(first.content) == "DKV"
        identity(client, url1)  # now warm in the cache

        # Publish revision 2 (another process, as far as the service knows).
        dataset.load_zoning(engine, tmp_path, dataset.LOTS_V2, "zoning_v2", V2_EFFECTIVE)
        template2, v2 = tilejson(client, "zoning")
        assert v2 > v1 and template2 != template1
        assert tilejson(client, "plans")[1] == v2
        # The old URL is no longer served from the cache: it redirects to the current version.
        stale = identity(client, url1)
        assert stale.status_code == 302
        assert stale.headers["cache-control"] == "no-cache"
        url2 = fill(template2, Z, x, y)
        assert stale.headers["location"] == absolute(template2, Z, x, y)
        second = identity(client, url2)
        assert second.status_code == 200 and second.headers["cache-control"] == IMMUTABLE
        assert green_lot_code(second.content) == "DGD"
        assert second.headers["etag"] != first.headers["etag"]
        # The redirect keeps the as-of date; before revision 2 took effect revision 1 shows.
        old_day = identity(client, f"/tiles/zoning/{Z}/{x}/{y}.mvt?v={v1}&date=2025-01-15")
        assert old_day.status_code == 302
        assert (
            old_day.headers["location"]
            == f"http://testserver/tiles/zoning/{Z}/{x}/{y}.mvt?v={v2}&date=2025-01-15"
        )
        assert green_lot_code(identity(client, old_day.headers["location"]).content) == "DKV"
        # Unversioned URLs follow at once.
        assert green_lot_code(identity(client, f"/tiles/zoning/{Z}/{x}/{y}.mvt").content) == "DGD"
        identity(client, url2)  # warm

        # Roll back with the CLI: the version moves on again, the tile is revision 1's again.
        run("revisions", "rollback", dataset.PLAN)
        # Nobody reads the TileJSON this time: the cache-only path notices within its TTL.
        time.sleep(VERSION_TTL_S + 0.2)
        moved = identity(client, url2)
        assert moved.status_code == 302
        template3, v3 = tilejson(client, "zoning")
        assert v3 > v2
        assert moved.headers["location"] == absolute(template3, Z, x, y)
        third = identity(client, moved.headers["location"])
        assert third.status_code == 200
        assert third.content == first.content
        assert third.headers["etag"] == first.headers["etag"]
        # The plans tileset follows the same data version.
        plans3, pv3 = tilejson(client, "plans")
        assert pv3 == v3 and plans3 != plans1
        plan_tile = identity(client, fill(plans3, Z, x, y))
        assert plan_tile.status_code == 200
        assert decode(plan_tile.content)["plans"]["features"][0]["properties"]["code"] == (
            dataset.PLAN
        )


def test_versioned_url_with_unknown_version_redirects(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    dataset.load_zoning(engine, tmp_path, dataset.LOTS_V1, "zoning_v1")
    x, y = dataset.tile_of(*CENTRE, Z)
    with TestClient(create_app(settings_for(db_url, tmp_path))) as client:
        _, v = tilejson(client, "zoning")
        for other in (0, v + 1, 2**40):
            r = identity(client, f"/tiles/zoning/{Z}/{x}/{y}.mvt?v={other}")
            assert r.status_code == 302
            # To the current version of the same day: today in Vietnam when none was named.
            today = clock.today().isoformat()
            assert r.headers["location"] == (
                f"http://testserver/tiles/zoning/{Z}/{x}/{y}.mvt?v={v}&date={today}"
            )
        assert identity(client, f"/tiles/zoning/{Z}/{x}/{y}.mvt?v=-1").status_code == 422


def test_a_revision_effective_tomorrow(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Published today for tomorrow: today's tiles (immutable under their version and date)
    stay right for today, and tomorrow's dated URLs show the new revision; the TileJSON and the
    lookup agree on both days."""
    dataset.load_zoning(engine, tmp_path, dataset.LOTS_V1, "zoning_v1")
    tomorrow = clock.today() + timedelta(days=1)
    dataset.load_zoning(engine, tmp_path, dataset.LOTS_V2, "zoning_v2", effective=tomorrow)
    x, y = dataset.tile_of(*CENTRE, Z)
    with TestClient(create_app(settings_for(db_url, tmp_path))) as client:
        today_doc = client.get("/tiles/zoning.json").json()
        next_doc = client.get("/tiles/zoning.json", params={"date": tomorrow.isoformat()}).json()
        assert today_doc["data_version"] == next_doc["data_version"]
        assert today_doc["date"] == clock.today().isoformat()
        assert next_doc["date"] == tomorrow.isoformat()
        today = identity(client, fill(today_doc["tiles"][0], Z, x, y))
        nxt = identity(client, fill(next_doc["tiles"][0], Z, x, y))
        assert today.headers["cache-control"] == nxt.headers["cache-control"] == IMMUTABLE
        assert green_lot_code(today.content) == "DKV"
        assert green_lot_code(nxt.content) == "DGD"
        inside = dataset.GREEN.geom.representative_point()
        lon, lat = dataset.TO_WGS84.transform(inside.x, inside.y)
        for day, code in ((None, "DKV"), (tomorrow.isoformat(), "DGD")):
            q = {"lon": lon, "lat": lat, **({"date": day} if day else {})}
            plans = client.get("/v1/lookup", params=q).json()["plans"]
            assert [z["code"] for p in plans for z in p["zones"]] == [code]
