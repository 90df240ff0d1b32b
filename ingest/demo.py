"""Generate a deterministic synthetic zoning plan and cadastre of Huế around the Citadel.

Everything is in EPSG:9214 (VN-2000 / TM-3 107°), the CRS Huế's offices deliver in.

Layout (local frame: metres from the Citadel reference point E 561 475.812, N 1 821 649.834,
turned 43° counter-clockwise so that nothing is axis-aligned in the projected CRS):

- The Citadel cell in the middle: the relic lot `DT-01` ("Đất di tích lịch sử - văn hóa",
  600 m × 600 m, containing the reference point) inside a 30 m moat ring `MN-01`
  ("Đất mặt nước").
- A grid of planned roads around it. Lines that would cross the Citadel stop at it (T-junctions).
  Blocks between the roads are ~110–180 m long and 44–74 m deep. The grid grows one block row
  at a time on whichever side is nearest the Citadel (so the area stays roughly square) until
  its parcel capacity reaches the requested count; the blocks nearest the Citadel carry the
  parcels, the outermost may stay without cadastre.
- Each block is one to three lots (split across its length) with a function drawn from a fixed
  table (existing and new housing, green, school, commerce, offices, health). Every road line is
  one `GT-nn` feature; its corridor polygons take the intersections they pass straight through.
- Red lines (`ChiGioiDuongDo_L`): one MultiLineString per road and side (both edges of each
  corridor, continuous along T-junctions where no road joins on that side).
- Cadastral parcels subdivide each block *as it exists today*: many planned roads are wider than
  the street on the ground, so the front parcels reach up to 5 m into the planned corridor (the
  houses a widening will cut). Blocks have two rows of parcels back to back (three, with an alley
  row, when deep); parcel sides are jittered quadrilaterals.

Parcel count rule: ``parcel_count`` is always exactly the requested ``parcels``. The nominal
capacity of a block is rows × round(length / 6 m); the prefix of blocks (by distance from the
Citadel) whose capacity reaches the request is used and its counts scaled down by largest
remainder, so parcel areas stay ~60–400 m² from a few hundred parcels upwards.

Field names (Circular 16/2025/TT-BXD, `ChucNangSuDungDat_A`): maThongTinQH, maHoSoQH, maDoiTuong,
tenDoiTuong, chucNangSuDungDatMuc1..3, kyHieuLoDat, tenCongTrinhTrenDat, dienTich, danSo,
matDoXayDung, tangCaoXayDung (text), heSoSuDungDat, trangThaiQuyHoach, phanLoai, ghiChu,
loaiQuyHoach, loaiDieuChinh, capDoQuyHoach. The codes in maThongTinQH, maHoSoQH and maDoiTuong are
made-up placeholders, not the circular's catalogue. The shapefile variant (TCVN3, no .cpg) has the
names GDAL 3.12 produced when it truncated them to 10 characters: maThongTin, maHoSoQH,
maDoiTuong, tenDoiTuon, chucNangSu, chucNang_1, chucNang_2, kyHieuLoDa, tenCongTri, dienTich,
danSo, matDoXayDu, tangCaoXay, heSoSuDung, trangThaiQ, phanLoai, ghiChu, loaiQuyHoa, loaiDieuCh,
capDoQuyHo (see SHAPEFILE_FIELD_NAMES). TCVN3 has no "≤", so that file says "<= 7" where the
geodatabase says "≤ 7", as hand-typed legacy files do.

Parcels (`DiaChinh/thua_dat.shp`, UTF-8 with .cpg): MaXa (old 5-digit ward code of
communes_2025_merges.csv, by sector around the Citadel), SoTo (250 m sheets on the projected grid,
numbered per ward north to south, west to east), SoThua (numbered per sheet row by row),
DienTich, LoaiDat, DiaChi.

Coordinates are rounded to the millimetre. The zoning features form a clean coverage (neighbours
share every vertex on their common edges); parcels share vertices within a row but meet the back
line of the next row at T-junctions, so they may overlap by sub-millimetre slivers, as real
cadastral data does. When GDAL cannot write FileGDB, the two layers go to QuyHoach.gpkg instead.
"""

from __future__ import annotations

import csv
import functools
import math
import shutil
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from ingest.fields import TT16_ZONING_FIELDS
from planning.text import encode_text

