"""GET /v1/lookup: zones, plans, parcel and red line at a point, in WGS 84 or VN-2000."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from tests.api import dataset as ds
from tests.api.expect import check_plan, check_zone, lots_by_label

LOTS = lots_by_label(ds.ZONING_LOTS, ds.DETAIL_LOTS)


def by_en(client: TestClient, e: float, n: float, **extra: Any) -> dict[str, Any]:
    r = client.get("/v1/lookup", params={"x": e, "y": n, "crs": "EPSG:9214", **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def by_lonlat(client: TestClient, e: float, n: float, **extra: Any) -> dict[str, Any]:
    lon, lat = ds.lonlat(e, n)
    r = client.get("/v1/lookup", params={"lon": lon, "lat": lat, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def answered(body: dict[str, Any]) -> dict[str, set[str]]:
    return {p["plan"]["code"]: {z["lot"] for z in p["zones"]} for p in body["plans"]}


def expected(e: float, n: float) -> dict[str, set[str]]:
    out = {
        ds.DETAIL: ds.zones_at(ds.DETAIL_LOTS, e, n),
        ds.ZONING: ds.zones_at(ds.ZONING_LOTS, e, n),
    }
    return {k: v for k, v in out.items() if v}


POINTS = {
    "housing": ds.P_HOUSING,
    "detail": ds.P_DETAIL,
    "shared_edge": ds.P_SHARED,
    "corner": ds.P_CORNER,
    "off_edge": ds.P_OFF_EDGE,
    "far": ds.P_FAR,
    "empty": ds.P_EMPTY,
    "parcel_no_plan": ds.NOWHERE.geom.centroid.coords[0],
}


@pytest.mark.parametrize("name", list(POINTS))
def test_zones_at_point_match_shapely(client: TestClient, name: str) -> None:
    e, n = POINTS[name]
    body = by_en(client, e, n)
    assert answered(body) == expected(e, n)
    for p in body["plans"]:
        for z in p["zones"]:
            check_zone(z, LOTS[z["lot"]])


def test_shared_boundary_returns_both_zones(client: TestClient) -> None:
    for e, n in (ds.P_SHARED,):
        for body in (by_en(client, e, n), by_lonlat(client, e, n)):
            assert answered(body) == {ds.ZONING: {"OM-01", "CX-01"}}
    assert answered(by_en(client, *ds.P_CORNER)) == {ds.ZONING: {"OM-01", "CX-01", "GT-01"}}
    assert answered(by_en(client, *ds.P_OFF_EDGE)) == {ds.ZONING: {"CX-01"}}


def test_plans_most_detailed_first(client: TestClient) -> None:
    body = by_en(client, *ds.P_DETAIL)
    assert [p["plan"]["code"] for p in body["plans"]] == [ds.DETAIL, ds.ZONING]
    check_plan(body["plans"][0]["plan"], ds.DETAIL, ds.DETAIL_META)
    check_plan(body["plans"][1]["plan"], ds.ZONING, ds.ZONING_META)
    assert body["plans"][0]["plan"]["level_name"]["vi"].startswith("Quy hoạch chi tiết")
    rev = body["plans"][1]["revision"]
    assert rev["version"] == 1 and rev["effective_from"] == ds.EFFECTIVE.isoformat()


def test_parcel_at_point(client: TestClient) -> None:
    body = by_en(client, *ds.P_DETAIL)
    p = body["parcel"]
    assert (p["commune"], p["sheet"], p["parcel"]) == ("19753", "7", "3")
    assert p["area_m2"] == pytest.approx(ds.INSIDE.geom.area, abs=0.0051)
    assert p["area_official_m2"] == ds.INSIDE.official
    assert p["address"] == ds.INSIDE.address and p["land_use_code"] == "ODT"
    assert by_en(client, *ds.P_HOUSING)["parcel"] is None


def test_red_line_within_100_m(client: TestClient) -> None:
    for point in (ds.P_HOUSING, ds.P_DETAIL, ds.P_SHARED):
        red = by_en(client, *point)["red_line"]
        assert red is not None
        assert red["distance_m"] == pytest.approx(ds.red_line_distance(*point), abs=0.0051)
        assert red["road_name"] == "Đường Lê Lợi (phía bắc)"
        assert red["row_width_m"] == 20.0 and red["plan"] == ds.ZONING
    assert ds.red_line_distance(*ds.P_FAR) > 100
    assert by_en(client, *ds.P_FAR)["red_line"] is None


def test_vn2000_input_equals_wgs84_input(client: TestClient) -> None:
    for point in POINTS.values():
        e, n = point
        a, b = by_en(client, e, n), by_lonlat(client, e, n)
        c = client.get("/v1/lookup", params={"x": n, "y": e, "province": "46", "axis": "ne"}).json()
        d = client.get("/v1/lookup", params={"x": e, "y": n, "province": "46"}).json()
        lon, lat = ds.lonlat(e, n)
        for other in (a, b, c, d):
            assert other["plans"] == a["plans"]
            assert other["parcel"] == a["parcel"]
            assert other["red_line"] == a["red_line"]
            loc = other["location"]
            assert loc["wgs84"]["lon"] == pytest.approx(lon, abs=1e-8)
            assert loc["wgs84"]["lat"] == pytest.approx(lat, abs=1e-8)
            if other is b and not (a["plans"] or a["parcel"]):
                # No data there: lon/lat is echoed in the TM-3 zone nearest the longitude.
                crs = loc["vn2000"]["crs"]
                x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
                assert loc["vn2000"]["x"] == pytest.approx(x, abs=0.002)
                assert loc["vn2000"]["y"] == pytest.approx(y, abs=0.002)
                continue
            assert loc["vn2000"]["crs"] == "EPSG:9214"
            assert loc["vn2000"]["x"] == pytest.approx(e, abs=0.002)
            assert loc["vn2000"]["y"] == pytest.approx(n, abs=0.002)


def test_reference_point_echo(client: TestClient) -> None:
    """The Huế Citadel reference point (VIETNAM.md §1) both ways."""
    lon, lat = ds.CITADEL_LONLAT
    e, n = ds.CITADEL_EN
    loc = client.get("/v1/lookup", params={"lon": lon, "lat": lat}).json()["location"]
    assert loc["vn2000"] == {
        "x": pytest.approx(e, abs=0.001),
        "y": pytest.approx(n, abs=0.001),
        "crs": "EPSG:9214",
    }
    loc = client.get("/v1/lookup", params={"x": e, "y": n, "crs": "EPSG:9214"}).json()["location"]
    assert loc["wgs84"]["lon"] == pytest.approx(lon, abs=1e-8)
    assert loc["wgs84"]["lat"] == pytest.approx(lat, abs=1e-8)


def test_answer_carries_version_and_disclaimer(client: TestClient) -> None:
    body = by_en(client, *ds.P_HOUSING)
    assert body["data_version"] == 4  # four publishes loaded the dataset
    assert "chứng chỉ quy hoạch" in body["disclaimer"]["vi"]
    assert "planning certificate" in body["disclaimer"]["en"]


@pytest.mark.parametrize(
    ("when", "plans"),
    [("2024-06-01", set()), ("2024-12-31", set()), ("2025-01-01", {ds.DETAIL, ds.ZONING})],
)
def test_as_of_before_and_on_effective_date(client: TestClient, when: str, plans: set[str]) -> None:
    body = by_en(client, *ds.P_DETAIL, date=when)
    assert {p["plan"]["code"] for p in body["plans"]} == plans
    assert body["date"] == when
    # Parcels took effect on the same day.
    assert (body["parcel"] is not None) == bool(plans)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"lon": 200, "lat": 16}, "not valid WGS 84"),
        ({"lon": 107.5, "lat": 95}, "not valid WGS 84"),
        ({"lon": 2.35, "lat": 48.85}, "outside the service area"),
        ({"x": 561_475.8, "y": 500_000.0, "crs": "EPSG:9214"}, "outside the service area"),
        ({"x": 1_821_649.8, "y": 561_475.8, "crs": "EPSG:9214"}, "axis=ne"),
        ({"x": 561_475.8, "y": 1_821_649.8}, "crs"),
        ({"lon": 107.5}, "both lon and lat"),
        ({"x": 1, "y": 2, "crs": "EPSG:5773"}, "unsupported CRS"),
        ({"x": 1, "y": 2, "province": "99"}, "province"),
        ({"lon": "nan", "lat": 16}, "finite"),
        ({"lon": 107.5, "lat": 16.4, "date": "2025-13-01"}, "date"),
        ({"lon": 107.5, "lat": 16.4, "date": "9999-01-01"}, "date"),
    ],
)
def test_bad_points_are_422_with_a_reason(
    client: TestClient, params: dict[str, Any], needle: str
) -> None:
    r = client.get("/v1/lookup", params=params)
    assert r.status_code == 422, r.text
    assert needle in str(r.json()["detail"])
