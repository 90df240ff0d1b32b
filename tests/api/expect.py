"""Assertions shared by the API tests: a zone answer against the lot it should describe."""

from __future__ import annotations

from typing import Any

from tests.api import dataset as ds

# Areas are reported to 0.01 m²: a rounded value lies within half a unit of the exact one.
AREA_TOL = 0.0051


def check_zone(z: dict[str, Any], lot: ds.Lot) -> None:
    """Check one zone of an answer against the lot the file defined."""
    assert z["lot"] == lot.lot
    assert z["code"] == lot.expected_code
    assert z["function"] == lot.function
    assert z["functions"] == [lot.f1, lot.f2, lot.f3]
    assert z["is_road"] is lot.is_road
    cat = ds.categories()[lot.expected_code]
    assert z["land_use"] == {
        "code": lot.expected_code,
        "name_vi": cat["name_vi"],
        "name_en": cat["name_en"],
    }
    assert z["indicators"] == {
        "density_max": lot.density,
        "floors_min": lot.floors_min,
        "floors_max": lot.floors_max,
        "far_max": lot.far,
        "height_max_m": lot.height,
        "setback_m": lot.setback,
    }


def lots_by_label(*groups: tuple[ds.Lot, ...]) -> dict[str, ds.Lot]:
    """Index lots by label."""
    return {lot.lot: lot for group in groups for lot in group}


def check_plan(p: dict[str, Any], code: str, meta: dict[str, Any]) -> None:
    """Check the plan block of an answer."""
    assert p["code"] == code
    assert p["name"] == meta["name"]
    assert p["level"] == meta["level"]
    assert p["decision"] == meta["decision"]
    assert p["decision_date"] == meta["decision_date"].isoformat()
    assert p["scale"] == meta["scale"]


def close(a: float, b: float, tol: float = AREA_TOL) -> bool:
    """Return whether a reported value is within ``tol`` of the exact one."""
    return abs(a - b) <= tol


def pieces(geom: Any, lots: tuple[ds.Lot, ...]) -> dict[str, float]:
    """Return the exact area (m², EPSG:9214) of ``geom`` in each lot it overlaps."""
    out = {lot.lot: geom.intersection(lot.geom).area for lot in lots}
    return {k: v for k, v in out.items() if v >= 0.005}


def check_breakdown(
    plan: dict[str, Any], geom: Any, lots: tuple[ds.Lot, ...], tol: float = AREA_TOL
) -> None:
    """Check one plan of a breakdown against shapely: areas, shares, roads, the rest (areas to
    ``tol`` m², the reporting precision unless the polygon went through a datum shift)."""
    exact = pieces(geom, lots)
    total = geom.area
    assert plan["crs"] == "EPSG:9214"
    assert close(plan["area_m2"], total, tol)
    got = {z["lot"]: z for z in plan["zones"]}
    assert set(got) == set(exact)
    by_label = lots_by_label(lots)
    for label, area in exact.items():
        z = got[label]
        check_zone(z, by_label[label])
        assert close(z["area_m2"], area, tol), (label, z["area_m2"], area)
        assert abs(z["share_pct"] - area / total * 100) <= 0.01 + 1e-9
    inside = sum(exact.values())
    assert close(plan["area_in_plan_m2"], inside, 2 * tol)
    assert close(plan["outside_plan_m2"], total - inside, 2 * tol)
    shares = sum(z["share_pct"] for z in plan["zones"]) + plan["outside_plan_pct"]
    assert round(shares, 2) == 100.0
    road = sum(a for label, a in exact.items() if by_label[label].is_road)
    assert close(plan["road_area_m2"], road, tol)
    assert close(plan["remaining_area_m2"], total - road, 2 * tol)
