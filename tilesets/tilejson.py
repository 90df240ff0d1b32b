"""TileJSON 3.0 documents, with the data version in the tile URL."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from planning import clock
from planning.db import snapshot
from planning.revisions import data_version
from tilesets.definitions import Tileset
from tilesets.render import tileset

ATTRIBUTION = "Dữ liệu quy hoạch: cơ quan quản lý quy hoạch / planning data: planning authority"


def data_bounds(conn: Connection, ts: Tileset, on: date) -> list[float] | None:
    """Return the lon/lat extent of what a tileset shows on a date."""
    layer = ts.layers[0]
    row = conn.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            f"SELECT ST_Extent(t.{layer.geom_column}) AS e FROM planning.{layer.table} t "
            f"{layer.where}) s"
        ),
        {"d": on},
    ).one()
    if row[0] is None:
        return None
    # Rounded outwards to 1e-6 degree so that the data stays inside its bounds.
    west, south, east, north = (float(v) * 1e6 for v in row)
    return [
        math.floor(west) / 1e6,
        math.floor(south) / 1e6,
        math.ceil(east) / 1e6,
        math.ceil(north) / 1e6,
    ]


def tilejson(
    conn: Connection, name: str, base_url: str, version: int, on: date | None
) -> dict[str, Any]:
    """Describe a tileset for MapLibre, QGIS and GDAL."""
    ts = tileset(name)
    day = on or clock.today()
    bounds = data_bounds(conn, ts, day) or [102.0, 8.0, 110.0, 23.5]
    # The date is in the URL even when not asked for: a revision published with a later
    # effective date changes the tiles on that day without changing the data version, and a
    # versioned tile is cached as immutable.
    query = f"v={version}&date={day.isoformat()}"
    centre_zoom = max(ts.minzoom, min(14, ts.maxzoom))
    return {
        "tilejson": "3.0.0",
        "name": ts.name,
        "description": f"{ts.title['vi']} — {ts.title['en']}",
        "version": "1.0.0",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [f"{base_url}/tiles/{ts.name}/{{z}}/{{x}}/{{y}}.mvt?{query}"],
        "minzoom": ts.minzoom,
        "maxzoom": ts.maxzoom,
        "bounds": bounds,
        "center": [
            round((bounds[0] + bounds[2]) / 2, 6),
            round((bounds[1] + bounds[3]) / 2, 6),
            centre_zoom,
        ],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.description,
                "minzoom": layer.minzoom,
                "maxzoom": layer.maxzoom,
                "fields": {a.name: a.kind for a in layer.attributes},
            }
            for layer in ts.layers
        ],
        "data_version": version,
        # The day the tiles show: with the version, what makes a tile URL immutable.
        "date": day.isoformat(),
    }


def current_tilejson(conn: Connection, name: str, base_url: str, on: date | None) -> dict[str, Any]:
    """Describe a tileset as the data stands: the version and the bounds from one snapshot."""
    with snapshot(conn):
        return tilejson(conn, name, base_url, data_version(conn), on)
