"""OGC API – Features Part 1 under /ogc, in process and read by GDAL's OAPIF driver over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import box, shape

from tests.api import dataset as ds
from tests.api.conftest import LIVE_QUOTA, LiveServer

GEOJSON = "application/geo+json"
TO_9214 = Transformer.from_crs(4326, ds.EPSG, always_xy=True)
ALL_ZONES = {z.lot: z for z in (*ds.ZONING_LOTS, *ds.DETAIL_LOTS)}


def wgs84(g: Any) -> Any:
    def tf(c: Any) -> Any:
        x, y = ds.TO_WGS84.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(g, tf)


def to_9214(g: Any) -> Any:
    def tf(c: Any) -> Any:
        x, y = TO_9214.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(g, tf)


def same_shape(got: Any, drawn: Any) -> bool:
    """Tell whether a geometry sent with 7 decimals of a degree (~1 cm) is the drawn one."""
    return bool(got.symmetric_difference(drawn).area <= drawn.length * 0.01)


def test_landing_and_conformance(client: TestClient) -> None:
    body = client.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"].endswith("/openapi.json")
    assert client.get(rels["service-desc"]).status_code == 200
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf


def test_collections_and_extents(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    cols = {c["id"]: c for c in body["collections"]}
    assert set(cols) == {"zones", "parcels", "red_lines"}
    zb = wgs84(shapely.union_all([z.geom for z in ALL_ZONES.values()])).bounds
    assert cols["zones"]["extent"]["spatial"]["bbox"][0] == pytest.approx(list(zb), abs=2e-7)
    for c in cols.values():
        links = {link["rel"]: link for link in c["links"]}
        assert links["items"]["type"] == GEOJSON
        one = client.get(f"/ogc/collections/{c['id']}").json()
        assert one["id"] == c["id"] and one["extent"] == c["extent"]


def all_items(client: TestClient, collection: str, **params: Any) -> list[dict[str, Any]]:
    """Follow the next links from the first page."""
    out: list[dict[str, Any]] = []
    r = client.get(f"/ogc/collections/{collection}/items", params=params)
    while True:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(GEOJSON)
        page = r.json()
        assert page["type"] == "FeatureCollection"
        assert page["numberReturned"] == len(page["features"])
        out += page["features"]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            return out
        r = client.get(nxt[0])


def test_zone_items_match_the_file(client: TestClient) -> None:
    feats = all_items(client, "zones", limit=2)
    assert len({f["id"] for f in feats}) == len(feats) == len(ALL_ZONES)
    for f in feats:
        lot = ALL_ZONES[f["properties"]["lot"]]
        assert f["properties"]["function_l1"] == lot.f1
        assert f["properties"]["density_max"] == lot.density
        assert f["properties"]["plan"] == (ds.DETAIL if lot in ds.DETAIL_LOTS else ds.ZONING)
        g = to_9214(shape(f["geometry"]))
        assert same_shape(g, lot.geom)
        assert f["properties"]["area_m2"] == pytest.approx(lot.geom.area, abs=0.005)


def test_paging_with_limit_and_offset(client: TestClient) -> None:
    full = all_items(client, "parcels", limit=1000)
    assert len(full) == len(ds.PARCELS)
    paged = all_items(client, "parcels", limit=7)
    assert [f["id"] for f in paged] == [f["id"] for f in full]
    page = client.get("/ogc/collections/parcels/items", params={"limit": 7, "offset": 7}).json()
    assert [f["id"] for f in page["features"]] == [f["id"] for f in full[7:14]]
    rels = {link["rel"] for link in page["links"]}
    assert rels == {"self", "next", "prev"}
    last = client.get("/ogc/collections/parcels/items", params={"offset": len(full)}).json()
    assert last["features"] == [] and last["numberReturned"] == 0


def test_bbox_filter(client: TestClient) -> None:
    # A box around the detail lot, inset by a metre: every zone whose envelope meets it.
    inner = ds.DETAIL_LOT.geom.buffer(-1)
    bb = wgs84(inner).bounds
    feats = all_items(client, "zones", bbox=",".join(str(v) for v in bb))
    expected = {
        label for label, z in ALL_ZONES.items() if wgs84(z.geom).envelope.intersects(box(*bb))
    }
    assert {f["properties"]["lot"] for f in feats} == expected
    assert {"LK-01", "OM-01", "GT-01", "TM-01"} <= expected and "CX-01" not in expected
    red = all_items(client, "red_lines", bbox=",".join(str(v) for v in bb))
    assert len(red) == 2
    far = wgs84(ds.NOWHERE.geom).bounds
    feats = all_items(client, "parcels", bbox=",".join(str(v) for v in far))
    assert [(f["properties"]["commune_code"], f["properties"]["sheet"]) for f in feats] == [
        ("19753", "9")
    ]


def test_single_items(client: TestClient) -> None:
    feats = all_items(client, "red_lines")
    for f in feats:
        r = client.get(f"/ogc/collections/red_lines/items/{f['id']}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
        one = r.json()
        assert one["type"] == "Feature" and one["properties"] == f["properties"]
        name = one["properties"]["road_name"]
        line = next(g for n, _, g in ds.RED_LINES if n == name)
        assert one["properties"]["length_m"] == pytest.approx(line.length, abs=0.005)
        assert {link["rel"] for link in one["links"]} == {"self", "collection"}
    assert client.get("/ogc/collections/red_lines/items/999999").status_code == 404
    assert client.get("/ogc/collections/roads/items").status_code == 404


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "108,16,107,17", "200,0,201,1", "1,2,3,4,5,6,7"]
)
def test_bad_bbox(client: TestClient, bbox: str) -> None:
    r = client.get("/ogc/collections/zones/items", params={"bbox": bbox})
    assert r.status_code == 422 and "bbox" in r.json()["detail"]


def test_gdal_oapif_reads_the_collections(live_server: LiveServer) -> None:
    url = f"OAPIF:{live_server.base}/ogc"
    layers = {name for name, _ in pyogrio.list_layers(url)}
    assert layers == {"zones", "parcels", "red_lines"}
    zones = pyogrio.read_dataframe(url, layer="zones")
    assert len(zones) == len(ALL_ZONES)
    assert zones.crs is not None and zones.crs.to_epsg() == 4326
    projected = zones.to_crs(ds.EPSG)
    for lot, geom in zip(projected["lot"], projected.geometry, strict=True):
        assert same_shape(geom, ALL_ZONES[lot].geom)
    parcels = pyogrio.read_dataframe(url, layer="parcels")
    assert len(parcels) == len(ds.PARCELS)
    assert set(parcels["address"]) == {p.address for p in ds.PARCELS}
    near = pyogrio.read_dataframe(url, layer="parcels", bbox=wgs84(ds.NOWHERE.geom).bounds)
    assert list(near["sheet"]) == ["9"]
    red = pyogrio.read_dataframe(url, layer="red_lines")
    assert sorted(red["road_name"]) == sorted(n for n, _, _ in ds.RED_LINES)


def test_planning_serve_answers_over_http(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.base) as http:
        for _ in range(4):  # whichever of the two workers takes it
            assert http.get("/healthz").json() == {"status": "ok"}
        e, n = ds.P_HOUSING
        r = http.get("/v1/lookup", params={"x": e, "y": n, "crs": "EPSG:9214"})
        assert r.status_code == 200 and r.json()["plans"][0]["zones"][0]["lot"] == "OM-01"
        assert "server" not in r.headers  # no banner
        assert r.headers["RateLimit-Limit"] == str(LIVE_QUOTA)
        assert http.get("/openapi.json").json()["info"]["version"] == "1.0.0"
