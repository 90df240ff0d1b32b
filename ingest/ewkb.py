"""Write geometry columns as COPY fields of EWKB straight from coordinate arrays.

A batch's geometries are taken apart once (their parts, rings and coordinates) and both
geometry columns, lon/lat and the revision's metric plane, are written with numpy into one
buffer each: the layout (length prefixes, headers, counts) is the same for both and only the
coordinates differ. So the lon/lat geometries are never made as shapely objects: the native
coordinates are reprojected as one array, and the bounds the checks need come from the same
array.

Every geometry is written as little-endian EWKB with its SRID, and as a Multi* (a single
polygon or line is a one-part Multi*): the bytes of ``ST_AsEWKB`` of a MultiPolygon or
MultiLineString (OGC 06-103r4, 8.2; PostGIS liblwgeom for the SRID flag).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

_SRID_FLAG = 0x20000000
_MULTIPOLYGON, _POLYGON = 6, 3
_MULTILINESTRING, _LINESTRING = 5, 2
_I64 = np.int64


@dataclass
class Parts:
    """The structure of a batch of polygonal or linear geometries, and their coordinates.

    Polygons: geometry → polygon → ring → coordinate offsets; lines: geometry → line →
    coordinate offsets (``rings`` is None)."""

    family: str
    geoms: NDArray[np.int64]  # offsets of each geometry's parts
    rings: NDArray[np.int64] | None  # offsets of each polygon's rings
    points: NDArray[np.int64]  # offsets of each ring's (or line's) coordinates
    coords: NDArray[np.float64]  # (n, 2)


def parts(geoms: NDArray[np.object_], family: str) -> Parts:
    """Take a batch of 2D polygons or multipolygons (lines or multilines) apart."""
    n = len(geoms)
    if family == "polygon" and n:
        types = shapely.get_type_id(geoms)
        if (types == _POLYGON).all() and not shapely.get_num_interior_rings(geoms).any():
            # Single rings (almost every parcel and zone): no part or ring objects are made.
            counts = shapely.get_num_coordinates(geoms)
            one = np.arange(n + 1, dtype=_I64)
            return Parts(family, one, one, _offsets(counts), shapely.get_coordinates(geoms))
    if not n:
        empty = np.zeros(1, dtype=_I64)
        return Parts(family, empty, empty if family == "polygon" else None, empty, _no_coords())
    kind, coords, offsets = shapely.to_ragged_array(geoms, include_z=False)
    arrays = [np.asarray(o, dtype=_I64) for o in offsets]
    if kind == shapely.GeometryType.POLYGON:
        return Parts(family, np.arange(n + 1, dtype=_I64), arrays[1], arrays[0], coords)
    if kind == shapely.GeometryType.MULTIPOLYGON:
        return Parts(family, arrays[2], arrays[1], arrays[0], coords)
    if kind == shapely.GeometryType.LINESTRING:
        return Parts(family, np.arange(n + 1, dtype=_I64), None, arrays[0], coords)
    if kind == shapely.GeometryType.MULTILINESTRING:
        return Parts(family, arrays[1], None, arrays[0], coords)
    raise ValueError(f"unexpected geometry type {kind!r} in a {family} layer")


def geometries(p: Parts, coords: NDArray[np.float64]) -> NDArray[np.object_]:
    """Return the Multi* geometries of these parts with other coordinates (a reprojection of
    theirs), made by shapely from the arrays in one call."""
    if len(p.geoms) <= 1:
        return np.zeros(0, dtype=object)
    offsets: tuple[NDArray[np.int64], ...]
    if p.rings is not None:
        kind, offsets = shapely.GeometryType.MULTIPOLYGON, (p.points, p.rings, p.geoms)
    else:
        kind, offsets = shapely.GeometryType.MULTILINESTRING, (p.points, p.geoms)
    return np.asarray(shapely.from_ragged_array(kind, coords, offsets), dtype=object)


def _offsets(counts: NDArray[np.integer]) -> NDArray[np.int64]:
    out = np.zeros(len(counts) + 1, dtype=_I64)
    np.cumsum(counts, out=out[1:])
    return out


def _no_coords() -> NDArray[np.float64]:
    return np.zeros((0, 2), dtype=np.float64)


def reproject(p: Parts, transformer: Transformer) -> NDArray[np.float64]:
    """Return the coordinates transformed (one PROJ call; a ring's closing point, equal to its
    first, is copied rather than transformed again)."""
    coords = p.coords
    if not len(coords):
        return _no_coords()
    last = p.points[1:] - 1
    first = p.points[:-1]
    if p.family == "polygon" and np.array_equal(coords[first], coords[last]):
        todo = np.ones(len(coords), dtype=bool)
        todo[last] = False
        x, y = transformer.transform(coords[todo, 0], coords[todo, 1])
        out = np.empty_like(coords)
        out[todo, 0] = x
        out[todo, 1] = y
        out[last] = out[first]
        return out
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])


def bounds(p: Parts, coords: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return each geometry's (xmin, ymin, xmax, ymax) from its coordinates."""
    n = len(p.geoms) - 1
    if not n:
        return np.zeros((0, 4))
    # Each geometry's first coordinate: through its first part (and that part's first ring).
    first_part = p.geoms[:-1]
    first_line = first_part if p.rings is None else p.rings[first_part]
    start = p.points[first_line]
    out = np.empty((n, 4))
    for axis in (0, 1):
        out[:, axis] = np.fmin.reduceat(coords[:, axis], start)
        out[:, axis + 2] = np.fmax.reduceat(coords[:, axis], start)
    return out


