"""Build ingest inputs on the fly (TT16 geodatabases, shapefiles, GeoPackage, GeoJSON, zips) and
read back what a load wrote."""

from __future__ import annotations

import sqlite3
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box
from sqlalchemy import Engine, text

from ingest.fields import TT16_ZONING_FIELDS
from planning.text import encode_text

# Huế Citadel (VIETNAM.md §1): WGS 84 lon/lat and the same point in EPSG:9214 (VN-2000 TM-3 107°).
CITADEL_LONLAT = (107.5776, 16.4698)
CITADEL_EN = (561_475.812, 1_821_649.834)
HUE = 9214

TT16_NUMERIC = {"dienTich", "danSo", "matDoXayDung", "heSoSuDungDat"}

# Three lots in a row east of the Citadel (the first has a vertex exactly on it).
LOTS: list[dict[str, Any]] = [
    {
        "kyHieuLoDat": "OM-01",
        "chucNangSuDungDatMuc1": "Đất ở",
        "chucNangSuDungDatMuc2": "Đất ở đô thị",
        "chucNangSuDungDatMuc3": "Đất ở liền kề",
        "tenCongTrinhTrenDat": "Khu nhà ở Thượng Thành",
        "matDoXayDung": 60.0,
        "tangCaoXayDung": "3-5",
        "heSoSuDungDat": 2.5,
        "danSo": 120.0,
    },
    {
        "kyHieuLoDat": "CX-01",
        "chucNangSuDungDatMuc1": "Đất cây xanh",
        "chucNangSuDungDatMuc2": "Đất cây xanh công viên",
        "chucNangSuDungDatMuc3": None,
        "tenCongTrinhTrenDat": "Vườn hoa Phú Văn Lâu",
        "matDoXayDung": 5.0,
        "tangCaoXayDung": "1",
        "heSoSuDungDat": 0.05,
        "danSo": None,
    },
    {
        "kyHieuLoDat": "GD-01",
        "chucNangSuDungDatMuc1": "Đất giáo dục",
        "chucNangSuDungDatMuc2": "Trường mầm non",
        "chucNangSuDungDatMuc3": None,
        "tenCongTrinhTrenDat": "Trường mầm non Đông Ba",
        "matDoXayDung": 40.0,
        "tangCaoXayDung": "≤ 3",
        "heSoSuDungDat": 1.2,
        "danSo": None,
    },
]


def lot_geoms(
    n: int = 3, size: float = 100.0, origin: tuple[float, float] = CITADEL_EN
) -> list[Any]:
    """Return ``n`` adjacent squares (EPSG:9214) starting at ``origin``, the first irregular."""
    x0, y0 = origin
    geoms: list[Any] = []
    for i in range(n):
        x = x0 + i * size
        if i == 0:
            # A pentagon with a vertex on the origin, so areas are not round numbers.
            geoms.append(
                shapely.Polygon(
                    [(x, y0), (x + size, y0), (x + size, y0 + size), (x + 37.25, y0 + 113.5)]
                )
            )
        else:
            geoms.append(box(x, y0, x + size, y0 + size))
    return geoms


def tt16_zoning(
    rows: Sequence[dict[str, Any]] | None = None,
    geoms: Sequence[Any] | None = None,
    crs: Any = HUE,
) -> gpd.GeoDataFrame:
    """Return a ChucNangSuDungDat_A frame with every TT16 field (missing values null)."""
    rows = list(rows if rows is not None else LOTS)
    geoms = list(geoms if geoms is not None else lot_geoms(len(rows)))
    data: dict[str, list[Any]] = {}
    for f in TT16_ZONING_FIELDS:
        values = [r.get(f) for r in rows]
        if f in TT16_NUMERIC:
            data[f] = [float("nan") if v is None else float(v) for v in values]
        else:
            data[f] = [None if v is None else str(v) for v in values]
    data["maThongTinQH"] = [f"QH-{i:03d}" for i in range(len(rows))]
    data["dienTich"] = [round(float(shapely.area(g)), 2) for g in geoms]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def red_lines(crs: Any = HUE) -> gpd.GeoDataFrame:
    """Return a ChiGioiDuongDo_L frame: two red lines along the lots."""
    x, y = CITADEL_EN
    lines = [
        shapely.LineString([(x, y - 10), (x + 300, y - 10)]),
        shapely.LineString([(x - 10, y), (x - 10, y + 120), (x - 15, y + 200)]),
    ]
    return gpd.GeoDataFrame(
        {"tenDoiTuong": ["Đường Đinh Tiên Hoàng", "Đường Lê Duẩn"], "loGioi": [24.0, 36.0]},
        geometry=lines,
        crs=crs,
    )


