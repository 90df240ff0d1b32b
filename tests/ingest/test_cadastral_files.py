"""Cadastral files as communes really hand them out: WGS 84 GeoJSON in a zip, repeated sheet and
parcel numbers, owners' names and identity numbers, keys with spaces, unzipped folders."""

from __future__ import annotations

import json
import random
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from sqlalchemy import Engine

from tests.ingest.builders import (
    CITADEL_EN,
    HUE,
    parcels_frame,
    rows,
    scalar,
    zip_files,
)

# Names and numbers made up for the test (never taken from a real file).
OWNERS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"]


def _people(n: int, seed: int = 7) -> dict[str, list[object]]:
    rng = random.Random(seed)
    return {
        "TenChu": [OWNERS[i % len(OWNERS)] for i in range(n)],
        # A column without a telling name whose values are 12-digit identity numbers (CCCD).
        "SoGiayTo": [f"046{rng.randrange(10**9):09d}" for _ in range(n)],
        "NamSinh": [1950 + i % 50 for i in range(n)],
        "DienThoai": [f"09{rng.randrange(10**8):08d}" for _ in range(n)],
        "GhiChu": ["đất ở ổn định" if i % 3 else None for i in range(n)],
    }


def _commune_geojson_zip(tmp_path: Path, n_side: int = 6) -> tuple[Path, gpd.GeoDataFrame]:
    """A commune's parcels as WGS 84 GeoJSON in a zip, with 2 keys given twice and people."""
    frame = parcels_frame(n_side, commune="19753", size=12.0)
    for col, values in _people(len(frame)).items():
        frame[col] = values
    frame.loc[7, ["SoTo", "SoThua"]] = [int(frame.loc[6, "SoTo"]), int(frame.loc[6, "SoThua"])]
    frame.loc[20, ["SoTo", "SoThua"]] = [int(frame.loc[3, "SoTo"]), int(frame.loc[3, "SoThua"])]
    frame["SoTo"] = [f" {v} " for v in frame["SoTo"]]  # spaces around keys, as often
    path = tmp_path / "thua_dat.geojson"
    frame.to_crs(4326).to_file(path, driver="GeoJSON", engine="pyogrio")
    return zip_files([path], tmp_path / "thua_dat.zip"), frame


def _report(run, *args: str, ok: bool | None = True) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(run(*args, "--json", ok=ok).stdout)


def test_repeated_keys_are_an_error_listing_every_one(tmp_path: Path, run, engine: Engine) -> None:
    path, _frame = _commune_geojson_zip(tmp_path)
    report = _report(run, "ingest", "parcels", str(path), "--publish", ok=False)
    dup = [p for p in report["problems"] if p["code"] == "duplicate_parcel"]
    assert len(dup) == 1 and dup[0]["level"] == "error" and dup[0]["count"] == 4
    assert report["duplicates"] == [
        {"commune": "19753", "sheet": "1", "parcel": "4", "features": [3, 20]},
        {"commune": "19753", "sheet": "2", "parcel": "1", "features": [6, 7]},
    ]
    # Nothing published; the first of each key is staged.
    assert scalar(engine, "SELECT state FROM planning.revision") == "staged"
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 34
    # The terminal report lists them too.
    res = run("check", "--kind", "parcels", str(path), ok=False)
    assert "repeated parcel keys (2)" in res.stdout


def test_allow_duplicates_loads_them_with_a_warning(tmp_path: Path, run, engine: Engine) -> None:
    path, frame = _commune_geojson_zip(tmp_path)
    report = _report(run, "ingest", "parcels", str(path), "--allow-duplicates", "--publish")
    assert report["published"] and not report["has_errors"]
    dup = [p for p in report["problems"] if p["code"] == "duplicate_parcel"]
    assert dup[0]["level"] == "warning" and "300" in dup[0]["message"]
    assert len(report["duplicates"]) == 2
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == len(frame)
    twice = rows(
        engine,
        "SELECT sheet, parcel_no, count(*) AS n FROM planning.parcel "
        "GROUP BY sheet, parcel_no HAVING count(*) > 1 ORDER BY sheet",
    )
    assert [(r.sheet, r.parcel_no, r.n) for r in twice] == [("1", "4", 2), ("2", "1", 2)]
    # Keys are trimmed; areas measured in Huế's plane (the communes' province), to the cent.
    assert scalar(engine, "SELECT count(*) FROM planning.parcel WHERE sheet LIKE '% %'") == 0
    assert scalar(engine, "SELECT plane_srid FROM planning.revision") == HUE
    areas = [r.area_m2 for r in rows(engine, "SELECT area_m2 FROM planning.parcel")]
    assert all(abs(a - 144.0) < 0.001 for a in areas)
    assert any(p["code"] == "plane" and "commune codes" in p["message"] for p in report["problems"])


