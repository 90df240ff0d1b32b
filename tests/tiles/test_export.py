"""`planning tiles export`: PMTiles and MBTiles files hold exactly the tiles the service serves."""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from tests.conftest import Cli
from tests.tiles import dataset
from tests.tiles.conftest import identity
from tests.tiles.test_http import raw_get
from tilesets.export import tiles_in
from tilesets.render import BUFFER, EXTENT


def tile_range(bounds: list[float], z: int, ring: int = 1) -> Iterator[tuple[int, int]]:
    """Yield the tiles of zoom z over lon/lat bounds, and ``ring`` more around them."""
    n = 2**z

    def xy(lon: float, lat: float) -> tuple[int, int]:
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    x0, y0 = xy(bounds[0], bounds[3])
    x1, y1 = xy(bounds[2], bounds[1])
    for x in range(x0 - ring, x1 + ring + 1):
        for y in range(y0 - ring, y1 + ring + 1):
            yield x, y


def served(client: TestClient, name: str, z: int, x: int, y: int) -> bytes | None:
    """Return the gzip representation the service sends for a tile (None for a 204)."""
    r, body = raw_get(client, f"/tiles/{name}/{z}/{x}/{y}.mvt", **{"Accept-Encoding": "gzip"})
    if r.status_code == 204:
        return None
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    return body


@pytest.fixture(scope="module")
def cli(tiles_url: str) -> Cli:
    """Return `planning ...` bound to the shared database."""
    return Cli(tiles_url)