__all__ = [
    "CITADEL_E",
    "CITADEL_N",
    "CRS_EPSG",
    "HUE_EXTENT",
    "PARCEL_FIELDS",
    "RED_LINE_FIELDS",
    "SHAPEFILE_FIELD_NAMES",
    "ZONING_FIELDS",
    "DemoFiles",
    "generate_demo",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
GeomArray = npt.NDArray[np.object_]

CRS_EPSG = 9214
CITADEL_E = 561_475.812
CITADEL_N = 1_821_649.834
# Plausible Huế extent in EPSG:9214 (min E, min N, max E, max N).
HUE_EXTENT = (505_838.0, 1_769_012.0, 627_671.0, 1_852_147.0)

ZONING_LAYER = "ChucNangSuDungDat_A"
RED_LINE_LAYER = "ChiGioiDuongDo_L"
# The Circular 16/2025 fields of ChucNangSuDungDat_A, as ingest maps them.
ZONING_FIELDS = TT16_ZONING_FIELDS
# What GDAL's shapefile driver makes of ZONING_FIELDS (10-character DBF limit, clashes numbered).
SHAPEFILE_FIELD_NAMES = (
    "maThongTin",
    "maHoSoQH",
    "maDoiTuong",
    "tenDoiTuon",
    "chucNangSu",
    "chucNang_1",
    "chucNang_2",
    "kyHieuLoDa",
    "tenCongTri",
    "dienTich",
    "danSo",
    "matDoXayDu",
    "tangCaoXay",
    "heSoSuDung",
    "trangThaiQ",
    "phanLoai",
    "ghiChu",
    "loaiQuyHoa",
    "loaiDieuCh",
    "capDoQuyHo",
)
RED_LINE_FIELDS = ("maDoiTuong", "tenDoiTuong", "chieuRongLoGioi", "ghiChu")
PARCEL_FIELDS = ("MaXa", "SoTo", "SoThua", "DienTich", "LoaiDat", "DiaChi")

ROTATION_DEG = 43.0
RELIC_HALF = 300.0  # relic lot: 600 m square around the reference point
CITADEL_HALF = 330.0  # relic plus the 30 m moat ring
FRONTAGE = 6.0  # nominal parcel frontage (m) for block capacity
SHEET_SIZE = 250.0  # cadastral sheet tile (m) on the projected grid
INTERNAL_U = 3  # road lines crossing the Citadel's span east-west (stopped by it)
INTERNAL_V = 9  # ... north-south
BLOCK_LENGTHS = (112.0, 126.0, 138.0, 150.0, 162.0, 176.0)
BLOCK_DEPTHS = (44.0, 48.0, 52.0, 56.0, 62.0, 68.0, 74.0)
THREE_ROW_DEPTH = 60.0
MINOR_WIDTHS = (11.5, 13.5, 15.5, 16.5)
MAJOR_WIDTHS = (19.5, 24.0, 26.0, 36.0)
WIDENINGS = (4.0, 6.0, 8.0, 10.0)

PLAN_CODE = "QHPK-46-KTH-2025"  # placeholder plan-information code
DOSSIER_CODE = "HSQH-46-2025-0012"  # placeholder dossier code
ZONING_OBJECT_CODE = "QHCN01"  # placeholder object-type codes
RED_LINE_OBJECT_CODE = "QHCG01"
PLAN_TYPE = "Quy hoạch đô thị"
PLAN_LEVEL = "Quy hoạch phân khu"
AMENDMENT = "Lập mới"

# Real streets of Huế, most prominent first; further roads are "Đường quy hoạch số n".
STREETS = (
    "Đường Lê Duẩn",
    "Đường Đinh Tiên Hoàng",
    "Đường Đoàn Thị Điểm",
    "Đường Lê Huân",
    "Đường Trần Hưng Đạo",
    "Đường Mai Thúc Loan",
    "Đường Tống Duy Tân",
    "Đường Đặng Dung",
    "Đường Ông Ích Khiêm",
    "Đường Thái Phiên",
    "Đường Nguyễn Trãi",
    "Đường Trần Nhật Duật",
    "Đường Nhật Lệ",
    "Đường Xuân 68",
    "Đường Lương Ngọc Quyến",
    "Đường Tăng Bạt Hổ",
    "Đường Phùng Hưng",
    "Đường Hàn Thuyên",
    "Đường Lê Thánh Tôn",
    "Đường Đinh Công Tráng",
    "Đường Nguyễn Chí Thanh",
    "Đường Chi Lăng",
    "Đường Huỳnh Thúc Kháng",
    "Đường Bạch Đằng",
    "Đường Trịnh Công Sơn",
    "Đường Kim Long",
    "Đường Nguyễn Hoàng",
    "Đường Lê Lợi",
    "Đường Hùng Vương",
    "Đường Nguyễn Huệ",
    "Đường Nguyễn Du",
    "Đường Phan Bội Châu",
    "Đường Ngô Quyền",
    "Đường Hà Nội",
    "Đường Bà Triệu",
    "Đường Nguyễn Trường Tộ",
    "Đường Phạm Ngũ Lão",
    "Đường Chu Văn An",
    "Đường Võ Thị Sáu",
    "Đường Lý Thường Kiệt",
    "Đường Điện Biên Phủ",
    "Đường Trần Phú",
    "Đường Đống Đa",
    "Đường Lê Quý Đôn",
)

# Old (pre-2025) ward codes by ring and sector around the Citadel.
INNER_WARDS = ("19750", "19753", "19762")  # Tây Lộc (NW), Thuận Lộc (NE), Thuận Hòa (S)
MIDDLE_WARDS = ("19768", "19759", "19774", "19786")  # E, N, W, S: Đông Ba, Phú Hậu, ...
OUTER_WARDS = ("19756", "19803", "19810", "19783")  # E, N, W, S: Gia Hội, An Hòa, ...
INNER_RING = 1200.0
MIDDLE_RING = 2600.0


@dataclass(frozen=True)
class DemoFiles:
    """Paths and counts of one generated demo data set."""

    root: Path
    gdb: Path
    zoning_shp: Path
    parcels: Path
    zone_count: int
    parcel_count: int
    red_line_count: int


@dataclass(frozen=True)
class _Kind:
    """One land-use function of the plan with its indicator ranges."""

    prefix: str
    muc1: str
    muc2: str
    muc3: str | None
    weight: float
    densities: tuple[float, ...]  # empty: no indicators
    floors: tuple[str, ...]
    far_cap: float
    people_per_ha: int  # 0: not residential
    status: str
    tier: str | None


_DD = "Đất dân dụng"
_NDD = "Đất ngoài dân dụng"
_PUBLIC = "Đất công trình dịch vụ - công cộng"
KINDS: dict[str, _Kind] = {
    "OHT": _Kind(
        "OHT", _DD, "Đất ở", "Đất ở hiện trạng", 0.45, (70.0, 75.0, 80.0, 85.0, 90.0),
        ("3-5", "3-5", "2-4", "3"), 4.0, 250, "Hiện trạng cải tạo", "Đất đơn vị ở",
    ),
    "OM": _Kind(
        "OM", _DD, "Đất ở", "Đất ở mới", 0.22, (60.0, 65.0, 70.0, 75.0, 80.0),
        ("3-5", "5", "≤ 7", "4"), 4.0, 300, "Xây dựng mới", "Đất đơn vị ở",
    ),
    "CX": _Kind(
        "CX", _DD, "Đất cây xanh công cộng", "Đất cây xanh công cộng đơn vị ở", 0.10,
        (5.0,), ("1",), 0.05, 0, "Xây dựng mới", "Cấp đơn vị ở",
    ),
    "GD": _Kind(
        "GD", _DD, _PUBLIC, "Đất giáo dục", 0.07, (35.0, 40.0), ("1-2", "2-3", "3-4"), 1.6, 0,
        "Hiện trạng cải tạo", "Cấp đơn vị ở",
    ),
    "TM": _Kind(
        "TM", _DD, "Đất thương mại, dịch vụ", None, 0.08, (50.0, 60.0), ("≤ 7", "5-9", "5"),
        5.4, 0, "Xây dựng mới", "Cấp đô thị",
    ),
    "CQ": _Kind(
        "CQ", _NDD, "Đất cơ quan", "Đất cơ quan, trụ sở", 0.04, (40.0,), ("3-5", "3"), 2.0, 0,
        "Hiện trạng cải tạo", "Cấp đô thị",
    ),
    "YT": _Kind(
        "YT", _DD, _PUBLIC, "Đất y tế", 0.04, (40.0,), ("2-3", "3"), 1.2, 0,
        "Hiện trạng cải tạo", "Cấp đơn vị ở",
    ),
    "DT": _Kind(
        "DT", _NDD, "Đất di tích lịch sử - văn hóa", "Đất di tích lịch sử - văn hóa", 0.0,
        (), (), 0.0, 0, "Bảo tồn, tôn tạo", "Di tích quốc gia đặc biệt",
    ),
    "MN": _Kind(
        "MN", _NDD, "Đất mặt nước", "Đất mặt nước", 0.0, (), (), 0.0, 0,
        "Hiện trạng giữ lại", None,
    ),
    "GT": _Kind(
        "GT", _DD, "Đất giao thông", "Đất giao thông đô thị", 0.0, (), (), 0.0, 0,
        "Hiện trạng giữ lại", None,
    ),
}  # fmt: skip
BLOCK_KINDS = ("OHT", "OM", "CX", "GD", "TM", "CQ", "YT")

# Cadastral land-use codes of parcels by the planned function of the lot they sit in.
PARCEL_CODES = ("ODT", "TMD", "DGD", "CLN", "SKC", "TON", "DGT")
_PARCEL_CODE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "GD": (0.40, 0.00, 0.60, 0.00, 0.00, 0.00, 0.00),
    "TM": (0.45, 0.50, 0.00, 0.00, 0.05, 0.00, 0.00),
    "CQ": (0.80, 0.05, 0.00, 0.00, 0.15, 0.00, 0.00),
    "CX": (0.80, 0.02, 0.00, 0.12, 0.00, 0.04, 0.02),
}
_DEFAULT_CODE_WEIGHTS = (0.86, 0.05, 0.01, 0.04, 0.015, 0.015, 0.01)