def test_personal_fields_are_left_out_and_named(tmp_path: Path, run, engine: Engine) -> None:
    path, _frame = _commune_geojson_zip(tmp_path)
    report = _report(run, "ingest", "parcels", str(path), "--allow-duplicates")
    left_out = {f["field"]: f["why"] for f in report["personal"]}
    assert set(left_out) == {"TenChu", "SoGiayTo", "NamSinh", "DienThoai"}
    assert "identity numbers" in left_out["SoGiayTo"]
    assert any(p["code"] == "personal_data" for p in report["problems"])
    stored = json.dumps(
        [r.attrs for r in rows(engine, "SELECT attrs FROM planning.parcel")], ensure_ascii=False
    )
    for name in ("TenChu", "SoGiayTo", "NamSinh", "DienThoai", *OWNERS, "046"):
        assert name not in stored
    assert "đất ở ổn định" in stored  # the rest is kept
    # The terminal report names them too.
    res = run("check", "--kind", "parcels", str(path), "--allow-duplicates")
    assert "personal data left out" in res.stdout and "TenChu" in res.stdout


def test_keep_field_keeps_one_on_purpose(tmp_path: Path, run, engine: Engine) -> None:
    path, _frame = _commune_geojson_zip(tmp_path)
    report = _report(
        run, "ingest", "parcels", str(path), "--allow-duplicates", "--keep-field", "NamSinh"
    )
    assert {f["field"] for f in report["personal"]} == {"TenChu", "SoGiayTo", "DienThoai"}
    assert any(p["code"] == "personal_data_kept" for p in report["problems"])
    attrs = rows(engine, "SELECT attrs FROM planning.parcel ORDER BY id LIMIT 1")[0].attrs
    assert attrs["NamSinh"] == 1950 and "TenChu" not in attrs
    res = run("check", "--kind", "parcels", str(path), "--keep-field", "Nope", ok=False)
    assert "--keep-field 'Nope': no such field" in res.stderr


def test_mapped_fields_are_never_dropped(tmp_path: Path, run, engine: Engine) -> None:
    """A land-use purpose field named MucDichSuDung holds "chusudung" inside a word: kept."""
    frame = parcels_frame(2).rename(columns={"LoaiDat": "MucDichSuDung"})
    path = tmp_path / "p.gpkg"
    frame.to_file(path, engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path))
    assert report["personal"] == []
    assert report["mapping"]["land_type"]["field"] == "MucDichSuDung"


def test_a_folder_holding_one_shapefile_is_that_shapefile(
    tmp_path: Path, run, engine: Engine
) -> None:
    folder = tmp_path / "thua_dat"
    (folder / "inner").mkdir(parents=True)
    parcels_frame(2).to_file(folder / "inner" / "ThuaDat.shp", engine="pyogrio")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._ThuaDat.shp").write_bytes(b"\0\5\26\7")
    report = _report(run, "ingest", "parcels", str(folder))
    assert report["features_loaded"] == 4 and report["driver"] == "ESRI Shapefile"


def test_a_folder_of_several_shapefiles_needs_layer(tmp_path: Path, run, engine: Engine) -> None:
    folder = tmp_path / "giao_nop"
    folder.mkdir()
    parcels_frame(2).to_file(folder / "ThuaDat.shp", engine="pyogrio")
    parcels_frame(3, origin=(CITADEL_EN[0] + 500, CITADEL_EN[1])).to_file(
        folder / "ThuaDat_bo_sung.shp", engine="pyogrio"
    )
    res = run("check", "--kind", "parcels", str(folder), ok=False)
    assert "several datasets (ThuaDat, ThuaDat_bo_sung)" in res.stderr
    assert "--layer" in res.stderr
    res = run("check", "--kind", "parcels", str(folder), "--layer", "Nope", ok=False)
    assert "no dataset 'Nope'" in res.stderr
    report = _report(run, "ingest", "parcels", str(folder), "--layer", "ThuaDat_bo_sung")
    assert report["features_loaded"] == 9
    # The other shapefile of the same folder is another file, not the same one again.
    report = _report(run, "ingest", "parcels", str(folder), "--layer", "ThuaDat")
    assert report["features_loaded"] == 4


def test_a_zip_of_several_shapefiles_takes_layer_too(tmp_path: Path, run, engine: Engine) -> None:
    files = []
    for name, n in (("a", 2), ("b", 3)):
        shp = tmp_path / f"{name}.shp"
        parcels_frame(n).to_file(shp, engine="pyogrio")
        files += [shp.with_suffix(e) for e in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
    archive = zip_files([f for f in files if f.exists()], tmp_path / "two.zip")
    res = run("check", "--kind", "parcels", str(archive), ok=False)
    assert "several datasets (a, b)" in res.stderr
    report = _report(run, "check", "--kind", "parcels", str(archive), "--layer", "b")
    assert report["features_read"] == 9


@pytest.mark.parametrize("option", [[], ["--province", "46"]])
def test_parcels_in_degrees_measure_in_the_province_plane(
    tmp_path: Path, run, engine: Engine, option: list[str]
) -> None:
    """Commune codes name the province (Huế): no warning and no need for --province; with it,
    --province on a geographic file is the plane, not a refusal."""
    frame = parcels_frame(2, size=20.0).to_crs(4326)
    path = tmp_path / "p.geojson"
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path), *option)
    assert report["plane"] == f"EPSG:{HUE}"
    assert not [p for p in report["problems"] if p["level"] == "warning"]
    areas = [r.area_m2 for r in rows(engine, "SELECT area_m2 FROM planning.parcel")]
    assert all(abs(a - 400.0) < 0.001 for a in areas)


