"""Point lookups go through ST_Subdivide'd pieces of zones and red lines (migration 0003).

A winding road corridor of ~1 500 vertices and a winding red line are loaded through the real
ingest; the pieces must cover each geometry exactly, follow inserts, updates and deletes, and
point lookups at points in, beside and on the edge of the corridor must answer what shapely
computes on the whole geometries.
"""

from __future__ import annotations

import math
import random
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Engine, text

from api.main import create_app
from planning.location import from_lonlat, from_projected
from planning.lookup import BOUNDARY_TOLERANCE_M, RED_LINE_RADIUS_M, point_lookup
from planning.revisions import discard
from tests.api.conftest import settings_for
from tests.api.dataset import EFFECTIVE, EPSG, ingest, lonlat

AREA = (102.0, 8.0, 110.0, 23.5)
X0, Y0 = 561_000.0, 1_820_000.0
PLAN = "QHPK-SNAKE"
META = {"name": "Hành lang uốn lượn", "level": "zoning", "province_code": "46"}


def _centreline(n: int = 750, length: float = 3_000.0) -> list[tuple[float, float]]:
    """A sine-wave centreline, n vertices over `length` metres eastwards."""
    return [
        (X0 + length * i / (n - 1), Y0 + 120.0 * math.sin(i / 25.0) + 40.0 * math.sin(i / 7.0))
        for i in range(n)
    ]


CENTRE = LineString(_centreline())
CORRIDOR = CENTRE.buffer(15.0, cap_style="flat", join_style="mitre", quad_segs=2)
BLOCK = Polygon([(X0, Y0 + 300), (X0 + 3_000, Y0 + 300), (X0 + 3_000, Y0 + 700), (X0, Y0 + 700)])
RED = LineString([(x, y + 40.0) for x, y in _centreline(600)])


def _write(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    zoning = folder / "snake.gpkg"
    gpd.GeoDataFrame(
        [
            {
                "kyHieuLoDat": "GT-1",
                "maLoaiDat": "DGT",
                "chucNangSuDungDatMuc1": "Đất giao thông",
                "geometry": CORRIDOR,
            },
            {
                "kyHieuLoDat": "OM-1",
                "maLoaiDat": "ODT",
                "chucNangSuDungDatMuc1": "Đất ở",
                "geometry": BLOCK,
            },
        ],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    ).to_file(zoning, layer="ChucNangSuDungDat_A", driver="GPKG")
    red = folder / "snake_red.gpkg"
    gpd.GeoDataFrame(
        [{"tenDuong": "Đường uốn lượn", "chieuRongLoGioi": 30.0, "geometry": RED}],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    ).to_file(red, layer="ChiGioiDuongDo_L", driver="GPKG")
    return zoning, red


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> dict[str, int]:
    zoning, red = _write(tmp_path)
    return {
        "zoning": ingest(engine, "zoning", zoning, PLAN, META),
        "red_lines": ingest(engine, "red_lines", red, PLAN),
    }


def _pieces(engine: Engine, revision: int) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT zone_id, sum(ST_Area(p.geom_plane)), max(z.area_m2), count(*) "
                    "FROM planning.zone_piece p JOIN planning.zone z ON z.id = p.zone_id "
                    "WHERE p.revision_id = :r GROUP BY zone_id ORDER BY zone_id"
                ),
                {"r": revision},
            )
        ]


def test_pieces_cover_each_geometry(engine: Engine, loaded: dict[str, int]) -> None:
    pieces = _pieces(engine, loaded["zoning"])
    assert len(pieces) == 2
    counts = sorted(n for *_, n in pieces)
    assert counts[0] == 1 and counts[1] > 40  # the block is one piece, the corridor many
    for _zone, piece_area, zone_area, _n in pieces:
        assert piece_area == pytest.approx(zone_area, rel=1e-9)
    with engine.connect() as conn:
        length, n, vertices = conn.execute(
            text(
                "SELECT sum(ST_Length(geom_plane)), count(*), max(ST_NPoints(geom_plane)) "
                "FROM planning.red_line_piece WHERE revision_id = :r"
            ),
            {"r": loaded["red_lines"]},
        ).one()
    assert length == pytest.approx(RED.length, rel=1e-9)
    assert n > 10 and vertices <= 32


