"""Bad input: every case exits non-zero with ONE line on stderr naming the file and the problem,
no traceback, and nothing written (published data above all)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine

from tests.ingest.builders import (
    CITADEL_EN,
    published_state,
    scalar,
    shapefile_parts,
    tt16_zoning,
    write_gdb,
    zip_files,
)

# A case builds its input in a folder and returns (CLI arguments, the path the message must
# name, words the message must contain).
Case = tuple[list[str], Path, list[str]]


def _shp(folder: Path, name: str = "qh") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.shp"
    tt16_zoning().to_file(path, engine="pyogrio")
    return path


def _zoning(path: Path, *extra: str) -> list[str]:
    return ["ingest", "zoning", str(path), "--plan", "QH", *extra]


def missing_shx(d: Path) -> Case:
    shp = _shp(d)
    shp.with_suffix(".shx").unlink()
    return _zoning(shp), shp, ["qh.shx", "missing"]


def missing_dbf(d: Path) -> Case:
    shp = _shp(d)
    shp.with_suffix(".dbf").unlink()
    return _zoning(shp), shp, ["qh.dbf", "missing"]


def missing_dbf_in_zip(d: Path) -> Case:
    shp = _shp(d / "src")
    z = zip_files([p for p in shapefile_parts(shp) if p.suffix != ".dbf"], d / "qh.zip")
    return _zoning(z), z, ["qh.dbf", "missing"]


def truncated_shp(d: Path) -> Case:
    shp = _shp(d)
    data = shp.read_bytes()
    shp.write_bytes(data[: len(data) // 2])
    return _zoning(shp), shp, ["qh.shp", "truncated"]


def truncated_dbf(d: Path) -> Case:
    shp = _shp(d)
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    dbf.write_bytes(data[: len(data) - 700])
    return _zoning(shp), shp, ["qh.dbf", "truncated"]


def truncated_shp_in_zip(d: Path) -> Case:
    shp = _shp(d / "src")
    data = shp.read_bytes()
    shp.write_bytes(data[:300])
    z = zip_files(shapefile_parts(shp), d / "qh.zip")
    return _zoning(z), z, ["qh.shp", "truncated"]


def inconsistent_shapefile(d: Path) -> Case:
    shp = _shp(d)
    other = _shp(d / "other", "qh")
    other_frame = tt16_zoning().iloc[:2]
    other_frame.to_file(other, engine="pyogrio")
    shp.with_suffix(".dbf").write_bytes(other.with_suffix(".dbf").read_bytes())
    return _zoning(shp), shp, ["3 shapes", "2 records"]


def garbage_shp(d: Path) -> Case:
    shp = _shp(d)
    shp.write_bytes(os.urandom(600))
    return _zoning(shp), shp, ["damaged"]


def truncated_gpkg(d: Path) -> Case:
    path = d / "qh.gpkg"
    tt16_zoning().to_file(path, engine="pyogrio")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return _zoning(path), path, ["cannot be read"]


def corrupt_geojson(d: Path) -> Case:
    path = d / "qh.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "geom')
    return _zoning(path), path, ["cannot be read"]


def truncated_gdb_table(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb", with_red_lines=False)
    table = max(gdb.glob("*.gdbtable"), key=lambda p: int(p.stem[1:], 16))
    data = table.read_bytes()
    table.write_bytes(data[: int(len(data) * 0.9)])
    return _zoning(gdb), gdb, ["damaged or truncated", "1 of the 3"]


def not_a_zip(d: Path) -> Case:
    path = d / "qh.zip"
    path.write_bytes(b"PK this is not really a zip archive" * 20)
    return _zoning(path), path, ["not a zip"]


def _gdb_zip(d: Path, compression: int = zipfile.ZIP_DEFLATED) -> tuple[Path, bytearray, int]:
    """Zip a TT16 gdb; return the zip, its bytes and where its largest member's data starts."""
    gdb = write_gdb(d / "src" / "QuyHoach.gdb")
    path = d / "hoso.zip"
    with zipfile.ZipFile(path, "w", compression) as zf:
        for f in sorted(gdb.iterdir()):
            zf.write(f, f"QuyHoach.gdb/{f.name}")
    with zipfile.ZipFile(path) as zf:
        big = max(zf.infolist(), key=lambda i: i.compress_size)
    data = bytearray(path.read_bytes())
    start = big.header_offset + 30 + len(big.filename.encode()) + len(big.extra)
    return path, data, start


