"""Another country's zoning, in a US State Plane CRS in feet, served with a wider service area:
measured in metres (the UTM zone of its centre), polygons in feet accepted, codes as written,
and shares of overlapping zones that never pass 100 %."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import text

from api.main import create_app
from planning.db import make_engine
from tests.api.conftest import clone_database, drop_database, settings_for
from tests.api.dataset import tile_of_lonlat
from tests.conftest import Cli

FEET = 2227  # NAD83 / California zone 3 (ftUS)
UTM = 32610  # WGS 84 / UTM zone 10N, the plane of San José
WORLD = "-180,-80,180,80"
X0, Y0 = 6_157_500.0, 1_945_600.0  # downtown San José, in feet
TO_UTM = Transformer.from_crs(FEET, UTM, always_xy=True)
TO_LONLAT = Transformer.from_crs(FEET, 4326, always_xy=True)
# Three districts 600 × 400 ft; "R-1" and "Town Limits" overlap by 100 ft (a drawing error).
DISTRICTS = {
    "Town Limits": shapely.box(X0, Y0, X0 + 600, Y0 + 400),
    "R-1-8": shapely.box(X0 + 500, Y0, X0 + 1100, Y0 + 400),
    "CP": shapely.box(X0, Y0 + 400, X0 + 1100, Y0 + 800),
}


def _utm(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(g, lambda c: _stack(TO_UTM, c))


def _stack(tf: Transformer, c: np.ndarray) -> np.ndarray:
    x, y = tf.transform(c[:, 0], c[:, 1])
    return np.column_stack([x, y])


@pytest.fixture(scope="module")
def feet_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict]]:
    name, url = clone_database(server_url, template_db)
    folder = tmp_path_factory.mktemp("feet")
    frame = gpd.GeoDataFrame(
        {"ZONING": list(DISTRICTS), "DESCR": ["town", "single-family", "commercial"]},
        geometry=list(DISTRICTS.values()),
        crs=FEET,
    )
    path = folder / "Zoning.shp"
    frame.to_file(path, engine="pyogrio")
    cli = Cli(url)
    cli.env["PLANNING_SERVICE_AREA"] = WORLD
    res = cli(
        "ingest", "zoning", str(path), "--plan", "SJ-ZONING", "--code-field", "ZONING",
        "--lot-field", "ZONING", "--publish", "--json",
    )  # fmt: skip
    yield url, json.loads(res.stdout)
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def feet_client(feet_db: tuple[str, dict]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(feet_db[0], service_area=WORLD))) as c:
        yield c


def test_measured_in_the_utm_plane_and_reported_in_square_metres(
    feet_db: tuple[str, dict],
) -> None:
    url, report = feet_db
    assert report["plane"] == f"EPSG:{UTM}"
    assert report["crs_resolved"] == f"EPSG:{FEET}"
    overlap = next(p for p in report["problems"] if p["code"] == "overlap")
    expected = _utm(DISTRICTS["Town Limits"]).intersection(_utm(DISTRICTS["R-1-8"])).area
    assert expected == pytest.approx(100 * 400 * 0.3048006**2, rel=1e-3)  # 3 716 m², not 40 000
    assert f"{expected:.2f} m²" in overlap["message"]
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            areas = dict(conn.execute(text("SELECT code, area_m2 FROM planning.zone")).all())
    finally:
        engine.dispose()
    for code, geom in DISTRICTS.items():
        assert areas[code] == pytest.approx(_utm(geom).area, abs=0.01)


def test_points_and_codes_as_written(feet_client: TestClient) -> None:
    lon, lat = TO_LONLAT.transform(X0 + 100, Y0 + 100)
    answer = feet_client.get("/v1/lookup", params={"lon": lon, "lat": lat}).json()
    [zone] = answer["plans"][0]["zones"]
    assert zone["code"] == "Town Limits" and zone["lot"] == "Town Limits"
    assert zone["land_use"] is None
    assert answer["location"]["plane"]["crs"] == f"EPSG:{UTM}"
    assert answer["location"]["vn2000"] is None
    # The same point in the file's own feet.
    by_feet = feet_client.get(
        "/v1/lookup", params={"x": X0 + 100, "y": Y0 + 100, "crs": f"EPSG:{FEET}"}
    ).json()
    assert [z["lot"] for z in by_feet["plans"][0]["zones"]] == ["Town Limits"]


def test_a_polygon_in_feet_with_overlapping_zones(feet_client: TestClient) -> None:
    poly = shapely.box(X0 + 300, Y0 + 100, X0 + 900, Y0 + 600)
    body = {"geometry": shapely.geometry.mapping(poly), "crs": f"EPSG:{FEET}"}
    r = feet_client.post("/v1/lookup/geometry", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["crs"] == f"EPSG:{UTM}"
    assert answer["area_m2"] == pytest.approx(_utm(poly).area, abs=0.05)
    [plan] = answer["plans"]
    zones = {z["lot"]: z for z in plan["zones"]}
    for lot, geom in DISTRICTS.items():
        assert zones[lot]["area_m2"] == pytest.approx(
            _utm(poly).intersection(_utm(geom)).area, abs=0.05
        )
    covered = _utm(poly).intersection(shapely.union_all([_utm(g) for g in DISTRICTS.values()]))
    assert plan["area_in_plan_m2"] == pytest.approx(covered.area, abs=0.05)
    claimed = sum(z["area_m2"] for z in plan["zones"])
    assert plan["overlap_m2"] == pytest.approx(claimed - covered.area, abs=0.1)
    assert plan["overlap_m2"] > 1000
    # Shares come from the covered area: with the part outside, exactly 100 %.
    total = sum(z["share_pct"] for z in plan["zones"]) + plan["outside_plan_pct"]
    assert round(total, 2) == 100.0
    assert all(z["share_pct"] <= 100 for z in plan["zones"])


def test_tiles_carry_the_code_as_written(feet_client: TestClient) -> None:
    doc = feet_client.get("/tiles/zoning.json").json()
    x, y = tile_of_lonlat(*TO_LONLAT.transform(X0 + 100, Y0 + 100), 16)
    url = doc["tiles"][0].replace("{z}", "16").replace("{x}", str(x)).replace("{y}", str(y))
    tile = feet_client.get(url, headers={"accept-encoding": "identity"})
    codes = {
        f["properties"]["code"]
        for f in mapbox_vector_tile.decode(tile.content)["zoning"]["features"]
    }
    assert "Town Limits" in codes


def test_ohio_feet_are_not_taken_for_swapped_vietnamese_metres(tmp_path: Path) -> None:
    """Ohio South ftUS coordinates (x ≈ 1 460 000, y ≈ 625 000) have the magnitudes of a
    Vietnamese northing/easting pair written X first; inside a service area that covers them
    as read, they are not swapped."""
    x0, y0 = 1_470_000.0, 640_000.0
    frame = gpd.GeoDataFrame(
        {"DISTRICT": ["B-2", "R-6"]},
        geometry=[
            shapely.box(x0, y0, x0 + 500, y0 + 300),
            shapely.box(x0 + 500, y0, x0 + 900, y0 + 300),
        ],
        crs=3735,
    )
    path = tmp_path / "zoning.shp"
    frame.to_file(path, engine="pyogrio")
    cli = Cli("postgresql+psycopg2://unused@127.0.0.1:1/unused")
    cli.env["PLANNING_SERVICE_AREA"] = WORLD
    report = json.loads(cli("check", str(path), "--code-field", "DISTRICT", "--json").stdout)
    assert report["features_loaded"] == 2 and report["plane"] == "EPSG:32616"
    # In Vietnam's service area the same file lies outside, and is not called swapped either.
    res = Cli("postgresql+psycopg2://unused@127.0.0.1:1/unused")("check", str(path), ok=False)
    assert "outside the service area" in res.stderr and "swapped" not in res.stderr
