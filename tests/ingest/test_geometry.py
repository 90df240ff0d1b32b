"""Geometry: repair of invalid polygons, dropped empty/null/absurd geometries, Z and M, Multi*,
wrong geometry types, overlaps between zones with their area."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import Engine

from tests.ingest.builders import CITADEL_EN, rows, scalar, tt16_zoning, write_gpkg_zm

X, Y = CITADEL_EN


def _lots(n: int) -> list[dict[str, str]]:
    return [{"kyHieuLoDat": f"L{i}", "chucNangSuDungDatMuc1": "Đất ở"} for i in range(n)]


def _report(run, path: Path, *extra: str, ok: bool | None = True) -> dict:
    return json.loads(
        run("ingest", "zoning", str(path), "--plan", "QH", "--json", *extra, ok=ok).stdout
    )


def _problem(report: dict, code: str) -> dict:
    found = [p for p in report["problems"] if p["code"] == code]
    assert len(found) == 1, report["problems"]
    return found[0]


def test_invalid_polygons_repaired_and_reported(tmp_path: Path, run, engine: Engine) -> None:
    bowtie = shapely.Polygon([(X, Y), (X + 100, Y + 100), (X + 100, Y), (X, Y + 100)])
    # A ring that touches itself in a point and a duplicated-vertex spike.
    spike = shapely.Polygon(
        [
            (X + 200, Y),
            (X + 300, Y),
            (X + 300, Y + 100),
            (X + 250, Y + 100),
            (X + 250, Y + 150),
            (X + 250, Y + 100),
            (X + 200, Y + 100),
        ]
    )
    good = box(X + 400, Y, X + 500, Y + 100)
    assert not bowtie.is_valid and not spike.is_valid
    path = tmp_path / "bad.gpkg"
    tt16_zoning(rows=_lots(3), geoms=[bowtie, spike, good]).to_file(path, engine="pyogrio")
    report = _report(run, path)
    rep = _problem(report, "repaired")
    assert rep["level"] == "warning" and rep["count"] == 2
    assert rep["examples"] == ["feature 0", "feature 1"]
    assert not report["has_errors"]
    got = {
        r.lot: r
        for r in rows(
            engine,
            "SELECT lot, area_m2, ST_IsValid(geom) AS v84, ST_IsValid(geom_plane) AS vn, "
            "GeometryType(geom_plane) AS gt, ST_NumGeometries(geom_plane) AS parts "
            "FROM planning.zone",
        )
    }
    assert all(r.v84 and r.vn and r.gt == "MULTIPOLYGON" for r in got.values())
    assert got["L0"].parts == 2  # the bow-tie becomes its two triangles
    assert got["L0"].area_m2 == pytest.approx(2 * 0.5 * 100 * 50, abs=0.01)
    assert got["L1"].area_m2 == pytest.approx(100 * 100, abs=0.01)
    assert got["L2"].area_m2 == pytest.approx(10_000, abs=0.01)


def test_empty_null_and_absurd_geometries_dropped(tmp_path: Path, run, engine: Engine) -> None:
    good = box(X, Y, X + 100, Y + 100)
    flat = shapely.Polygon([(X, Y), (X + 10, Y), (X + 20, Y)])  # zero area
    far = box(X, Y, X + 1e12, Y + 10)
    geoms = [good, shapely.Polygon(), None, flat, far]
    path = tmp_path / "empty.gpkg"
    tt16_zoning(rows=_lots(5), geoms=geoms).to_file(path, engine="pyogrio")
    report = _report(run, path)
    assert (report["features_read"], report["features_loaded"], report["features_dropped"]) == (
        5,
        1,
        4,
    )
    assert _problem(report, "no_geometry")["count"] == 2  # null and empty
    assert _problem(report, "empty")["examples"] == ["feature 3"]
    assert _problem(report, "bad_coordinates")["examples"] == ["feature 4"]
    assert all(p["level"] != "error" for p in report["problems"])
    assert [r.lot for r in rows(engine, "SELECT lot FROM planning.zone")] == ["L0"]
    assert scalar(engine, "SELECT dropped_count FROM planning.revision") == 4


def test_z_and_m_dropped(tmp_path: Path, run, engine: Engine) -> None:
    zm = [
        f"POLYGON ZM (({X} {Y} 5 1, {X + 100} {Y} 6 2, {X + 100} {Y + 100} 7 3, {X} {Y} 5 1))",
        f"MULTIPOLYGON ZM ((({X + 200} {Y} 1 0, {X + 300} {Y} 1 0, {X + 300} {Y + 50} 1 0, "
        f"{X + 200} {Y} 1 0)))",
    ]
    frame = tt16_zoning(rows=_lots(2), geoms=[shapely.force_2d(shapely.from_wkt(w)) for w in zm])
    path = write_gpkg_zm(tmp_path / "zm.gpkg", frame, zm)
    res = run("ingest", "zoning", str(path), "--plan", "QH", "--json")
    assert "Measured" not in res.stderr  # no GDAL chatter on stderr
    report = json.loads(res.stdout)
    assert _problem(report, "z_dropped")["count"] == 2
    assert _problem(report, "m_dropped")["count"] == 2
    got = rows(
        engine,
        "SELECT lot, ST_NDims(geom) AS d84, ST_NDims(geom_plane) AS dn, area_m2, "
        "GeometryType(geom) AS gt FROM planning.zone ORDER BY lot",
    )
    assert [(r.d84, r.dn, r.gt) for r in got] == [(2, 2, "MULTIPOLYGON")] * 2
    assert got[0].area_m2 == pytest.approx(5000, abs=0.01)
    assert got[1].area_m2 == pytest.approx(2500, abs=0.01)


@pytest.mark.parametrize(
    ("kind", "geom", "words"),
    [
        ("zoning", shapely.Point(X, Y), "Point"),
        ("zoning", shapely.LineString([(X, Y), (X + 1, Y + 1)]), "LineString"),
        ("red-lines", box(X, Y, X + 1, Y + 1), "Polygon"),
    ],
)
def test_wrong_geometry_type_refused(
    tmp_path: Path, run, engine: Engine, kind: str, geom: shapely.Geometry, words: str
) -> None:
    path = tmp_path / "wrong.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[geom], crs=9214).to_file(path, engine="pyogrio")
    res = run("ingest", kind, str(path), "--plan", "QH", ok=False)
    assert res.stderr.startswith(f"error: {path}: ") and res.stderr.count("\n") == 1
    assert words in res.stderr
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 0


def test_mixed_layer_keeps_polygons(tmp_path: Path, run, engine: Engine) -> None:
    geoms = [
        box(X, Y, X + 10, Y + 10),
        shapely.Point(X, Y),
        shapely.GeometryCollection([box(X + 20, Y, X + 30, Y + 10), shapely.Point(X, Y)]),
    ]
    path = tmp_path / "mixed.geojson"
    tt16_zoning(rows=_lots(3), geoms=geoms).to_crs(4326).to_file(path, engine="pyogrio")
    report = _report(run, path)
    assert _problem(report, "wrong_geometry_type")["examples"] == ["feature 1"]
    got = rows(engine, "SELECT lot, GeometryType(geom) AS gt FROM planning.zone ORDER BY lot")
    assert [(r.lot, r.gt) for r in got] == [("L0", "MULTIPOLYGON"), ("L2", "MULTIPOLYGON")]


def test_overlaps_reported_with_their_area(tmp_path: Path, run, engine: Engine) -> None:
    a = box(X, Y, X + 100, Y + 100)
    b = box(X + 90, Y + 50, X + 190, Y + 150)  # overlaps a by 10 × 50 m
    c = box(X + 190, Y + 50, X + 290, Y + 150)  # touches b along an edge: no overlap
    d = shapely.Polygon([(X, Y + 100), (X + 50, Y + 100), (X + 25, Y + 99)])  # 25 m² into a
    path = tmp_path / "over.gpkg"
    tt16_zoning(rows=_lots(4), geoms=[a, b, c, d]).to_file(path, engine="pyogrio")
    report = _report(run, path)
    over = _problem(report, "overlap")
    assert over["level"] == "warning" and over["count"] == 2
    expected_total = a.intersection(b).area + a.intersection(d).area
    assert f"{expected_total:.2f} m²" in over["message"]
    assert over["examples"] == ["L0 × L1: 500.00 m²", "L0 × L3: 25.00 m²"]
    assert scalar(engine, "SELECT count(*) FROM planning.zone") == 4


def test_overlap_areas_of_geometries_geos_cannot_intersect() -> None:
    """A bow-tie that reached the checks (GEOS refuses to intersect it as drawn) is measured
    once made valid, instead of failing the whole load."""
    from ingest.checks import _overlap_areas

    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    square = shapely.box(0, 0, 5, 5)
    with pytest.raises(shapely.errors.GEOSException):
        shapely.intersection(bowtie, square)
    areas = _overlap_areas(np.array([bowtie, square]), np.array([square, square]))
    assert areas[0] == pytest.approx(12.5) and areas[1] == pytest.approx(25.0)