def truncated_zip(d: Path) -> Case:
    path, data, _ = _gdb_zip(d)
    path.write_bytes(data[: len(data) // 2])
    return _zoning(path), path, ["not a zip"]


def corrupt_data_in_zip(d: Path) -> Case:
    path, data, start = _gdb_zip(d)
    for i in range(start + 20, start + 120):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return _zoning(path), path, ["damaged"]


def bad_crc_in_zip(d: Path) -> Case:
    path, data, start = _gdb_zip(d, zipfile.ZIP_STORED)
    data[start + 40] ^= 0x01  # one bit; the entry still "reads"
    path.write_bytes(bytes(data))
    return _zoning(path), path, ["CRC check failed"]


def zip_slip(d: Path) -> Case:
    path = d / "qh.zip"
    shp = _shp(d / "src")
    with zipfile.ZipFile(path, "w") as zf:
        for part in shapefile_parts(shp):
            zf.write(part, f"../../{part.name}")
    return _zoning(path), path, ["outside the archive"]


def zip_absolute(d: Path) -> Case:
    path = d / "qh.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("/tmp/qh.geojson", "{}")
    return _zoning(path), path, ["outside the archive"]


def zip_symlink(d: Path) -> Case:
    path = d / "qh.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("qh.geojson")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return _zoning(path), path, ["symbolic link"]


def zip_bomb(d: Path) -> Case:
    path = d / "qh.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("qh.geojson", b" " * 5_000_000)
    return _zoning(path), path, ["zip bomb"]


def zip_without_data(d: Path) -> Case:
    path = d / "qh.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    return _zoning(path), path, ["no .gdb folder"]


def empty_layer(d: Path) -> Case:
    path = d / "qh.gpkg"
    gpd.GeoDataFrame({"a": []}, geometry=gpd.GeoSeries([], crs=9214)).to_file(
        path, engine="pyogrio", geometry_type="Polygon"
    )
    return _zoning(path), path, ["empty"]


def empty_shapefile(d: Path) -> Case:
    path = d / "qh.shp"
    gpd.GeoDataFrame({"a": []}, geometry=gpd.GeoSeries([], crs=9214)).to_file(
        path, engine="pyogrio", geometry_type="Polygon"
    )
    return _zoning(path), path, ["empty"]


def wrong_geometry_type(d: Path) -> Case:
    path = d / "qh.gpkg"
    x, y = CITADEL_EN
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(x, y)], crs=9214).to_file(
        path, engine="pyogrio"
    )
    return _zoning(path), path, ["Point", "polygons needed"]


def no_crs(d: Path) -> Case:
    shp = _shp(d)
    shp.with_suffix(".prj").unlink()
    return _zoning(shp), shp, ["no coordinate system", "--crs"]


