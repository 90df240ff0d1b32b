"""Every input format: TT16 FileGDB (folder and zip), shapefile (and zip), GeoPackage, GeoJSON;
field mapping by TT16 names, options and a TOML file; original attributes and plan metadata."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from sqlalchemy import Engine

from tests.ingest.builders import (
    CITADEL_EN,
    LOTS,
    argv,
    red_lines,
    rows,
    scalar,
    shapefile_parts,
    tt16_zoning,
    write_gdb,
    zip_files,
    zip_folder,
)


def _zones(engine: Engine) -> dict[str, object]:
    return {
        r.lot: r
        for r in rows(
            engine,
            "SELECT z.*, ST_SRID(z.geom_plane) AS srid, GeometryType(z.geom) AS gtype, "
            "ST_AsBinary(z.geom_plane) AS wkb FROM planning.zone z",
        )
    }


def _check_tt16_zones(engine: Engine, field_names: list[str] | None = None) -> None:
    expected = tt16_zoning()
    names = field_names or [c for c in expected.columns if c != "geometry"]
    zones = _zones(engine)
    assert set(zones) == {r["kyHieuLoDat"] for r in LOTS}
    for _, row in expected.iterrows():
        z = zones[row["kyHieuLoDat"]]
        assert z.function_l1 == row["chucNangSuDungDatMuc1"]
        assert z.function_l2 == row["chucNangSuDungDatMuc2"]
        assert z.name == row["tenCongTrinhTrenDat"]
        assert z.density_max == pytest.approx(row["matDoXayDung"])
        assert z.far_max == pytest.approx(row["heSoSuDungDat"])
        assert z.area_m2 == pytest.approx(shapely.area(row.geometry), abs=0.01)
        assert z.srid == 9214
        assert z.gtype == "MULTIPOLYGON"
        assert shapely.equals_exact(
            shapely.normalize(shapely.from_wkb(bytes(z.wkb))),
            shapely.normalize(shapely.MultiPolygon([row.geometry])),
            1e-6,
        )
        # every original attribute is kept, under its own name
        assert set(z.attrs) == set(names)
        assert z.attrs[names[0]] == row["maThongTinQH"]
    om = zones["OM-01"]
    assert (om.floors_min, om.floors_max) == (3, 5)
    assert om.code == "ODT"
    assert zones["CX-01"].code == "DKV"
    assert zones["GD-01"].code == "DGD"
    assert (zones["GD-01"].floors_min, zones["GD-01"].floors_max) == (None, 3)


def test_tt16_gdb_folder_picks_layer_and_maps_fields(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    meta = ["--name", "Phân khu Kinh thành", "--level", "zoning", "--decision", "123/QĐ-UBND"]
    dates = argv("--decision-date 2025-03-01 --effective 2025-04-01")
    res = run("ingest", "zoning", str(gdb), "--plan", "QH-HUE-1", *meta, *dates, "--json")
    report = json.loads(res.stdout)
    assert report["layer"] == "ChucNangSuDungDat_A"
    assert report["driver"] == "OpenFileGDB"
    assert {t: m["how"] for t, m in report["mapping"].items()}["lot"] == "TT16"
    assert report["features_loaded"] == 3
    _check_tt16_zones(engine)
    plan = rows(engine, "SELECT * FROM planning.plan")[0]
    assert (plan.code, plan.name, plan.level, plan.decision) == (
        "QH-HUE-1",
        "Phân khu Kinh thành",
        "zoning",
        "123/QĐ-UBND",
    )
    assert str(plan.decision_date) == "2025-03-01"
    rev = rows(engine, "SELECT * FROM planning.revision")[0]
    assert (rev.kind, rev.state, str(rev.effective_from), rev.layer, rev.srid) == (
        "zoning",
        "staged",
        "2025-04-01",
        "ChucNangSuDungDat_A",
        9214,
    )
    assert rev.crs_resolved == "EPSG:9214"
    assert rev.feature_count == 3


def test_tt16_gdb_zip(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "src" / "QuyHoach.gdb")
    z = zip_folder(gdb, tmp_path / "hoso.zip")
    run("ingest", "zoning", str(z), "--plan", "QH", "--publish")
    _check_tt16_zones(engine)
    assert scalar(engine, "SELECT state FROM planning.revision") == "published"


@pytest.mark.parametrize("zipped", [False, True])
def test_tt16_dossier_picks_quyhoach_gdb(tmp_path: Path, run, engine: Engine, zipped: bool) -> None:
    dossier = tmp_path / "HoSo"
    dossier.mkdir()
    points = gpd.GeoDataFrame({"doCao": [3.5]}, geometry=[shapely.Point(*CITADEL_EN)], crs=9214)
    for name in ("HienTrang.gdb", "NenDiaHinh.gdb"):
        points.to_file(dossier / name, layer="DiemDoCao_P", driver="OpenFileGDB")
    write_gdb(dossier / "QuyHoach.gdb")
    path = zip_folder(dossier, tmp_path / "HoSo.zip") if zipped else dossier
    report = json.loads(run("ingest", "zoning", str(path), "--plan", "QH", "--json").stdout)
    assert report["layer"] == "ChucNangSuDungDat_A"
    _check_tt16_zones(engine)


def test_shapefile_with_truncated_tt16_names(tmp_path: Path, run, engine: Engine) -> None:
    shp = tmp_path / "cnsdd.shp"
    tt16_zoning().to_file(shp, engine="pyogrio")  # names cut to 10 characters by GDAL
    run("ingest", "zoning", str(shp), "--plan", "QH")
    _check_tt16_zones(engine, list(pyogrio.read_info(shp)["fields"]))


def test_shapefile_zip(tmp_path: Path, run, engine: Engine) -> None:
    shp = tmp_path / "cnsdd.shp"
    tt16_zoning().to_file(shp, engine="pyogrio")
    z = zip_files(shapefile_parts(shp), tmp_path / "cnsdd.zip")
    run("ingest", "zoning", str(z), "--plan", "QH")
    _check_tt16_zones(engine, list(pyogrio.read_info(shp)["fields"]))


def test_geopackage_with_several_layers_needs_layer(tmp_path: Path, run, engine: Engine) -> None:
    gpkg = tmp_path / "qh.gpkg"
    tt16_zoning().to_file(gpkg, layer="zones", engine="pyogrio")
    red_lines().to_file(gpkg, layer="roads", engine="pyogrio")
    res = run("ingest", "zoning", str(gpkg), "--plan", "QH", ok=False)
    assert "--layer" in res.stderr and "zones" in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0
    run("ingest", "zoning", str(gpkg), "--plan", "QH", "--layer", "zones")
    _check_tt16_zones(engine)


def test_geojson_in_wgs84(tmp_path: Path, run, engine: Engine) -> None:
    gj = tmp_path / "qh.geojson"
    tt16_zoning().to_crs(4326).to_file(gj, driver="GeoJSON", engine="pyogrio")
    run("ingest", "zoning", str(gj), "--plan", "QH", "--layer", "qh")
    rev = rows(engine, "SELECT srid, crs_resolved FROM planning.revision")[0]
    assert (rev.srid, rev.crs_resolved) == (4326, "EPSG:4326")
    zones = _zones(engine)
    assert set(zones) == {"OM-01", "CX-01", "GD-01"}
    assert zones["OM-01"].function_l3 == "Đất ở liền kề"


FREE_FORM = {
    "LOAI": ["ODT", "DKV"],
    "CN": ["Đất ở mới", "Cây xanh"],
    "KH": ["A1", "B2"],
    "TEN": ["Lô A1", "Lô B2"],
    "MD": ["≤ 70%", "10"],
    "TANG": ["2-4", "1"],
    "HS": ["2,8", "0.1"],
    "CAO": ["18 m", "6"],
    "LUI": ["3", "0"],
}


def _free_form(tmp_path: Path) -> Path:
    from shapely.geometry import box

    x, y = CITADEL_EN
    df = gpd.GeoDataFrame(
        FREE_FORM, geometry=[box(x, y, x + 50, y + 40), box(x + 50, y, x + 90, y + 40)], crs=9214
    )
    path = tmp_path / "free.gpkg"
    df.to_file(path, engine="pyogrio")
    return path


def _check_free_form(engine: Engine) -> None:
    zones = _zones(engine)
    a1, b2 = zones["A1"], zones["B2"]
    assert (a1.code, a1.function_l1, a1.name) == ("ODT", "Đất ở mới", "Lô A1")
    assert (a1.density_max, a1.floors_min, a1.floors_max, a1.far_max) == (70, 2, 4, 2.8)
    assert (a1.height_max_m, a1.setback_m) == (18, 3)
    assert (b2.code, b2.far_max, b2.setback_m) == ("DKV", 0.1, 0)
    assert a1.area_m2 == pytest.approx(2000, abs=0.01)
    assert a1.attrs["MD"] == "≤ 70%"


def test_field_options(tmp_path: Path, run, engine: Engine) -> None:
    path = _free_form(tmp_path)
    options = argv(
        "--code-field LOAI --function-field CN --lot-field KH --name-field TEN --density-field MD "
        "--floors-field TANG --far-field HS --height-field CAO --setback-field LUI"
    )
    res = run("ingest", "zoning", str(path), "--plan", "QH", *options, "--json")
    mapping = json.loads(res.stdout)["mapping"]
    assert mapping["setback"] == {"field": "LUI", "how": "given"}
    _check_free_form(engine)


def test_mapping_file(tmp_path: Path, run, engine: Engine) -> None:
    path = _free_form(tmp_path)
    toml = tmp_path / "map.toml"
    toml.write_text(
        '[fields]\ncode = "LOAI"\nfunction = "CN"\nlot_field = "KH"\nname = "TEN"\n'
        'density = "MD"\nfloors = "TANG"\nfar = "HS"\nheight = "CAO"\nsetback = "lui"\n',
        encoding="utf-8",
    )
    run("ingest", "zoning", str(path), "--plan", "QH", "--mapping", str(toml))
    _check_free_form(engine)


def test_red_lines_from_gdb(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    run("ingest", "red-lines", str(gdb), "--plan", "QH", "--publish")
    got = rows(
        engine,
        "SELECT road_name, row_width_m, length_m, GeometryType(geom) AS gt, "
        "ST_SRID(geom_plane) AS s FROM planning.red_line ORDER BY road_name",
    )
    expected = red_lines().sort_values("tenDoiTuong")
    assert [g.road_name for g in got] == list(expected["tenDoiTuong"])
    for g, (_, e) in zip(got, expected.iterrows(), strict=True):
        assert g.length_m == pytest.approx(e.geometry.length, abs=0.001)
        assert g.row_width_m == e["loGioi"]
        assert (g.gt, g.s) == ("MULTILINESTRING", 9214)
    rev = rows(engine, "SELECT kind, layer, state FROM planning.revision")[0]
    assert tuple(rev) == ("red_lines", "ChiGioiDuongDo_L", "published")
