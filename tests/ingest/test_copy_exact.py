"""The bulk load writes exactly what the row-by-row load of commit a4c275f wrote: every column of
every zone, parcel and red line (areas to the last bit, attributes JSON, folded addresses, both
geometries as EWKB) is compared with a snapshot taken with that code (tests/ingest/data/).

Regenerate the snapshot only on purpose:
PLANNING_REGEN_GOLDEN=1 pytest tests/ingest/test_copy_exact.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine

from planning.text import encode_text
from tests.ingest.builders import (
    CITADEL_EN,
    HUE,
    parcels_frame,
    rows,
    write_gdb,
)

GOLDEN = Path(__file__).resolve().parent / "data" / "copy_golden.json"

COLUMNS = {
    "parcel": (
        "commune_code, sheet, parcel_no, area_official, land_use_code, address, address_search, "
        "attrs::text AS attrs, area_m2"
    ),
    "zone": (
        "code, category, function_l1, function_l2, function_l3, lot, name, density_max, "
        "floors_min, floors_max, far_max, height_max_m, setback_m, population, "
        "attrs::text AS attrs, area_m2, is_road"
    ),
    "red_line": "road_name, row_width_m, attrs::text AS attrs, length_m",
}
ORDER = {
    "parcel": "commune_code, sheet, parcel_no",
    "zone": "lot, code, area_m2",
    "red_line": "road_name, length_m",
}


def _dump(engine: Engine, table: str, revision: int) -> list[dict[str, Any]]:
    sql = (
        f"SELECT {COLUMNS[table]}, encode(ST_AsEWKB(geom), 'hex') AS geom, "
        f"encode(ST_AsEWKB(geom_plane), 'hex') AS geom_plane, ST_SRID(geom_plane) AS srid "
        f"FROM planning.{table} WHERE revision_id = :r ORDER BY {ORDER[table]}, geom_plane"
    )
    out = []
    for r in rows(engine, sql, r=revision):
        d = dict(r._mapping)
        # Floats through repr: the snapshot keeps every bit.
        out.append({k: repr(v) if isinstance(v, float) else v for k, v in d.items()})
    return out


def _load(run: Any, engine: Engine, *args: str, ok: bool = True) -> int:
    result = run(*args, "--json", ok=None)
    assert (result.exit_code == 0) == ok, result.output
    report, _end = json.JSONDecoder().raw_decode(result.output[result.output.index("{") :])
    return int(report["revision_id"])


def _parcels_legacy(tmp_path: Path) -> Path:
    """A TCVN3 shapefile with untidy keys, nulls, a bow-tie, a date and a duplicate key."""
    df = parcels_frame(6, size=7.5)
    n = len(df)
    rng = np.random.default_rng(7)
    df["SoTo"] = [f"{v:03d}" if i % 3 == 0 else str(v) for i, v in enumerate(df["SoTo"])]
    df["DienTich"] = [None if i % 5 == 0 else float(v) for i, v in enumerate(rng.random(n) * 99)]
    df["LoaiDat"] = pd.Series(["odt ", "ONT", None, "  ", "Dgt", "ODT"] * (n // 6), dtype=object)
    streets = ["Đường Đinh Tiên Hoàng", "Đường Lê Duẩn", "Kiệt 12 Nguyễn Trãi", "Thượng Tứ"]
    df["DiaChi"] = pd.Series(
        [
            None if i % 7 == 0 else ("" if i % 11 == 0 else f" {i} {streets[i % 4]}, Phú Xuân ")
            for i in range(n)
        ],
        dtype=object,
    )
    df["NgayDo"] = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    geoms = list(df.geometry)
    x, y = CITADEL_EN
    geoms[4] = shapely.Polygon([(x, y), (x + 5, y + 5), (x + 5, y), (x, y + 5)])  # bow-tie
    df = df.set_geometry(geoms)
    df.loc[9, ["SoTo", "SoThua"]] = [str(df.loc[8, "SoTo"]), int(df.loc[8, "SoThua"])]
    for col in ("DiaChi", "LoaiDat"):
        df[col] = pd.Series(
            [None if v is None else encode_text(v, "tcvn3").decode("latin-1") for v in df[col]],
            dtype=object,
        )
    path = tmp_path / "legacy.shp"
    df.to_file(path, encoding="latin1", engine="pyogrio")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def _parcels_geojson(tmp_path: Path) -> Path:
    """Lon/lat parcels (areas in a TM-3 zone) with UTF-8 text, bools, NaN and decomposed text."""
    df = parcels_frame(5, size=9.0, commune="19777").to_crs(4326)
    n = len(df)
    df["SoThua"] = [f"{v}A" if v == 3 else str(v) for v in df["SoThua"]]
    df["DiaChi"] = [
        "Phu\u031b\u0300o\u031b\u0300ng Vy\u0303 Da\u0323" if i % 2 else "Phường Vỹ Dạ"
        for i in range(n)
    ]
    df["HopLe"] = [bool(i % 2) for i in range(n)]
    df["GiaTri"] = [float("nan") if i % 4 == 0 else i * 1.1 for i in range(n)]
    df["SoNguoi"] = list(range(n))
    path = tmp_path / "parcels.geojson"
    df.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def _snapshot(tmp_path: Path, run: Any, engine: Engine) -> dict[str, Any]:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    zoning = _load(run, engine, "ingest", "zoning", str(gdb), "--plan", "QH", "--publish")
    red = _load(run, engine, "ingest", "red-lines", str(gdb), "--plan", "QH")
    legacy = _load(
        run, engine, "ingest", "parcels", str(_parcels_legacy(tmp_path)), "--crs",
        f"EPSG:{HUE}", ok=False,
    )  # fmt: skip
    geojson = _load(run, engine, "ingest", "parcels", str(_parcels_geojson(tmp_path)))
    return {
        "zoning": _dump(engine, "zone", zoning),
        "red_lines": _dump(engine, "red_line", red),
        "parcels_legacy": _dump(engine, "parcel", legacy),
        "parcels_geojson": _dump(engine, "parcel", geojson),
    }


def test_load_matches_snapshot(tmp_path: Path, run: Any, engine: Engine) -> None:
    got = _snapshot(tmp_path, run, engine)
    assert all(got.values()), {k: len(v) for k, v in got.items()}
    if os.environ.get("PLANNING_REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip("snapshot written")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for key in want:
        assert len(got[key]) == len(want[key]), key
        for g, w in zip(got[key], want[key], strict=True):
            assert g == w, key


def test_snapshot_covers_the_hard_cases() -> None:
    """The snapshot holds what the bulk path could get wrong."""
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    legacy = want["parcels_legacy"]
    assert any(r["address"] is None for r in legacy)
    assert any(
        r["address_search"] and "duong dinh tien hoang" in r["address_search"] for r in legacy
    )
    assert any(r["area_official"] is None for r in legacy)
    # Codes as the file wrote them (trimmed): "odt ", "Dgt" and "  " (none).
    assert {r["land_use_code"] for r in legacy} >= {"odt", "ODT", "ONT", "Dgt", None}
    assert any('"NgayDo": "2020-01-0' in r["attrs"] for r in legacy)
    geo = want["parcels_geojson"]
    assert "Phường Vỹ Dạ" in {r["address"] for r in geo}
    assert {r["address_search"] for r in geo} == {"phuong vy da"}
    assert any('"GiaTri": null' in r["attrs"] for r in geo)
    assert any('"HopLe": true' in r["attrs"] for r in geo)
    # Lon/lat parcels of commune 19777 (Huế) are measured in Huế's plane, EPSG:9214.
    assert {r["srid"] for r in geo} == {9214}
    assert {r["srid"] for r in legacy} == {9214}