_LEGACY_SUBSTITUTES = str.maketrans({"≤": "<=", "≥": ">="})
_LAUNDER_WARNING = r"Normalized/laundered field name"


# --- grid --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Axis:
    """Road lines across one axis of the local frame, ascending."""

    pos: FloatArray  # centre-line positions
    wp: FloatArray  # planned right-of-way width
    we: FloatArray  # width of the street on the ground today
    lo: int  # index of the line on the Citadel's low side
    hi: int  # index of the line on its high side
    keys: tuple[tuple[int, int, int], ...]  # stable line identity: (axis, side, n)


@functools.lru_cache(maxsize=4096)
def _line_draws(seed: int, axis: int, side: int, n: int, major: bool) -> tuple[float, ...]:
    """Return (cell size beyond the line, planned width, existing width) of one road line."""
    rng = np.random.default_rng([seed, axis, side, n])
    sizes = BLOCK_LENGTHS if axis == 0 else BLOCK_DEPTHS
    cell = float(sizes[int(rng.integers(len(sizes)))])
    widths = MAJOR_WIDTHS if major else MINOR_WIDTHS
    wp = float(widths[int(rng.integers(len(widths)))])
    widen = float(WIDENINGS[int(rng.integers(len(WIDENINGS)))])
    we = max(6.0, wp - widen) if rng.random() < 0.55 else wp
    return cell, wp, we


def _axis(seed: int, axis: int, n_low: int, n_high: int) -> _Axis:
    """Build the road lines of one axis with n_low / n_high block rows beyond the Citadel."""
    n_internal = INTERNAL_U if axis == 0 else INTERNAL_V
    lines: list[tuple[float, float, float, tuple[int, int, int]]] = []
    for side, sign, count in ((0, -1.0, n_low), (1, 1.0, n_high)):
        _, wp, we = _line_draws(seed, axis, side, 0, True)
        pos = sign * (CITADEL_HALF + wp / 2)
        lines.append((pos, wp, we, (axis, side, 0)))
        for n in range(1, count + 1):
            cell, wp_next, we_next = _line_draws(seed, axis, side, n, n % 3 == 0)
            pos += sign * (wp / 2 + cell + wp_next / 2)
            wp = wp_next
            lines.append((pos, wp, we_next, (axis, side, n)))
    spacing = 2 * CITADEL_HALF / (n_internal + 1)
    for n in range(1, n_internal + 1):
        _, wp, we = _line_draws(seed, axis, 2, n, False)
        lines.append((-CITADEL_HALF + n * spacing, wp, we, (axis, 2, n)))
    lines.sort(key=lambda line: line[0])
    lo = next(i for i, line in enumerate(lines) if line[3] == (axis, 0, 0))
    return _Axis(
        pos=np.array([line[0] for line in lines]),
        wp=np.array([line[1] for line in lines]),
        we=np.array([line[2] for line in lines]),
        lo=lo,
        hi=lo + n_internal + 1,
        keys=tuple(line[3] for line in lines),
    )


@dataclass(frozen=True)
class _Blocks:
    """Blocks (grid cells outside the Citadel) in planned and existing extent."""

    j: IntArray
    k: IntArray
    u0: FloatArray
    u1: FloatArray
    v0: FloatArray
    v1: FloatArray
    eu0: FloatArray
    eu1: FloatArray
    ev0: FloatArray
    ev1: FloatArray
    rows: IntArray
    capacity: IntArray


def _blocks(ua: _Axis, va: _Axis) -> _Blocks:
    """Return every block of the grid, nearest to the Citadel first."""
    grid_j, grid_k = np.meshgrid(
        np.arange(len(ua.pos) - 1), np.arange(len(va.pos) - 1), indexing="ij"
    )
    jj, kk = grid_j.ravel(), grid_k.ravel()
    citadel = (jj >= ua.lo) & (jj < ua.hi) & (kk >= va.lo) & (kk < va.hi)
    j, k = jj[~citadel], kk[~citadel]
    u0 = ua.pos[j] + ua.wp[j] / 2
    u1 = ua.pos[j + 1] - ua.wp[j + 1] / 2
    v0 = va.pos[k] + va.wp[k] / 2
    v1 = va.pos[k + 1] - va.wp[k + 1] / 2
    eu0 = ua.pos[j] + ua.we[j] / 2
    eu1 = ua.pos[j + 1] - ua.we[j + 1] / 2
    ev0 = va.pos[k] + va.we[k] / 2
    ev1 = va.pos[k + 1] - va.we[k + 1] / 2
    rows = np.where(v1 - v0 >= THREE_ROW_DEPTH, 3, 2).astype(np.int64)
    capacity = rows * np.maximum(1, np.round((eu1 - eu0) / FRONTAGE)).astype(np.int64)
    dist = np.hypot((u0 + u1) / 2, (v0 + v1) / 2)
    order = np.lexsort((k, j, np.round(dist, 3)))
    return _Blocks(
        j[order], k[order], u0[order], u1[order], v0[order], v1[order],
        eu0[order], eu1[order], ev0[order], ev1[order], rows[order], capacity[order],
    )  # fmt: skip


