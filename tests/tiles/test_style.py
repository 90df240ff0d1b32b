"""The MapLibre style (validated by MapLibre's own validator), the legend and the label glyphs."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.tiles import dataset

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "api" / "web" / "node_modules" / ".bin" / "gl-style-validate"
HAND_MADE_CODES = {lot.code for lot in dataset.LOTS_V1}


@pytest.fixture(scope="module")
def style(client: TestClient) -> dict[str, Any]:
    r = client.get("/styles/planning.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = r.json()
    return doc


def reference_colours() -> dict[str, str]:
    """Read the land-use catalogue's colours from the project's reference table."""
    with (ROOT / "planning" / "data" / "land_use_codes.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r["color"] for r in csv.DictReader(fh) if r["color"]}


def gets(expr: Any) -> set[str]:
    """Return the feature properties an expression reads with ["get", name]."""
    if isinstance(expr, list):
        found = {expr[1]} if len(expr) == 2 and expr[0] == "get" else set()
        for e in expr:
            found |= gets(e)
        return found
    if isinstance(expr, dict):
        return set().union(*(gets(v) for v in expr.values())) if expr else set()
    return set()


def test_style_passes_the_maplibre_validator(style: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: MapLibre's style validator cannot run")
    assert VALIDATOR.exists(), f"{VALIDATOR} missing: run `npm ci --prefix api/web`"
    path = tmp_path / "planning.json"
    path.write_text(json.dumps(style, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""
    # The validator does report errors (so a pass above means something).
    broken = dict(style, layers=[*style["layers"], {"id": "x", "type": "fill", "source": "nope"}])
    path.write_text(json.dumps(broken), encoding="utf-8")
    failed = subprocess.run([str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "nope" in failed.stdout + failed.stderr


def test_style_sources_layers_and_fields_match_the_tilesets(
    client: TestClient, style: dict[str, Any]
) -> None:
    assert style["version"] == 8
    assert set(style["sources"]) == {"zoning", "parcels", "red_lines", "plans"}
    layers_of: dict[str, dict[str, set[str]]] = {}
    for name, source in style["sources"].items():
        assert source["type"] == "vector"
        path = urlsplit(source["url"]).path
        assert path == f"/tiles/{name}.json"
        doc = client.get(path).json()
        layers_of[name] = {la["id"]: set(la["fields"]) for la in doc["vector_layers"]}
    drawn = set()
    for layer in style["layers"]:
        if layer["type"] == "background":
            continue
        fields = layers_of[layer["source"]][layer["source-layer"]]
        used = gets(layer.get("filter")) | gets(layer.get("paint")) | gets(layer.get("layout"))
        assert used <= fields, (layer["id"], used - fields)
        drawn.add((layer["source"], layer["type"]))
    assert {
        ("zoning", "fill"),
        ("zoning", "symbol"),
        ("parcels", "line"),
        ("red_lines", "line"),
        ("plans", "line"),
    } <= drawn
    parcels = [la for la in style["layers"] if la.get("source") == "parcels"]
    assert all(la.get("minzoom", 0) >= 15 for la in parcels)


def test_zoning_colours_come_from_the_palette_and_the_catalogue(style: dict[str, Any]) -> None:
    fill = next(la for la in style["layers"] if la["id"] == "zoning-fill")
    match = fill["paint"]["fill-color"]
    assert match[0] == "match"
    pairs = dict(zip(match[2:-1:2], match[3:-1:2], strict=True))
    reference = reference_colours()
    assert set(reference) <= set(pairs)
    # The zoning palette overrides some catalogue colours (green, schools, roads ...).
    assert pairs["DKV"] == "#8FD18B" and pairs["DGD"] == "#F7C873" and pairs["DGT"] == "#FFFFFF"
    # Codes the palette leaves alone keep the catalogue's colour.
    assert pairs["ODT"] == reference["ODT"] and pairs["TMD"] == reference["TMD"]
    assert all(str(c).startswith("#") and len(c) == 7 for c in pairs.values())


def test_lot_labels_use_the_served_font(client: TestClient, style: dict[str, Any]) -> None:
    labels = [la for la in style["layers"] if la["type"] == "symbol" and la["source"] == "zoning"]
    assert labels and "lot" in gets(labels[0]["layout"]["text-field"])
    (font,) = {
        f for la in style["layers"] if la["type"] == "symbol" for f in la["layout"]["text-font"]
    }
    url = style["glyphs"].replace("{fontstack}", font).replace("{range}", "0-255")
    r = client.get(urlsplit(url).path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"


# ---------------------------------------------------------------------------------------------
# Legend


def test_legend_in_vietnamese_and_english(client: TestClient, style: dict[str, Any]) -> None:
    r = client.get("/v1/legend")
    assert r.status_code == 200
    legend = r.json()
    assert legend["title"] == {"vi": "Chú giải", "en": "Legend"}
    entries = {e["code"]: e for e in legend["land_use"]}
    # The codes the published plans use, and no others.
    assert HAND_MADE_CODES <= set(entries)
    assert "LUC" not in entries  # wet-rice land: in the catalogue, in no plan here
    fill = next(la for la in style["layers"] if la["id"] == "zoning-fill")["paint"]["fill-color"]
    colours = dict(zip(fill[2:-1:2], fill[3:-1:2], strict=True))
    for code, e in entries.items():
        assert e["vi"] and e["en"] and e["vi"] != e["en"], code
        assert e["color"] == colours[code]
    assert entries["ODT"]["vi"] == "Đất ở tại đô thị"
    assert entries["DGT"]["en"] == "Transport land"
    lines = {e["id"]: e for e in legend["lines"]}
    assert {"red_line", "plan", "parcel"} <= set(lines)
    assert lines["red_line"]["vi"] == "Chỉ giới đường đỏ"
    red = next(la for la in style["layers"] if la.get("source") == "red_lines")
    assert red["paint"]["line-color"] == lines["red_line"]["color"]


# ---------------------------------------------------------------------------------------------
# Glyphs


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Parse one protobuf message into (field number, value) pairs (varints and bytes)."""
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            out.append((number, value))
        elif wire == 2:
            size, i = _varint(data, i)
            out.append((number, data[i : i + size]))
            i += size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def glyphs_of(pbf: bytes) -> tuple[str, str, dict[int, dict[int, Any]]]:
    """Decode a glyph PBF: font stack name, range, and the glyphs by code point."""
    (stack,) = [v for n, v in fields(pbf) if n == 1]
    assert isinstance(stack, bytes)
    parts = fields(stack)
    name = next(v for n, v in parts if n == 1)
    rng = next(v for n, v in parts if n == 2)
    glyphs = {}
    for n, g in parts:
        if n == 3:
            assert isinstance(g, bytes)
            values = dict(fields(g))
            glyphs[int(values[1])] = values
    assert isinstance(name, bytes) and isinstance(rng, bytes)
    return name.decode(), rng.decode(), glyphs


