"""What the tiles carry: layers, features where the data is (and nowhere else), properties per
zoom, geometry in tile coordinates, simplification, as-of dates; GDAL reads a served tile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from planning.db import make_engine
from tests.tiles import dataset
from tests.tiles.conftest import decode, identity
from tilesets.render import execute_tile, prepared

EXTENT = 4096
BUFFER = 64
HAND_MADE_PLAN = dataset.PLAN
CENTRE = dataset.at(100, 60)  # the corner the housing, green and commercial lots share


def tile_url(name: str, z: int, x: int, y: int, query: str = "") -> str:
    return f"/tiles/{name}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")


def features(client: TestClient, name: str, z: int, x: int, y: int, query: str = "") -> list[Any]:
    """Return the features of a tile's one layer ([] for a 204)."""
    r = identity(client, tile_url(name, z, x, y, query))
    if r.status_code == 204:
        return []
    assert r.status_code == 200, r.text
    layers = decode(r.content)
    assert set(layers) == {name}
    assert layers[name]["extent"] == EXTENT
    return list(layers[name]["features"])


def in_mercator(geom: dict[str, Any], z: int, x: int, y: int) -> BaseGeometry:
    """Return a decoded feature geometry (tile grid, y down) in EPSG:3857."""
    minx, _, maxx, maxy = dataset.tile_bounds(z, x, y)
    unit = (maxx - minx) / EXTENT
    g = shape(geom)
    return shapely.transform(g, lambda c: c * [unit, -unit] + [minx, maxy])


def buffered_tile(z: int, x: int, y: int) -> BaseGeometry:
    """Return a tile's EPSG:3857 square grown by the buffer."""
    minx, miny, maxx, maxy = dataset.tile_bounds(z, x, y)
    grow = (maxx - minx) * BUFFER / EXTENT
    return box(minx - grow, miny - grow, maxx + grow, maxy + grow)


def overlap(geom: BaseGeometry, z: int, x: int, y: int, margin: float) -> float:
    """Return how much of an EPSG:9214 geometry lies in a tile grown by ``margin`` grid units,
    in grid units (area for polygons, length for lines)."""
    merc = dataset.to_mercator(geom)
    minx, miny, maxx, maxy = dataset.tile_bounds(z, x, y)
    unit = (maxx - minx) / EXTENT
    part = merc.intersection(box(minx, miny, maxx, maxy).buffer(margin * unit, join_style="mitre"))
    return part.area / unit**2 if merc.area else part.length / unit


def neighbourhood(geom: BaseGeometry, z: int) -> list[tuple[int, int]]:
    """Return the tiles around a geometry's extent, one ring further out."""
    near = dataset.tiles_near(geom, z)
    xs, ys = [x for x, _ in near], [y for _, y in near]
    return [
        (x, y) for x in range(min(xs) - 1, max(xs) + 2) for y in range(min(ys) - 1, max(ys) + 2)
    ]


# ---------------------------------------------------------------------------------------------
# Presence and absence


LOT_CASES = [(lot, z) for lot in dataset.LOTS_V1 for z in (14, 16, 17, 18)]


@pytest.mark.parametrize(("lot", "z"), LOT_CASES, ids=[f"{c[0].lot}-z{c[1]}" for c in LOT_CASES])
def test_zone_is_in_the_tiles_it_reaches_and_no_others(
    client: TestClient, lot: dataset.Lot, z: int
) -> None:
    seen_in, checked = 0, 0
    for x, y in neighbourhood(lot.geom, z):
        lots = {
            f["properties"]["lot"]
            for f in features(client, "zoning", z, x, y)
            if f["properties"]["plan"] == HAND_MADE_PLAN  # the demo has lots named alike
        }
        inside = overlap(lot.geom, z, x, y, 0)
        reach = overlap(lot.geom, z, x, y, 2 * BUFFER)
        if inside > 4:  # more than a few grid cells inside the tile proper
            assert lot.lot in lots, (z, x, y)
            seen_in += 1
        elif reach == 0:  # nowhere near the tile and its buffer
            assert lot.lot not in lots, (z, x, y)
            checked += 1
    assert seen_in >= 1 and checked >= 8


