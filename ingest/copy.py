"""Encode feature columns as one COPY … (FORMAT binary) payload.

Each encoder returns a column's fields ready to join: a 4-byte length (-1 for NULL) and the
value's binary form. Binary COPY spares the server the text parsing of CSV: geometries go in
as raw EWKB (half the bytes of hex, and no hex decoding), numbers as 8-byte floats. The
payload is built column by column and joined once.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)
_INT = struct.Struct(">i")
_INT_LE = struct.Struct("<I")
_LEN_FLOAT = struct.Struct(">id")
# EWKB type flags: Z, M, SRID (PostGIS liblwgeom/lwgeom_api: WKBZOFFSET, WKBMOFFSET, WKBSRIDFLAG).
_EWKB_FLAGS = 0xE0000000
_EWKB_SRID = 0x20000000
# WKB types of single geometries and their Multi* types: Polygon, LineString.
_MULTI = {3: 6, 2: 5}
# Field-length prefixes by length: a few distinct lengths repeat across a whole column.
_PREFIXES: dict[int, bytes] = {}


def _prefix(n: int) -> bytes:
    p = _PREFIXES.get(n)
    if p is None:
        p = _PREFIXES[n] = _INT.pack(n)
    return p


# Prefixes of the lengths text fields have, by list index (faster than a call per value).
_SHORT = [_INT.pack(n) for n in range(4096)]


def text_field(values: Sequence[str | None]) -> list[bytes]:
    """Encode a text column (UTF-8)."""
    short = _SHORT
    out: list[bytes] = []
    append = out.append
    for v in values:
        if v is None:
            append(NULL)
        else:
            b = v.encode("utf-8")
            n = len(b)
            append((short[n] if n < 4096 else _prefix(n)) + b)
    return out


def float_field(values: Sequence[float | None]) -> list[bytes]:
    """Encode a float8 column (None is NULL)."""
    pack = _LEN_FLOAT.pack
    return [NULL if v is None else pack(8, v) for v in values]


def jsonb_field(values: Sequence[str]) -> list[bytes]:
    """Encode a jsonb column from JSON text (binary jsonb is a version byte and the text)."""
    out: list[bytes] = []
    for v in values:
        b = v.encode("utf-8")
        out.append(_prefix(len(b) + 1) + b"\x01" + b)
    return out


def ewkb_field(geoms: NDArray[np.object_], srid: int) -> list[bytes]:
    """Encode a geometry column as little-endian EWKB carrying the SRID, single polygons and
    lines as one-part Multi* (the columns are MultiPolygon or MultiLineString).

    The SRID goes into each WKB header here: shapely's own way (set_srid, then to_wkb with
    include_srid) copies every geometry first. A one-part Multi* is its header, a count of 1
    and the single geometry's own WKB (OGC 06-103r4, 8.2)."""
    heads: dict[bytes, tuple[bytes, bool]] = {}
    out: list[bytes] = []
    for wkb in shapely.to_wkb(geoms, byte_order=1):
        head = wkb[:5]
        known = heads.get(head)
        if known is None:
            known = heads[head] = _ewkb_head(head, srid)
        new, wrap = known
        if wrap:
            out.append(_prefix(len(wkb) + 13) + new + wkb)
        else:
            out.append(_prefix(len(wkb) + 4) + new + wkb[5:])
    return out


def _ewkb_head(head: bytes, srid: int) -> tuple[bytes, bool]:
    """Return the EWKB header (with the count of parts for a wrapped single) for a WKB header,
    and whether the geometry gets wrapped."""
    kind = int.from_bytes(head[1:5], "little")
    if head[0] != 1 or kind & _EWKB_FLAGS:
        raise ValueError(f"unexpected WKB header {head.hex()}")
    multi = _MULTI.get(kind)
    new = b"\x01" + _INT_LE.pack((multi or kind) | _EWKB_SRID) + _INT_LE.pack(srid)
    return (new + _INT_LE.pack(1), True) if multi else (new, False)


def constant_int(value: int, n: int) -> list[bytes]:
    """Encode an int4 column holding one value."""
    return [_prefix(4) + _INT.pack(value)] * n


def payload(columns: Sequence[Sequence[bytes]], rows: Sequence[int] | None = None) -> bytes:
    """Join encoded columns into a COPY binary payload (only ``rows``, in order, if given)."""
    if rows is not None:
        columns = [[col[i] for i in rows] for col in columns]
    n = len(columns[0]) if columns else 0
    count = repeat(struct.pack(">h", len(columns)), n)
    body = b"".join(chain.from_iterable(zip(count, *columns, strict=True)))
    return b"".join((HEADER, body, TRAILER))


def finite_or_none(values: Sequence[Any], parse: Callable[[Any], float | None]) -> list[Any]:
    """Apply ``parse`` to each value, with a fast path for plain finite floats."""
    out: list[Any] = []
    for v in values:
        if type(v) is float and math.isfinite(v):
            out.append(v)
        else:
            out.append(parse(v))
    return out
