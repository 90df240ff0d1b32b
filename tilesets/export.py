"""Export a tileset to one PMTiles or MBTiles file: the served tiles, for static hosting."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy import Engine

from planning import clock
from planning.db import snapshot
from planning.errors import InvalidInput
from planning.revisions import data_version
from tilesets.cache import make_tile
from tilesets.render import BUFFER, EXTENT, render_tile, tileset
from tilesets.tilejson import data_bounds, tilejson

Progress = Callable[[int, int], None]
MAX_TILES = 5_000_000


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    tiles: int
    empty: int
    data_version: int
    bytes: int


def lonlat_to_tile(lon: float, lat: float, z: int, margin: float = 0.0) -> tuple[int, int]:
    """Return the XYZ tile holding a lon/lat point, moved by ``margin`` tiles (signed)."""
    n = 2**z
    lat = max(min(lat, 85.05112878), -85.05112878)
    x = math.floor((lon + 180.0) / 360.0 * n + margin)
    y = math.floor((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n - margin)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_in(
    bbox: tuple[float, float, float, float], minzoom: int, maxzoom: int, margin: float = 0.0
) -> Iterator[tuple[int, int, int]]:
    """Yield the z/x/y of every tile covering a lon/lat box grown by ``margin`` tiles."""
    for z in range(minzoom, maxzoom + 1):
        x0, y0 = lonlat_to_tile(bbox[0], bbox[3], z, -margin)
        x1, y1 = lonlat_to_tile(bbox[2], bbox[1], z, margin)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                yield z, x, y


def export(
    engine: Engine,
    name: str,
    out: Path,
    minzoom: int,
    maxzoom: int,
    bbox: tuple[float, float, float, float] | None,
    on: date | None,
    base_url: str,
    progress: Progress | None = None,
) -> ExportResult:
    """Render every tile of the box and zooms in one snapshot and write PMTiles or MBTiles."""
    ts = tileset(name)
    suffix = out.suffix.lower()
    if suffix not in (".pmtiles", ".mbtiles"):
        raise InvalidInput(f"{out}: the output must end in .pmtiles or .mbtiles")
    if not (ts.minzoom <= minzoom <= maxzoom <= ts.maxzoom):
        raise InvalidInput(
            f"tileset {name} has zooms {ts.minzoom}–{ts.maxzoom}; asked {minzoom}–{maxzoom}"
        )
    with engine.connect() as conn, snapshot(conn):
        version = data_version(conn)
        found = data_bounds(conn, ts, on or clock.today())
        if bbox is None and found is None:
            raise InvalidInput(f"tileset {name} has no published data to export")
        box = bbox or (found[0], found[1], found[2], found[3])  # type: ignore[index]
        # Around the data's own extent, also the tiles that only their buffer reaches: the
        # service serves those too (features clipped into the buffer).
        margin = 0.0 if bbox else BUFFER / EXTENT
        tiles = sorted(tiles_in(box, minzoom, maxzoom, margin), key=lambda t: zxy_to_tileid(*t))
        if len(tiles) > MAX_TILES:
            raise InvalidInput(f"{len(tiles)} tiles: narrow --bbox or the zooms")
        meta: dict[str, Any] = tilejson(conn, name, base_url, version, on)
        meta["bounds"] = [round(v, 6) for v in box]
        centre_zoom = max(minzoom, min(int(meta["center"][2]), maxzoom))
        meta["center"] = [
            round((box[0] + box[2]) / 2, 6),
            round((box[1] + box[3]) / 2, 6),
            centre_zoom,
        ]
        for layer in meta["vector_layers"]:
            layer["minzoom"] = max(layer["minzoom"], minzoom)
            layer["maxzoom"] = min(layer["maxzoom"], maxzoom)
        rendered: list[tuple[int, int, int, bytes]] = []
        empty = 0
        for i, (z, x, y) in enumerate(tiles):
            raw = render_tile(conn, name, z, x, y, on or clock.today())
            if raw:
                rendered.append((z, x, y, make_tile(raw).gz))
            else:
                empty += 1
            if progress:
                progress(i + 1, len(tiles))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if suffix == ".pmtiles":
        _write_pmtiles(tmp, rendered, meta, minzoom, maxzoom)
    else:
        _write_mbtiles(tmp, rendered, meta, minzoom, maxzoom)
    tmp.replace(out)
    return ExportResult(out, len(rendered), empty, version, out.stat().st_size)


def _write_pmtiles(
    path: Path, tiles: list[tuple[int, int, int, bytes]], meta: dict[str, Any], z0: int, z1: int
) -> None:
    b = meta["bounds"]
    centre = meta["center"]
    with path.open("wb") as fh:
        writer = Writer(fh)
        for z, x, y, data in tiles:
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": z0,
                "max_zoom": z1,
                "min_lon_e7": round(b[0] * 1e7),
                "min_lat_e7": round(b[1] * 1e7),
                "max_lon_e7": round(b[2] * 1e7),
                "max_lat_e7": round(b[3] * 1e7),
                "center_zoom": int(centre[2]),
                "center_lon_e7": round(centre[0] * 1e7),
                "center_lat_e7": round(centre[1] * 1e7),
            },
            {**meta, "minzoom": z0, "maxzoom": z1},
        )


def _write_mbtiles(
    path: Path, tiles: list[tuple[int, int, int, bytes]], meta: dict[str, Any], z0: int, z1: int
) -> None:
    if path.exists():
        path.unlink()
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
        )
        b = meta["bounds"]
        rows = {
            "name": meta["name"],
            "format": "pbf",
            "type": "overlay",
            "version": meta["version"],
            "description": meta["description"],
            "attribution": meta["attribution"],
            "minzoom": str(z0),
            "maxzoom": str(z1),
            "bounds": ",".join(str(v) for v in b),
            "center": ",".join(str(v) for v in meta["center"]),
            "json": json.dumps({"vector_layers": meta["vector_layers"]}, ensure_ascii=False),
            "data_version": str(meta["data_version"]),
            "date": meta["date"],
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list(rows.items()))
        # MBTiles rows count from the south (TMS).
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (2**z - 1) - y, data) for z, x, y, data in tiles],
        )
        db.commit()
    finally:
        db.close()