@pytest.mark.parametrize("z", [15, 17])
def test_parcels_are_in_the_tiles_they_reach(client: TestClient, z: int) -> None:
    for _, sheet, number, geom in dataset.PARCELS:
        for x, y in neighbourhood(geom, z):
            found = {
                (f["properties"]["sheet"], f["properties"]["parcel"])
                for f in features(client, "parcels", z, x, y)
            }
            if overlap(geom, z, x, y, 0) > 4:
                assert (sheet, number) in found
            elif overlap(geom, z, x, y, 2 * BUFFER) == 0:
                assert (sheet, number) not in found


def test_red_lines_are_lines_where_the_corridor_is(client: TestClient) -> None:
    z = 16
    for name, width, line in dataset.RED_LINES:
        for x, y in neighbourhood(line, z):
            feats = [
                f
                for f in features(client, "red_lines", z, x, y)
                if f["properties"]["road_name"] == name
            ]
            if overlap(line, z, x, y, 0) > 4:
                assert len(feats) == 1
                assert feats[0]["geometry"]["type"] in ("LineString", "MultiLineString")
                assert feats[0]["properties"] == {
                    "road_name": name,
                    "row_width_m": width,
                    "plan": HAND_MADE_PLAN,
                }
            elif overlap(line, z, x, y, 2 * BUFFER) == 0:
                assert feats == []


