"""The synthetic Huế demo: layers, fields, CRS, geometry and the traps it is meant to contain."""

from __future__ import annotations

import csv
import time
import unicodedata
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS

from ingest.demo import DemoFiles, generate_demo
from planning.text import decode_bytes, encode_text

ZONING = "ChucNangSuDungDat_A"
RED_LINES = "ChiGioiDuongDo_L"
TT16_FIELDS = [
    "maThongTinQH",
    "maHoSoQH",
    "maDoiTuong",
    "tenDoiTuong",
    "chucNangSuDungDatMuc1",
    "chucNangSuDungDatMuc2",
    "chucNangSuDungDatMuc3",
    "kyHieuLoDat",
    "tenCongTrinhTrenDat",
    "dienTich",
    "danSo",
    "matDoXayDung",
    "tangCaoXayDung",
    "heSoSuDungDat",
    "trangThaiQuyHoach",
    "phanLoai",
    "ghiChu",
    "loaiQuyHoach",
    "loaiDieuChinh",
    "capDoQuyHoach",
]
TRUNCATED_FIELDS = [
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
]
PARCEL_FIELDS = ["MaXa", "SoTo", "SoThua", "DienTich", "LoaiDat", "DiaChi"]
CITADEL = shapely.Point(561_475.812, 1_821_649.834)
HUE_EXTENT = shapely.box(505_838, 1_769_012, 627_671, 1_852_147)
RELIC = "Đất di tích lịch sử - văn hóa"
ROAD = "Đất giao thông"
# `printf 'Đất' | iconv -f utf-8 -t TCVN5712-1 | xxd` → a7 ca 74
DAT_TCVN3 = b"\xa7\xcat"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def zoning(demo: DemoFiles) -> gpd.GeoDataFrame:
    return gpd.read_file(demo.gdb, layer=ZONING)


@pytest.fixture(scope="module")
def red_lines(demo: DemoFiles) -> gpd.GeoDataFrame:
    return gpd.read_file(demo.gdb, layer=RED_LINES)


@pytest.fixture(scope="module")
def parcels(demo: DemoFiles) -> gpd.GeoDataFrame:
    return gpd.read_file(demo.parcels)


def _is_road(zoning: gpd.GeoDataFrame) -> pd.Series:
    return zoning["chucNangSuDungDatMuc2"] == ROAD