def write_gdb(
    path: Path, zoning: gpd.GeoDataFrame | None = None, with_red_lines: bool = True
) -> Path:
    """Write a Circular 16/2025 QuyHoach.gdb with ChucNangSuDungDat_A (and ChiGioiDuongDo_L)."""
    zoning = tt16_zoning() if zoning is None else zoning
    path.parent.mkdir(parents=True, exist_ok=True)
    zoning.to_file(path, layer="ChucNangSuDungDat_A", driver="OpenFileGDB", engine="pyogrio")
    if with_red_lines:
        red_lines(zoning.crs).to_file(
            path, layer="ChiGioiDuongDo_L", driver="OpenFileGDB", engine="pyogrio"
        )
    return path


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> Path:
    """Zip a folder (a .gdb) keeping its name as the top directory."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + str(Path(folder.name) / f.relative_to(folder)))
    return dest


def zip_files(files: Sequence[Path], dest: Path) -> Path:
    """Zip files flat (a shapefile's parts)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return dest


def shapefile_parts(shp: Path) -> list[Path]:
    """Return every file of a shapefile."""
    return sorted(p for p in shp.parent.iterdir() if p.stem == shp.stem)


def write_legacy_shp(df: gpd.GeoDataFrame, path: Path, encoding: str) -> Path:
    """Write a shapefile whose text is in a legacy Vietnamese encoding, with no .cpg."""
    out = df.copy()
    for col in out.columns:
        if col == out.geometry.name or not pd.api.types.is_string_dtype(out[col]):
            continue
        out[col] = [
            None if v is None else encode_text(v, encoding).decode("latin-1") for v in out[col]
        ]
    out.to_file(path, encoding="latin1", engine="pyogrio")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def write_gpkg_zm(path: Path, frame: gpd.GeoDataFrame, wkt_zm: Sequence[str | None]) -> Path:
    """Write a GeoPackage whose geometries carry Z and M (pyogrio cannot write M itself)."""
    frame.to_file(path, layer=path.stem, engine="pyogrio", SPATIAL_INDEX="NO")
    con = sqlite3.connect(path)
    try:
        srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        fids = [r[0] for r in con.execute(f'SELECT fid FROM "{path.stem}" ORDER BY fid')]
        for fid, wkt in zip(fids, wkt_zm, strict=True):
            if wkt is None:
                continue
            wkb = shapely.to_wkb(
                shapely.from_wkt(wkt), flavor="iso", output_dimension=4, byte_order=1
            )
            blob = b"GP\x00\x01" + struct.pack("<i", srs) + wkb
            con.execute(f'UPDATE "{path.stem}" SET geom = ? WHERE fid = ?', (blob, fid))
        con.execute("UPDATE gpkg_geometry_columns SET z = 1, m = 1")
        con.commit()
    finally:
        con.close()
    return path


def parcels_frame(
    n_side: int,
    commune: str = "19753",
    size: float = 10.0,
    origin: tuple[float, float] = CITADEL_EN,
    crs: Any = HUE,
) -> gpd.GeoDataFrame:
    """Return an ``n_side`` × ``n_side`` grid of parcels (sheet = row, parcel = column)."""
    x0, y0 = origin
    row, col = np.divmod(np.arange(n_side * n_side), n_side)
    x, y = x0 + col * size, y0 + row * size
    n = len(row)
    return gpd.GeoDataFrame(
        {
            "MaXa": [commune] * n,
            "SoTo": row + 1,
            "SoThua": col + 1,
            "DienTich": np.full(n, size * size),
            "LoaiDat": ["ODT"] * n,
            "DiaChi": ["Phường Phú Xuân"] * n,
        },
        geometry=shapely.box(x, y, x + size, y + size),
        crs=crs,
    )


def argv(text: str) -> list[str]:
    """Split a string of command-line options (none of them holds a space)."""
    return text.split()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    """Run a query and return all rows."""
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    """Run a query and return its single value."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def published_state(engine: Engine) -> dict[str, Any]:
    """Summarise everything published: the revisions and the features behind them."""
    with engine.connect() as conn:
        revs = conn.execute(
            text(
                "SELECT id, state, effective_from, effective_to FROM planning.revision "
                "WHERE state <> 'staged' ORDER BY id"
            )
        ).all()
        counts = {
            t: conn.execute(
                text(
                    f"SELECT count(*) FROM planning.{t} f JOIN planning.revision r "
                    "ON r.id = f.revision_id WHERE r.state = 'published'"
                )
            ).scalar_one()
            for t in ("zone", "parcel", "red_line")
        }
        cover = conn.execute(
            text("SELECT * FROM planning.parcel_coverage ORDER BY revision_id, commune_code")
        ).all()
        pubs = conn.execute(text("SELECT count(*) FROM planning.publication")).scalar_one()
    return {
        "revisions": [tuple(r) for r in revs],
        "counts": counts,
        "coverage": [tuple(c) for c in cover],
        "publications": pubs,
    }
