"""Plans, revisions, diffs, the catalogue, and answers as of a date across publish and rollback."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from tests.api import dataset as ds
from tests.api.conftest import settings_for
from tests.api.expect import check_plan, check_zone, close, lots_by_label
from tests.conftest import Cli


def test_plan_list_most_detailed_first(client: TestClient, revisions: dict[str, int]) -> None:
    body = client.get("/v1/plans").json()
    assert [p["code"] for p in body["plans"]] == [ds.DETAIL, ds.ZONING]
    for p, meta in zip(body["plans"], (ds.DETAIL_META, ds.ZONING_META), strict=True):
        check_plan(p, p["code"], meta)
        assert p["province_code"] == "46" and p["authority"] == meta["authority"]
    assert body["plans"][0]["current_revision"] == revisions["detail"]
    assert body["plans"][1]["current_revision"] == revisions["zoning"]
    assert body["data_version"] == 4
    before = client.get("/v1/plans", params={"date": "2024-12-31"}).json()
    assert [p["current_revision"] for p in before["plans"]] == [None, None]


def test_plan_detail_and_revisions(client: TestClient, revisions: dict[str, int]) -> None:
    body = client.get(f"/v1/plans/{ds.ZONING}").json()
    check_plan(body, ds.ZONING, ds.ZONING_META)
    kinds = {r["kind"]: r for r in body["revisions"]}
    assert set(kinds) == {"zoning", "red_lines"}
    z = kinds["zoning"]
    assert z["id"] == revisions["zoning"] and z["state"] == "published"
    assert z["effective_from"] == "2025-01-01" and z["effective_to"] is None
    assert z["feature_count"] == len(ds.ZONING_LOTS) and z["source_name"] == "zoning_v1.gpkg"
    assert "9214" in z["crs"] or "TM-3 107" in z["crs"]
    # The extent of the zoning in WGS 84, computed with pyproj from the drawn vertices.
    pts = [ds.lonlat(x, y) for lot in ds.ZONING_LOTS for x, y in lot.geom.exterior.coords]
    expected = [
        min(p[0] for p in pts),
        min(p[1] for p in pts),
        max(p[0] for p in pts),
        max(p[1] for p in pts),
    ]
    assert body["bbox"] == pytest.approx(expected, abs=2e-7)
    revs = client.get(f"/v1/plans/{ds.ZONING}/revisions").json()
    assert [r["id"] for r in revs] == [revisions["zoning"], revisions["red_lines"]]


@pytest.mark.parametrize(
    "path", ["/v1/plans/NOPE", "/v1/plans/NOPE/revisions", "/v1/plans/NOPE/diff?from=1&to=2"]
)
def test_unknown_plan_is_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert "NOPE" in r.json()["detail"] or "no revision" in r.json()["detail"]


def test_diff_refuses_other_kinds_and_plans(client: TestClient, revisions: dict[str, int]) -> None:
    z, d, red = revisions["zoning"], revisions["detail"], revisions["red_lines"]
    r = client.get(f"/v1/plans/{ds.ZONING}/diff", params={"from": z, "to": red})
    assert r.status_code == 422 and "zoning" in r.json()["detail"]
    r = client.get(f"/v1/plans/{ds.ZONING}/diff", params={"from": z, "to": d})
    assert r.status_code == 422
    r = client.get(f"/v1/plans/{ds.DETAIL}/diff", params={"from": z, "to": z})
    assert r.status_code == 422 and ds.DETAIL in r.json()["detail"]
    same = client.get(f"/v1/plans/{ds.ZONING}/diff", params={"from": z, "to": z}).json()
    assert same["added"] == same["removed"] == same["changed"] == []


def test_land_use_categories(client: TestClient) -> None:
    body = client.get("/v1/land-use-categories").json()
    cats = ds.categories()
    assert len(body) == len(cats)
    for c in body:
        ref = cats[c["code"]]
        assert (c["name_vi"], c["name_en"], c["scheme"]) == (
            ref["name_vi"],
            ref["name_en"],
            ref["scheme"],
        )
        assert c["color"] == (ref["color"] or None)


# --- time -------------------------------------------------------------------------------------

V2_DAY = date(2025, 6, 1)
GROWN = replace(ds.INSIDE, geom=ds.ring((10, 10), (40, 10), (40, 30), (10, 30)))


def lots_at(c: TestClient, point: tuple[float, float], day: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"x": point[0], "y": point[1], "crs": "EPSG:9214"}
    if day:
        params["date"] = day
    body = c.get("/v1/lookup", params=params).json()
    zones = {z["lot"]: z for p in body["plans"] for z in p["zones"]}
    return {"zones": zones, "version": body["data_version"], "plans": body["plans"]}


def test_as_of_across_publish_and_rollback(
    db_url: str, engine: Engine, run: Cli, tmp_path: Path
) -> None:
    v1 = ds.ingest(
        engine, "zoning", ds.write_zoning(tmp_path, "v1", ds.ZONING_LOTS), ds.ZONING, ds.ZONING_META
    )
    p1 = ds.ingest(engine, "parcels", ds.write_parcels(tmp_path))
    v2 = ds.ingest(
        engine,
        "zoning",
        ds.write_zoning(tmp_path, "v2", ds.ZONING_LOTS_V2),
        ds.ZONING,
        effective=V2_DAY,
        publish=False,
    )
    others = tuple(
        p for p in ds.PARCELS if p.commune == "19753" and p not in (ds.INSIDE, ds.NOWHERE)
    )
    p2 = ds.ingest(
        engine,
        "parcels",
        ds.write_parcels(tmp_path, (GROWN, *others), "parcels2"),
        effective=V2_DAY,
        publish=False,
    )
    v1_lots = lots_by_label(ds.ZONING_LOTS)
    v2_lots = lots_by_label(ds.ZONING_LOTS_V2)
    point = ds.P_SHARED
    with TestClient(create_app(settings_for(db_url))) as c:
        # Staged revisions change nothing.
        now = lots_at(c, point, "2025-07-01")
        assert set(now["zones"]) == {"OM-01", "CX-01"} and now["version"] == 2
        revs = {r["id"]: r for r in c.get(f"/v1/plans/{ds.ZONING}/revisions").json()}
        assert revs[v2]["state"] == "staged"

        run("revisions", "publish", str(v2))
        run("revisions", "publish", str(p2))
        expected = {
            "2024-12-31": {},
            "2025-01-01": v1_lots,
            "2025-05-31": v1_lots,
            "2025-06-01": v2_lots,
            "2025-07-01": v2_lots,
            None: v2_lots,
        }
        for day, lots in expected.items():
            got = lots_at(c, point, day)
            assert set(got["zones"]) == {k for k in ("OM-01", "CX-01", "GD-01") if k in lots}
            for label, z in got["zones"].items():
                check_zone(z, lots[label])
            assert got["version"] == 4
        assert lots_at(c, point, None)["zones"]["OM-01"]["indicators"]["density_max"] == 60.0
        got = lots_at(c, point, "2025-07-01")
        assert got["plans"][0]["revision"] == {
            "id": v2,
            "version": 2,
            "effective_from": "2025-06-01",
        }
        revs = {r["id"]: r for r in c.get(f"/v1/plans/{ds.ZONING}/revisions").json()}
        assert revs[v1]["effective_to"] == "2025-06-01" and revs[v2]["state"] == "published"
        plans = c.get("/v1/plans", params={"date": "2025-03-01"}).json()["plans"]
        assert plans[0]["current_revision"] == v1
        assert c.get("/v1/plans").json()["plans"][0]["current_revision"] == v2

        diff = c.get(f"/v1/plans/{ds.ZONING}/diff", params={"from": v1, "to": v2}).json()
        assert diff["from"] == v1 and diff["to"] == v2 and diff["plan"] == ds.ZONING
        assert [z["lot"] for z in diff["added"]] == ["GD-01"]
        assert [z["lot"] for z in diff["removed"]] == ["CX-01"]
        assert close(diff["removed"][0]["area_m2"], ds.GREEN.geom.area)
        assert [(ch["lot"], ch["changes"]) for ch in diff["changed"]] == [
            ("OM-01", {"density_max": {"from": 70.0, "to": 60.0}})
        ]
        total = sum(z.geom.area for z in ds.ZONING_LOTS)
        assert close(diff["area_m2"]["from"], total) and close(diff["area_m2"]["to"], total)

        # Parcels: the new cadastre of commune 19753 replaces that commune only.
        def parcel(key: str, day: str) -> Any:
            return c.get(f"/v1/parcels/{key}", params={"date": day})

        assert close(parcel("19753/7/3", "2025-07-01").json()["parcel"]["area_m2"], GROWN.geom.area)
        assert close(
            parcel("19753/7/3", "2025-03-01").json()["parcel"]["area_m2"], ds.INSIDE.geom.area
        )
        assert parcel("19753/9/1", "2025-07-01").status_code == 404
        assert parcel("19753/9/1", "2025-03-01").status_code == 200
        assert parcel("19750/7/12", "2025-07-01").status_code == 200
        grown_zones = parcel("19753/7/3", "2025-07-01").json()["plans"][0]
        assert close(
            grown_zones["zones"][0]["area_m2"],
            shapely.intersection(GROWN.geom, ds.HOUSING.geom).area,
        )

        run("revisions", "rollback", ds.ZONING)
        run("revisions", "rollback", "--revision", str(p2))
        for day in ("2025-07-01", None):
            got = lots_at(c, point, day)
            assert set(got["zones"]) == {"OM-01", "CX-01"} and got["version"] == 6
            for label, z in got["zones"].items():
                check_zone(z, v1_lots[label])
        revs = {r["id"]: r for r in c.get(f"/v1/plans/{ds.ZONING}/revisions").json()}
        assert revs[v1]["effective_to"] is None and revs[v2]["state"] == "retired"
        assert parcel("19753/9/1", "2025-07-01").status_code == 200
        assert close(
            parcel("19753/7/3", "2025-07-01").json()["parcel"]["area_m2"], ds.INSIDE.geom.area
        )
        assert p1 < p2
