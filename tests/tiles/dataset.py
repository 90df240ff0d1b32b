"""Hand-made tile test data in EPSG:9214 (VN-2000 / TM-3 107°, Huế), and the tile arithmetic the
tests use to say independently (pyproj, not the service's code) which tiles a feature touches.

Plan ``TT-TILES`` lies ~4 km north-east of the Huế Citadel, clear of the generated demo: a housing
lot and a green lot side by side, a road corridor south of them, a commercial lot north of them
whose north edge zigzags finer than a tile pixel at z13, red lines along the corridor's edges, and
four cadastral parcels inside the housing lot. Revision 2 turns the green lot into a
school, so a publish changes what the tiles carry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine

from ingest.pipeline import IngestOptions, run_ingest
from planning.boundaries import compute_boundary

EPSG = 9214
ORIGIN = (565_000.0, 1_825_000.0)
THETA = math.radians(25.0)
PLAN = "TT-TILES"
EFFECTIVE = date(2025, 1, 1)
PLAN_META: dict[str, Any] = {
    "name": "Quy hoạch phân khu kiểm thử bản đồ",
    "level": "zoning",
    "decision": "789/QĐ-UBND",
    "decision_date": date(2024, 12, 1),
    "authority": "UBND thành phố Huế",
    "province_code": "46",
    "scale": "1/2000",
}
TO_WGS84 = Transformer.from_crs(EPSG, 4326, always_xy=True)
TO_MERCATOR = Transformer.from_crs(EPSG, 3857, always_xy=True)
HALF_WORLD = math.pi * 6378137.0


def at(u: float, v: float) -> tuple[float, float]:
    """Return the EPSG:9214 (E, N) of a local point, rounded to the millimetre."""
    c, s = math.cos(THETA), math.sin(THETA)
    return (round(ORIGIN[0] + u * c - v * s, 3), round(ORIGIN[1] + u * s + v * c, 3))


def ring(*uv: tuple[float, float]) -> Polygon:
    """Return a polygon in EPSG:9214 from local vertices."""
    return Polygon([at(u, v) for u, v in uv])


@dataclass(frozen=True)
class Lot:
    """One zone as written to the file, with what the tiles should carry."""

    lot: str
    geom: Polygon
    f1: str
    f2: str | None
    code: str
    density: float | None
    floors: str | None
    far: float | None
    height: float | None

    @property
    def function(self) -> str:
        return self.f2 or self.f1


HOUSING = Lot(
    "OM-01",
    ring((0, 0), (100, 0), (100, 60), (0, 60)),
    "Đất ở",
    "Đất ở đô thị",
    "ODT",
    70.0,
    "3-5",
    3.5,
    18.0,
)
GREEN = Lot(
    "CX-01",
    ring((100, 0), (200, 0), (200, 60), (100, 60)),
    "Đất cây xanh",
    "Đất cây xanh công viên",
    "DKV",
    5.0,
    "1",
    0.05,
    None,
)
ROAD = Lot(
    "GT-01",
    ring((-20, -20), (220, -20), (220, 0), (200, 0), (100, 0), (0, 0), (-20, 0)),
    "Đất giao thông",
    None,
    "DGT",
    None,
    None,
    None,
    None,
)
# North edge: a 0.8 m zigzag every 2 m, below one tile pixel at z13 and above it at z14.
ZIGZAG = tuple((200 - 2 * i, 120 + (0.8 if i % 2 else 0.0)) for i in range(101))
COMMERCE = Lot(
    "TM-01",
    ring((0, 60), (100, 60), (200, 60), *ZIGZAG),
    "Đất thương mại, dịch vụ",
    None,
    "TMD",
    60.0,
    "5-9",
    4.0,
    36.0,
)
SCHOOL = Lot("GD-01", GREEN.geom, "Đất giáo dục", "Trường tiểu học", "DGD", 40.0, "3", 1.2, 15.0)
LOTS_V1 = (HOUSING, GREEN, ROAD, COMMERCE)
LOTS_V2 = (HOUSING, SCHOOL, ROAD, COMMERCE)

RED_LINES = (
    ("Đường Kiểm Thử (phía bắc)", 20.0, LineString([at(-20, 0), at(220, 0)])),
    ("Đường Kiểm Thử (phía nam)", 20.0, LineString([at(-20, -20), at(220, -20)])),
)
PARCELS = tuple(
    ("19753", "11", str(i + 1), ring((u, v), (u + 25, v), (u + 25, v + 30), (u, v + 30)))
    for i, (u, v) in enumerate(((5, 0), (30, 0), (55, 0), (5, 30)))
)


# ---------------------------------------------------------------------------------------------
# Tile arithmetic (independent of tilesets/)


def to_mercator(geom: BaseGeometry) -> BaseGeometry:
    """Return an EPSG:9214 geometry in EPSG:3857."""
    return shapely.transform(geom, lambda c: _stack(TO_MERCATOR.transform(c[:, 0], c[:, 1])))


def to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    """Return an EPSG:9214 geometry in WGS 84 lon/lat."""
    return shapely.transform(geom, lambda c: _stack(TO_WGS84.transform(c[:, 0], c[:, 1])))


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Return the EPSG:3857 bounds of an XYZ tile."""
    size = 2 * HALF_WORLD / 2**z
    return (
        -HALF_WORLD + x * size,
        HALF_WORLD - (y + 1) * size,
        -HALF_WORLD + (x + 1) * size,
        HALF_WORLD - y * size,
    )


