"""POST /v1/lookup/geometry (any polygon) and POST /v1/lookup/batch (JSON and CSV)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from tests.api import dataset as ds
from tests.api.expect import check_breakdown, close

POLYGON = ds.STRADDLE.geom


def post_geometry(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/v1/lookup/geometry", json=body, headers=headers)


def test_polygon_in_wgs84(client: TestClient) -> None:
    r = post_geometry(client, {"geometry": ds.to_geojson_lonlat(POLYGON)})
    assert r.status_code == 200, r.text
    body = r.json()
    # PostGIS (PROJ 9.1) and pyproj invert the VN-2000 datum shift differently by ~0.4 mm, so a
    # lon/lat polygon lands within a millimetre of the one drawn: areas agree to 1 mm × length.
    tol = POLYGON.length * 0.001
    assert body["crs"] == "EPSG:9214" and close(body["area_m2"], POLYGON.area, tol)
    check_breakdown(body["plans"][0], POLYGON, ds.ZONING_LOTS, tol)
    assert close(body["road_area_m2"], POLYGON.intersection(ds.ROAD.geom).area, tol)


@pytest.mark.parametrize("how", ["field", "header", "header_urn", "feature"])
def test_polygon_in_vn2000(client: TestClient, how: str) -> None:
    geometry: dict[str, Any] = dict(mapping(POLYGON))
    headers: dict[str, str] = {}
    body: dict[str, Any] = {"geometry": geometry}
    if how == "field":
        body["crs"] = "EPSG:9214"
    elif how == "header":
        headers["Content-Crs"] = "EPSG:9214"
    elif how == "header_urn":
        headers["Content-Crs"] = "<http://www.opengis.net/def/crs/EPSG/0/9214>"
    else:
        body = {
            "geometry": {"type": "Feature", "properties": {}, "geometry": geometry},
            "crs": "EPSG:9214",
        }
    r = post_geometry(client, body, **headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert close(out["area_m2"], POLYGON.area) and out["crs"] == "EPSG:9214"
    check_breakdown(out["plans"][0], POLYGON, ds.ZONING_LOTS)


def test_multipolygon_over_two_plans_as_of(client: TestClient) -> None:
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            mapping(ds.INSIDE.geom)["coordinates"],
            mapping(ds.HALF_OUT.geom)["coordinates"],
        ],
    }
    union = ds.INSIDE.geom.union(ds.HALF_OUT.geom)
    r = post_geometry(client, {"geometry": multi, "crs": "EPSG:9214"})
    plans = r.json()["plans"]
    assert [p["plan"]["code"] for p in plans] == [ds.DETAIL, ds.ZONING]
    check_breakdown(plans[1], union, ds.ZONING_LOTS)
    check_breakdown(plans[0], union, ds.DETAIL_LOTS)
    r = post_geometry(client, {"geometry": multi, "crs": "EPSG:9214", "date": "2024-01-01"})
    assert r.status_code == 200 and r.json()["plans"] == []


SWAPPED = dict(mapping(shapely.transform(POLYGON, lambda c: c[:, ::-1])))
FAR_AWAY = dict(mapping(shapely.affinity.translate(POLYGON, 0, -1_500_000)))
HUGE = {"type": "Polygon", "coordinates": [[[0, 0], [1e300, 0], [1e300, 1e300], [0, 0]]]}


def _circle(n: int) -> dict[str, Any]:
    e, n0 = ds.P_HOUSING
    pts = [
        [e + 10 * math.cos(2 * math.pi * i / n), n0 + 10 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    return {"type": "Polygon", "coordinates": [[*pts, pts[0]]]}


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"geometry": {"type": "Point", "coordinates": [107.5, 16.4]}}, 422, "Polygon"),
        ({"geometry": {"type": "Polygon", "coordinates": "x"}}, 422, "GeoJSON"),
        ({"geometry": {"type": "Polygon", "coordinates": [[[107.5, 16.4]] * 4]}}, 422, "area"),
        ({"geometry": _circle(10_001), "crs": "EPSG:9214"}, 422, "10000"),
        ({"geometry": ds.to_geojson_lonlat(POLYGON), "crs": "EPSG:5773"}, 422, "CRS"),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[2, 48], [3, 48], [3, 49], [2, 48]]],
                }
            },
            422,
            "outside the service area",
        ),
        ({"geometry": dict(mapping(POLYGON))}, 422, "outside the service area"),
        ({"geometry": SWAPPED, "crs": "EPSG:9214"}, 422, "swapped"),
        ({"geometry": FAR_AWAY, "crs": "EPSG:9214"}, 422, "outside the service area"),
        ({"geometry": HUGE, "crs": "EPSG:9214"}, 422, "outside the service area"),
    ],
)
def test_bad_polygons(client: TestClient, body: dict[str, Any], status: int, needle: str) -> None:
    r = post_geometry(client, body)
    assert r.status_code == status, r.text
    assert needle in str(r.json()["detail"])


def test_polygon_with_10000_vertices_is_accepted(client: TestClient) -> None:
    r = post_geometry(client, {"geometry": _circle(9_999), "crs": "EPSG:9214"})
    assert r.status_code == 200, r.text
    assert r.json()["plans"][0]["zones"][0]["lot"] == "OM-01"


def test_body_size_is_bounded(client: TestClient) -> None:
    big = {"geometry": {"type": "Polygon", "coordinates": [[[1.0, 2.0]] * 200_000]}}
    r = client.post(
        "/v1/lookup/geometry", content=json.dumps(big), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


# --- batch -------------------------------------------------------------------------------------


def batch_items() -> list[dict[str, Any]]:
    lon, lat = ds.lonlat(*ds.P_DETAIL)
    return [
        {"id": "wgs84", "lon": lon, "lat": lat},
        {"id": "vn2000", "x": ds.P_DETAIL[0], "y": ds.P_DETAIL[1], "crs": "EPSG:9214"},
        {
            "id": "surveyor",
            "x": ds.P_DETAIL[1],
            "y": ds.P_DETAIL[0],
            "province": "46",
            "axis": "ne",
        },
        {"id": "parcel", "commune": "19753", "sheet": "7", "parcel": "12"},
        {"id": "bad-lon", "lon": 500, "lat": 16},
        {"id": "missing", "commune": "19753", "sheet": "7", "parcel": "999"},
        {"id": "half-key", "commune": "19753"},
        {"id": "twin", "commune": "19753", "sheet": "2", "parcel": "5"},
    ]


def test_batch_json_errors_stay_in_their_rows(client: TestClient) -> None:
    r = client.post("/v1/lookup/batch", json={"items": batch_items()})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {x["id"]: x for x in body["results"]}
    assert [x["index"] for x in body["results"]] == list(range(8))
    assert body["succeeded"] == 4 and body["failed"] == 4 and body["data_version"] == 4
    single = client.get(
        "/v1/lookup", params={"x": ds.P_DETAIL[0], "y": ds.P_DETAIL[1], "crs": "EPSG:9214"}
    ).json()
    for name in ("wgs84", "vn2000", "surveyor"):
        assert rows[name]["status"] == 200
        assert rows[name]["result"]["plans"] == single["plans"]
        assert rows[name]["result"]["parcel"] == single["parcel"]
    parcel = rows["parcel"]["result"]
    assert parcel["parcel"]["commune"] == "19750"
    check_breakdown(parcel["plans"][0], ds.STRADDLE.geom, ds.ZONING_LOTS)
    assert rows["bad-lon"]["status"] == 422 and "WGS 84" in rows["bad-lon"]["error"]
    assert rows["missing"]["status"] == 404 and rows["missing"]["result"] is None
    assert rows["half-key"]["status"] == 422
    assert rows["twin"]["status"] == 300
    assert [m["commune"] for m in rows["twin"]["matches"]] == ["19756", "19759"]
    assert all(
        "/v1/parcels/19756/2/5?id=" in m["link"] or "/v1/parcels/19759/2/5?id=" in m["link"]
        for m in rows["twin"]["matches"]
    )
    assert body["complete"] is True and body["not_reached"] == []


def test_batch_csv_in_and_out(client: TestClient) -> None:
    buf = io.StringIO()
    fields = ["id", "lon", "lat", "x", "y", "crs", "province", "axis", "commune", "sheet", "parcel"]
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    for item in batch_items():
        w.writerow(item)
    r = client.post(
        "/v1/lookup/batch",
        content=buf.getvalue().encode("utf-8"),
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == [i["id"] for i in batch_items()]
    by_id = {row["id"]: row for row in rows}
    # The governing plan at P_DETAIL is the detail plan: lot LK-01.
    assert by_id["vn2000"]["plan"] == ds.DETAIL and by_id["vn2000"]["lot"] == "LK-01"
    assert float(by_id["vn2000"]["density_max"]) == 80.0 and by_id["vn2000"]["sheet"] == "7"
    straddle = by_id["parcel"]
    assert straddle["status"] == "200" and straddle["commune"] == "19750"
    road = ds.STRADDLE.geom.intersection(ds.ROAD.geom).area
    assert close(float(straddle["road_area_m2"]), road)
    assert close(float(straddle["parcel_area_m2"]), ds.STRADDLE.geom.area)
    # The zone with the largest share of the parcel.
    areas = {lot.lot: ds.STRADDLE.geom.intersection(lot.geom).area for lot in ds.ZONING_LOTS}
    assert straddle["lot"] == max(areas, key=lambda k: areas[k])
    assert by_id["bad-lon"]["status"] == "422" and by_id["bad-lon"]["error"]
    assert by_id["missing"]["status"] == "404"
    # CSV in, JSON out.
    r = client.post(
        "/v1/lookup/batch", content=buf.getvalue(), headers={"content-type": "text/csv"}
    )
    assert r.json()["succeeded"] == 4


def test_batch_as_of_date(client: TestClient) -> None:
    items = batch_items()[:4]
    r = client.post("/v1/lookup/batch", json={"items": items, "date": "2024-06-01"})
    body = r.json()
    assert [x["status"] for x in body["results"]] == [200, 200, 200, 404]
    assert all(x["result"]["plans"] == [] for x in body["results"][:3])
    csv_body = f"id,x,y,crs\na,{ds.P_DETAIL[0]},{ds.P_DETAIL[1]},EPSG:9214\n"
    r = client.post(
        "/v1/lookup/batch?date=2024-06-01", content=csv_body, headers={"content-type": "text/csv"}
    )
    assert r.json()["results"][0]["result"]["plans"] == []


@pytest.mark.parametrize(
    ("content", "ctype", "needle"),
    [
        (json.dumps({"items": [{"lon": 107.5, "lat": 16.4}] * 1001}), "application/json", "batch"),
        ("id,lon,lat\n" + "x,107.5,16.4\n" * 1001, "text/csv", "1000"),
        ("id,colour\n1,red\n", "text/csv", "unknown: colour"),
        ("id,lon,lat\n1,abc,16\n", "text/csv", "row 1"),
        (b"\xff\xfe", "text/csv", "UTF-8"),
        ("{not json", "application/json", "not a valid batch"),
        ("<items/>", "application/xml", "application/json or text/csv"),
    ],
)
def test_batch_bad_input(client: TestClient, content: Any, ctype: str, needle: str) -> None:
    r = client.post("/v1/lookup/batch", content=content, headers={"content-type": ctype})
    assert r.status_code == 422, r.text
    assert needle in str(r.json()["detail"])


def test_batch_of_1000_points(client: TestClient) -> None:
    e, n = ds.P_HOUSING
    items = [{"x": e + i * 0.01, "y": n, "crs": "EPSG:9214"} for i in range(1000)]
    r = client.post("/v1/lookup/batch", json={"items": items})
    assert r.status_code == 200
    body = r.json()
    assert body["succeeded"] == 1000
    assert {x["result"]["plans"][0]["zones"][0]["lot"] for x in body["results"]} == {"OM-01"}
