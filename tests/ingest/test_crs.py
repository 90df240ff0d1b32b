"""CRS handling: the Citadel reference point both ways, .prj reading, overrides, the 'VN2000 nội
bộ' .prj, the service area with its zone hint, swapped axes, and native planar areas."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import box
from sqlalchemy import Engine

from tests.ingest.builders import (
    CITADEL_EN,
    CITADEL_LONLAT,
    lot_geoms,
    rows,
    scalar,
    tt16_zoning,
    write_gdb,
)

MM = 0.001
DEG = 1e-8  # ≈ 1 mm


def _first_vertex(engine: Engine, column: str, srid: int | None = None) -> tuple[float, float]:
    g = f"ST_Transform({column}, {srid})" if srid else column
    r = rows(
        engine,
        f"SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT ST_PointN(ST_ExteriorRing("
        f"ST_GeometryN({g}, 1)), 1) AS p FROM planning.zone WHERE lot = 'OM-01') s",
    )[0]
    return (r.x, r.y)


def _citadel_first(geom: shapely.Polygon) -> shapely.Polygon:
    # Rings start at the Citadel vertex whatever orientation the writer chose.
    return shapely.Polygon(geom.exterior.coords)


def test_citadel_from_vn2000_file(tmp_path: Path, run, engine: Engine) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    run("ingest", "zoning", str(gdb), "--plan", "QH")
    lon, lat = _first_vertex(engine, "geom")
    assert lon == pytest.approx(CITADEL_LONLAT[0], abs=DEG)
    assert lat == pytest.approx(CITADEL_LONLAT[1], abs=DEG)
    e, n = _first_vertex(engine, "geom_plane")
    assert (e, n) == pytest.approx(CITADEL_EN, abs=1e-6)  # stored as read (FileGDB grid)
    # ... and PostGIS takes the WGS 84 geometry back to the same millimetre.
    e, n = _first_vertex(engine, "geom", 9214)
    assert e == pytest.approx(CITADEL_EN[0], abs=MM)
    assert n == pytest.approx(CITADEL_EN[1], abs=MM)


def test_citadel_from_wgs84_file_with_areas_in_the_province_zone(
    tmp_path: Path, run, engine: Engine
) -> None:
    native = lot_geoms()
    lonlat = gpd.GeoSeries(native, crs=9214).to_crs(4326)
    # The first vertex is exactly the published lon/lat of the Citadel.
    first = shapely.Polygon([CITADEL_LONLAT, *list(lonlat.iloc[0].exterior.coords)[1:-1]])
    df = tt16_zoning(geoms=[first, *lonlat.iloc[1:]], crs=4326)
    path = tmp_path / "qh.gpkg"
    df.to_file(path, engine="pyogrio")
    report = json.loads(
        run("ingest", "zoning", str(path), "--plan", "QH", "--plan-province", "46", "--json").stdout
    )
    # The file's CRS is recorded; its measuring plane is the plan's province's TM-3 zone.
    assert scalar(engine, "SELECT srid FROM planning.revision") == 4326
    assert scalar(engine, "SELECT plane_srid FROM planning.revision") == 9214
    assert report["plane"] == "EPSG:9214"
    assert any(p["code"] == "plane" and "EPSG:9214" in p["message"] for p in report["problems"])
    assert not any(p["code"] == "plane" and p["level"] == "warning" for p in report["problems"])
    e, n = _first_vertex(engine, "geom_plane")
    assert e == pytest.approx(CITADEL_EN[0], abs=MM)
    assert n == pytest.approx(CITADEL_EN[1], abs=MM)
    lon, lat = _first_vertex(engine, "geom")
    assert (lon, lat) == pytest.approx(CITADEL_LONLAT, abs=1e-12)
    e, n = _first_vertex(engine, "geom", 9214)
    assert e == pytest.approx(CITADEL_EN[0], abs=MM)
    assert n == pytest.approx(CITADEL_EN[1], abs=MM)
    # Areas are planar in the VN-2000 zone, as the certificate computes them.
    areas = {r.lot: r.area_m2 for r in rows(engine, "SELECT lot, area_m2 FROM planning.zone")}
    expected = gpd.GeoSeries(df.geometry, crs=4326).to_crs(9214).area
    for lot, area in zip(df["kyHieuLoDat"], expected, strict=True):
        assert areas[lot] == pytest.approx(area, abs=0.01)


def test_wgs84_file_without_province_measures_in_the_nearest_zone(
    tmp_path: Path, run, engine: Engine
) -> None:
    df = tt16_zoning().to_crs(4326)
    path = tmp_path / "qh.geojson"
    df.to_file(path, engine="pyogrio")
    report = json.loads(run("ingest", "zoning", str(path), "--plan", "QH", "--json").stdout)
    # 107.58° E is nearest the 107.5° meridian (EPSG:9216); the report says how to name the
    # province instead.
    warned = [p for p in report["problems"] if p["code"] == "plane" and p["level"] == "warning"]
    assert len(warned) == 1
    assert "EPSG:9216" in warned[0]["message"] and "--province" in warned[0]["message"]
    assert scalar(engine, "SELECT plane_srid FROM planning.revision") == 9216
    areas = {r.lot: r.area_m2 for r in rows(engine, "SELECT lot, area_m2 FROM planning.zone")}
    expected = df.to_crs(9216).area
    for lot, area in zip(df["kyHieuLoDat"], expected, strict=True):
        assert areas[lot] == pytest.approx(area, abs=0.01)


def _shp_without_prj(tmp_path: Path, geoms: list[shapely.Geometry] | None = None) -> Path:
    shp = tmp_path / "noprj.shp"
    tt16_zoning(geoms=geoms).to_file(shp, engine="pyogrio")
    shp.with_suffix(".prj").unlink()
    return shp


@pytest.mark.parametrize("option", [["--crs", "EPSG:9214"], ["--province", "46"]])
def test_missing_prj_given_on_the_command_line(
    tmp_path: Path, run, engine: Engine, option: list[str]
) -> None:
    shp = _shp_without_prj(tmp_path)
    report = json.loads(run("ingest", "zoning", str(shp), "--plan", "QH", *option, "--json").stdout)
    assert report["crs_read"] is None
    assert report["crs_resolved"] == "EPSG:9214"
    lon, lat = _first_vertex(engine, "geom")
    assert (lon, lat) == pytest.approx(CITADEL_LONLAT, abs=DEG)


def test_missing_prj_without_override_is_refused(tmp_path: Path, run, engine: Engine) -> None:
    shp = _shp_without_prj(tmp_path)
    res = run("ingest", "zoning", str(shp), "--plan", "QH", ok=False)
    assert "no coordinate system" in res.stderr and str(shp) in res.stderr
    assert "--crs" in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_crs_option_overrides_a_wrong_prj(tmp_path: Path, run, engine: Engine) -> None:
    shp = tmp_path / "wrong.shp"
    tt16_zoning().set_crs(5897, allow_override=True).to_file(shp, engine="pyogrio")  # 105°
    report = json.loads(
        run("ingest", "zoning", str(shp), "--plan", "QH", "--crs", "EPSG:9214", "--json").stdout
    )
    assert report["crs_resolved"] == "EPSG:9214"
    assert report["crs_read"] and "zone 482" in report["crs_read"]  # ESRI's name for 105°
    assert _first_vertex(engine, "geom") == pytest.approx(CITADEL_LONLAT, abs=DEG)


TM3_107 = "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +units=m"
# A .prj as GIS desktop tools write it, with the VN-2000 shift in TOWGS84 (Position Vector).
PRJ_TOWGS84 = (
    'PROJCS["VN-2000 Hue",GEOGCS["VN-2000",DATUM["VN_2000",SPHEROID["WGS 84",6378137,'
    '298.257223563],TOWGS84[-191.90441429,-39.30318279,-111.45032835,{}]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",107],'
    'PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["metre",1]]'
)
OFFICIAL = "0.00928836,-0.01975479,0.00427372,0.252906278"
PASTED = "-0.00928836,0.01975479,-0.00427372,0.252906278"  # EPSG's Coordinate Frame signs


@pytest.mark.parametrize(
    ("prj", "warning"),
    [
        (CRS.from_proj4(f"{TM3_107} +datum=WGS84").to_wkt("WKT1_ESRI"), "VN2000 nội bộ"),
        (CRS.from_proj4(f"{TM3_107} +ellps=WGS84").to_wkt("WKT1_GDAL"), "VN2000 nội bộ"),
        (PRJ_TOWGS84.format(OFFICIAL), None),
        # GDAL knows the datum by name and puts the right shift in place of the pasted one.
        (PRJ_TOWGS84.format(PASTED), None),
        (PRJ_TOWGS84.replace("VN_2000", "unknown").format(OFFICIAL), None),
        (PRJ_TOWGS84.replace("VN_2000", "unknown").format(PASTED), None),
    ],
    ids=["wgs84", "no-datum", "vn2000", "vn2000-pasted", "unnamed", "unnamed-pasted"],
)
def test_hand_made_tm3_prj_is_read_as_vn2000(
    tmp_path: Path, run, engine: Engine, prj: str, warning: str | None
) -> None:
    shp = _shp_without_prj(tmp_path)
    shp.with_suffix(".prj").write_text(prj)
    report = json.loads(run("ingest", "zoning", str(shp), "--plan", "QH", "--json").stdout)
    assert report["crs_resolved"] == "EPSG:9214"
    warnings = [p for p in report["problems"] if p["level"] == "warning" and p["code"] == "crs"]
    if warning is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warning in warnings[0]["message"]
    assert _first_vertex(engine, "geom") == pytest.approx(CITADEL_LONLAT, abs=DEG)


def test_crs_option_with_pasted_rotation_signs_warns(tmp_path: Path, run, engine: Engine) -> None:
    shp = _shp_without_prj(tmp_path)
    proj = f"{TM3_107} +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,{PASTED}"
    res = run("ingest", "zoning", str(shp), "--plan", "QH", "--crs", proj, "--json")
    report = json.loads(res.stdout)
    assert report["crs_resolved"] == "EPSG:9214"
    assert any("differ from EPSG:6960" in p["message"] for p in report["problems"])
    assert _first_vertex(engine, "geom") == pytest.approx(CITADEL_LONLAT, abs=DEG)


def test_outside_service_area_names_the_zones_they_would_fit(
    tmp_path: Path, run, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    shp = tmp_path / "zone105.shp"
    tt16_zoning().set_crs(5897, allow_override=True).to_file(shp, engine="pyogrio")
    run.env["PLANNING_SERVICE_AREA"] = "107.0,16.0,108.3,16.8"  # Huế
    res = run("ingest", "zoning", str(shp), "--plan", "QH", ok=False)
    line = res.stderr.strip()
    assert "\n" not in line
    assert str(shp) in line and "outside the service area" in line
    assert "EPSG:9214" in line and "Huế" in line
    assert "EPSG:5897" in line  # how it was read
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0
    # Named with the zone the message suggests, it loads.
    run("ingest", "zoning", str(shp), "--plan", "QH", "--crs", "EPSG:9214")
    assert scalar(engine, "SELECT count(*) FROM planning.zone") == 3


def test_metres_labelled_as_degrees(tmp_path: Path, run, engine: Engine) -> None:
    shp = _shp_without_prj(tmp_path)
    res = run("ingest", "zoning", str(shp), "--plan", "QH", "--crs", "EPSG:4326", ok=False)
    assert "outside the service area" in res.stderr
    assert "--province" in res.stderr  # looks like TM-3 easting/northing
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_degrees_without_crs_hint(tmp_path: Path, run, engine: Engine) -> None:
    df = tt16_zoning().to_crs(4326)
    path = tmp_path / "deg.shp"
    df.to_file(path, engine="pyogrio")
    path.with_suffix(".prj").unlink()
    res = run("ingest", "zoning", str(path), "--plan", "QH", "--crs", "EPSG:9214", ok=False)
    assert "EPSG:4326" in res.stderr


def test_partly_outside_is_an_error_in_the_report(tmp_path: Path, run, engine: Engine) -> None:
    geoms = lot_geoms()
    far = box(
        CITADEL_EN[0], CITADEL_EN[1] - 2_000_000, CITADEL_EN[0] + 10, CITADEL_EN[1] - 1_999_990
    )
    path = tmp_path / "qh.gpkg"
    tt16_zoning(rows=[*tt16_zoning().to_dict("records")[:3], {}], geoms=[*geoms, far]).to_file(
        path, engine="pyogrio"
    )
    res = run("ingest", "zoning", str(path), "--plan", "QH", "--publish", "--json", ok=False)
    assert res.exit_code == 2
    report = json.loads(res.stdout)
    err = [p for p in report["problems"] if p["level"] == "error"]
    assert [p["code"] for p in err] == ["outside_service_area"]
    assert err[0]["count"] == 1 and err[0]["examples"] == ["feature 3"]
    assert scalar(engine, "SELECT state FROM planning.revision") == "staged"
    res = run("revisions", "publish", str(report["revision_id"]), ok=False)
    assert "has errors" in res.stderr


def test_swapped_xy_detected_and_loaded_with_option(tmp_path: Path, run, engine: Engine) -> None:
    swapped = [shapely.transform(g, lambda c: c[:, ::-1]) for g in lot_geoms()]
    path = tmp_path / "swapped.gpkg"
    tt16_zoning(geoms=swapped).to_file(path, engine="pyogrio")
    res = run("ingest", "zoning", str(path), "--plan", "QH", ok=False)
    assert "swapped" in res.stderr and "--swap-xy" in res.stderr and str(path) in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0
    run("ingest", "zoning", str(path), "--plan", "QH", "--swap-xy")
    assert _first_vertex(engine, "geom") == pytest.approx(CITADEL_LONLAT, abs=DEG)
    areas = {r.lot: r.area_m2 for r in rows(engine, "SELECT lot, area_m2 FROM planning.zone")}
    assert areas["OM-01"] == pytest.approx(lot_geoms()[0].area, abs=0.01)


def test_latitude_first_degrees_detected(tmp_path: Path, run, engine: Engine) -> None:
    lonlat = tt16_zoning().to_crs(4326)
    first = lonlat.geometry.iloc[0]
    first = shapely.Polygon([CITADEL_LONLAT, *list(first.exterior.coords)[1:-1]])
    swapped = [shapely.transform(g, lambda c: c[:, ::-1]) for g in [first, *lonlat.geometry[1:]]]
    path = tmp_path / "latlon.gpkg"
    tt16_zoning(geoms=swapped, crs=4326).to_file(path, engine="pyogrio")
    res = run("ingest", "zoning", str(path), "--plan", "QH", ok=False)
    assert "swapped" in res.stderr and "--swap-xy" in res.stderr
    run("ingest", "zoning", str(path), "--plan", "QH", "--swap-xy")
    assert _first_vertex(engine, "geom") == pytest.approx(CITADEL_LONLAT, abs=1e-12)


def test_native_planar_area_to_the_centimetre(tmp_path: Path, run, engine: Engine) -> None:
    x, y = CITADEL_EN
    # A 1 km² square and an irregular lot with a hole: planar areas in EPSG:9214.
    square = box(x, y, x + 1000, y + 1000)
    holed = shapely.Polygon(
        [(x + 1000, y), (x + 1731.27, y + 12.5), (x + 1650, y + 905.75), (x + 1000, y + 1000)],
        [[(x + 1100, y + 100), (x + 1200, y + 100), (x + 1150, y + 180.3)]],
    )
    gdb = write_gdb(
        tmp_path / "QuyHoach.gdb",
        tt16_zoning(rows=[{"kyHieuLoDat": "A"}, {"kyHieuLoDat": "B"}], geoms=[square, holed]),
    )
    run("ingest", "zoning", str(gdb), "--plan", "QH")
    got = {
        r.lot: r
        for r in rows(engine, "SELECT lot, area_m2, ST_Area(geom_plane) AS pg FROM planning.zone")
    }
    assert got["A"].area_m2 == pytest.approx(1_000_000, abs=0.01)
    assert got["B"].area_m2 == pytest.approx(holed.area, abs=0.01)
    assert got["B"].pg == pytest.approx(holed.area, abs=0.01)
    # The ellipsoidal area differs by far more than a centimetre: the stored one is planar.
    geod = scalar(engine, "SELECT ST_Area(geom::geography) FROM planning.zone WHERE lot = 'A'")
    assert abs(geod - 1_000_000) > 1