def _layout(parcels: int, seed: int) -> tuple[_Axis, _Axis, _Blocks]:
    """Grow the grid one block row at a time until it holds the requested parcels."""
    counts = [0, 0, 0, 0]  # block rows beyond the Citadel: west, east, south, north
    while True:
        ua = _axis(seed, 0, counts[0], counts[1])
        va = _axis(seed, 1, counts[2], counts[3])
        blocks = _blocks(ua, va)
        if int(blocks.capacity.sum()) >= parcels:
            return ua, va, blocks
        # Extend on the side nearest the Citadel so that the area stays roughly square.
        reach = (-ua.pos[0], ua.pos[-1], -va.pos[0], va.pos[-1])
        counts[int(np.argmin(reach))] += 1


# --- local frame → EPSG:9214 -------------------------------------------------------------------
_COS = math.cos(math.radians(ROTATION_DEG))
_SIN = math.sin(math.radians(ROTATION_DEG))


def _to_crs(coords: FloatArray) -> FloatArray:
    """Turn local (u, v) metres into EPSG:9214 (E, N), rounded to the millimetre."""
    u, v = coords[..., 0], coords[..., 1]
    east = CITADEL_E + u * _COS - v * _SIN
    north = CITADEL_N + u * _SIN + v * _COS
    return np.asarray(np.round(np.stack([east, north], axis=-1), 3), dtype=np.float64)


def _rectangles(u0: FloatArray, u1: FloatArray, v0: FloatArray, v1: FloatArray) -> FloatArray:
    """Return closed rings (n, 5, 2) of local-frame rectangles, counter-clockwise."""
    us = np.stack([u0, u1, u1, u0, u0], axis=-1)
    vs = np.stack([v0, v0, v1, v1, v0], axis=-1)
    return np.stack([us, vs], axis=-1)


def _rect(u0: float, u1: float, v0: float, v1: float) -> FloatArray:
    """Return the closed ring (5, 2) of one local-frame rectangle."""
    return np.array([(u0, v0), (u1, v0), (u1, v1), (u0, v1), (u0, v0)], dtype=np.float64)


def _polygons(rings: FloatArray) -> GeomArray:
    """Return MultiPolygons, one per local-frame ring."""
    polys = np.asarray(shapely.polygons(_to_crs(rings)), dtype=object)
    return np.asarray(shapely.multipolygons(polys, indices=np.arange(len(polys))), dtype=object)


# --- roads and red lines ----------------------------------------------------------------------
@dataclass
class _Road:
    """One planned road line: corridor pieces, red-line pieces and edge vertices (local frame)."""

    axis: int  # 0: line u = const running along v; 1: line v = const running along u
    index: int
    key: tuple[int, int, int]
    wp: float
    we: float
    pieces: list[tuple[float, float]]
    red: dict[int, list[tuple[float, float]]]  # side (-1 low, +1 high) → spans
    corners: dict[int, set[float]]  # side → positions of the neighbours' corners on that edge
    name: str = ""


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Merge sorted touching intervals."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1] + 1e-9:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _roads(ua: _Axis, va: _Axis, splits: dict[tuple[int, int], list[float]]) -> list[_Road]:
    """Split the corridors into roads; intersections go to the road passing straight through."""
    axes = (ua, va)

    def seg(axis: int, line: int, cell: int) -> bool:
        # Segment of `line` (on `axis`) across cell `cell` of the other axis.
        other = axes[1 - axis]
        me = axes[axis]
        if cell < 0 or cell >= len(other.pos) - 1:
            return False
        return not (me.lo < line < me.hi and other.lo <= cell < other.hi)

    def neighbour(axis: int, line: int, cell: int, side: int) -> str:
        # What lies on `side` of the segment of `line` across `cell`: block, citadel or nothing.
        me = axes[axis]
        across = line - 1 if side < 0 else line
        if across < 0 or across >= len(me.pos) - 1:
            return "outside"
        j, k = (across, cell) if axis == 0 else (cell, across)
        if ua.lo <= j < ua.hi and va.lo <= k < va.hi:
            return "citadel"
        return "block"

    roads: list[_Road] = []
    for axis in (0, 1):
        me, other = axes[axis], axes[1 - axis]
        for line in range(len(me.pos)):
            pieces: list[tuple[float, float]] = []
            red: dict[int, list[tuple[float, float]]] = {-1: [], 1: []}
            # Every vertex a neighbour has on this corridor's edge becomes a vertex of the
            # corridor too, so that shared edges stay identical after rounding to the mm.
            corners: dict[int, set[float]] = {-1: set(), 1: set()}
            for cell in range(len(other.pos) - 1):
                if not seg(axis, line, cell):
                    continue
                a = float(other.pos[cell] + other.wp[cell] / 2)
                b = float(other.pos[cell + 1] - other.wp[cell + 1] / 2)
                pieces.append((a, b))
                for side in (-1, 1):
                    red[side].append((a, b))
                    kind = neighbour(axis, line, cell, side)
                    if kind == "block":
                        corners[side].update((a, b))
                        if axis == 1:  # lots split blocks across u
                            corners[side].update(splits.get((cell, line - (side < 0)), ()))
                    elif kind == "citadel":
                        corners[side].update((-CITADEL_HALF, CITADEL_HALF))
            for node in range(len(other.pos)):
                if me.lo < line < me.hi and other.lo < node < other.hi:
                    continue  # inside the Citadel
                along = seg(axis, line, node - 1), seg(axis, line, node)
                across = seg(1 - axis, node, line - 1), seg(1 - axis, node, line)
                if not (any(along) or any(across)):
                    continue
                # An intersection belongs to the road passing straight through it; when both
                # (or neither) do, to the line of axis 1 (v = const).
                if axis == 0:
                    owned = all(along) and not all(across)
                else:
                    owned = not (all(across) and not all(along))
                if not owned:
                    continue
                half = other.wp[node] / 2
                a, b = float(other.pos[node] - half), float(other.pos[node] + half)
                pieces.append((a, b))
                for side, joined in ((-1, across[0]), (1, across[1])):
                    if joined:
                        corners[side].update((a, b))
                    else:
                        red[side].append((a, b))
            if not pieces:
                continue
            roads.append(
                _Road(
                    axis, line, me.keys[line], float(me.wp[line]), float(me.we[line]),
                    _merge(pieces), {s: _merge(r) for s, r in red.items() if r}, corners,
                )
            )  # fmt: skip
    # Name the roads: the four around the Citadel first, then by distance from it.
    roads.sort(key=lambda r: (r.key[2] != 0 or r.key[1] == 2, abs(_line_pos(axes, r)), r.key))
    for n, road in enumerate(roads):
        road.name = STREETS[n] if n < len(STREETS) else f"Đường quy hoạch số {n - len(STREETS) + 1}"
    return roads


def _line_pos(axes: tuple[_Axis, _Axis], road: _Road) -> float:
    """Return the centre-line position of a road."""
    return float(axes[road.axis].pos[road.index])