def test_a_tile_without_data_is_204(client: TestClient) -> None:
    # 5 km south of the hand-made plan: still Huế, no data (the demo lies to the west).
    e, n = dataset.at(0, -5000)
    for name, z in (("zoning", 16), ("parcels", 16), ("red_lines", 16), ("plans", 14)):
        x, y = dataset.tile_of(e, n, z)
        for headers in ({"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}):
            r = client.get(tile_url(name, z, x, y), headers=headers)
            assert r.status_code == 204, (name, r.status_code)
            assert r.content == b""
            assert "content-encoding" not in r.headers


# ---------------------------------------------------------------------------------------------
# Properties per zoom


def _lot_features(client: TestClient, z: int) -> dict[str, dict[str, Any]]:
    x, y = dataset.tile_of(*CENTRE, z)
    out = {}
    for f in features(client, "zoning", z, x, y):
        if f["properties"]["plan"] == HAND_MADE_PLAN:
            out[f["properties"]["code"]] = f["properties"]
    return out


def test_zoning_properties_grow_with_zoom(client: TestClient) -> None:
    base = {"code", "category", "function", "road", "plan"}
    indicators = {"density_max", "floors_max", "far_max", "height_max_m"}
    for z, expected in ((10, base), (12, base), (13, base | {"lot"}), (14, None), (18, None)):
        props = _lot_features(client, z)
        assert set(props) == {"ODT", "DKV", "DGT", "TMD"}, z
        housing = props["ODT"]
        if expected is not None:
            assert set(housing) == expected, z
        else:
            assert set(housing) == base | {"lot"} | indicators, z
    top = _lot_features(client, 16)
    assert top["ODT"] == {
        "code": "ODT",
        "category": "ODT",
        "function": "Đất ở đô thị",
        "road": False,
        "plan": HAND_MADE_PLAN,
        "lot": "OM-01",
        "density_max": 70.0,
        "floors_max": 5.0,
        "far_max": 3.5,
        "height_max_m": 18.0,
    }
    # A road lot carries no indicators at all (nulls are left out, not sent as zeros).
    assert top["DGT"] == {
        "code": "DGT",
        "category": "DGT",
        "function": "Đất giao thông",
        "road": True,
        "plan": HAND_MADE_PLAN,
        "lot": "GT-01",
    }
    assert top["DKV"]["function"] == "Đất cây xanh công viên"
    assert "height_max_m" not in top["DKV"]


def test_plans_tile_carries_the_boundary_and_the_decision(client: TestClient) -> None:
    z = 16
    x, y = dataset.tile_of(*CENTRE, z)
    feats = features(client, "plans", z, x, y)
    assert len(feats) == 1
    f = feats[0]
    assert f["properties"] == {
        "code": HAND_MADE_PLAN,
        "name": dataset.PLAN_META["name"],
        "level": "zoning",
        "decision": dataset.PLAN_META["decision"],
        "decision_date": "2024-12-01",
    }
    # The boundary is the union of the revision's lots.
    union = dataset.to_mercator(shapely.union_all([lot.geom for lot in dataset.LOTS_V1]))
    expected = union.intersection(buffered_tile(z, x, y))
    got = in_mercator(f["geometry"], z, x, y)
    assert got.symmetric_difference(expected).area < 0.01 * expected.area


# ---------------------------------------------------------------------------------------------
# Geometry


@pytest.mark.parametrize("z", [14, 16, 18])
def test_geometry_lies_in_the_extent_and_matches_the_lot(client: TestClient, z: int) -> None:
    lot = dataset.HOUSING
    x, y = dataset.tile_of(lot.geom.centroid.x, lot.geom.centroid.y, z)
    feats = [
        f
        for f in features(client, "zoning", z, x, y)
        if f["properties"]["plan"] == HAND_MADE_PLAN and f["properties"]["lot"] == lot.lot
    ]
    assert len(feats) == 1
    geom = feats[0]["geometry"]
    coords = shapely.get_coordinates(shape(geom))
    assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER
    expected = dataset.to_mercator(lot.geom).intersection(buffered_tile(z, x, y))
    got = in_mercator(geom, z, x, y)
    assert got.is_valid
    # Within the snapping to the grid (a 100 m x 60 m lot, one grid unit is 0.04-0.6 m).
    assert got.symmetric_difference(expected).area < 0.02 * expected.area


def test_big_features_are_clipped_to_the_buffer(client: TestClient) -> None:
    # At z18 (a tile is ~145 m) the 240 m road corridor runs out of the tile on both sides.
    z = 18
    x, y = dataset.tile_of(*dataset.at(100, -10), z)
    road = [f for f in features(client, "zoning", z, x, y) if f["properties"]["code"] == "DGT"]
    assert len(road) == 1
    coords = shapely.get_coordinates(shape(road[0]["geometry"]))
    assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER
    assert coords[:, 0].min() == -BUFFER or coords[:, 0].max() == EXTENT + BUFFER


@pytest.mark.parametrize("z", [17, 18])
def test_a_feature_crossing_many_tiles_is_whole_in_each(client: TestClient, z: int) -> None:
    # The road corridor runs through several tiles: each shows its piece (clipped to the tile
    # and its buffer before projecting), valid, in the extent, where the corridor is.
    road = dataset.ROAD
    expected_all = dataset.to_mercator(road.geom)
    shown = []
    for x, y in dataset.tiles_near(road.geom, z):
        feats = [
            f
            for f in features(client, "zoning", z, x, y)
            if f["properties"]["plan"] == HAND_MADE_PLAN and f["properties"]["code"] == "DGT"
        ]
        assert len(feats) == 1, (z, x, y)
        coords = shapely.get_coordinates(shape(feats[0]["geometry"]))
        assert coords.min() >= -BUFFER and coords.max() <= EXTENT + BUFFER
        got = in_mercator(feats[0]["geometry"], z, x, y)
        assert got.is_valid
        expected = expected_all.intersection(buffered_tile(z, x, y))
        # Off by at most about a grid unit along the outline.
        unit = (dataset.tile_bounds(z, x, y)[2] - dataset.tile_bounds(z, x, y)[0]) / EXTENT
        assert got.symmetric_difference(expected).area < 1.5 * unit * expected.length
        shown.append(got.intersection(box(*dataset.tile_bounds(z, x, y))))
    # Put together, the tiles show the corridor, with no gap or overlap at their borders.
    together = shapely.union_all(shown)
    assert together.symmetric_difference(expected_all).area < 0.01 * expected_all.area
    assert sum(g.area for g in shown) == pytest.approx(together.area, rel=1e-3)


def _vertices(client: TestClient, lot: dataset.Lot, z: int) -> int:
    n = 0
    for x, y in dataset.tiles_near(lot.geom, z):
        for f in features(client, "zoning", z, x, y):
            if f["properties"]["code"] == lot.code and f["properties"]["plan"] == HAND_MADE_PLAN:
                n += len(shapely.get_coordinates(shape(f["geometry"])))
    return n


def test_low_zooms_are_simplified(client: TestClient) -> None:
    # The 0.8 m zigzag is under one tile pixel at z13 (simplified away) and over it at z14.
    assert _vertices(client, dataset.COMMERCE, 13) < 12
    assert _vertices(client, dataset.COMMERCE, 14) > 60


def test_tile_statement_uses_the_spatial_indexes(tiles_url: str) -> None:
    x, y = dataset.tile_of(*CENTRE, 16)
    engine = make_engine(tiles_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            for name, index in (
                ("zoning", "zone_geom_gist"),
                ("parcels", "parcel_geom_gist"),
                ("red_lines", "red_line_geom_gist"),
                ("plans", "revision_boundary_gist"),
            ):
                # The statement as served: prepared once, its plan custom at first and generic
                # (parameters unknown) after a few runs.
                execute_tile(conn, name, 16, x, y, dataset.EFFECTIVE, None)
                statement = prepared(name, 16)[0]
                for mode in ("force_custom_plan", "force_generic_plan"):
                    conn.execute(text(f"SET LOCAL plan_cache_mode = {mode}"))
                    plan = "\n".join(
                        conn.exec_driver_sql(
                            f"EXPLAIN EXECUTE {statement} (16, {x}, {y}, '2025-01-01', NULL)"
                        ).scalars()
                    )
                    assert index in plan, (mode, plan)
                    assert "zone_pkey" not in plan, (mode, plan)
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# As-of dates


def test_as_of_date_shows_what_was_in_force(client: TestClient) -> None:
    z = 16
    x, y = dataset.tile_of(*CENTRE, z)
    assert features(client, "zoning", z, x, y, "date=2024-12-31") == []
    in_force = features(client, "zoning", z, x, y, "date=2025-01-01")
    assert {f["properties"]["lot"] for f in in_force} == {lot.lot for lot in dataset.LOTS_V1}
    # The demo plan takes effect on 2025-04-01.
    demo = dataset.tile_of(561_475.812, 1_821_649.834, 15)  # the Citadel reference point
    assert features(client, "zoning", 15, *demo, "date=2025-03-31") == []
    assert features(client, "zoning", 15, *demo, "date=2025-04-01") != []
    r = client.get(tile_url("zoning", z, x, y, "date=31-12-2024"))
    assert r.status_code == 422


# ---------------------------------------------------------------------------------------------
# Coordinates


@pytest.mark.parametrize(
    "path",
    [
        "zoning/16/-1/0",
        "zoning/16/65536/0",
        "zoning/16/0/65536",
        "zoning/-1/0/0",
        "zoning/25/0/0",
        "zoning/16/a/0",
        "zoning/1.5/0/0",
    ],
)
def test_impossible_tile_is_400(client: TestClient, path: str) -> None:
    r = client.get(f"/tiles/{path}.mvt")
    assert r.status_code == 400
    assert "detail" in r.json()


@pytest.mark.parametrize(
    "path", ["zoning/9/0/0", "zoning/19/0/0", "parcels/14/0/0", "red_lines/11/0/0", "plans/7/0/0"]
)
def test_zoom_outside_the_tileset_is_404(client: TestClient, path: str) -> None:
    r = client.get(f"/tiles/{path}.mvt")
    assert r.status_code == 404
    assert "zooms" in r.json()["detail"]


def test_unknown_tileset_is_404(client: TestClient) -> None:
    assert client.get("/tiles/nothing/16/0/0.mvt").status_code == 404
    assert client.get("/tiles/nothing.json").status_code == 404


# ---------------------------------------------------------------------------------------------
# GDAL


def test_gdal_reads_a_served_tile(client: TestClient, tmp_path: Path) -> None:
    z = 16
    x, y = dataset.tile_of(*CENTRE, z)
    r = identity(client, tile_url("zoning", z, x, y))
    assert r.status_code == 200
    # The MVT driver georeferences a single tile from its z/x/y path.
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(r.content)
    assert "zoning" in [name for name, _ in pyogrio.list_layers(path)]
    frame = pyogrio.read_dataframe(path, layer="zoning")
    assert len(frame) == len(decode(r.content)["zoning"]["features"])
    assert set(frame["lot"]) >= {"OM-01", "CX-01", "GT-01", "TM-01"}
    housing = frame[frame["lot"] == "OM-01"].iloc[0]
    assert housing["code"] == "ODT" and housing["density_max"] == 70.0
    assert frame.crs is not None and frame.crs.to_epsg() == 3857
    # GDAL clips to the tile proper (its CLIP open option defaults to YES).
    expected = dataset.to_mercator(dataset.HOUSING.geom).intersection(
        box(*dataset.tile_bounds(z, x, y))
    )
    got = housing.geometry
    assert got.symmetric_difference(expected).area < 0.02 * expected.area
