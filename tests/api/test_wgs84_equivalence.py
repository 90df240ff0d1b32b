"""The same plan written out as WGS 84 GeoJSON answers exactly as its EPSG:9214 load.

Web exports and open data keep their geometry in degrees. The test plan, its red lines and
its parcels are written as WGS 84 GeoJSON (pyproj's transformation, GDAL's driver) with no
option but what any user would give (the plan's metadata: its province), loaded into a
database of their own, and asked the same questions as the EPSG:9214 load: the same lots at
every test point and nothing else, red-line distances to 0.01 m, m² to 0.01, in the same
plane (EPSG:9214). Expectations come from shapely on the original coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from planning.db import make_engine
from planning.lookup import RED_LINE_RADIUS_M
from tests.api import dataset as ds
from tests.api.conftest import clone_database, drop_database, settings_for
from tests.api.expect import check_breakdown

ALL_LOTS = ds.ZONING_LOTS + ds.DETAIL_LOTS
# A grid over the plans, the road corridor and beyond (local metres), not aligned with edges.
GRID = [(u, v) for u in range(-35, 245, 11) for v in range(-35, 200, 9)]
SPECIAL = [ds.P_HOUSING, ds.P_DETAIL, ds.P_SHARED, ds.P_CORNER, ds.P_OFF_EDGE, ds.P_FAR]


@pytest.fixture(scope="module")
def wgs84_db(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database loaded from the WGS 84 GeoJSON files; yield its URL."""
    name, url = clone_database(server_url, template_db)
    engine = make_engine(url, pool_size=1)
    try:
        ds.load_base(engine, tmp_path_factory.mktemp("wgs84"), wgs84=True)
    finally:
        engine.dispose()
    try:
        yield url
    finally:
        drop_database(server_url, name)


@pytest.fixture(scope="module")
def wgs84_client(wgs84_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(wgs84_db))) as c:
        yield c


def _lots(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["plan"]["code"], z["lot"]) for p in answer["plans"] for z in p["zones"]}


def _expected(e: float, n: float) -> set[tuple[str, str]]:
    found = {(ds.ZONING, lot) for lot in ds.zones_at(ds.ZONING_LOTS, e, n, tol=0.005)}
    return found | {(ds.DETAIL, lot) for lot in ds.zones_at(ds.DETAIL_LOTS, e, n, tol=0.005)}


def _near_edge(e: float, n: float) -> bool:
    """Tell whether a point lies between 1 mm and 1 cm of a lot edge (where the 5 mm boundary
    tolerance and the datum shift's sub-millimetre noise could disagree), or as near the
    red-line search radius."""
    p = shapely.Point(e, n)
    if abs(ds.red_line_distance(e, n) - RED_LINE_RADIUS_M) < 0.01:
        return True  # the red line is reported within 100 m: this point is on that limit
    return any(0.001 < lot.geom.exterior.distance(p) < 0.01 for lot in ALL_LOTS)


def test_points_answer_as_the_projected_load(client: TestClient, wgs84_client: TestClient) -> None:
    points = [ds.at(u, v) for u, v in GRID] + SPECIAL
    compared = 0
    for e, n in points:
        if _near_edge(e, n):
            continue
        lon, lat = ds.lonlat(e, n)
        q = {"lon": lon, "lat": lat}
        a = client.get("/v1/lookup", params=q).json()
        b = wgs84_client.get("/v1/lookup", params=q).json()
        assert _lots(b) == _lots(a) == _expected(e, n), (e, n)
        assert (b["parcel"] or {}).get("parcel") == (a["parcel"] or {}).get("parcel")
        ra, rb = a["red_line"], b["red_line"]
        if ra is None:
            assert rb is None
        else:
            expected = ds.red_line_distance(e, n)
            assert abs(rb["distance_m"] - ra["distance_m"]) <= 0.01
            assert abs(rb["distance_m"] - expected) <= 0.01, (e, n, rb, expected)
        # The point is echoed in the plane of the data, Huě's.
        assert b["location"]["vn2000"]["crs"] == "EPSG:9214"
        assert abs(b["location"]["vn2000"]["x"] - e) < 0.001
        assert abs(b["location"]["vn2000"]["y"] - n) < 0.001
        compared += 1
    assert compared > 500