def _tile_xy(mx: float, my: float, z: int) -> tuple[int, int]:
    size = 2 * HALF_WORLD / 2**z
    return int((mx + HALF_WORLD) // size), int((HALF_WORLD - my) // size)


def tile_of(e: float, n: float, z: int) -> tuple[int, int]:
    """Return the XYZ tile holding an EPSG:9214 point."""
    mx, my = TO_MERCATOR.transform(e, n)
    return _tile_xy(mx, my, z)


def tiles_near(geom: BaseGeometry, z: int, margin: float = 0.0) -> set[tuple[int, int]]:
    """Return the tiles of zoom z whose bounds, grown by ``margin`` (a fraction of the tile size),
    share more than a boundary with a geometry (EPSG:9214)."""
    merc = to_mercator(geom)
    minx, miny, maxx, maxy = merc.bounds
    x0, y0 = _tile_xy(minx, maxy, z)
    x1, y1 = _tile_xy(maxx, miny, z)
    out = set()
    for x in range(x0 - 1, x1 + 2):
        for y in range(y0 - 1, y1 + 2):
            b = tile_bounds(z, x, y)
            grow = (b[2] - b[0]) * margin
            cell = box(b[0] - grow, b[1] - grow, b[2] + grow, b[3] + grow)
            part = merc.intersection(cell)
            if part.area > 0 or (merc.area == 0 and part.length > 0):
                out.add((x, y))
    return out


# ---------------------------------------------------------------------------------------------
# Files and loading


def write_zoning(folder: Path, name: str, lots: tuple[Lot, ...]) -> Path:
    """Write lots to a GeoPackage with the Circular 16 field names."""
    path = folder / f"{name}.gpkg"
    gpd.GeoDataFrame(
        [
            {
                "kyHieuLoDat": z.lot,
                "chucNangSuDungDatMuc1": z.f1,
                "chucNangSuDungDatMuc2": z.f2,
                "maLoaiDat": z.code,
                "matDoXayDung": z.density,
                "tangCaoXayDung": z.floors,
                "heSoSuDungDat": z.far,
                "chieuCaoXayDung": z.height,
                "geometry": z.geom,
            }
            for z in lots
        ],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    ).to_file(path, layer="ChucNangSuDungDat_A", driver="GPKG")
    return path


def write_red_lines(folder: Path) -> Path:
    """Write the red lines to a GeoPackage."""
    path = folder / "red_lines.gpkg"
    gpd.GeoDataFrame(
        [{"tenDuong": n, "chieuRongLoGioi": w, "geometry": g} for n, w, g in RED_LINES],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    ).to_file(path, layer="ChiGioiDuongDo_L", driver="GPKG")
    return path


def write_parcels(folder: Path) -> Path:
    """Write the parcels to a GeoPackage."""
    path = folder / "parcels.gpkg"
    gpd.GeoDataFrame(
        [
            {"MaXa": c, "SoTo": s, "SoThua": p, "DienTich": g.area, "LoaiDat": "ODT", "geometry": g}
            for c, s, p, g in PARCELS
        ],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    ).to_file(path, layer="thua_dat", driver="GPKG")
    return path


def ingest(engine: Engine, opts: IngestOptions) -> int:
    """Load a file through the real pipeline (and a zoning revision's boundary); return its id."""
    report = run_ingest(opts, engine)
    assert not report.has_errors, report
    assert report.revision_id is not None
    rid = int(report.revision_id)
    if opts.kind == "zoning":
        # The loader does not store plan boundaries yet; do what it will do.
        with engine.begin() as conn:
            compute_boundary(conn, rid)
    return rid


def load_zoning(
    engine: Engine, folder: Path, lots: tuple[Lot, ...], name: str, effective: date = EFFECTIVE
) -> int:
    """Load and publish a revision of the test plan."""
    return ingest(
        engine,
        IngestOptions(
            kind="zoning",
            path=write_zoning(folder, name, lots),
            plan=PLAN,
            plan_meta=PLAN_META,
            effective=effective,
            publish=True,
            loaded_by="tests",
        ),
    )


def load_hand_made(engine: Engine, folder: Path) -> dict[str, int]:
    """Load revision 1 of the test plan, its red lines and parcels, published."""
    folder.mkdir(parents=True, exist_ok=True)
    common: dict[str, Any] = {"effective": EFFECTIVE, "publish": True, "loaded_by": "tests"}
    return {
        "zoning": load_zoning(engine, folder, LOTS_V1, "zoning_v1"),
        "red_lines": ingest(
            engine,
            IngestOptions(kind="red_lines", path=write_red_lines(folder), plan=PLAN, **common),
        ),
        "parcels": ingest(
            engine, IngestOptions(kind="parcels", path=write_parcels(folder), **common)
        ),
    }


def load_demo(engine: Engine, folder: Path, parcels: int) -> dict[str, int]:
    """Generate and load the Huế demo (TT16 FileGDB and parcels shapefile) as `planning demo`."""
    from ingest.demo import generate_demo
    from ingest.demo_cli import DEMO_EFFECTIVE, DEMO_META, DEMO_PLAN

    files = generate_demo(folder, parcels=parcels)
    common: dict[str, Any] = {"effective": DEMO_EFFECTIVE, "publish": True, "loaded_by": "tests"}
    return {
        "demo_zoning": ingest(
            engine,
            IngestOptions(
                kind="zoning", path=files.gdb, plan=DEMO_PLAN, plan_meta=DEMO_META, **common
            ),
        ),
        "demo_red_lines": ingest(
            engine, IngestOptions(kind="red_lines", path=files.gdb, plan=DEMO_PLAN, **common)
        ),
        "demo_parcels": ingest(engine, IngestOptions(kind="parcels", path=files.parcels, **common)),
    }
