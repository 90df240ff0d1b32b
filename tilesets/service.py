"""Serve tiles: versioned keys, the cache, the version and the tile from one snapshot."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from planning import clock
from planning.db import ReadPool
from planning.revisions import DATA_VERSION_SQL
from tilesets.cache import Tile, TileCache, make_tile
from tilesets.connections import TileConnections
from tilesets.render import check_tile, statement, tile_params, tileset

# How long a data version read from the database is trusted by the cache-only path. A publish
# made by another process is noticed within this time (or at once by any request that reads the
# version: a TileJSON, an unversioned tile, a cache miss).
VERSION_TTL_S = 1.0


@dataclass(frozen=True)
class Outcome:
    """A tile to send, or the current version to redirect a stale versioned URL to."""

    tile: Tile | None
    version: int
    stale: bool = False


class TileService:
    """Tiles for one process: a byte-bounded cache in front of PostGIS."""

    def __init__(
        self, engine: Engine | ReadPool, cache_mb: int, version_ttl_s: float = VERSION_TTL_S
    ) -> None:
        self.engine = engine
        self.db = TileConnections(engine)
        self.cache = TileCache(cache_mb * 1024 * 1024)
        self.version_ttl_s = version_ttl_s
        self._version = -1
        self._version_at = -math.inf

    def observe(self, version: int) -> None:
        """Note the data version a request has just read from the database."""
        # Versions only grow (each publish and rollback increments planning.data_version).
        self._version = max(self._version, version)
        self._version_at = time.monotonic()

    def cached(
        self, name: str, z: int, x: int, y: int, version: int, on: date | None
    ) -> Tile | None:
        """Return a tile of the current data version from the cache (no database access).

        None when the version is not known to be current: the caller then asks `get`, which
        checks it against the database (and redirects a stale one)."""
        if version != self._version or time.monotonic() - self._version_at > self.version_ttl_s:
            return None
        return self.cache.get((name, z, x, y, version, on or clock.today()))

    def get(
        self, name: str, z: int, x: int, y: int, version: int | None, on: date | None
    ) -> Outcome:
        """Return the tile for the current data (rendered when not cached).

        Runs on one of the service's threads (``await service.db.run(service.get, ...)``): it
        uses that thread's connection. One round trip when the tile is not cached: one
        statement, outside any transaction, answers the data version and the tile from one
        snapshot (and renders nothing for a stale version)."""
        check_tile(tileset(name), z, x, y)
        day = on or clock.today()
        # A tile cached under the version asked for (or, unversioned, the last one seen) only
        # needs the version confirmed.
        guess = version if version is not None else self._version
        hit = self.cache.get((name, z, x, y, guess, day)) if self.cache.max_bytes > 0 else None
        if hit is not None:
            current = int(self.db.execute(DATA_VERSION_SQL)[0])
            self.observe(current)
            if current == guess:
                return Outcome(hit, current)
            if version is not None:
                return Outcome(None, current, stale=True)
        sql, prepare = statement(name, z)
        row = self.db.execute(sql, tile_params(z, x, y, day, version), prepare)
        current = int(row[0])
        self.observe(current)
        if row[1] is None:
            return Outcome(None, current, stale=True)
        tile = make_tile(bytes(row[1]))
        self.cache.put((name, z, x, y, current, day), tile)
        return Outcome(tile, current)

    def dispose(self) -> None:
        """Close the service's database connections."""
        self.db.dispose()