@pytest.mark.parametrize("parcel", ds.PARCELS[:4], ids=lambda p: f"{p.sheet}/{p.parcel}")
def test_parcel_breakdowns_agree_to_the_cent(
    client: TestClient, wgs84_client: TestClient, parcel: ds.Parcel
) -> None:
    url = f"/v1/parcels/{parcel.commune}/{parcel.sheet}/{parcel.parcel}"
    a, b = client.get(url).json(), wgs84_client.get(url).json()
    # The parcel's own area, measured in its plane, is the certificate's.
    assert abs(b["parcel"]["area_m2"] - parcel.geom.area) <= 0.0051
    expected = [
        code
        for code, lots in ((ds.DETAIL, ds.DETAIL_LOTS), (ds.ZONING, ds.ZONING_LOTS))
        if any(parcel.geom.intersection(lot.geom).area >= 0.005 for lot in lots)
    ]
    assert [p["plan"]["code"] for p in b["plans"]] == expected
    assert [p["plan"]["code"] for p in a["plans"]] == expected
    for pa, pb in zip(a["plans"], b["plans"], strict=True):
        assert pb["crs"] == pa["crs"] == "EPSG:9214"
        lots = ds.DETAIL_LOTS if pb["plan"]["code"] == ds.DETAIL else ds.ZONING_LOTS
        check_breakdown(pb, parcel.geom, lots)
        for key in ("area_m2", "area_in_plan_m2", "road_area_m2", "remaining_area_m2"):
            assert abs(pb[key] - pa[key]) <= 0.01, key
        za = {z["lot"]: z["area_m2"] for z in pa["zones"]}
        zb = {z["lot"]: z["area_m2"] for z in pb["zones"]}
        assert za.keys() == zb.keys()
        assert all(abs(za[k] - zb[k]) <= 0.01 for k in za)


def test_polygon_in_degrees_is_measured_in_metres(wgs84_client: TestClient) -> None:
    poly = ds.ring((20, -10), (140, -10), (140, 40), (20, 40))
    body = {"geometry": ds.to_geojson_lonlat(poly)}
    answer = wgs84_client.post("/v1/lookup/geometry", json=body).json()
    assert answer["crs"] == "EPSG:9214"
    assert abs(answer["area_m2"] - poly.area) <= 0.01
    zoning = next(p for p in answer["plans"] if p["plan"]["code"] == ds.ZONING)
    check_breakdown(zoning, poly, ds.ZONING_LOTS, tol=0.01)


def test_stored_geometry_is_the_drawing_to_the_millimetre(wgs84_db: str) -> None:
    """Each revision keeps its file's CRS and is measured in Huế's plane, where its geometry
    is the original EPSG:9214 drawing again, to the millimetre."""
    engine = make_engine(wgs84_db, pool_size=1)
    try:
        with engine.connect() as conn:
            planes = conn.execute(
                text("SELECT srid, plane_srid FROM planning.revision ORDER BY id")
            ).all()
            stored = {
                r.lot: shapely.from_wkb(bytes(r.g))
                for r in conn.execute(
                    text(
                        "SELECT lot, ST_AsBinary(geom_plane) AS g, ST_SRID(geom_plane) AS s "
                        "FROM planning.zone"
                    )
                )
            }
            parcels = {
                (r.commune_code, r.sheet, r.parcel_no): (float(r.area_m2), int(r.s))
                for r in conn.execute(
                    text(
                        "SELECT commune_code, sheet, parcel_no, area_m2, ST_SRID(geom_plane) AS s "
                        "FROM planning.parcel"
                    )
                )
            }
    finally:
        engine.dispose()
    assert [(r.srid, r.plane_srid) for r in planes] == [(4326, 9214)] * 4
    for lot in ALL_LOTS:
        assert shapely.hausdorff_distance(stored[lot.lot], lot.geom) < 0.001, lot.lot
    for p in ds.PARCELS:
        area, srid = parcels[(p.commune, p.sheet, p.parcel)]
        assert srid == 9214
        assert abs(area - p.geom.area) < 0.001