class Layout:
    """Where each header, count and coordinate of a batch's EWKB COPY fields goes."""

    def __init__(self, p: Parts) -> None:
        self.parts = p
        n_geoms = len(p.geoms) - 1
        n_lines = len(p.points) - 1
        points_per_line = np.diff(p.points)
        # A ring (or a line) is its count (and, for a line, a 5-byte header) and its points.
        line_head = 4 if p.rings is not None else 9
        line_size = line_head + 16 * points_per_line
        if p.rings is not None:
            n_polys = len(p.rings) - 1
            line_poly = np.repeat(np.arange(n_polys, dtype=_I64), np.diff(p.rings))
            poly_size = 9 + np.bincount(line_poly, weights=line_size, minlength=n_polys)
            part_size = poly_size.astype(_I64)
        else:
            part_size = line_size
        part_geom = np.repeat(np.arange(n_geoms, dtype=_I64), np.diff(p.geoms))
        # Each field: a 4-byte length, then the Multi* header (13 bytes) and its parts.
        geom_size = 13 + np.bincount(part_geom, weights=part_size, minlength=n_geoms).astype(_I64)
        field_start = _offsets(4 + geom_size)
        self.field_offsets = field_start
        self.size = int(field_start[-1])
        part_start = field_start[:-1][part_geom] + 17 + _within(part_size, p.geoms)
        if p.rings is not None:
            line_start = part_start[line_poly] + 9 + _within(line_size, p.rings)
        else:
            line_start = part_start
        head = np.zeros(self.size, dtype=np.uint8)
        starts = field_start[:-1]
        multi = _MULTIPOLYGON if p.rings is not None else _MULTILINESTRING
        _put_u32(head, starts, geom_size, big=True)
        head[starts + 4] = 1
        _put_u32(head, starts + 5, np.full(n_geoms, multi | _SRID_FLAG))
        self._srid_at = starts + 9
        _put_u32(head, starts + 13, np.diff(p.geoms))
        if p.rings is not None:
            head[part_start] = 1
            _put_u32(head, part_start + 1, np.full(len(part_start), _POLYGON))
            _put_u32(head, part_start + 5, np.diff(p.rings))
            _put_u32(head, line_start, points_per_line)
        else:
            head[line_start] = 1
            _put_u32(head, line_start + 1, np.full(n_lines, _LINESTRING))
            _put_u32(head, line_start + 5, points_per_line)
        self.head = head
        # Byte index of each coordinate pair's 16 bytes.
        point_line = np.repeat(np.arange(n_lines, dtype=_I64), points_per_line)
        first = (line_start + line_head) - 16 * p.points[:-1]
        point_start = first[point_line] + 16 * np.arange(len(p.coords), dtype=_I64)
        self.coord_bytes = (point_start[:, None] + np.arange(16, dtype=_I64)).ravel()

    def field(self, coords: NDArray[np.float64], srid: int) -> pa.Array:
        """Return the COPY fields (length and EWKB) of the geometries with these coordinates
        (the native ones or their reprojection) in this SRID."""
        buf = self.head.copy()
        _put_u32(buf, self._srid_at, np.full(len(self._srid_at), srid))
        buf[self.coord_bytes] = np.ascontiguousarray(coords, dtype="<f8").view(np.uint8).ravel()
        n = len(self.field_offsets) - 1
        return pa.Array.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(self.field_offsets), pa.py_buffer(buf)]
        )


def _within(sizes: NDArray[np.integer], groups: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return each item's offset inside its group (groups: offsets of consecutive items)."""
    start = _offsets(sizes)
    counts = np.diff(groups)
    return start[:-1] - np.repeat(start[groups[:-1]], counts)


def _put_u32(
    buf: NDArray[np.uint8], at: NDArray[np.int64], values: NDArray[Any], big: bool = False
) -> None:
    """Write 4-byte unsigned integers at byte positions (little-endian unless big)."""
    if not len(at):
        return
    raw = np.ascontiguousarray(values, dtype=">u4" if big else "<u4").view(np.uint8)
    buf[(at[:, None] + np.arange(4, dtype=_I64)).ravel()] = raw