def mapping_missing_field(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    return _zoning(gdb, "--lot-field", "SoLo"), gdb, ["'SoLo'", "lacks"]


def mapping_file_missing_field(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    toml = d / "map.toml"
    toml.write_text('lot = "kyHieuLoDat"\nfar = "HSSDD"\n')
    return _zoning(gdb, "--mapping", str(toml)), gdb, ["'HSSDD'", "lacks"]


def mapping_file_not_toml(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    toml = d / "map.toml"
    toml.write_text("lot: kyHieuLoDat\n")
    return _zoning(gdb, "--mapping", str(toml)), toml, ["not valid TOML"]


def mapping_file_missing(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    toml = d / "nowhere.toml"
    return _zoning(gdb, "--mapping", str(toml)), toml, ["cannot read the mapping file"]


def missing_file(d: Path) -> Case:
    path = d / "nowhere.gdb"
    return _zoning(path), path, ["no such file"]


def unknown_layer(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    return _zoning(gdb, "--layer", "QuyHoach_A"), gdb, ["no layer 'QuyHoach_A'"]


def parcels_without_key_fields(d: Path) -> Case:
    gdb = write_gdb(d / "QuyHoach.gdb")
    args = ["ingest", "parcels", str(gdb), "--layer", "ChucNangSuDungDat_A", "--commune", "19753"]
    return args, gdb, ["no sheet field", "--sheet-field"]


CASES: dict[str, Callable[[Path], Case]] = {
    f.__name__: f
    for f in (
        missing_shx,
        missing_dbf,
        missing_dbf_in_zip,
        truncated_shp,
        truncated_dbf,
        truncated_shp_in_zip,
        inconsistent_shapefile,
        garbage_shp,
        truncated_gpkg,
        corrupt_geojson,
        truncated_gdb_table,
        not_a_zip,
        truncated_zip,
        corrupt_data_in_zip,
        bad_crc_in_zip,
        zip_slip,
        zip_absolute,
        zip_symlink,
        zip_bomb,
        zip_without_data,
        empty_layer,
        empty_shapefile,
        wrong_geometry_type,
        no_crs,
        mapping_missing_field,
        mapping_file_missing_field,
        mapping_file_not_toml,
        mapping_file_missing,
        missing_file,
        unknown_layer,
        parcels_without_key_fields,
    )
}


def _check_line(stderr: str, path: Path, words: list[str]) -> None:
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"error: {path}: "), stderr
    for w in words:
        assert w in stderr, stderr
    # Domain errors speak for themselves; the generic fallback prefixes an exception type.
    assert "Error:" not in stderr and "Exception" not in stderr, stderr


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_in_process(
    tmp_path: Path, untouched_run, untouched_engine: Engine, case: str
) -> None:
    args, path, words = CASES[case](tmp_path)
    res = untouched_run(*args, ok=False)
    assert res.exit_code == 1
    _check_line(res.stderr, path, words)
    assert res.stdout == ""
    # One database serves every case: none may have written anything to it.
    for table in ("plan", "revision", "zone", "parcel", "publication"):
        assert scalar(untouched_engine, f"SELECT count(*) FROM planning.{table}") == 0


# A few cases again as real processes (each costs a Python start-up); the rest run in-process
# through the same top-level handler.
SUBPROCESS_CASES = ["truncated_dbf", "zip_slip", "no_crs", "mapping_missing_field"]


def test_bad_input_as_a_real_process(
    tmp_path: Path, run, engine: Engine, subprocess_env: dict[str, str]
) -> None:
    good = write_gdb(tmp_path / "good" / "QuyHoach.gdb")
    run("ingest", "zoning", str(good), "--plan", "QH", "--publish")
    before = published_state(engine)
    cases = {}
    for name in SUBPROCESS_CASES:
        (tmp_path / name).mkdir()
        cases[name] = CASES[name](tmp_path / name)  # each aimed at the published plan QH

    def one(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "planning.cli", *args],
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(cases, pool.map(one, [c[0] for c in cases.values()]), strict=True))
    for name, proc in results.items():
        _, path, words = cases[name]
        assert proc.returncode == 1, (name, proc.stderr)
        _check_line(proc.stderr, path, words)
    assert published_state(engine) == before
    assert scalar(engine, "SELECT count(*) FROM planning.revision") == 1


def test_database_unavailable_is_one_line(tmp_path: Path, run) -> None:
    gdb = write_gdb(tmp_path / "QuyHoach.gdb")
    run.env["PLANNING_DATABASE_URL"] = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    for args in (["ingest", "zoning", str(gdb), "--plan", "QH"], ["revisions", "list"]):
        res = run(*args, ok=False)
        assert res.stderr.startswith("error: database unavailable: ")
        assert res.stderr.count("\n") == 1 and "OperationalError" not in res.stderr