def _overlap_areas(
    parcels: gpd.GeoDataFrame, zones: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (parcel index, zone index, intersection area) of every overlapping pair."""
    tree = shapely.STRtree(zones.geometry.values)
    p, z = tree.query(parcels.geometry.values, predicate="intersects")
    areas = shapely.area(shapely.intersection(parcels.geometry.values[p], zones.geometry.values[z]))
    return p, z, areas


def _frames(files: DemoFiles) -> dict[str, pd.DataFrame]:
    """Read every layer back as attributes plus WKB, for exact comparison."""
    layers = {
        "zoning": pyogrio.read_dataframe(files.gdb, layer=ZONING),
        "red": pyogrio.read_dataframe(files.gdb, layer=RED_LINES),
        "legacy": pyogrio.read_dataframe(files.zoning_shp, encoding="latin1"),
        "parcels": pyogrio.read_dataframe(files.parcels),
    }
    out = {}
    for name, frame in layers.items():
        plain = pd.DataFrame(frame.drop(columns="geometry"))
        plain["wkb"] = shapely.to_wkb(frame.geometry.values)
        out[name] = plain
    return out


def test_two_generations_are_identical(demo: DemoFiles, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again")
    first, second = _frames(demo), _frames(again)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_exact=True)
    # Coordinates byte for byte; the .dbf differs only in its last-update date (bytes 1-3).
    assert demo.parcels.read_bytes() == again.parcels.read_bytes()
    assert demo.zoning_shp.read_bytes() == again.zoning_shp.read_bytes()
    for shp in ((demo.parcels, again.parcels), (demo.zoning_shp, again.zoning_shp)):
        dbf = [path.with_suffix(".dbf").read_bytes() for path in shp]
        assert dbf[0][:1] + dbf[0][4:] == dbf[1][:1] + dbf[1][4:]
    assert (demo.zone_count, demo.parcel_count, demo.red_line_count) == (
        again.zone_count,
        again.parcel_count,
        again.red_line_count,
    )


def test_regenerating_into_the_same_folder_replaces_the_files(tmp_path: Path) -> None:
    first = generate_demo(tmp_path, parcels=300)
    second = generate_demo(tmp_path, parcels=500)
    assert second.gdb == first.gdb
    assert len(pyogrio.read_dataframe(second.parcels)) == 500
    assert pyogrio.read_info(second.gdb, layer=ZONING)["features"] == second.zone_count


def test_another_seed_gives_another_plan(demo: DemoFiles, tmp_path: Path) -> None:
    other = generate_demo(tmp_path, seed=7)
    assert other.parcel_count == demo.parcel_count
    mine = pyogrio.read_dataframe(demo.parcels)
    theirs = pyogrio.read_dataframe(other.parcels)
    assert mine.geometry.geom_equals(theirs.geometry).mean() < 0.5


@pytest.mark.parametrize("requested", [1, 57, 4321])
def test_parcel_count_is_exactly_the_request(tmp_path: Path, requested: int) -> None:
    files = generate_demo(tmp_path, parcels=requested)
    assert files.parcel_count == requested
    assert pyogrio.read_info(files.parcels)["features"] == requested


def test_counts_match_the_layers(demo: DemoFiles, zoning: gpd.GeoDataFrame) -> None:
    assert demo.parcel_count == 2000
    assert pyogrio.read_info(demo.gdb, layer=ZONING)["features"] == demo.zone_count
    assert pyogrio.read_info(demo.gdb, layer=RED_LINES)["features"] == demo.red_line_count
    assert pyogrio.read_info(demo.zoning_shp)["features"] == demo.zone_count
    # "A few dozen blocks": lots besides roads, relic and moat.
    lots = zoning[~_is_road(zoning) & ~zoning["kyHieuLoDat"].isin(["DT-01", "MN-01"])]
    assert 24 <= len(lots) <= 150


def test_area_grows_with_the_parcel_count(demo: DemoFiles, tmp_path: Path) -> None:
    def outside_citadel(files: DemoFiles) -> float:
        zones = gpd.read_file(files.gdb, layer=ZONING)
        return float(zones[~zones["kyHieuLoDat"].isin(["DT-01", "MN-01"])].area.sum())

    small = generate_demo(tmp_path, parcels=200)
    # Even the smallest plan has a strip of blocks beside the Citadel.
    assert outside_citadel(demo) > 3 * outside_citadel(small)
    # Parcel sizes stay alike, so the cadastral area follows the count.
    ratio = gpd.read_file(demo.parcels).area.sum() / gpd.read_file(small.parcels).area.sum()
    assert 7 < ratio < 13


def test_too_few_parcels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_demo(tmp_path, parcels=0)


def test_geodatabase_layers_and_tt16_fields(demo: DemoFiles) -> None:
    can_write_gdb = "OpenFileGDB" in pyogrio.list_drivers(write=True)
    assert demo.gdb.name == ("QuyHoach.gdb" if can_write_gdb else "QuyHoach.gpkg")
    assert {tuple(row) for row in pyogrio.list_layers(demo.gdb)} == {
        (ZONING, "MultiPolygon"),
        (RED_LINES, "MultiLineString"),
    }
    info = pyogrio.read_info(demo.gdb, layer=ZONING)
    assert info["driver"] == ("OpenFileGDB" if can_write_gdb else "GPKG")
    assert list(info["fields"]) == TT16_FIELDS
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["tangCaoXayDung"] == "OFTString"
    assert types["danSo"] == "OFTInteger"
    for real in ("dienTich", "matDoXayDung", "heSoSuDungDat"):
        assert types[real] == "OFTReal"
    red = pyogrio.read_info(demo.gdb, layer=RED_LINES)
    assert list(red["fields"]) == ["maDoiTuong", "tenDoiTuong", "chieuRongLoGioi", "ghiChu"]
    assert dict(zip(red["fields"], red["ogr_types"], strict=True))["chieuRongLoGioi"] == "OFTReal"


def test_geopackage_when_gdal_cannot_write_filegdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drivers = pyogrio.list_drivers(write=True)
    drivers.pop("OpenFileGDB", None)
    monkeypatch.setattr(pyogrio, "list_drivers", lambda *args, **kwargs: drivers)
    files = generate_demo(tmp_path, parcels=300)
    assert files.gdb == tmp_path / "QuyHoach.gpkg"
    assert not (tmp_path / "QuyHoach.gdb").exists()
    info = pyogrio.read_info(files.gdb, layer=ZONING)
    assert info["driver"] == "GPKG"
    assert list(info["fields"]) == TT16_FIELDS
    assert pyogrio.read_info(files.gdb, layer=RED_LINES)["crs"] == "EPSG:9214"


def test_shapefiles_fields(demo: DemoFiles) -> None:
    legacy = pyogrio.read_info(demo.zoning_shp)
    assert list(legacy["fields"]) == TRUNCATED_FIELDS
    assert legacy["geometry_type"] == "Polygon"
    parcels = pyogrio.read_info(demo.parcels)
    assert list(parcels["fields"]) == PARCEL_FIELDS
    types = dict(zip(parcels["fields"], parcels["ogr_types"], strict=True))
    assert types["SoTo"] == types["SoThua"] == "OFTInteger"
    assert types["MaXa"] == "OFTString"  # keeps leading zeros of codes elsewhere
    assert demo.parcels.with_suffix(".cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}


def test_every_layer_is_in_vn2000_tm3_107(demo: DemoFiles) -> None:
    sources = [(demo.gdb, ZONING), (demo.gdb, RED_LINES), (demo.zoning_shp, None)]
    sources.append((demo.parcels, None))
    for path, layer in sources:
        assert pyogrio.read_info(path, layer=layer)["crs"] == "EPSG:9214"
        assert gpd.read_file(path, layer=layer, rows=1).crs.to_epsg() == 9214
    esri = CRS.from_epsg(9214).to_wkt("WKT1_ESRI")
    for shp in (demo.zoning_shp, demo.parcels):
        assert shp.with_suffix(".prj").read_text() == esri


def test_geometries_are_valid_and_inside_hue(
    zoning: gpd.GeoDataFrame, red_lines: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame
) -> None:
    for frame in (zoning, red_lines, parcels):
        assert frame.is_valid.all()
        assert not frame.is_empty.any()
        assert frame.within(HUE_EXTENT).all()
    assert set(zoning.geom_type) == {"MultiPolygon"}
    assert set(red_lines.geom_type) == {"MultiLineString"}


def test_zoning_tiles_the_plan_area_without_overlaps(zoning: gpd.GeoDataFrame) -> None:
    # A clean coverage: neighbours share their edges vertex for vertex, no gaps, no overlaps.
    assert shapely.coverage_is_valid(zoning.geometry.values)
    union = shapely.union_all(zoning.geometry.values)
    assert union.geom_type == "Polygon"
    assert len(union.interiors) == 0
    assert zoning.area.sum() == pytest.approx(union.area, abs=0.01)


def test_parcels_are_not_axis_aligned_quadrilaterals(parcels: gpd.GeoDataFrame) -> None:
    assert (shapely.get_num_coordinates(parcels.geometry.values) == 5).all()
    assert not (parcels.geometry == parcels.envelope).any()
    rect = shapely.minimum_rotated_rectangle(parcels.geometry.values)
    irregular = shapely.area(rect) - parcels.area.values > 0.05
    assert irregular.mean() > 0.5  # jittered sides, not perfect rectangles


def test_citadel_point_lies_in_the_relic_lot(zoning: gpd.GeoDataFrame) -> None:
    hit = zoning[zoning.contains(CITADEL)]
    assert len(hit) == 1
    lot = hit.iloc[0]
    assert lot["chucNangSuDungDatMuc2"] == RELIC
    assert lot["kyHieuLoDat"] == "DT-01"
    assert lot["chucNangSuDungDatMuc1"] == "Đất ngoài dân dụng"


def test_no_parcel_inside_the_citadel(zoning: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame) -> None:
    citadel = zoning[zoning["kyHieuLoDat"].isin(["DT-01", "MN-01"])].union_all()
    assert not parcels.intersection(citadel).area.gt(0.01).any()


def test_parcel_keys_are_unique_and_numbered_per_sheet(parcels: gpd.GeoDataFrame) -> None:
    keys = parcels[["MaXa", "SoTo", "SoThua"]]
    assert not keys.duplicated().any()
    for _, sheets in parcels.groupby("MaXa"):
        assert sorted(sheets["SoTo"].unique()) == list(range(1, sheets["SoTo"].max() + 1))
    for _, sheet in parcels.groupby(["MaXa", "SoTo"]):
        assert sorted(sheet["SoThua"]) == list(range(1, len(sheet) + 1))


def test_parcels_carry_old_hue_ward_codes(parcels: gpd.GeoDataFrame) -> None:
    path = resources.files("planning") / "data" / "communes_2025_merges.csv"
    with path.open(encoding="utf-8") as fh:
        old = {r["old_commune_code"]: r["old_commune"] for r in csv.DictReader(fh)}
    codes = set(parcels["MaXa"])
    assert codes <= set(old)
    assert {"19750", "19753", "19762"} <= codes  # Tây Lộc, Thuận Lộc, Thuận Hòa
    assert parcels["MaXa"].str.fullmatch(r"\d{5}").all()
    ward = parcels["MaXa"].map(old)
    assert all(a.endswith(", " + w) for a, w in zip(parcels["DiaChi"], ward, strict=True))


def test_parcel_attributes(parcels: gpd.GeoDataFrame) -> None:
    assert set(parcels["LoaiDat"]) == {"ODT", "TMD", "DGD", "CLN", "SKC", "TON", "DGT"}
    assert (parcels["LoaiDat"] == "ODT").mean() > 0.7
    assert parcels["DiaChi"].str.contains(r"^\d+ (?:Kiệt \d+ )?Đường \w", regex=True).all()
    assert parcels["DiaChi"].str.contains("Đường Đinh Tiên Hoàng").any()
    assert all(unicodedata.is_normalized("NFC", a) for a in parcels["DiaChi"])
    assert parcels.area.between(60, 400).all()


def test_official_areas_are_planar_areas_to_a_tenth(
    zoning: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame
) -> None:
    for area, official in ((parcels.area, parcels["DienTich"]), (zoning.area, zoning["dienTich"])):
        assert (official - area).abs().max() <= 0.05 + 1e-6
        assert np.allclose(official * 10, np.round(official * 10), atol=1e-6)
    assert (zoning["dienTich"] * 10 % 10 != 0).any()  # not rounded to whole m²


def test_many_parcels_straddle_a_planned_road_and_a_lot(
    zoning: gpd.GeoDataFrame, parcels: gpd.GeoDataFrame
) -> None:
    p, z, areas = _overlap_areas(parcels, zoning)
    road = _is_road(zoning).to_numpy()[z]
    in_road = np.bincount(p[road], weights=areas[road], minlength=len(parcels))
    in_lot = np.bincount(p[~road], weights=areas[~road], minlength=len(parcels))
    straddling = (in_road > 1.0) & (in_lot > 1.0)
    assert straddling.sum() >= 200
    lots_hit = np.bincount(p[~road & (areas > 1.0)], minlength=len(parcels))
    assert (lots_hit >= 2).sum() >= 10  # parcels cut by a lot boundary


def test_zoning_functions_and_labels(zoning: gpd.GeoDataFrame) -> None:
    prefixes = set(zoning["kyHieuLoDat"].str.extract(r"^([A-Z]+)-\d{2,}$")[0])
    assert prefixes == {"OM", "OHT", "CX", "GD", "TM", "DT", "CQ", "YT", "MN", "GT"}
    assert not zoning["kyHieuLoDat"].duplicated().any()
    muc2 = set(zoning["chucNangSuDungDatMuc2"])
    for name in ("Đất ở", "Đất cây xanh công cộng", "Đất thương mại, dịch vụ", RELIC, ROAD):
        assert name in muc2
    muc3 = set(zoning["chucNangSuDungDatMuc3"].dropna())
    assert {"Đất ở hiện trạng", "Đất ở mới", "Đất giáo dục", "Đất y tế"} <= muc3
    assert set(zoning["chucNangSuDungDatMuc1"]) == {"Đất dân dụng", "Đất ngoài dân dụng"}
    assert (zoning["capDoQuyHoach"] == "Quy hoạch phân khu").all()
    for column in zoning.columns.drop("geometry"):
        for value in zoning[column].dropna():
            if isinstance(value, str):
                assert unicodedata.is_normalized("NFC", value)


def test_indicators_are_realistic_and_sometimes_missing(zoning: gpd.GeoDataFrame) -> None:
    housing = zoning[zoning["chucNangSuDungDatMuc2"] == "Đất ở"]
    assert housing["matDoXayDung"].dropna().between(60, 90).all()
    assert housing["heSoSuDungDat"].dropna().between(2, 4).all()
    assert housing["danSo"].notna().any()
    assert zoning.loc[zoning["chucNangSuDungDatMuc2"] != "Đất ở", "danSo"].isna().all()
    green = zoning[zoning["chucNangSuDungDatMuc2"] == "Đất cây xanh công cộng"]
    assert set(green["matDoXayDung"].dropna()) == {5.0}
    assert set(green["heSoSuDungDat"].dropna()) == {0.05}
    floors = zoning["tangCaoXayDung"].dropna()
    assert floors.str.fullmatch(r"\d+(-\d+)?|≤ \d+").all()
    assert {"3-5", "≤ 7", "1"} <= set(floors)
    lots = zoning[~_is_road(zoning)]
    for indicator in ("matDoXayDung", "tangCaoXayDung", "heSoSuDungDat", "danSo"):
        assert housing[indicator].isna().any(), indicator
    assert lots["matDoXayDung"].notna().mean() > 0.6
    roads = zoning[_is_road(zoning)]
    assert roads[["matDoXayDung", "tangCaoXayDung", "heSoSuDungDat"]].isna().all().all()


def test_red_lines_are_both_edges_of_every_corridor(
    zoning: gpd.GeoDataFrame, red_lines: gpd.GeoDataFrame
) -> None:
    roads = zoning[_is_road(zoning)]
    assert red_lines["tenDoiTuong"].value_counts().eq(2).all()
    assert set(red_lines["tenDoiTuong"]) == set(roads["tenDoiTuong"])
    assert red_lines["tenDoiTuong"].str.startswith("Đường ").all()
    assert {"Đường Lê Duẩn", "Đường Đinh Tiên Hoàng"} <= set(red_lines["tenDoiTuong"])
    assert red_lines["chieuRongLoGioi"].between(10, 40).all()
    edges = shapely.union_all(shapely.boundary(roads.geometry.values))
    assert red_lines.geometry.within(edges.buffer(0.01)).all()
    for _, road in roads.iterrows():
        lines = red_lines[red_lines["tenDoiTuong"] == road["tenDoiTuong"]]
        # The two edges of a corridor are its width apart.
        gap = lines.geometry.iloc[0].distance(lines.geometry.iloc[1])
        assert gap == pytest.approx(lines["chieuRongLoGioi"].iloc[0], abs=0.01)


def test_tcvn3_shapefile_holds_tcvn3_bytes_and_no_cpg(
    demo: DemoFiles, zoning: gpd.GeoDataFrame
) -> None:
    assert not demo.zoning_shp.with_suffix(".cpg").exists()
    raw = demo.zoning_shp.with_suffix(".dbf").read_bytes()
    assert encode_text("Đất", "tcvn3") == DAT_TCVN3
    assert DAT_TCVN3 in raw
    assert "Đất".encode() not in raw
    legacy = pyogrio.read_dataframe(demo.zoning_shp, encoding="latin1")
    for short, name in (("chucNang_1", "chucNangSuDungDatMuc2"), ("tangCaoXay", "tangCaoXayDung")):
        decoded = [
            None if pd.isna(v) else decode_bytes(v.encode("latin-1"), "tcvn3")
            for v in legacy[short]
        ]
        expected = [None if pd.isna(v) else v.replace("≤", "<=") for v in zoning[name]]
        assert decoded == expected
    assert "tenDoiTuon" in legacy.columns and legacy["tenDoiTuon"].notna().all()
    assert np.allclose(legacy["dienTich"], zoning["dienTich"])


def test_default_size_is_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    generate_demo(tmp_path)
    assert time.perf_counter() - start < 15  # a few seconds, with slack
