"""Render a vector tile in PostGIS: one statement per tile, all layers, ST_AsMVT."""

from __future__ import annotations

import math
import re
from datetime import date
from functools import cache

from sqlalchemy import Connection

from planning.errors import BadRequest, NotFound
from planning.revisions import DATA_VERSION_SQL
from tilesets.definitions import TILESETS, Layer, Tileset

EXTENT = 4096
BUFFER = 64
WEB_MERCATOR_WORLD = 2 * math.pi * 6378137.0
MAX_ZOOM = 24
# The parameters of the tile statement, in the order of its $1, $2, ... and their types.
PARAMS = (("z", "integer"), ("x", "integer"), ("y", "integer"), ("d", "date"), ("v", "bigint"))
# The tile and its buffer in lon/lat (the tables' SRID).
_BUFFERED_4326 = f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326)"
# Zooms from which the tile statement is prepared (see `statement`).
PREPARED_FROM_ZOOM = 15
_PARAM = re.compile(r"(?<!:):([a-z])\b")


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
    # Clip to the tile and its buffer before projecting: a road corridor or a plan boundary
    # crossing many tiles is then transformed and encoded only for the piece this tile shows
    # (ST_AsMVTGeom clips again in 3857 and makes polygons valid). The box is the buffered tile
    # in lon/lat (a Web Mercator rectangle is a lon/lat rectangle). A clip point lies on the
    # edge straight in lon/lat, which bows away from the same edge straight in Web Mercator by
    # a pixel or two over kilometres; so the clipped piece is cut into lengths of at most one
    # tile, and a long edge is drawn along the same line in every tile it crosses (no kinks at
    # tile borders). Features inside the box are left as they are.
    clip = (
        f"CASE WHEN t.{layer.geom_column} @ env.e4326 THEN t.{layer.geom_column} "
        f"ELSE ST_Segmentize(ST_ClipByBox2D(t.{layer.geom_column}, env.e4326), {360 / 2**z!r}) "
        "END"
    )
    geom = f"ST_Transform({clip}, 3857)"
    if z < layer.simplify_below:
        # About one tile pixel (of the 4096 grid) at this zoom, in metres.
        tol = WEB_MERCATOR_WORLD / (EXTENT * 2**z)
        simplify = "ST_SimplifyPreserveTopology" if layer.geometry == "polygon" else "ST_Simplify"
        geom = f"{simplify}({geom}, {tol:.6f})"
    # The rows come from the spatial index alone (OFFSET 0 keeps PostgreSQL from planning the
    # subquery with the joins): a plan starting from the primary key (for the ORDER BY) or the
    # revision would read the whole table, and a prepared statement's generic plan, blind to
    # the tile, might choose one.
    return f"""
    {layer.id} AS (
        SELECT ST_AsMVTGeom({geom}, env.e3857, {EXTENT}, {BUFFER}, true) AS geom,
               t.id AS fid{", " + attrs if attrs else ""}
        FROM env, (
            SELECT * FROM planning.{layer.table}
            WHERE {layer.geom_column} && {_BUFFERED_4326} OFFSET 0
        ) t
        {layer.where}
        ORDER BY t.id
        LIMIT {layer.feature_cap}
    )"""


@cache
def tile_sql(name: str, z: int) -> str:
    """Build (once per tileset and zoom) the statement rendering all layers of a tile.

    It answers the data version and the tile from one snapshot (one statement): ``version``,
    and ``mvt``, which is NULL (nothing rendered) when a version ``:v`` was asked for and is
    not the current one."""
    ts = TILESETS[name]
    layers = [layer for layer in ts.layers if layer.minzoom <= z <= layer.maxzoom]
    ctes = ",".join(_layer_sql(layer, z) for layer in layers)
    parts = " || ".join(
        f"coalesce((SELECT ST_AsMVT({layer.id}.*, '{layer.id}', {EXTENT}, 'geom', 'fid') "
        f"FROM {layer.id} WHERE geom IS NOT NULL), ''::bytea)"
        for layer in layers
    )
    return f"""
    WITH env AS (
        SELECT ST_TileEnvelope(:z, :x, :y) AS e3857,
               {_BUFFERED_4326} AS e4326
    ),
    data (version) AS ({DATA_VERSION_SQL}),{ctes}
    SELECT data.version,
           CASE WHEN CAST(:v AS bigint) IS NULL OR CAST(:v AS bigint) = data.version
                THEN {parts or "''::bytea"} END AS mvt
    FROM data
    """


@cache
def prepared(name: str, z: int) -> tuple[str, str]:
    """Return the name of the prepared tile statement and its PREPARE command."""
    order = [p for p, _ in PARAMS]
    body = _PARAM.sub(lambda m: f"${order.index(m.group(1)) + 1}", tile_sql(name, z))
    statement = f"planning_tile_{name}_{z}"
    types = ", ".join(t for _, t in PARAMS)
    return statement, f"PREPARE {statement} ({types}) AS {body}"


@cache
def statement(name: str, z: int) -> tuple[str, tuple[str, str] | None]:
    """Return the SQL that renders a tile (driver parameters by name) and, when it runs a
    prepared statement, that statement's (name, PREPARE command).

    From z15 the statement is prepared once per connection: parsing and planning it would cost
    about as much as running it. PostgreSQL then reuses one generic plan, blind to the tile; at
    lower zooms a tile holds so many features that a plan made for it (the rows counted, a
    bitmap scan, a hash join) saves more than the planning costs."""
    if z < PREPARED_FROM_ZOOM:
        text = tile_sql(name, z).replace("%", "%%")
        return _PARAM.sub(lambda m: f"%({m.group(1)})s", text), None
    name_, prepare = prepared(name, z)
    execute = f"EXECUTE {name_} ({', '.join(f'%({p})s' for p, _ in PARAMS)})"
    return execute, (name_, prepare)


def tile_params(z: int, x: int, y: int, on: date, version: int | None) -> dict[str, object]:
    """Return the parameters of the tile statement."""
    return {"z": z, "x": x, "y": y, "d": on, "v": version}


def execute_tile(
    conn: Connection, name: str, z: int, x: int, y: int, on: date, version: int | None
) -> tuple[int, bytes | None]:
    """Return the current data version and the tile's MVT bytes (None when ``version`` is
    given and is not the current one: nothing is rendered then).

    A prepared statement is prepared once per database connection; the pool forgets that when
    it replaces the connection. The tile service runs the same statements on connections of
    its own."""
    ts = tileset(name)
    check_tile(ts, z, x, y)
    sql, prepare = statement(name, z)
    if prepare is not None:
        done = conn.connection.info.setdefault("planning_tiles_prepared", set())
        if prepare[0] not in done:
            conn.exec_driver_sql(prepare[1])
            done.add(prepare[0])
    row = conn.exec_driver_sql(sql, tile_params(z, x, y, on, version)).one()
    return int(row[0]), None if row[1] is None else bytes(row[1])


def render_tile(conn: Connection, name: str, z: int, x: int, y: int, on: date) -> bytes:
    """Return the MVT bytes of a tile (empty bytes for an empty tile)."""
    return execute_tile(conn, name, z, x, y, on, None)[1] or b""