def test_vietnamese_headings_map_without_options(tmp_path: Path, run, engine: Engine) -> None:
    """Exports from Excel or QGIS keep the headings as written: "Số tờ", "Số thửa"..."""
    frame = parcels_frame(2).rename(
        columns={
            "SoTo": "Số tờ",
            "SoThua": "Số thửa",
            "DienTich": "Diện tích",
            "LoaiDat": "Loại Đất",
            "DiaChi": "Địa Chỉ Thửa Đất",
        }
    )
    frame["Tên Chủ"] = OWNERS[:4]
    path = tmp_path / "thua-dat.geojson"
    frame.drop(columns=["MaXa"]).to_crs(4326).to_file(path, driver="GeoJSON", engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path), "--commune", "19753")
    fields = {t: m["field"] for t, m in report["mapping"].items()}
    assert fields == {
        "sheet": "Số tờ",
        "parcel": "Số thửa",
        "area": "Diện tích",
        "land_type": "Loại Đất",
        "address": "Địa Chỉ Thửa Đất",
    }
    assert [f["field"] for f in report["personal"]] == ["Tên Chủ"]
    assert scalar(engine, "SELECT count(*) FROM planning.parcel WHERE address IS NOT NULL") == 4


@pytest.mark.parametrize(
    ("crs", "option", "plane", "warned"),
    [
        (4326, [], 9210, True),  # today's Tây Ninh (80) is old Long An's meridian
        (4326, ["--province", "72"], 9209, False),  # the map was made by old Tây Ninh
        (9209, [], 9209, False),  # the file's own TM-3 zone is one of the province's
    ],
)
def test_a_merged_province_names_its_former_meridians(
    tmp_path: Path, run, engine: Engine, crs: int, option: list[str], plane: int, warned: bool
) -> None:
    """Tân Biên (25486) was in Tây Ninh (72, 105.5°); since July 2025 it is in the new Tây Ninh,
    80, whose zone is old Long An's 105.75°."""
    origin = Transformer.from_crs(4326, 9209, always_xy=True).transform(106.0, 11.53)
    frame = parcels_frame(2, commune="25486", origin=origin, crs=9209).to_crs(crs)
    path = tmp_path / "tan_bien.gpkg"
    frame.to_file(path, engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path), *option)
    assert report["plane"] == f"EPSG:{plane}"
    warnings = [p["message"] for p in report["problems"] if p["code"] == "plane"]
    assert any("EPSG:9209" in w and "(72, 2014)" in w for w in warnings) is warned
    if plane == 9209:
        areas = [r.area_m2 for r in rows(engine, "SELECT area_m2 FROM planning.parcel")]
        assert all(abs(a - 100.0) < 0.001 for a in areas)


def test_a_parcel_id_is_not_an_identity_number(tmp_path: Path, run, engine: Engine) -> None:
    """ViLIS exports carry THUAID, a nine-digit parcel id: kept; a nine-digit column that does
    not name a record is still left out."""
    frame = parcels_frame(2)
    frame["THUAID"] = [270070183, 270070151, 270070192, 270070032]
    frame["SoGiay"] = [191234567, 191234568, 191234569, 191234570]
    path = tmp_path / "vilis.gpkg"
    frame.to_file(path, engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path))
    assert [f["field"] for f in report["personal"]] == ["SoGiay"]
    attrs = rows(engine, "SELECT attrs FROM planning.parcel ORDER BY id LIMIT 1")[0].attrs
    assert attrs["THUAID"] == 270070183 and "SoGiay" not in attrs


def test_parcels_of_two_provinces_are_named(tmp_path: Path, run, engine: Engine) -> None:
    """A file with four parcels of Huế (107°) after one of Đà Nẵng (107.75°): measured in the
    plane of most of them, and the report names the others."""
    import pandas as pd

    hue = parcels_frame(2, commune="19753")
    da_nang = parcels_frame(1, commune="20194", origin=(CITADEL_EN[0] + 500, CITADEL_EN[1]))
    path = tmp_path / "two.gpkg"
    pd.concat([da_nang, hue], ignore_index=True).to_file(path, engine="pyogrio")
    report = _report(run, "ingest", "parcels", str(path))
    assert report["plane"] == f"EPSG:{HUE}"
    [other] = [p for p in report["problems"] if p["code"] == "plane_other_province"]
    assert other["examples"] == ["province 48: 20194"] and other["level"] == "warning"
    # Named with --province, the plane is the office's choice: no warning.
    report = _report(run, "check", "--kind", "parcels", str(path), "--province", "46")
    assert not [p for p in report["problems"] if p["code"] == "plane_other_province"]