def _corridor_ring(road: _Road, c: float, a: float, b: float) -> FloatArray:
    """Return the local ring of one corridor piece with its neighbours' corners as vertices."""
    h = road.wp / 2
    low = [a, *sorted(x for x in road.corners[-1] if a < x < b), b]
    high = [a, *sorted(x for x in road.corners[1] if a < x < b), b]
    # Walk the low edge forward and the high edge back: counter-clockwise for axis 1.
    along = np.array(low + high[::-1] + [a])
    across = np.array([c - h] * len(low) + [c + h] * len(high) + [c - h])
    ring = np.stack([along, across], axis=-1) if road.axis == 1 else np.stack([across, along], -1)
    return ring if road.axis == 1 else ring[::-1]


def _road_geometries(
    roads: list[_Road], axes: tuple[_Axis, _Axis]
) -> tuple[GeomArray, GeomArray, list[tuple[int, int]]]:
    """Return corridor MultiPolygons, red-line MultiLineStrings and (road, side) of each."""
    polys: list[shapely.Polygon] = []
    ring_road: list[int] = []
    lines: list[list[tuple[float, float]]] = []
    line_feature: list[int] = []
    red_keys: list[tuple[int, int]] = []
    for r, road in enumerate(roads):
        c, h = _line_pos(axes, road), road.wp / 2
        for a, b in road.pieces:
            polys.append(shapely.Polygon(_to_crs(_corridor_ring(road, c, a, b))))
            ring_road.append(r)
        for side, spans in sorted(road.red.items()):
            for a, b in spans:
                off = c + side * h
                pts = [(off, a), (off, b)] if road.axis == 0 else [(a, off), (b, off)]
                lines.append(pts)
                line_feature.append(len(red_keys))
            red_keys.append((r, side))
    corridors = shapely.multipolygons(np.array(polys, dtype=object), indices=np.array(ring_road))
    strings = np.asarray(shapely.linestrings(_to_crs(np.array(lines))), dtype=object)
    red = shapely.multilinestrings(strings, indices=np.array(line_feature))
    return np.asarray(corridors, dtype=object), np.asarray(red, dtype=object), red_keys


# --- wards -------------------------------------------------------------------------------------
def _ward_names() -> dict[str, str]:
    """Return old Huế (province 46) ward codes → names from the bundled merge table."""
    path = resources.files("planning") / "data" / "communes_2025_merges.csv"
    with path.open(encoding="utf-8") as fh:
        return {
            row["old_commune_code"]: row["old_commune"]
            for row in csv.DictReader(fh)
            if row["province_code"] == "46"
        }


def _wards(u: FloatArray, v: FloatArray) -> npt.NDArray[np.str_]:
    """Assign an old ward code by ring and sector around the Citadel."""
    ring = np.maximum(np.abs(u), np.abs(v))
    sector = np.mod(np.floor((np.degrees(np.arctan2(v, u)) + 45.0) / 90.0), 4).astype(np.int64)
    inner = np.where(v < 0, 2, np.where(u < 0, 0, 1))
    return np.where(
        ring <= INNER_RING,
        np.array(INNER_WARDS)[inner],
        np.where(
            ring <= MIDDLE_RING, np.array(MIDDLE_WARDS)[sector], np.array(OUTER_WARDS)[sector]
        ),
    )


# --- lots --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Lots:
    """Lots of the blocks: block index, local extent, function."""

    block: IntArray
    u0: FloatArray
    u1: FloatArray
    v0: FloatArray
    v1: FloatArray
    kind: list[str]
    splits: FloatArray  # (n_blocks, 2): split positions of each block, +inf where none


def _lots(blocks: _Blocks, rng: np.random.Generator) -> _Lots:
    """Cut every block into one to three lots and draw their functions."""
    nb = len(blocks.u0)
    n_lots = rng.choice(np.array([1, 2, 3]), size=nb, p=[0.55, 0.33, 0.12])
    fractions = np.sort(rng.uniform(0.25, 0.75, size=(nb, 2)), axis=1)
    fractions[:, 1] = np.maximum(fractions[:, 1], fractions[:, 0] + 0.2)
    length = blocks.u1 - blocks.u0
    splits = np.full((nb, 2), np.inf)
    two = n_lots == 2
    three = n_lots == 3
    splits[two, 0] = blocks.u0[two] + length[two] * fractions[two].mean(axis=1)
    splits[three] = blocks.u0[three, None] + length[three, None] * fractions[three]
    block = np.repeat(np.arange(nb), n_lots)
    pos = np.arange(len(block)) - np.repeat(np.cumsum(n_lots) - n_lots, n_lots)
    edges = np.column_stack([blocks.u0, splits[:, 0], splits[:, 1], blocks.u1])
    edges = np.where(np.isinf(edges), blocks.u1[:, None], edges)
    u0 = edges[block, pos]
    u1 = np.where(pos + 1 < n_lots[block], edges[block, pos + 1], blocks.u1[block])
    weights = np.array([KINDS[k].weight for k in BLOCK_KINDS])
    drawn = rng.choice(len(BLOCK_KINDS), size=len(block), p=weights / weights.sum())
    # Make sure every function occurs at least once, near the Citadel, when there are enough
    # lots: take the lot from a function that occurs more than once.
    counts = np.bincount(drawn, minlength=len(BLOCK_KINDS))
    for n in np.flatnonzero(counts == 0):
        donors = np.flatnonzero(counts[drawn] > 1)
        if len(donors) == 0:
            break
        target = donors[min(len(donors) - 1, 2 * int(n) + 1)]
        counts[drawn[target]] -= 1
        drawn[target] = n
        counts[n] += 1
    return _Lots(
        block=block,
        u0=u0,
        u1=u1,
        v0=blocks.v0[block],
        v1=blocks.v1[block],
        kind=[BLOCK_KINDS[int(d)] for d in drawn],
        splits=splits,
    )


def _indicators(
    kind: str, area: float, rng: np.random.Generator
) -> tuple[float | None, str | None, float | None, int | None]:
    """Draw density %, floors, FAR and population of one lot; some are left empty."""
    spec = KINDS[kind]
    if not spec.densities:
        return None, None, None, None
    density = spec.densities[int(rng.integers(len(spec.densities)))]
    floors = spec.floors[int(rng.integers(len(spec.floors)))]
    top = float(floors.replace("≤", "").split("-")[-1])
    # FAR a little below density × top floors; housing kept within this plan's FAR 2–4.
    far = round(density / 100 * top * 0.9, 1)
    far = min(spec.far_cap, max(2.0, far) if spec.people_per_ha else far)
    if kind == "CX":
        far = 0.05
    people = round(area / 10_000 * spec.people_per_ha) if spec.people_per_ha else None
    gaps = rng.random(4)
    return (
        None if gaps[0] < 0.08 else density,
        None if gaps[1] < 0.08 else floors,
        None if gaps[2] < 0.08 else far,
        None if people is None or gaps[3] < 0.05 else people,
    )