def test_pieces_follow_updates_and_deletes(
    engine: Engine, loaded: dict[str, int], tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE planning.zone SET geom_plane = ST_Translate(geom_plane, 0, 5000) "
                "WHERE lot = 'OM-1' AND revision_id = :r"
            ),
            {"r": loaded["zoning"]},
        )
        moved = conn.execute(
            text(
                "SELECT ST_YMin(ST_Extent(p.geom_plane)) FROM planning.zone_piece p "
                "JOIN planning.zone z ON z.id = p.zone_id WHERE z.lot = 'OM-1'"
            )
        ).scalar_one()
        assert moved == pytest.approx(Y0 + 5_300)
    _zoning, red = _write(tmp_path / "again")
    staged = ingest(engine, "red_lines", red, "QHPK-OTHER", META, publish=False)
    with engine.begin() as conn:
        before = conn.execute(
            text("SELECT count(*) FROM planning.red_line_piece WHERE revision_id = :r"),
            {"r": staged},
        ).scalar_one()
        discard(conn, staged)
        left = conn.execute(
            text("SELECT count(*) FROM planning.red_line_piece WHERE revision_id = :r"),
            {"r": staged},
        ).scalar_one()
    assert before > 10
    assert left == 0


def _expected_zones(e: float, n: float) -> set[str]:
    p = Point(e, n)
    return {
        lot
        for lot, g in (("GT-1", CORRIDOR), ("OM-1", BLOCK))
        if g.distance(p) <= BOUNDARY_TOLERANCE_M
    }


def _points() -> list[tuple[float, float]]:
    """Points in, beside and on the edge of the corridor, and near the red line."""
    rnd = random.Random(46)
    pts: list[tuple[float, float]] = []
    ring = CORRIDOR.exterior
    for _ in range(120):
        # On the corridor's edge (within a millimetre), and a metre either side of it.
        q = ring.interpolate(rnd.random() * ring.length)
        pts.append((q.x, q.y))
        pts.append((q.x + rnd.uniform(-1.0, 1.0), q.y + rnd.uniform(-1.0, 1.0)))
    for _ in range(120):
        q = CENTRE.interpolate(rnd.random() * CENTRE.length)
        pts.append((q.x + rnd.uniform(-60, 60), q.y + rnd.uniform(-60, 160)))
    return pts


def test_point_lookups_match_shapely(engine: Engine, loaded: dict[str, int]) -> None:
    on = date.today()
    assert on >= EFFECTIVE
    with engine.connect() as conn:
        for e, n in _points():
            loc = from_projected(e, n, EPSG, AREA)
            answer = point_lookup(conn, loc, on)
            got = {z["lot"] for p in answer["plans"] for z in p["zones"]}
            assert got == _expected_zones(e, n), (e, n)
            distance = RED.distance(Point(e, n))
            red = answer["red_line"]
            if distance <= RED_LINE_RADIUS_M - 0.01:
                assert red is not None and red["road_name"] == "Đường uốn lượn"
                assert red["distance_m"] == pytest.approx(round(distance, 2), abs=0.011)
            elif distance > RED_LINE_RADIUS_M + 0.01:
                assert red is None


def test_lonlat_point_outside_every_zone_is_echoed_in_the_plans_plane(
    engine: Engine, loaded: dict[str, int]
) -> None:
    # 2 km north of everything: no zone, no parcel; the echo uses the nearest plan's plane.
    lon, lat = lonlat(X0 + 1_500, Y0 + 2_500)
    with engine.connect() as conn:
        answer = point_lookup(conn, from_lonlat(lon, lat, AREA), date.today())
    assert answer["plans"] == [] and answer["parcel"] is None
    assert answer["location"]["vn2000"]["crs"] == f"EPSG:{EPSG}"
    assert answer["location"]["vn2000"]["x"] == pytest.approx(X0 + 1_500, abs=0.01)


def test_wgs84_polygon_outside_every_zone_is_measured_in_the_nearest_plans_plane(
    db_url: str, loaded: dict[str, int]
) -> None:
    # 2 km north of everything: no zone; its area is planar in the nearest plan's plane (9214),
    # not in the plane of the meridian nearest its longitude (107.5°, EPSG:9216).
    square = Polygon(
        [(X0 + 1_500 + dx, Y0 + 2_500 + dy) for dx, dy in ((0, 0), (40, 0), (40, 30), (0, 30))]
    )
    ring = [list(lonlat(x, y)) for x, y in square.exterior.coords]
    with TestClient(create_app(settings_for(db_url))) as c:
        r = c.post(
            "/v1/lookup/geometry", json={"geometry": {"type": "Polygon", "coordinates": [ring]}}
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plans"] == [] and body["crs"] == f"EPSG:{EPSG}"
    assert body["area_m2"] == pytest.approx(square.area, abs=0.01)
