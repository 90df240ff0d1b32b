"""A small hand-made planning dataset in EPSG:9214 (VN-2000 / TM-3 107°, Huế) whose expected answers
the tests compute independently with shapely and pyproj from the same coordinates.

Local frame: metres (u, v) from an origin east of the Huế Citadel, turned 17° so that nothing is
axis-aligned in the projected CRS. Plan ``QHPK-T`` (zoning 1:2000) has two housing/green lots that
share an edge (u = 100), a commercial lot north of them and a road corridor south of them; plan
``QHCT-T`` (detail 1:500) covers the west half of the housing lot. Red lines run along both edges
of the corridor. Parcels: one across housing / green / road, one inside both plans, one half outside
the plans, one outside everything, and a grid of 24 for search and pagination (18 in today's
commune 19777 Vỹ Dạ, 6 in the former commune 19792 Xuân Phú that merged into it).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import Engine

from ingest.pipeline import IngestOptions, run_ingest

EPSG = 9214
ORIGIN = (561_700.0, 1_821_900.0)
THETA = math.radians(17.0)
ZONING = "QHPK-T"
DETAIL = "QHCT-T"
EFFECTIVE = date(2025, 1, 1)
ROOT = Path(__file__).resolve().parents[2]
TO_WGS84 = Transformer.from_crs(EPSG, 4326, always_xy=True)

ZONING_META: dict[str, Any] = {
    "name": "Quy hoạch phân khu thử nghiệm",
    "level": "zoning",
    "decision": "123/QĐ-UBND",
    "decision_date": date(2024, 12, 20),
    "authority": "UBND thành phố Huế",
    "province_code": "46",
    "scale": "1/2000",
}
DETAIL_META: dict[str, Any] = {
    "name": "Quy hoạch chi tiết thử nghiệm",
    "level": "detail",
    "decision": "456/QĐ-UBND",
    "decision_date": date(2024, 11, 5),
    "authority": "UBND thành phố Huế",
    "province_code": "46",
    "scale": "1/500",
}


def at(u: float, v: float) -> tuple[float, float]:
    """Return the EPSG:9214 (E, N) of a local point, rounded to the millimetre."""
    c, s = math.cos(THETA), math.sin(THETA)
    return (round(ORIGIN[0] + u * c - v * s, 3), round(ORIGIN[1] + u * s + v * c, 3))


def ring(*uv: tuple[float, float]) -> Polygon:
    """Return a polygon in EPSG:9214 from local vertices."""
    return Polygon([at(u, v) for u, v in uv])


def lonlat(e: float, n: float) -> tuple[float, float]:
    """Return the WGS 84 lon/lat of an EPSG:9214 point (pyproj, not the service's code)."""
    lon, lat = TO_WGS84.transform(e, n)
    return float(lon), float(lat)


def tile_of_lonlat(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the XYZ (Web Mercator) tile holding a lon/lat point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def midpoint(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Return the midpoint of two EPSG:9214 points."""
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


@dataclass(frozen=True)
class Lot:
    """One zone as loaded, with the indicators it should answer."""

    lot: str
    geom: Polygon
    f1: str
    f2: str | None
    f3: str | None
    code: str | None  # explicit code in the file; None: derived from the function
    expected_code: str
    density: float | None
    floors: str | None
    floors_min: float | None
    floors_max: float | None
    far: float | None
    height: float | None
    setback: float | None

    @property
    def function(self) -> str:
        return self.f3 or self.f2 or self.f1

    @property
    def is_road(self) -> bool:
        return self.expected_code == "DGT"


def _housing(density: float = 70.0) -> Lot:
    return Lot(
        "OM-01",
        ring((0, 0), (50, 0), (100, 0), (100, 60), (50, 60), (0, 60)),
        "Đất ở",
        "Đất ở đô thị",
        "Đất ở liền kề",
        "ODT",
        "ODT",
        density,
        "3-5",
        3.0,
        5.0,
        3.5,
        18.0,
        3.0,
    )


GREEN = Lot(
    "CX-01",
    ring((100, 0), (200, 0), (200, 60), (100, 60)),
    "Đất cây xanh",
    "Đất cây xanh công viên",
    None,
    None,
    "DKV",
    5.0,
    "1",
    1.0,
    1.0,
    0.05,
    None,
    None,
)
ROAD = Lot(
    "GT-01",
    ring((-20, -20), (220, -20), (220, 0), (200, 0), (100, 0), (50, 0), (0, 0), (-20, 0)),
    "Đất giao thông",
    None,
    None,
    None,
    "DGT",
    None,
    None,
    None,
    None,
    None,
    None,
    None,
)
COMMERCE = Lot(
    "TM-01",
    ring((0, 60), (50, 60), (100, 60), (200, 60), (200, 180), (0, 180)),
    "Đất thương mại, dịch vụ",
    None,
    None,
    "TMD",
    "TMD",
    60.0,
    "5-9",
    5.0,
    9.0,
    4.0,
    36.0,
    6.0,
)
DETAIL_LOT = Lot(
    "LK-01",
    ring((0, 0), (50, 0), (50, 60), (0, 60)),
    "Đất ở",
    "Đất ở đô thị",
    "Đất ở liền kề",
    "ODT",
    "ODT",
    80.0,
    "4-5",
    4.0,
    5.0,
    4.0,
    None,
    2.0,
)
HOUSING = _housing()
ZONING_LOTS = (HOUSING, GREEN, ROAD, COMMERCE)
DETAIL_LOTS = (DETAIL_LOT,)
# Revision 2 of the zoning plan: the housing density drops, the green lot becomes a school.
SCHOOL = Lot(
    "GD-01",
    GREEN.geom,
    "Đất giáo dục",
    "Trường tiểu học",
    None,
    "DGD",
    "DGD",
    40.0,
    "≤ 3",
    None,
    3.0,
    1.2,
    None,
    None,
)
ZONING_LOTS_V2 = (_housing(60.0), SCHOOL, ROAD, COMMERCE)

RED_LINES = (
    ("Đường Lê Lợi (phía bắc)", 20.0, LineString([at(-20, 0), at(220, 0)])),
    ("Đường Lê Lợi (phía nam)", 20.0, LineString([at(-20, -20), at(220, -20)])),
)


@dataclass(frozen=True)
class Parcel:
    """One cadastral parcel as loaded."""

    commune: str
    sheet: str
    parcel: str
    geom: Polygon
    official: float
    land_use: str
    address: str


STRADDLE = Parcel(
    "19750",
    "7",
    "12",
    ring((86, -6), (114, -5), (113, 21), (100, 22), (88, 20)),
    690.5,
    "ODT",
    "12 Đường Lê Lợi, Phường Tây Lộc",
)
INSIDE = Parcel(
    "19753",
    "7",
    "3",
    ring((10, 10), (30, 10), (30, 30), (10, 30)),
    400.0,
    "ODT",
    "3 Kiệt 5 Đường Lê Lợi, Phường Thuận Lộc",
)
HALF_OUT = Parcel(
    "19753",
    "7",
    "4",
    ring((190, 10), (230, 10), (230, 30), (190, 30)),
    800.0,
    "CLN",
    "4 Đường Lê Lợi, Phường Thuận Lộc",
)
NOWHERE = Parcel(
    "19753",
    "9",
    "1",
    ring((300, 300), (320, 300), (320, 320), (300, 320)),
    400.0,
    "ODT",
    "1 Đường Trần Phú, Phường Thuận Lộc",
)

# The same sheet and parcel number in two former communes merged into 19753: ambiguous by new code.
TWIN_A = Parcel(
    "19756", "2", "5", ring((400, 0), (410, 0), (410, 10), (400, 10)), 100.0, "ODT", "Gia Hội"
)
TWIN_B = Parcel(
    "19759", "2", "5", ring((420, 0), (430, 0), (430, 10), (420, 10)), 100.0, "ODT", "Phú Hậu"
)


def _grid() -> list[Parcel]:
    out = []
    cols, rows, du, dv = 6, 4, 200 / 6, 30.0
    for i in range(cols * rows):
        r, c = divmod(i, cols)
        u0, v0 = c * du, 60 + r * dv
        g = ring((u0, v0), (u0 + du, v0), (u0 + du, v0 + dv), (u0, v0 + dv))
        if i < 18:
            street = "Đường Nguyễn Sinh Cung" if i % 2 == 0 else "Đường Phạm Văn Đồng"
            out.append(
                Parcel(
                    "19777", "3", str(i + 1), g, 1000.0, "TMD", f"{i + 1} {street}, Phường Vỹ Dạ"
                )
            )
        else:
            n = i - 17
            out.append(
                Parcel("19792", "1", str(n), g, 1000.0, "TMD", f"{n} Đường Dương Văn An, Xuân Phú")
            )
    return out


GRID = _grid()
PARCELS = (STRADDLE, INSIDE, HALF_OUT, NOWHERE, TWIN_A, TWIN_B, *GRID)

# Points of interest (EPSG:9214).
P_HOUSING = at(70, 30)  # housing only (east of the detail plan), 30 m from the red line
P_DETAIL = at(20, 20)  # housing + detail lot, inside parcel INSIDE
P_SHARED = midpoint(at(100, 0), at(100, 60))  # on the housing/green edge
P_CORNER = at(100, 0)  # housing, green and road meet
P_OFF_EDGE = at(100.01, 30)  # 1 cm into the green lot
P_FAR = at(100, 170)  # commerce, 170 m from the red line
P_EMPTY = at(300, 400)  # inside the service area, no plan

CITADEL_LONLAT = (107.5776, 16.4698)
CITADEL_EN = (561_475.812, 1_821_649.834)


def zones_at(lots: tuple[Lot, ...], e: float, n: float, tol: float = 0.001) -> set[str]:
    """Return the lots within ``tol`` metres of a point."""
    p = Point(e, n)
    return {lot.lot for lot in lots if lot.geom.distance(p) <= tol}


def red_line_distance(e: float, n: float) -> float:
    """Return the distance from a point to the nearest red line (m)."""
    return min(line.distance(Point(e, n)) for _, _, line in RED_LINES)


@cache
def categories() -> dict[str, dict[str, str]]:
    """Read the land-use catalogue the migration seeds (the project's reference table)."""
    with (ROOT / "planning" / "data" / "land_use_codes.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r for r in csv.DictReader(fh)}


def to_geojson_lonlat(g: Polygon) -> dict[str, Any]:
    """Return a polygon as GeoJSON in WGS 84 (pyproj)."""
    ll = shapely.transform(g, lambda c: _tf(c))
    return dict(shapely.geometry.mapping(ll))


def _tf(c: Any) -> Any:
    import numpy as np

    x, y = TO_WGS84.transform(c[:, 0], c[:, 1])
    return np.column_stack([x, y])


# ---------------------------------------------------------------------------------------------
# Files and loading


def _zoning_frame(lots: tuple[Lot, ...]) -> gpd.GeoDataFrame:
    rows = [
        {
            "kyHieuLoDat": z.lot,
            "chucNangSuDungDatMuc1": z.f1,
            "chucNangSuDungDatMuc2": z.f2,
            "chucNangSuDungDatMuc3": z.f3,
            "maLoaiDat": z.code,
            "tenCongTrinhTrenDat": f"Lô {z.lot}",
            "matDoXayDung": z.density,
            "tangCaoXayDung": z.floors,
            "heSoSuDungDat": z.far,
            "chieuCaoXayDung": z.height,
            "khoangLuiXayDung": z.setback,
            "geometry": z.geom,
        }
        for z in lots
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=f"EPSG:{EPSG}")


def _write(frame: gpd.GeoDataFrame, folder: Path, name: str, layer: str, wgs84: bool) -> Path:
    """Write a frame to a GeoPackage in EPSG:9214, or (wgs84) to a WGS 84 GeoJSON as web
    exports write them (pyproj's transformation, GDAL's GeoJSON driver)."""
    if wgs84:
        path = folder / f"{name}.geojson"
        frame.to_crs(4326).to_file(path, driver="GeoJSON", engine="pyogrio")
        return path
    path = folder / f"{name}.gpkg"
    frame.to_file(path, layer=layer, driver="GPKG")
    return path


def write_zoning(folder: Path, name: str, lots: tuple[Lot, ...], wgs84: bool = False) -> Path:
    """Write zoning lots to a GeoPackage in EPSG:9214 (or a WGS 84 GeoJSON)."""
    return _write(_zoning_frame(lots), folder, name, "ChucNangSuDungDat_A", wgs84)


def write_red_lines(folder: Path, wgs84: bool = False) -> Path:
    """Write the red lines to a GeoPackage (or a WGS 84 GeoJSON)."""
    frame = gpd.GeoDataFrame(
        [{"tenDuong": n, "chieuRongLoGioi": w, "geometry": g} for n, w, g in RED_LINES],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    )
    return _write(frame, folder, "red_lines", "ChiGioiDuongDo_L", wgs84)


def write_parcels(
    folder: Path, parcels: tuple[Parcel, ...] = PARCELS, name: str = "parcels", wgs84: bool = False
) -> Path:
    """Write parcels to a GeoPackage (or a WGS 84 GeoJSON)."""
    frame = gpd.GeoDataFrame(
        [
            {
                "MaXa": p.commune,
                "SoTo": p.sheet,
                "SoThua": p.parcel,
                "DienTich": p.official,
                "LoaiDat": p.land_use,
                "DiaChi": p.address,
                "geometry": p.geom,
            }
            for p in parcels
        ],
        geometry="geometry",
        crs=f"EPSG:{EPSG}",
    )
    return _write(frame, folder, name, "thua_dat", wgs84)


def ingest(
    engine: Engine,
    kind: str,
    path: Path,
    plan: str | None = None,
    meta: dict[str, Any] | None = None,
    effective: date = EFFECTIVE,
    publish: bool = True,
) -> int:
    """Load one file through the real ingest pipeline; return the revision id."""
    report = run_ingest(
        IngestOptions(
            kind=kind,
            path=path,
            plan=plan,
            plan_meta=meta or {},
            effective=effective,
            publish=publish,
            loaded_by="tests",
        ),
        engine,
    )
    assert not report.has_errors, report
    assert report.revision_id is not None
    return int(report.revision_id)


def load_base(engine: Engine, folder: Path, wgs84: bool = False) -> dict[str, int]:
    """Load both plans, the red lines and the parcels, published; return their revision ids.

    wgs84: from WGS 84 GeoJSON files, as a web export of the same plan would be."""
    folder.mkdir(parents=True, exist_ok=True)
    zoning = write_zoning(folder, "zoning_v1", ZONING_LOTS, wgs84)
    detail = write_zoning(folder, "detail", DETAIL_LOTS, wgs84)
    return {
        "zoning": ingest(engine, "zoning", zoning, ZONING, ZONING_META),
        "detail": ingest(engine, "zoning", detail, DETAIL, DETAIL_META),
        "red_lines": ingest(engine, "red_lines", write_red_lines(folder, wgs84), ZONING),
        "parcels": ingest(engine, "parcels", write_parcels(folder, wgs84=wgs84)),
    }