_BUILDING_NAMES = {
    "GD": ("Trường Mầm non {w}", "Trường Tiểu học {w}", "Trường THCS {w}"),
    "YT": ("Trạm y tế {w}",),
    "CQ": ("Trụ sở UBND {w}", "Trụ sở Công an {w}"),
    "TM": ("Chợ {w}", "Trung tâm thương mại, dịch vụ"),
    "CX": ("Vườn hoa", "Công viên cây xanh"),
}


def _zoning_frame(
    lots: _Lots,
    blocks: _Blocks,
    roads: list[_Road],
    corridors: GeomArray,
    rng: np.random.Generator,
    ward_names: dict[str, str],
) -> gpd.GeoDataFrame:
    """Build the ChucNangSuDungDat_A features: relic, moat, lots, road corridors."""
    inner = _to_crs(_rect(-RELIC_HALF, RELIC_HALF, -RELIC_HALF, RELIC_HALF))
    outer = _to_crs(_rect(-CITADEL_HALF, CITADEL_HALF, -CITADEL_HALF, CITADEL_HALF))
    relic = shapely.MultiPolygon([shapely.Polygon(inner)])
    moat = shapely.MultiPolygon([shapely.Polygon(outer, holes=[inner[::-1]])])
    lot_geoms = _polygons(_rectangles(lots.u0, lots.u1, lots.v0, lots.v1))
    geoms = np.concatenate([np.array([relic, moat], dtype=object), lot_geoms, corridors])
    areas = np.round(shapely.area(geoms), 1)

    centre_u = (blocks.u0 + blocks.u1) / 2
    centre_v = (blocks.v0 + blocks.v1) / 2
    block_wards = _wards(centre_u, centre_v)
    records: list[dict[str, object]] = []
    counters: dict[str, int] = {}

    def label(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}-{counters[prefix]:02d}"

    def record(kind: str, area: float, **values: object) -> dict[str, object]:
        spec = KINDS[kind]
        base: dict[str, object] = dict.fromkeys(ZONING_FIELDS)
        lot_label = label(spec.prefix)
        base.update(
            maThongTinQH=PLAN_CODE,
            maHoSoQH=DOSSIER_CODE,
            maDoiTuong=ZONING_OBJECT_CODE,
            tenDoiTuong=f"Lô đất {lot_label}",
            chucNangSuDungDatMuc1=spec.muc1,
            chucNangSuDungDatMuc2=spec.muc2,
            chucNangSuDungDatMuc3=spec.muc3,
            kyHieuLoDat=lot_label,
            dienTich=area,
            trangThaiQuyHoach=spec.status,
            phanLoai=spec.tier,
            loaiQuyHoach=PLAN_TYPE,
            loaiDieuChinh=AMENDMENT,
            capDoQuyHoach=PLAN_LEVEL,
        )
        base.update(values)
        return base

    records.append(
        record(
            "DT",
            float(areas[0]),
            tenCongTrinhTrenDat="Hoàng Thành Huế",
            ghiChu="Quản lý theo Luật Di sản văn hóa và quy hoạch bảo tồn di tích",
        )
    )
    records.append(record("MN", float(areas[1]), tenCongTrinhTrenDat="Hào quanh Hoàng Thành"))
    for n, kind in enumerate(lots.kind):
        area = float(areas[2 + n])
        density, floors, far, people = _indicators(kind, area, rng)
        building = None
        if kind in _BUILDING_NAMES:
            choices = _BUILDING_NAMES[kind]
            ward = ward_names[str(block_wards[lots.block[n]])]
            ward = ward[0].lower() + ward[1:]  # "phường Thuận Lộc" inside a name
            building = choices[int(rng.integers(len(choices)))].format(w=ward)
        records.append(
            record(
                kind,
                area,
                tenCongTrinhTrenDat=building,
                danSo=people,
                matDoXayDung=density,
                tangCaoXayDung=floors,
                heSoSuDungDat=far,
                ghiChu="Chưa có chỉ tiêu, chờ quy hoạch chi tiết" if density is None else None,
            )
        )
    offset = 2 + len(lots.kind)
    for n, road in enumerate(roads):
        widened = road.we < road.wp
        records.append(
            record(
                "GT",
                float(areas[offset + n]),
                tenDoiTuong=road.name,
                tenCongTrinhTrenDat=road.name,
                trangThaiQuyHoach="Hiện trạng mở rộng" if widened else "Hiện trạng giữ lại",
                phanLoai=_road_class(road.wp),
                ghiChu=_widening_note(road),
            )
        )
    frame = pd.DataFrame.from_records(records, columns=list(ZONING_FIELDS))
    frame["danSo"] = pd.array(frame["danSo"].tolist(), dtype="Int32")
    for column in ("dienTich", "matDoXayDung", "heSoSuDungDat"):
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS_EPSG)


def _road_class(width: float) -> str:
    """Name the road class by its right-of-way width (QCVN 01:2021 vocabulary)."""
    if width >= 30:
        return "Đường chính đô thị"
    if width >= 24:
        return "Đường liên khu vực"
    if width >= 19.5:
        return "Đường khu vực"
    return "Đường phân khu vực"


def _widening_note(road: _Road) -> str | None:
    """Describe the planned widening of a road, if any."""
    if road.we >= road.wp:
        return None
    return f"Mở rộng từ {road.we:g} m lên {road.wp:g} m"


def _red_line_frame(
    roads: list[_Road], red: GeomArray, red_keys: list[tuple[int, int]]
) -> gpd.GeoDataFrame:
    """Build the ChiGioiDuongDo_L features: both edges of every corridor."""
    frame = pd.DataFrame(
        {
            "maDoiTuong": [RED_LINE_OBJECT_CODE] * len(red_keys),
            "tenDoiTuong": [roads[r].name for r, _ in red_keys],
            "chieuRongLoGioi": np.array([roads[r].wp for r, _ in red_keys], dtype=np.float64),
            "ghiChu": [_widening_note(roads[r]) for r, _ in red_keys],
        }
    )
    return gpd.GeoDataFrame(frame, geometry=red, crs=CRS_EPSG)


