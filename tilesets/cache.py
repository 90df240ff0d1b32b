"""A bounded in-process tile cache (LRU by bytes), keyed by tileset, z/x/y, data version, date."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from datetime import date

TileKey = tuple[str, int, int, int, int, date]


class Tile:
    """A rendered tile with its strong ETag; the gzip encoding is made when first asked for."""

    __slots__ = ("_gz", "etag", "raw")

    def __init__(self, raw: bytes, etag: str, gz: bytes | None = None) -> None:
        self.raw = raw
        self.etag = etag
        self._gz = gz

    @property
    def gz(self) -> bytes:
        """Return the gzip encoding (deterministic: mtime 0, so every process sends the same)."""
        if self._gz is None:
            # Two threads may both compress a shared tile: they store the same bytes.
            self._gz = gzip.compress(self.raw, compresslevel=6, mtime=0)
        return self._gz

    @property
    def size(self) -> int:
        """Return the bytes this entry holds (with its gzip encoding)."""
        return len(self.raw) + len(self.gz) + 200


def make_tile(raw: bytes) -> Tile:
    """Fingerprint freshly rendered bytes; compressing them waits until a client accepts gzip
    or the cache stores them (a cold tile sent as is costs no gzip)."""
    return Tile(raw, hashlib.blake2b(raw, digest_size=16).hexdigest())


class TileCache:
    """Least-recently-used tiles up to a byte budget; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[TileKey, Tile] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: TileKey) -> Tile | None:
        """Return a cached tile and mark it recently used."""
        with self._lock:
            tile = self._items.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: TileKey, tile: Tile) -> None:
        """Store a tile, evicting the least recently used ones beyond the budget."""
        if self.max_bytes <= 0 or tile.size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._items[key] = tile
            self._bytes += tile.size
            while self._bytes > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.size

    @property
    def bytes(self) -> int:
        """Return the bytes held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