@pytest.fixture(scope="module")
def pmtiles_file(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "zoning.pmtiles"
    result = cli(
        "tiles", "export", "--tileset", "zoning", "--minzoom", "10", "--maxzoom", "17",
        "--out", str(out),
    )  # fmt: skip
    assert f"{out}:" in result.output and "data version" in result.output
    return out


def test_pmtiles_holds_the_served_tiles(client: TestClient, pmtiles_file: Path) -> None:
    doc = client.get("/tiles/zoning.json").json()
    with pmtiles_file.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        stored = {(z, x, y): data for (z, x, y), data in all_tiles(reader.get_bytes)}
    assert stored, "the export wrote no tiles"
    compared = 0
    for z in range(10, 18):
        for x, y in tile_range(doc["bounds"], z):
            body = served(client, "zoning", z, x, y)
            assert stored.get((z, x, y)) == body, (z, x, y)
            if body is not None:
                # Byte-identical to the served gzip bytes; decompressed, to the identity bytes.
                plain = identity(client, f"/tiles/zoning/{z}/{x}/{y}.mvt").content
                assert gzip.decompress(stored[(z, x, y)]) == plain
                compared += 1
    # Nothing outside what the service would serve.
    assert compared == len(stored)
    assert {z for z, _, _ in stored} == set(range(10, 18))


def test_pmtiles_metadata_carries_the_tilejson(client: TestClient, pmtiles_file: Path) -> None:
    doc = client.get("/tiles/zoning.json").json()
    with pmtiles_file.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        header = reader.header()
        meta = reader.metadata()
    assert header["tile_type"] == TileType.MVT
    assert header["tile_compression"] == Compression.GZIP
    assert (header["min_zoom"], header["max_zoom"]) == (10, 17)
    box = [header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")]
    assert box == pytest.approx(doc["bounds"], abs=1e-7)
    assert 10 <= header["center_zoom"] <= 17
    assert box[0] < header["center_lon_e7"] / 1e7 < box[2]
    for key in ("tilejson", "name", "description", "attribution", "version", "data_version"):
        assert meta[key] == doc[key], key
    # The URL of the service named by --base-url (its default here), same version and date.
    assert meta["tiles"] == [doc["tiles"][0].replace("http://testserver", "http://127.0.0.1:8000")]
    assert (meta["minzoom"], meta["maxzoom"]) == (10, 17)
    [layer] = meta["vector_layers"]
    [served_layer] = doc["vector_layers"]
    assert layer["id"] == served_layer["id"] == "zoning"
    assert layer["fields"] == served_layer["fields"]
    assert (layer["minzoom"], layer["maxzoom"]) == (10, 17)


def _hand_made_bbox() -> list[float]:
    geoms = [lot.geom for lot in dataset.LOTS_V1] + [g for *_, g in dataset.PARCELS]
    b = dataset.to_lonlat(shapely.union_all(geoms)).bounds
    return [
        round(b[0] - 0.001, 6),
        round(b[1] - 0.001, 6),
        round(b[2] + 0.001, 6),
        round(b[3] + 0.001, 6),
    ]


def test_mbtiles_holds_the_served_tiles_with_tms_rows(
    client: TestClient, cli: Cli, tmp_path: Path
) -> None:
    bbox = _hand_made_bbox()
    out = tmp_path / "parcels.mbtiles"
    cli(
        "tiles", "export", "--tileset", "parcels", "--minzoom", "15", "--maxzoom", "18",
        "--bbox", ",".join(str(v) for v in bbox), "--out", str(out),
    )  # fmt: skip
    db = sqlite3.connect(out)
    try:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        rows = db.execute(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
        ).fetchall()
    finally:
        db.close()
    # MBTiles rows count from the south: flip them back to XYZ.
    stored: dict[tuple[int, int, int], Any] = {
        (z, col, (2**z - 1) - row): data for z, col, row, data in rows
    }
    assert stored
    for z in range(15, 19):
        for x, y in tile_range(bbox, z, ring=0):
            assert stored.pop((z, x, y), None) == served(client, "parcels", z, x, y), (z, x, y)
    assert stored == {}, "tiles outside the box"
    doc = client.get("/tiles/parcels.json").json()
    assert meta["name"] == "parcels" and meta["format"] == "pbf"
    assert (meta["minzoom"], meta["maxzoom"]) == ("15", "18")
    assert [float(v) for v in meta["bounds"].split(",")] == pytest.approx(bbox)
    lon, lat, zoom = (float(v) for v in meta["center"].split(","))
    assert bbox[0] < lon < bbox[2] and bbox[1] < lat < bbox[3] and 15 <= zoom <= 18
    assert meta["description"] == doc["description"]
    assert meta["attribution"] == doc["attribution"]
    assert meta["data_version"] == str(doc["data_version"])
    layers = json.loads(meta["json"])["vector_layers"]
    assert [la["id"] for la in layers] == ["parcels"]
    assert layers[0]["fields"] == doc["vector_layers"][0]["fields"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tileset", "zoning", "--minzoom", "10", "--maxzoom", "12", "--out", "x.zip"],
         ".pmtiles or .mbtiles"),
        (["--tileset", "parcels", "--minzoom", "10", "--maxzoom", "16", "--out", "x.pmtiles"],
         "zooms 15"),
        (["--tileset", "nothing", "--minzoom", "10", "--maxzoom", "12", "--out", "x.pmtiles"],
         "no tileset"),
        (["--tileset", "zoning", "--minzoom", "10", "--maxzoom", "12", "--bbox", "1,2,3",
          "--out", "x.pmtiles"], "--bbox"),
    ],
)  # fmt: skip
def test_export_refuses_bad_requests(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    result = cli("tiles", "export", *args, ok=False)
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_export_covers_the_tiles_only_the_buffer_reaches() -> None:
    # Data ending 20 grid units west of a z17 tile edge shows in that tile's buffer (64 units),
    # so an export of the data's extent must hold the tile east of the edge too.
    z, edge = 17, 104_000
    lon_edge = edge / 2**z * 360 - 180
    unit = 360 / 2**z / EXTENT
    data = (lon_edge - 500 * unit, 16.48, lon_edge - 20 * unit, 16.481)
    assert {x for _, x, _ in tiles_in(data, z, z)} == {edge - 1}
    assert {x for _, x, _ in tiles_in(data, z, z, BUFFER / EXTENT)} == {edge - 1, edge}
