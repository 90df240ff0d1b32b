"""GET /v1/parcels/{commune}/{sheet}/{parcel} (breakdown) and GET /v1/parcels (search)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

from planning.catalogue import fold
from tests.api import dataset as ds
from tests.api.expect import check_breakdown, close

TO_9214 = Transformer.from_crs(4326, ds.EPSG, always_xy=True)


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def key(p: ds.Parcel) -> str:
    return f"/v1/parcels/{p.commune}/{p.sheet}/{p.parcel}"


def to_9214(geojson: dict[str, Any]) -> Any:
    def tf(c: Any) -> Any:
        x, y = TO_9214.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(shape(geojson), tf)


def test_parcel_across_two_zones_and_a_road(client: TestClient) -> None:
    p = ds.STRADDLE
    body = get(client, key(p))
    facts = body["parcel"]
    assert (facts["commune"], facts["sheet"], facts["parcel"]) == (p.commune, p.sheet, p.parcel)
    assert close(facts["area_m2"], p.geom.area)
    assert facts["area_official_m2"] == p.official
    assert facts["land_use_code"] == p.land_use and facts["address"] == p.address
    assert [b["plan"]["code"] for b in body["plans"]] == [ds.ZONING]
    plan = body["plans"][0]
    assert {z["lot"] for z in plan["zones"]} == {"OM-01", "CX-01", "GT-01"}
    check_breakdown(plan, p.geom, ds.ZONING_LOTS)
    road = p.geom.intersection(ds.ROAD.geom).area
    assert road > 100  # the planned road really cuts the parcel
    assert close(body["road_area_m2"], road)
    assert close(body["remaining_area_m2"], p.geom.area - road, 0.011)
    assert body["geometry"] is None
    assert "chứng chỉ quy hoạch" in body["disclaimer"]["vi"] and body["data_version"] == 4


def test_parcel_in_two_plans_detail_governs(client: TestClient) -> None:
    p = ds.INSIDE
    body = get(client, key(p))
    assert [b["plan"]["code"] for b in body["plans"]] == [ds.DETAIL, ds.ZONING]
    check_breakdown(body["plans"][0], p.geom, ds.DETAIL_LOTS)
    check_breakdown(body["plans"][1], p.geom, ds.ZONING_LOTS)
    assert body["road_area_m2"] == 0.0
    assert close(body["remaining_area_m2"], p.geom.area)


def test_parcel_partly_outside_the_plan(client: TestClient) -> None:
    p = ds.HALF_OUT
    plan = get(client, key(p))["plans"][0]
    check_breakdown(plan, p.geom, ds.ZONING_LOTS)
    inside = p.geom.intersection(ds.GREEN.geom).area
    assert plan["outside_plan_pct"] == pytest.approx(100 - inside / p.geom.area * 100, abs=0.01)
    assert plan["outside_plan_m2"] > 500


def test_parcel_outside_every_plan(client: TestClient) -> None:
    body = get(client, key(ds.NOWHERE))
    assert body["plans"] == [] and body["road_area_m2"] == 0.0
    assert body["remaining_area_m2"] is None
    assert close(body["parcel"]["area_m2"], ds.NOWHERE.geom.area)


def test_geometry_pieces_as_geojson(client: TestClient) -> None:
    p = ds.STRADDLE
    body = get(client, key(p), geometry="true")
    whole = to_9214(body["geometry"])
    # 7 decimals of a degree are ~1 cm: compare areas relatively.
    assert whole.area == pytest.approx(p.geom.area, rel=2e-4)
    assert whole.symmetric_difference(p.geom).area < 0.5
    lots = {z.lot: z for z in ds.ZONING_LOTS}
    for z in body["plans"][0]["zones"]:
        piece = to_9214(z["geometry"])
        exact = p.geom.intersection(lots[z["lot"]].geom)
        assert piece.area == pytest.approx(exact.area, rel=1e-3)
        assert piece.symmetric_difference(exact).area < 0.5


@pytest.mark.parametrize(
    ("commune", "sheet", "parcel", "stored"),
    [
        ("19750", "7", "12", ds.STRADDLE),  # the cadastral map's (former) commune
        ("19753", "7", "12", ds.STRADDLE),  # today's commune: Tây Lộc became part of Phú Xuân
        ("19753", "07", "012", ds.STRADDLE),  # leading zeros as certificates print them
        ("19753", "7", "3", ds.INSIDE),  # 19753 was Thuận Lộc, now Phú Xuân: same code
        ("19777", "1", "2", ds.GRID[19]),  # Xuân Phú (19792) went into Vỹ Dạ (19777)
        ("19792", "1", "2", ds.GRID[19]),
    ],
)
def test_commune_old_or_new_code(
    client: TestClient, commune: str, sheet: str, parcel: str, stored: ds.Parcel
) -> None:
    facts = get(client, f"/v1/parcels/{commune}/{sheet}/{parcel}")["parcel"]
    assert (facts["commune"], facts["sheet"], facts["parcel"]) == (
        stored.commune,
        stored.sheet,
        stored.parcel,
    )


def test_parcel_errors(client: TestClient) -> None:
    r = client.get("/v1/parcels/19753/7/999")
    assert r.status_code == 404 and "no parcel" in r.json()["detail"]
    r = client.get("/v1/parcels/19753/2/5")  # in two former communes of 19753
    assert r.status_code == 300 and "19756" in r.json()["detail"]
    matches = r.json()["matches"]
    assert [m["commune"] for m in matches] == ["19756", "19759"]
    assert [m["address"] for m in matches] == ["Gia Hội", "Phú Hậu"]
    for m in matches:  # each link names one parcel
        assert m["link"].startswith("http://testserver/v1/parcels/19753/2/5?id=")
        picked = client.get(m["link"])
        assert picked.status_code == 200 and picked.json()["parcel"]["id"] == m["id"]
    assert client.get("/v1/parcels/19756/2/5").json()["parcel"]["address"] == "Gia Hội"
    for bad in (
        "/v1/parcels/abc/7/12",
        "/v1/parcels/19753/7/" + "1" * 21,
        "/v1/parcels/1975300/7/1",
    ):
        r = client.get(bad)
        assert r.status_code == 422, bad
    r = client.get(key(ds.STRADDLE), params={"date": "2024-12-31"})
    assert r.status_code == 404  # the cadastre took effect on 2025-01-01


def keys_of(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(i["commune"], i["sheet"], i["parcel"]) for i in items]


def test_search_without_diacritics(client: TestClient) -> None:
    expected = {(p.commune, p.sheet, p.parcel) for p in ds.PARCELS if "vy da" in fold(p.address)}
    assert len(expected) == 18
    for q in ("vy da", "Vỹ Dạ", "VY   DA", "phuong vy da"):
        body = get(client, "/v1/parcels", q=q, limit=100)
        assert body["total"] == 18, q
        assert set(keys_of(body["items"])) == expected
    body = get(client, "/v1/parcels", q="nguyen sinh cung vy da", limit=100)
    assert body["total"] == 9
    assert all("Nguyễn Sinh Cung" in i["address"] for i in body["items"])
    assert get(client, "/v1/parcels", q="50% _x")["total"] == 0


def test_search_by_key_parts(client: TestClient) -> None:
    assert get(client, "/v1/parcels", commune="19777", sheet="3")["total"] == 18
    # Today's code finds the parcels mapped under the former commune too.
    body = get(client, "/v1/parcels", commune="19777", limit=100)
    assert body["total"] == 24
    assert {i["commune"] for i in body["items"]} == {"19777", "19792"}
    body = get(client, "/v1/parcels", commune="19792", sheet="1", limit=100)
    assert set(keys_of(body["items"])) == {("19792", "1", str(n)) for n in range(1, 7)}
    body = get(client, "/v1/parcels", commune="19753", sheet="7", parcel="12")
    assert keys_of(body["items"]) == [("19750", "7", "12")]


def test_search_pagination(client: TestClient) -> None:
    everything = get(client, "/v1/parcels", limit=100)
    total = len(ds.PARCELS)
    assert everything["total"] == total and len(everything["items"]) == total
    order = keys_of(everything["items"])
    assert order == sorted(order, key=lambda k: (k[0], len(k[1]), k[1], len(k[2]), k[2]))
    seen: list[tuple[str, str, str]] = []
    url: str | None = "/v1/parcels?limit=7"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        page = r.json()
        assert page["total"] == total and page["limit"] == 7
        if pages:
            assert page["links"]["prev"] is not None
        else:
            assert page["links"]["prev"] is None
        seen += keys_of(page["items"])
        url = page["links"]["next"]
        pages += 1
    assert seen == order and pages == -(-total // 7)
    page2 = get(client, "/v1/parcels", limit=7, offset=7)
    assert "offset=0" in page2["links"]["prev"]
    beyond = get(client, "/v1/parcels", q="vy da", limit=5, offset=50)
    assert beyond["items"] == [] and beyond["total"] == 18 and beyond["links"]["next"] is None
    assert "offset=45" in beyond["links"]["prev"] and "q=vy+da" in beyond["links"]["prev"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"q": "x" * 101}, {"commune": "abc"}],
)
def test_search_bounds(client: TestClient, params: dict[str, Any]) -> None:
    assert client.get("/v1/parcels", params=params).status_code == 422