# --- parcels -----------------------------------------------------------------------------------
def _allocate(capacity: IntArray, parcels: int) -> IntArray:
    """Give the nearest blocks exactly `parcels` parcels in proportion to their capacity."""
    cum = np.cumsum(capacity)
    used = int(np.searchsorted(cum, parcels)) + 1
    cap = capacity[:used].astype(np.float64)
    share = cap * parcels / cap.sum()
    counts = np.floor(share).astype(np.int64)
    rest = parcels - int(counts.sum())
    order = np.lexsort((np.arange(used), -(share - counts)))
    counts[order[:rest]] += 1
    out = np.zeros(len(capacity), dtype=np.int64)
    out[:used] = counts
    return out


def _parcel_frame(
    blocks: _Blocks,
    lots: _Lots,
    roads: list[_Road],
    parcels: int,
    rng: np.random.Generator,
    ward_names: dict[str, str],
) -> gpd.GeoDataFrame:
    """Subdivide the existing blocks into jittered quadrilateral parcels."""
    per_block = _allocate(blocks.capacity, parcels)
    rows = np.minimum(blocks.rows, np.maximum(per_block, 1))
    has = np.flatnonzero(per_block > 0)
    # Rows of parcels: block, position in block, parcel count.
    row_block = np.repeat(has, rows[has])
    row_pos = np.arange(len(row_block)) - np.repeat(np.cumsum(rows[has]) - rows[has], rows[has])
    nrows = rows[row_block]
    base = per_block[row_block] // nrows
    row_count = base + (row_pos < per_block[row_block] % nrows)
    # Row boundaries across the depth: straight outer edges, slanted back lines inside.
    eu0, eu1 = blocks.eu0[row_block], blocks.eu1[row_block]
    ev0, ev1 = blocks.ev0[row_block], blocks.ev1[row_block]
    depth = ev1 - ev0
    slant = rng.uniform(-1.5, 1.5, size=(len(has), 2, 2))  # (block, boundary, end)
    block_rank = np.searchsorted(has, row_block)

    def boundary(index: IntArray) -> tuple[FloatArray, FloatArray]:
        """v at the left and right end of row boundary `index` (0 = front, nrows = back)."""
        at = ev0 + depth * index / nrows
        inner = (index > 0) & (index < nrows)
        idx = np.clip(index - 1, 0, 1)
        left = at + np.where(inner, slant[block_rank, idx, 0], 0.0)
        right = at + np.where(inner, slant[block_rank, idx, 1], 0.0)
        return left, right

    bot_l, bot_r = boundary(row_pos)
    top_l, top_r = boundary(row_pos + 1)
    # Division points along each row: widths drawn, normalised to the row length.
    total = int(row_count.sum())
    parcel_row = np.repeat(np.arange(len(row_count)), row_count)
    row_start = np.cumsum(row_count) - row_count
    local = np.arange(total) - row_start[parcel_row]
    widths = rng.uniform(0.75, 1.25, size=total)
    row_sum = np.bincount(parcel_row, weights=widths, minlength=len(row_count))
    length = eu1 - eu0
    scaled = widths / row_sum[parcel_row] * length[parcel_row]
    right_x = np.cumsum(scaled)
    right_x -= np.concatenate([[0.0], right_x[row_start[1:] - 1]])[parcel_row]
    right_x += eu0[parcel_row]
    last = local == row_count[parcel_row] - 1
    right_x[last] = eu1[parcel_row][last]
    amp = np.minimum(0.8, 0.12 * length / row_count)[parcel_row]
    jit_bot = np.where(last, 0.0, rng.uniform(-1, 1, size=total) * amp)
    jit_top = np.where(last, 0.0, rng.uniform(-1, 1, size=total) * amp)
    rb, rt = right_x + jit_bot, right_x + jit_top
    first = local == 0
    lb = np.where(first, eu0[parcel_row], np.roll(rb, 1))
    lt = np.where(first, eu0[parcel_row], np.roll(rt, 1))

    def line_v(x: FloatArray, left: FloatArray, right: FloatArray) -> FloatArray:
        r = parcel_row
        return left[r] + (right[r] - left[r]) * (x - eu0[r]) / length[r]

    quads = np.stack(
        [
            np.stack([lb, line_v(lb, bot_l, bot_r)], axis=-1),
            np.stack([rb, line_v(rb, bot_l, bot_r)], axis=-1),
            np.stack([rt, line_v(rt, top_l, top_r)], axis=-1),
            np.stack([lt, line_v(lt, top_l, top_r)], axis=-1),
            np.stack([lb, line_v(lb, bot_l, bot_r)], axis=-1),
        ],
        axis=1,
    )
    geoms = shapely.polygons(_to_crs(quads))
    areas = np.round(shapely.area(geoms), 1)

    # Land-use code by the planned function of the lot under the parcel's centre.
    block = row_block[parcel_row]
    cu = quads[:, :4, 0].mean(axis=1)
    cv = quads[:, :4, 1].mean(axis=1)
    lot_first = np.searchsorted(lots.block, block)
    lot = lot_first + (cu >= lots.splits[block, 0]) + (cu >= lots.splits[block, 1])
    kind_index = np.array([BLOCK_KINDS.index(k) for k in lots.kind])[lot]
    table = np.array(
        [_PARCEL_CODE_WEIGHTS.get(k, _DEFAULT_CODE_WEIGHTS) for k in BLOCK_KINDS]
    ).cumsum(axis=1)
    table /= table[:, -1:]
    draw = rng.random(total)
    code = (draw[:, None] >= table[kind_index][:, :-1]).sum(axis=1)
    land_use = np.array(PARCEL_CODES)[code]

    # Ward by block; sheets on the projected 250 m grid, numbered per ward.
    wards = _wards((blocks.u0 + blocks.u1) / 2, (blocks.v0 + blocks.v1) / 2)[block]
    centre = _to_crs(np.stack([cu, cv], axis=-1))
    ix = np.floor(centre[:, 0] / SHEET_SIZE).astype(np.int64)
    iy = np.floor(centre[:, 1] / SHEET_SIZE).astype(np.int64)
    ward_codes, ward_index = np.unique(wards, return_inverse=True)
    sheets, sheet_index = np.unique(
        np.column_stack([ward_index, -iy, ix]), axis=0, return_inverse=True
    )
    sheet_index = sheet_index.ravel()
    sheet_ward_start = np.searchsorted(sheets[:, 0], sheets[:, 0])
    sheet_no = (np.arange(len(sheets)) - sheet_ward_start + 1)[sheet_index]
    band = np.floor(centre[:, 1] / 20.0).astype(np.int64)
    order = np.lexsort((centre[:, 0], -band, sheet_index))
    parcel_no = np.empty(total, dtype=np.int64)
    sorted_sheet = sheet_index[order]
    group_start = np.searchsorted(sorted_sheet, sorted_sheet)
    parcel_no[order] = np.arange(total) - group_start + 1

    addresses = _addresses(block, row_pos[parcel_row], nrows[parcel_row], local, cu, blocks, roads)
    ward_label = {code: ward_names[code] for code in ward_codes.tolist()}
    frame = pd.DataFrame(
        {
            "MaXa": wards.astype(object),
            "SoTo": sheet_no.astype(np.int32),
            "SoThua": parcel_no.astype(np.int32),
            "DienTich": areas,
            "LoaiDat": land_use.astype(object),
            "DiaChi": [f"{a}, {ward_label[w]}" for a, w in zip(addresses, wards, strict=True)],
        }
    )
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS_EPSG)


