"""Attribute text: per-column detection of UTF-8, TCVN3, VNI, VISCII and cp1258 in shapefiles,
repair of mojibake in UTF-8 sources, NFC and Eth, --encoding, and what the report says."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import Engine

from tests.ingest.builders import CITADEL_EN, argv, rows, write_legacy_shp

FUNCTIONS = [
    "Đất ở tại đô thị",
    "Đất cây xanh công viên",
    "Đất thương mại dịch vụ",
    "Đất giáo dục mầm non",
    "Đất ở liền kề hiện trạng chỉnh trang",
    "Đất di tích lịch sử văn hóa",
]
NAMES = [
    "Khu nhà ở Thượng Thành",
    "Vườn hoa Phú Văn Lâu",
    "Chợ Đông Ba",
    "Trường mầm non Đông Ba",
    "Phường Phú Xuân",
    "Kỳ Đài Huế",
]
ENCODINGS = ["utf-8", "tcvn3", "vni", "viscii", "cp1258"]


def _frame(columns: dict[str, list[str | None]]) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    x, y = CITADEL_EN
    geoms = [box(x + 20 * i, y, x + 20 * i + 20, y + 20) for i in range(n)]
    return gpd.GeoDataFrame(
        {"KH": [f"L{i}" for i in range(n)], **columns}, geometry=geoms, crs=9214
    )


FIELDS = argv("--lot-field KH --function-field CN --name-field TEN")


def _ingest(run, path: Path, *extra: str) -> dict:
    res = run("ingest", "zoning", str(path), "--plan", "QH", *FIELDS, "--json", *extra)
    return json.loads(res.stdout)


def _zones(engine: Engine) -> dict[str, object]:
    return {r.lot: r for r in rows(engine, "SELECT * FROM planning.zone")}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_legacy_shapefile_decoded(tmp_path: Path, run, engine: Engine, encoding: str) -> None:
    path = write_legacy_shp(_frame({"CN": FUNCTIONS, "TEN": NAMES}), tmp_path / "qh.shp", encoding)
    assert not path.with_suffix(".cpg").exists()
    report = _ingest(run, path)
    assert report["encodings"]["CN"]["encoding"] == encoding
    assert report["encodings"]["TEN"]["encoding"] == encoding
    assert not report["encodings"]["CN"]["ambiguous"]
    zones = _zones(engine)
    for i, (function, name) in enumerate(zip(FUNCTIONS, NAMES, strict=True)):
        z = zones[f"L{i}"]
        assert (z.function_l1, z.name) == (function, name)
        assert (z.attrs["CN"], z.attrs["TEN"]) == (function, name)
        assert unicodedata.is_normalized("NFC", z.function_l1)
    assert zones["L0"].code == "ODT"
    assert zones["L5"].code == "DDT"


def test_each_column_decided_on_its_own(tmp_path: Path, run, engine: Engine) -> None:
    cols = {f"C_{e[:5].replace('-', '')}": FUNCTIONS for e in ENCODINGS}
    frame = _frame({"CN": FUNCTIONS, "TEN": NAMES, **cols})
    # Encode column by column, then write the raw bytes as latin-1.
    from planning.text import encode_text

    for (col, _), enc in zip(cols.items(), ENCODINGS, strict=True):
        frame[col] = [encode_text(v, enc).decode("latin-1") for v in frame[col]]
    frame["CN"] = [encode_text(v, "vni").decode("latin-1") for v in frame["CN"]]
    frame["TEN"] = [encode_text(v, "tcvn3").decode("latin-1") for v in frame["TEN"]]
    path = tmp_path / "mixed.shp"
    frame.to_file(path, encoding="latin1", engine="pyogrio")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    report = _ingest(run, path)
    decided = {c: report["encodings"][c]["encoding"] for c in cols}
    assert decided == dict(zip(cols, ENCODINGS, strict=True))
    assert report["encodings"]["CN"]["encoding"] == "vni"
    assert report["encodings"]["TEN"]["encoding"] == "tcvn3"
    assert report["encodings"]["KH"]["encoding"] is None  # ASCII
    zones = _zones(engine)
    for i, function in enumerate(FUNCTIONS):
        z = zones[f"L{i}"]
        assert z.function_l1 == function and z.name == NAMES[i]
        assert all(z.attrs[c] == function for c in cols)
    # The table printed to the terminal says the same per column.
    res = run("check", str(path), *FIELDS)
    assert "text encoding per column" in res.stdout
    for line in res.stdout.splitlines():
        if line.strip("│ ").startswith("C_tcvn3"):
            assert "tcvn3" in line


def test_encoding_option_decides_a_column_too_short_to_judge(
    tmp_path: Path, run, engine: Engine
) -> None:
    # One word repeated: detection cannot tell, --encoding can.
    short = ["Đất"] * 3
    path = write_legacy_shp(
        _frame({"CN": short, "TEN": ["Lô"] * 3}), tmp_path / "short.shp", "tcvn3"
    )
    report = _ingest(run, path, "--dry-run")
    amb = [p for p in report["problems"] if p["code"] == "encoding_ambiguous"]
    assert amb and all(p["level"] == "warning" for p in amb)
    report = _ingest(run, path, "--encoding", "TCVN5712-1")
    assert report["encodings"]["CN"]["encoding"] == "tcvn3"
    assert "--encoding" in report["encodings"]["CN"]["reason"]
    assert not any(p["code"] == "encoding_ambiguous" for p in report["problems"])
    assert {z.function_l1 for z in _zones(engine).values()} == {"Đất"}
    assert {z.name for z in _zones(engine).values()} == {"Lô"}


def test_unknown_encoding_option_is_one_clear_line(tmp_path: Path, run) -> None:
    path = write_legacy_shp(_frame({"CN": FUNCTIONS, "TEN": NAMES}), tmp_path / "q.shp", "vni")
    res = run("check", str(path), "--encoding", "koi8-r", ok=False)
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert "koi8-r" in res.stderr and "ValueError" not in res.stderr


def test_utf8_source_nfc_eth_and_mojibake_repair(tmp_path: Path, run, engine: Engine) -> None:
    from planning.text import encode_text

    nfd = [unicodedata.normalize("NFD", s) for s in FUNCTIONS]
    eth = [s.replace("Đ", "\u00d0").replace("đ", "\u00f0") for s in NAMES]
    # Text once read from a TCVN3 shapefile as latin-1 and saved as UTF-8 (a common accident).
    mojibake = [encode_text(s, "tcvn3").decode("latin-1") for s in NAMES]
    path = tmp_path / "utf8.gpkg"
    _frame({"CN": nfd, "TEN": eth, "GHICHU": mojibake}).to_file(path, engine="pyogrio")
    report = _ingest(run, path)
    assert report["encodings"]["GHICHU"]["encoding"] == "tcvn3"
    zones = _zones(engine)
    for i in range(len(FUNCTIONS)):
        z = zones[f"L{i}"]
        assert z.function_l1 == FUNCTIONS[i]  # NFC
        assert z.name == NAMES[i]  # Ð → Đ
        assert z.attrs["GHICHU"] == NAMES[i]


def test_legacy_field_names_decoded(tmp_path: Path, run, engine: Engine) -> None:
    from planning.text import encode_text

    frame = _frame({"CN": FUNCTIONS, "TEN": NAMES})
    frame = frame.rename(columns={"TEN": encode_text("Tên", "tcvn3").decode("latin-1")})
    path = write_legacy_shp(frame, tmp_path / "names.shp", "tcvn3")
    # One short name is too little to judge: the report says so ...
    res = run("check", str(path), "--lot-field", "KH", "--json")
    assert any(p["code"] == "field_names" for p in json.loads(res.stdout)["problems"])
    # ... and --encoding decides.
    fields = ["--lot-field", "KH", "--function-field", "CN", "--name-field", "Tên"]
    run("ingest", "zoning", str(path), "--plan", "QH", "--encoding", "tcvn3", *fields)
    zones = _zones(engine)
    assert zones["L1"].name == NAMES[1]
    assert zones["L1"].attrs["Tên"] == NAMES[1]
