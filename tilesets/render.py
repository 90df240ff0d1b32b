"""Render a vector tile in PostGIS: one statement per tile, all layers, ST_AsMVT."""

from __future__ import annotations

import math
from datetime import date
from functools import cache

from sqlalchemy import Connection, text

from planning.errors import BadRequest, NotFound
from tilesets.definitions import TILESETS, Layer, Tileset

EXTENT = 4096
BUFFER = 64
WEB_MERCATOR_WORLD = 2 * math.pi * 6378137.0
MAX_ZOOM = 24


def tileset(name: str) -> Tileset:
    """Return a tileset by name or raise NotFound."""
    if name not in TILESETS:
        raise NotFound(f"no tileset {name!r} (tilesets: {', '.join(TILESETS)})")
    return TILESETS[name]


def check_tile(ts: Tileset, z: int, x: int, y: int) -> None:
    """Refuse impossible tile coordinates (400-type) and zooms the tileset lacks (404-type)."""
    if not (0 <= z <= MAX_ZOOM) or not (0 <= x < 2**z) or not (0 <= y < 2**z):
        raise BadRequest(f"no tile {z}/{x}/{y}: x and y must lie in 0..2^z-1, z in 0..{MAX_ZOOM}")
    if not (ts.minzoom <= z <= ts.maxzoom):
        raise NotFound(f"tileset {ts.name} has zooms {ts.minzoom}–{ts.maxzoom}, not {z}")


def _layer_sql(layer: Layer, z: int) -> str:
    attrs = ", ".join(f"{a.expr} AS {a.name}" for a in layer.attributes if z >= a.minzoom)
    geom = f"ST_Transform(t.{layer.geom_column}, 3857)"
    if z < layer.simplify_below:
        # About one tile pixel (of the 4096 grid) at this zoom, in metres.
        tol = WEB_MERCATOR_WORLD / (EXTENT * 2**z)
        simplify = "ST_SimplifyPreserveTopology" if layer.geometry == "polygon" else "ST_Simplify"
        geom = f"{simplify}({geom}, {tol:.6f})"
    return f"""
    {layer.id} AS (
        SELECT ST_AsMVTGeom({geom}, env.e3857, {EXTENT}, {BUFFER}, true) AS geom,
               t.id AS fid{", " + attrs if attrs else ""}
        FROM env, planning.{layer.table} t
        {layer.where.replace("WHERE", f"WHERE t.{layer.geom_column} && env.e4326 AND", 1)}
        ORDER BY t.id
        LIMIT {layer.feature_cap}
    )"""


@cache
def tile_sql(name: str, z: int) -> str:
    """Build (once per tileset and zoom) the statement rendering all layers of a tile."""
    ts = TILESETS[name]
    layers = [layer for layer in ts.layers if layer.minzoom <= z <= layer.maxzoom]
    ctes = ",".join(_layer_sql(layer, z) for layer in layers)
    margin = BUFFER / EXTENT
    parts = " || ".join(
        f"coalesce((SELECT ST_AsMVT({layer.id}.*, '{layer.id}', {EXTENT}, 'geom', 'fid') "
        f"FROM {layer.id} WHERE geom IS NOT NULL), ''::bytea)"
        for layer in layers
    )
    return f"""
    WITH env AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS e3857,
               ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {margin}), 4326) AS e4326
    ),{ctes}
    SELECT {parts or "''::bytea"} AS mvt
    """


def render_tile(conn: Connection, name: str, z: int, x: int, y: int, on: date) -> bytes:
    """Return the MVT bytes of a tile (empty bytes for an empty tile)."""
    ts = tileset(name)
    check_tile(ts, z, x, y)
    data = conn.execute(text(tile_sql(name, z)), {"z": z, "x": x, "y": y, "d": on}).scalar_one()
    return bytes(data or b"")