def _addresses(
    block: IntArray,
    row: IntArray,
    nrows: IntArray,
    local: IntArray,
    cu: FloatArray,
    blocks: _Blocks,
    roads: list[_Road],
) -> list[str]:
    """Number the houses along each street side; alley rows get 'n Kiệt m Đường X'."""
    names = {(r.axis, r.index): r.name for r in roads}
    front = row == 0
    back = (row == nrows - 1) & ~front
    line = np.where(back, blocks.k[block] + 1, blocks.k[block])
    side = np.where(back, 1, 0)  # 0: north side of the street (odd numbers), 1: south (even)
    street = front | back
    idx = np.flatnonzero(street)
    order = idx[np.lexsort((cu[idx], side[idx], line[idx]))]
    key = line[order] * 2 + side[order]
    start = np.searchsorted(key, key)
    number = np.zeros(len(block), dtype=np.int64)
    number[order] = 2 * (np.arange(len(order)) - start) + 1 + side[order]
    # Alley rows open on the south street next to the block's last front house.
    alley_of_block = np.zeros(len(blocks.u0), dtype=np.int64)
    np.maximum.at(alley_of_block, block[front], number[front])
    out: list[str] = []
    for n in range(len(block)):
        k = int(blocks.k[block[n]])
        if street[n]:
            out.append(f"{number[n]} {names[(1, int(line[n]))]}")
        else:
            out.append(f"{local[n] + 1} Kiệt {alley_of_block[block[n]]} {names[(1, k)]}")
    return out


# --- writing -----------------------------------------------------------------------------------
def _write_prj(shp: Path) -> None:
    """Write the ESRI WKT of EPSG:9214 beside a shapefile."""
    shp.with_suffix(".prj").write_text(CRS.from_epsg(CRS_EPSG).to_wkt("WKT1_ESRI"))


def _write_tcvn3_shapefile(zoning: gpd.GeoDataFrame, shp: Path) -> None:
    """Write the zoning layer as a legacy shapefile: TCVN3 bytes, no .cpg."""
    legacy = zoning.copy()
    memo: dict[str, str] = {}

    def to_tcvn3(value: str) -> str:
        # pyogrio writes str; latin-1 maps each TCVN3 byte to the code point of the same value.
        if value not in memo:
            raw = encode_text(value.translate(_LEGACY_SUBSTITUTES), "tcvn3")
            memo[value] = raw.decode("latin-1")
        return memo[value]

    for column in legacy.columns:
        if column == legacy.geometry.name or pd.api.types.is_numeric_dtype(legacy[column]):
            continue
        legacy[column] = [None if pd.isna(v) else to_tcvn3(str(v)) for v in legacy[column]]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_LAUNDER_WARNING, category=RuntimeWarning)
        pyogrio.write_dataframe(legacy, shp, encoding="latin1")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    _write_prj(shp)


def _write_gdb(root: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write the layers to QuyHoach.gdb, or QuyHoach.gpkg when GDAL cannot write FileGDB."""
    writable = pyogrio.list_drivers(write=True)
    driver = "OpenFileGDB" if "OpenFileGDB" in writable else "GPKG"
    path = root / ("QuyHoach.gdb" if driver == "OpenFileGDB" else "QuyHoach.gpkg")
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=name, driver=driver)
    return path


def _clear(paths: list[Path]) -> None:
    """Remove earlier outputs of the generator so that layers are written afresh."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.suffix == ".shp":
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                path.with_suffix(suffix).unlink(missing_ok=True)
        else:
            path.unlink(missing_ok=True)


def generate_demo(out_dir: Path, parcels: int = 2000, seed: int = 46) -> DemoFiles:
    """Write the synthetic Huế zoning plan, red lines and cadastre under out_dir."""
    if parcels < 1:
        raise ValueError(f"parcels must be at least 1, got {parcels}")
    root = Path(out_dir)
    ua, va, blocks = _layout(parcels, seed)
    rng = np.random.default_rng(seed)
    ward_names = _ward_names()
    lots = _lots(blocks, rng)
    splits = {
        (int(j), int(k)): [float(x) for x in row if np.isfinite(x)]
        for j, k, row in zip(blocks.j, blocks.k, lots.splits, strict=True)
    }
    roads = _roads(ua, va, splits)
    corridors, red, red_keys = _road_geometries(roads, (ua, va))
    zoning = _zoning_frame(lots, blocks, roads, corridors, rng, ward_names)
    red_lines = _red_line_frame(roads, red, red_keys)
    cadastre = _parcel_frame(blocks, lots, roads, parcels, rng, ward_names)

    bounds = np.array([zoning.total_bounds, cadastre.total_bounds])
    min_e, min_n, max_e, max_n = HUE_EXTENT
    if bounds[:, 0].min() < min_e or bounds[:, 1].min() < min_n:
        raise ValueError(f"{parcels} parcels do not fit in the Huế extent")
    if bounds[:, 2].max() > max_e or bounds[:, 3].max() > max_n:
        raise ValueError(f"{parcels} parcels do not fit in the Huế extent")

    zoning_shp = root / "QuyHoach_TCVN3" / f"{ZONING_LAYER}.shp"
    parcels_shp = root / "DiaChinh" / "thua_dat.shp"
    _clear([root / "QuyHoach.gdb", root / "QuyHoach.gpkg", zoning_shp, parcels_shp])
    for folder in (root, zoning_shp.parent, parcels_shp.parent):
        folder.mkdir(parents=True, exist_ok=True)
    gdb = _write_gdb(root, {ZONING_LAYER: zoning, RED_LINE_LAYER: red_lines})
    _write_tcvn3_shapefile(zoning, zoning_shp)
    pyogrio.write_dataframe(cadastre, parcels_shp, encoding="UTF-8")
    _write_prj(parcels_shp)
    return DemoFiles(
        root=root,
        gdb=gdb,
        zoning_shp=zoning_shp,
        parcels=parcels_shp,
        zone_count=len(zoning),
        parcel_count=len(cadastre),
        red_line_count=len(red_lines),
    )