def test_glyphs_hold_vietnamese_letters(client: TestClient) -> None:
    r = client.get("/fonts/DejaVu Sans/7680-7935.pbf")
    assert r.status_code == 200
    name, rng, glyphs = glyphs_of(r.content)
    assert (name, rng) == ("DejaVu Sans", "7680-7935")
    assert all(7680 <= c <= 7935 for c in glyphs)
    for letter in "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ":
        g = glyphs[ord(letter)]
        width, height = g[3], g[4]
        assert width > 0 and height > 0 and g[7] > 0, letter
        # An SDF bitmap: the glyph plus a 3 px border on each side, one byte per pixel.
        assert len(g[2]) == (width + 6) * (height + 6), letter
        assert max(g[2]) > 192 and min(g[2]) < 64, letter
    # Made once, then served from disk: the same bytes again.
    assert client.get("/fonts/DejaVu Sans/7680-7935.pbf").content == r.content


def test_glyph_ranges_are_checked(client: TestClient) -> None:
    assert client.get("/fonts/DejaVu Sans/0-100.pbf").status_code == 422
    assert client.get("/fonts/DejaVu Sans/100-355.pbf").status_code == 422
    assert client.get("/fonts/Comic Sans/0-255.pbf").status_code == 404
    # A stack naming other fonts too is served from the one it has.
    r = client.get("/fonts/Noto Sans Regular,DejaVu Sans/0-255.pbf")
    assert r.status_code == 200
    assert ord("a") in glyphs_of(r.content)[2]
