"""One clock: "today" is the date in Asia/Ho_Chi_Minh, whatever the host's time zone.

At 23:30 UTC on 30 June it is already 06:30 on 1 July in Vietnam: a revision effective on 1 July
is in force for the API, OGC API, the tiles and their TileJSON, and ingest's default date."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.quota import Limiter
from planning import clock
from planning.db import make_engine
from tests.api import dataset as ds
from tests.api.conftest import SECRET, LiveServer, clone_database, drop_database, settings_for

ROOT = Path(__file__).resolve().parents[2]
LATE = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 06:30 on 1 July in Vietnam
JULY_1 = date(2026, 7, 1)
GREEN = ds.lonlat(*ds.GREEN.geom.representative_point().coords[0])


@pytest.fixture(scope="module")
def july_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The test plans, and revision 2 of the zoning plan (the green lot becomes a school)
    effective on 1 July 2026."""
    name, url = clone_database(server_url, template_db)
    folder = tmp_path_factory.mktemp("july")
    engine = make_engine(url, pool_size=1)
    try:
        ds.load_base(engine, folder)
        v2 = ds.write_zoning(folder, "zoning_v2", ds.ZONING_LOTS_V2)
        ds.ingest(engine, "zoning", v2, ds.ZONING, effective=JULY_1)
    finally:
        engine.dispose()
    yield url
    drop_database(server_url, name)


@pytest.fixture
def late_evening(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the service's clock to 23:30 UTC on 30 June 2026."""
    monkeypatch.setattr(clock, "now", lambda: LATE.astimezone(clock.VIETNAM))


def _green_lots(client: TestClient | httpx.Client) -> list[str]:
    answer = client.get("/v1/lookup", params={"lon": GREEN[0], "lat": GREEN[1]}).json()
    assert answer["date"] == JULY_1.isoformat()
    return [z["lot"] for p in answer["plans"] for z in p["zones"]]


def _ogc_lots(client: TestClient | httpx.Client) -> set[str]:
    page = client.get("/ogc/collections/zones/items", params={"limit": 100}).json()
    return {
        f["properties"]["lot"] for f in page["features"] if f["properties"]["plan"] == ds.ZONING
    }


def _tile_lots(client: TestClient | httpx.Client) -> set[str]:
    doc = client.get("/tiles/zoning.json").json()
    assert doc["date"] == JULY_1.isoformat()
    x, y = ds.tile_of_lonlat(*GREEN, 16)
    url = doc["tiles"][0].replace("{z}", "16").replace("{x}", str(x)).replace("{y}", str(y))
    tile = client.get(url, headers={"accept-encoding": "identity"})
    layer = mapbox_vector_tile.decode(tile.content)["zoning"]
    return {f["properties"].get("lot") for f in layer["features"]} - {None}


def test_every_door_agrees_at_23_30_utc(july_db: str, late_evening: None) -> None:
    assert clock.today() == JULY_1
    with TestClient(create_app(settings_for(july_db))) as client:
        assert _green_lots(client) == ["GD-01"]
        assert "GD-01" in _ogc_lots(client) and "CX-01" not in _ogc_lots(client)
        lots = _tile_lots(client)
        assert "GD-01" in lots and "CX-01" not in lots
        parcel = client.get(f"/v1/parcels/{ds.STRADDLE.commune}/7/12").json()
        assert parcel["date"] == JULY_1.isoformat()
        assert "GD-01" in {z["lot"] for p in parcel["plans"] for z in p["zones"]}
    # Keys' daily usage is counted on Vietnam's day too.
    limiter = Limiter()
    limiter.count_key(1)
    assert limiter.drain_daily() == {(1, JULY_1): 1}


def test_ingest_takes_effect_today_in_vietnam(late_evening: None, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    path = ds.write_zoning(tmp_path, "plan", ds.ZONING_LOTS)
    run("ingest", "zoning", str(path), "--plan", "QH-CLOCK")
    listed = run("revisions", "list", "--json").stdout
    assert '"effective_from": "2026-07-01"' in listed


def test_a_server_on_a_utc_host_at_23_30(july_db: str, tmp_path: Path) -> None:
    """The real process, its clock moved by libfaketime and its time zone UTC: no part of it
    takes the host's date."""
    lib = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
    if not lib.exists():
        pytest.fail("Debian's faketime is not installed (make deps installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNING_")}
    env.update(
        PLANNING_DATABASE_URL=july_db,
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN="100000",
        PLANNING_DATA_DIR=str(tmp_path),
        TZ="UTC",
        LD_PRELOAD=str(lib),
        FAKETIME="@2026-06-30 23:30:00",
        FAKETIME_DONT_RESET="1",
    )
    server = LiveServer(env, tmp_path / "server.log", "--host", "127.0.0.1")
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=10) as client:
            assert _green_lots(client) == ["GD-01"]
            assert "GD-01" in _ogc_lots(client)
            assert "GD-01" in _tile_lots(client)
    finally:
        server.stop()


def test_no_code_reads_the_host_date() -> None:
    """Only planning.clock tells the date; SQL is given it (never current_date or now())."""
    pattern = re.compile(
        r"date\.today\(|datetime\.now\(|datetime\.today\(|current_date|CURRENT_DATE|now\(\)::date"
    )
    found = []
    for package in ("planning", "api", "tilesets", "ingest"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix not in (".py", ".sql", ".js") or "node_modules" in path.parts:
                continue
            if path == ROOT / "planning" / "clock.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []
