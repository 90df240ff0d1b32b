"""Serve tiles: versioned keys, the cache, rendering in one consistent snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from planning.revisions import data_version
from tilesets.cache import Tile, TileCache, make_tile
from tilesets.render import check_tile, render_tile, tileset


@dataclass(frozen=True)
class Outcome:
    """A tile to send, or the current version to redirect a stale versioned URL to."""

    tile: Tile | None
    version: int
    stale: bool = False


class TileService:
    """Tiles for one process: a byte-bounded cache in front of PostGIS."""

    def __init__(self, engine: Engine, cache_mb: int) -> None:
        self.engine = engine
        self.cache = TileCache(cache_mb * 1024 * 1024)

    def cached(
        self, name: str, z: int, x: int, y: int, version: int, on: date | None
    ) -> Tile | None:
        """Return a tile of a given data version from the cache (no database access)."""
        check_tile(tileset(name), z, x, y)
        return self.cache.get((name, z, x, y, version, on or date.min))

    def get(
        self, name: str, z: int, x: int, y: int, version: int | None, on: date | None
    ) -> Outcome:
        """Return the tile for the current data (rendered when not cached)."""
        check_tile(tileset(name), z, x, y)
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # The version and the rendered data come from the same snapshot.
                current = data_version(conn)
                if version is not None and version != current:
                    return Outcome(None, current, stale=True)
                key = (name, z, x, y, current, on or date.min)
                hit = self.cache.get(key)
                if hit is not None:
                    return Outcome(hit, current)
                raw = render_tile(conn, name, z, x, y, on or date.today())
        tile = make_tile(raw)
        self.cache.put(key, tile)
        return Outcome(tile, current)
