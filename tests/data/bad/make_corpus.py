#!/usr/bin/env python3
"""Write the corpus of malformed ingest inputs in this folder (issue 6), deterministically.

    python tests/data/bad/make_corpus.py [--out DIR]

Standard library only: shapefiles, dBASE tables and zip archives are written byte by byte, so
the same bytes come out on every machine (no writer dates, no GDAL version in the files). The
files are committed; tests/ingest/test_bad_corpus.py reads them and `manifest.json`, which this
script also writes together with README.md (the table of cases)."""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Huế Citadel in VN-2000 / TM-3 107° (EPSG:9214), the origin of every drawing.
X0, Y0 = 561_475.812, 1_821_649.834
PRJ_HUE = (
    'PROJCS["VN-2000_TM-3_107-00",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",107.0],PARAMETER["Scale_Factor",0.9999],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
# California's UTM zone: a real projection, half a world away from Vietnam.
PRJ_NAD83_UTM10 = (
    'PROJCS["NAD_1983_UTM_Zone_10N",GEOGCS["GCS_North_American_1983",'
    'DATUM["D_North_American_1983",SPHEROID["GRS_1980",6378137.0,298.257222101]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",-123.0],'
    'PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
ZIP_DATE = (2025, 1, 1, 0, 0, 0)

Ring = Sequence[tuple[float, ...]]
Shape = list[Ring] | None  # a polygon's rings (or a line's parts, or [[point]]); None: null

NULL, POINT, POLYLINE, POLYGON, POLYGONZ, POLYGONM = 0, 1, 3, 5, 15, 25


# --- geometry ---------------------------------------------------------------------------------
def square(i: int, size: float = 100.0, z: float | None = None) -> list[tuple[float, ...]]:
    """The i-th 100 m lot east of the Citadel, clockwise (the shapefile's outer-ring order)."""
    x, y = X0 + i * size, Y0
    pts = [(x, y), (x, y + size), (x + size, y + size), (x + size, y), (x, y)]
    if z is None:
        return pts
    return [(*p, z + k % 4) for k, p in enumerate(pts)]  # the last vertex repeats the first


def good_polygons(n: int) -> list[Shape]:
    return [[square(i)] for i in range(n)]


# --- shapefile writer -------------------------------------------------------------------------
def _bbox(shapes: Sequence[Shape]) -> tuple[float, float, float, float]:
    xs = [p[0] for s in shapes if s for r in s for p in r if math.isfinite(p[0])]
    ys = [p[1] for s in shapes if s for r in s for p in r if math.isfinite(p[1])]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    return (min(xs), min(ys), max(xs), max(ys))


def _record(shape_type: int, shape: Shape) -> bytes:
    if shape is None:
        return struct.pack("<i", NULL)
    if shape_type == POINT:
        x, y = shape[0][0][:2]
        return struct.pack("<idd", POINT, x, y)
    points = [p for ring in shape for p in ring]
    parts, start = [], 0
    for ring in shape:
        parts.append(start)
        start += len(ring)
    box = _bbox([shape])
    out = struct.pack("<i4d2i", shape_type, *box, len(parts), len(points))
    out += struct.pack(f"<{len(parts)}i", *parts)
    out += b"".join(struct.pack("<2d", p[0], p[1]) for p in points)
    if shape_type in (POLYGONZ, POLYGONM):
        extra = [p[2] for p in points]
        out += struct.pack("<2d", min(extra), max(extra))
        out += struct.pack(f"<{len(extra)}d", *extra)
    return out


def _header(shape_type: int, words: int, box: tuple[float, float, float, float]) -> bytes:
    return (
        struct.pack(">7i", 9994, 0, 0, 0, 0, 0, words)
        + struct.pack("<2i", 1000, shape_type)
        + struct.pack("<4d", *box)
        + struct.pack("<4d", 0, 0, 0, 0)
    )


def shp_and_shx(
    shape_type: int, shapes: Sequence[Shape], header_type: int | None = None
) -> tuple[bytes, bytes]:
    """Return the .shp and .shx bytes of a layer (header_type: lie about the shape type)."""
    body, index, offset = b"", b"", 50
    for n, shape in enumerate(shapes, 1):
        content = _record(shape_type, shape)
        body += struct.pack(">2i", n, len(content) // 2) + content
        index += struct.pack(">2i", offset, len(content) // 2)
        offset += 4 + len(content) // 2
    box = _bbox(shapes)
    htype = shape_type if header_type is None else header_type
    shp = _header(htype, 50 + len(body) // 2, box) + body
    shx = _header(htype, 50 + len(index) // 2, box) + index
    return shp, shx


@dataclass
class Field:
    name: bytes
    kind: bytes = b"C"
    size: int = 40
    decimals: int = 0


LOT_FIELDS = [
    Field(b"kyHieuLo", b"C", 20),
    Field(b"chucNang", b"C", 60),
    Field(b"matDo", b"N", 8, 2),
]


def lot_rows(n: int) -> list[list[bytes]]:
    functions = [b"Dat o lien ke", b"Dat cay xanh", b"Dat giao duc"]
    return [[f"LO-{i + 1:02d}".encode(), functions[i % 3], b"60.00"] for i in range(n)]


def dbf(
    fields: Sequence[Field], rows: Sequence[Sequence[bytes]], declared: int | None = None
) -> bytes:
    """Return a dBASE III table (declared: the record count the header claims)."""
    size = 1 + sum(f.size for f in fields)
    head_len = 32 + 32 * len(fields) + 1
    count = len(rows) if declared is None else declared
    out = struct.pack("<4BIHH20x", 0x03, 125, 1, 1, count, head_len, size)
    for f in fields:
        out += struct.pack("<11sc4xBB14x", f.name[:10], f.kind, f.size, f.decimals)
    out += b"\r"
    for row in rows:
        out += b" "
        for f, value in zip(fields, row, strict=True):
            cell = value[: f.size]
            out += cell.rjust(f.size) if f.kind == b"N" else cell.ljust(f.size)
    return out + b"\x1a"


@dataclass
class Written:
    """What one case wrote: the path given to the CLI and every file it consists of."""

    input: str
    files: list[str] = field(default_factory=list)


def write_shapefile(
    out: Path,
    stem: str,
    shapes: Sequence[Shape],
    shape_type: int = POLYGON,
    fields: Sequence[Field] = LOT_FIELDS,
    rows: Sequence[Sequence[bytes]] | None = None,
    prj: str | bytes | None = PRJ_HUE,
    cpg: str | None = None,
    tweak: Callable[[dict[str, bytes]], None] | None = None,
) -> Written:
    shp, shx = shp_and_shx(shape_type, shapes)
    parts = {
        ".shp": shp,
        ".shx": shx,
        ".dbf": dbf(fields, rows if rows is not None else lot_rows(len(shapes))),
    }
    if prj is not None:
        parts[".prj"] = prj.encode() if isinstance(prj, str) else prj
    if cpg is not None:
        parts[".cpg"] = cpg.encode()
    if tweak:
        tweak(parts)
    for ext, data in parts.items():
        (out / f"{stem}{ext}").write_bytes(data)
    return Written(f"{stem}.shp", sorted(f"{stem}{ext}" for ext in parts))


def shapefile_parts(stem: str, shapes: Sequence[Shape], **kw: Any) -> dict[str, bytes]:
    """A shapefile's parts in memory (for zips)."""
    shp, shx = shp_and_shx(kw.get("shape_type", POLYGON), shapes)
    return {
        f"{stem}.shp": shp,
        f"{stem}.shx": shx,
        f"{stem}.dbf": dbf(LOT_FIELDS, lot_rows(len(shapes))),
        f"{stem}.prj": PRJ_HUE.encode(),
    }


# --- zip writers ------------------------------------------------------------------------------
def write_zip(
    path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, level: int = 9
) -> None:
    """A plain archive with fixed dates and modes (so the bytes never change)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=level if method == zipfile.ZIP_DEFLATED else None)


@dataclass
class RawEntry:
    """A zip entry written by hand, so its headers can say anything."""

    name: bytes
    data: bytes  # the stored bytes (already compressed)
    method: int = 8
    crc: int = 0
    compress_size: int | None = None  # declared; None: len(data)
    file_size: int = 0  # declared
    flags: int = 0
    external_attr: int = 0o644 << 16
    offset: int | None = None  # point the central record at another entry's local header
    zip64: bool = False


def raw_zip(entries: Sequence[RawEntry]) -> bytes:
    """Assemble local headers, data, the central directory and its end record."""
    body = b""
    offsets: list[int] = []
    for e in entries:
        if e.offset is not None:
            offsets.append(e.offset)
            continue
        offsets.append(len(body))
        csize = len(e.data) if e.compress_size is None else e.compress_size
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if e.zip64 else (csize, e.file_size)
        extra = struct.pack("<HHQQ", 1, 16, e.file_size, csize) if e.zip64 else b""
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45 if e.zip64 else 20,
            e.flags,
            e.method,
            0,
            0x5A21,
            e.crc,
            *sizes,
            len(e.name),
            len(extra),
        )
        body += e.name + extra + e.data
    central = b""
    for e, off in zip(entries, offsets, strict=True):
        csize = len(e.data) if e.compress_size is None else e.compress_size
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if e.zip64 else (csize, e.file_size)
        extra = struct.pack("<HHQQ", 1, 16, e.file_size, csize) if e.zip64 else b""
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            0x031E,
            45 if e.zip64 else 20,
            e.flags,
            e.method,
            0,
            0x5A21,
            e.crc,
            *sizes,
            len(e.name),
            len(extra),
            0,
            0,
            0,
            e.external_attr,
            off,
        )
        central += e.name + extra
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0
    )
    return body + central + end


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# --- GeoJSON ----------------------------------------------------------------------------------
def feature(geometry: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def polygon(ring: Sequence[Sequence[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def collection(features: list[dict[str, Any]], ascii_only: bool = True) -> str:
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9214"}}
    data = {"type": "FeatureCollection", "crs": crs, "features": features}
    return json.dumps(data, indent=1, ensure_ascii=ascii_only)


def lot(i: int, geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    geometry = geometry or polygon(square(i))
    return feature(geometry, kyHieuLo=f"LO-{i + 1:02d}", chucNang="Đất ở liền kề")


# --- the cases --------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    category: str
    wrong: str
    expect: dict[str, Any]
    build: Callable[[Path], Written]


CASES: list[Case] = []


def case(category: str, wrong: str, **expect: Any) -> Callable[[Callable[[Path], Written]], Any]:
    """Register a case: what is wrong with it and what the CLI must do with it.

    expect: exit=1|2 with fragments=[...] the one `error:` line must contain, or exit=0 with
    problems=[...] (report codes the load must record, warnings or notes)."""

    def deco(fn: Callable[[Path], Written]) -> Callable[[Path], Written]:
        CASES.append(Case(fn.__name__, category, wrong, expect, fn))
        return fn

    return deco


# Shapefiles ---------------------------------------------------------------------------------
@case(
    "shapefile",
    "`.shp` cut off in the middle of its second record",
    exit=1,
    fragments=["truncated"],
)
def shp_truncated(out: Path) -> Written:
    def cut(p: dict[str, bytes]) -> None:
        p[".shp"] = p[".shp"][:260]

    return write_shapefile(out, "shp_truncated", good_polygons(3), tweak=cut)


@case("shapefile", "0-byte `.shp`", exit=1, fragments=["no shapefile header"])
def shp_zero_bytes(out: Path) -> Written:
    def empty(p: dict[str, bytes]) -> None:
        p[".shp"] = b""

    return write_shapefile(out, "shp_zero_bytes", good_polygons(3), tweak=empty)


@case("shapefile", "shapefile without its `.shx` index", exit=1, fragments=[".shx", "missing"])
def shp_no_shx(out: Path) -> Written:
    def drop(p: dict[str, bytes]) -> None:
        del p[".shx"]

    return write_shapefile(out, "shp_no_shx", good_polygons(3), tweak=drop)


@case(
    "shapefile",
    "`.dbf` header claims 7 records, the table holds 3 (as many as the shapes)",
    exit=1,
    fragments=[".dbf", "7 records"],
)
def dbf_claims_more(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        p[".dbf"] = dbf(LOT_FIELDS, lot_rows(3), declared=7)

    return write_shapefile(out, "dbf_claims_more", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.dbf` header claims 2 records, the table holds 3 (as many as the shapes)",
    exit=1,
    fragments=["3 shapes", "2 records"],
)
def dbf_claims_fewer(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        p[".dbf"] = dbf(LOT_FIELDS, lot_rows(3), declared=2)

    return write_shapefile(out, "dbf_claims_fewer", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.dbf` holds 5 rows for 3 shapes (row counts disagree; each header is honest)",
    exit=1,
    fragments=["3 shapes", "5 records"],
)
def dbf_rows_disagree(out: Path) -> Written:
    return write_shapefile(out, "dbf_rows_disagree", good_polygons(3), rows=lot_rows(5))


@case(
    "shapefile",
    "`.dbf` header claims 4,294,967,295 records (a huge declared size)",
    exit=1,
    fragments=[".dbf", "4,294,967,295 records"],
)
def dbf_huge_record_count(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        p[".dbf"] = dbf(LOT_FIELDS, lot_rows(3), declared=0xFFFFFFFF)

    return write_shapefile(out, "dbf_huge_record_count", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.shp` header declares a 4 GB file (length field 0x7FFFFFFF words)",
    exit=1,
    fragments=["truncated"],
)
def shp_huge_declared_length(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        p[".shp"] = p[".shp"][:24] + struct.pack(">i", 0x7FFFFFFF) + p[".shp"][28:]

    return write_shapefile(out, "shp_huge_declared_length", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "a record claims 2,147,483,647 parts and points in a 100-byte record",
    exit=0,
    problems=["no_geometry"],
)
def shp_record_counts_lie(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        shp = bytearray(p[".shp"])
        # Record 2 starts after the header and record 1 (8 + 128 + 5*16 bytes of a square).
        rec2 = 100 + 8 + (4 + 32 + 8 + 4 + 5 * 16)
        struct.pack_into("<2i", shp, rec2 + 8 + 36, 0x7FFFFFFF, 0x7FFFFFFF)
        p[".shp"] = bytes(shp)

    return write_shapefile(out, "shp_record_counts_lie", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.shp` and `.shx` headers say Point, the records are polygons",
    exit=1,
    fragments=["Point", "polygons needed"],
)
def shp_header_says_point(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        for ext in (".shp", ".shx"):
            p[ext] = p[ext][:32] + struct.pack("<i", POINT) + p[ext][36:]

    return write_shapefile(out, "shp_header_says_point", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.shp` header shape type 77 (no such type)",
    exit=1,
    fragments=["shape type 77"],
)
def shp_bogus_shape_type(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        for ext in (".shp", ".shx"):
            p[ext] = p[ext][:32] + struct.pack("<i", 77) + p[ext][36:]

    return write_shapefile(out, "shp_bogus_shape_type", good_polygons(3), tweak=lie)


@case("shapefile", "a line shapefile given as zoning", exit=1, fragments=["polygons needed"])
def shp_polylines(out: Path) -> Written:
    lines = [[square(i)[:3]] for i in range(2)]
    return write_shapefile(out, "shp_polylines", lines, shape_type=POLYLINE)


@case(
    "shapefile",
    "every record is a null shape",
    exit=2,
    fragments=["no usable feature"],
)
def shp_all_null(out: Path) -> Written:
    return write_shapefile(out, "shp_all_null", [None, None, None])


@case(
    "shapefile",
    "`.shx` points the first record 20 MB past the end of the `.shp`",
    exit=0,
    problems=["no_geometry"],
)
def shx_offsets_lie(out: Path) -> Written:
    def lie(p: dict[str, bytes]) -> None:
        shx = bytearray(p[".shx"])
        struct.pack_into(">i", shx, 100, 10_000_000)
        p[".shx"] = bytes(shx)

    return write_shapefile(out, "shx_offsets_lie", good_polygons(3), tweak=lie)


@case(
    "shapefile",
    "`.dbf` with two fields of the same name",
    exit=1,
    fragments=["two fields are named 'KYHIEU'"],
)
def dbf_duplicate_field_names(out: Path) -> Written:
    fields = [Field(b"KYHIEU", b"C", 20), Field(b"KYHIEU", b"C", 20), Field(b"chucNang", b"C", 20)]
    rows = [[b"LO-01", b"LO-1", b"Dat o"], [b"LO-02", b"LO-2", b"Dat o"]]
    return write_shapefile(
        out, "dbf_duplicate_field_names", good_polygons(2), fields=fields, rows=rows
    )


@case(
    "shapefile",
    "`.dbf` numbers and dates that are not numbers or dates ('abc', '-', 20241399)",
    exit=0,
    problems=["read_remarks"],
)
def dbf_garbage_values(out: Path) -> Written:
    fields = [Field(b"kyHieuLo", b"C", 20), Field(b"ngay", b"D", 8), Field(b"matDo", b"N", 8, 2)]
    rows = [
        [b"LO-01", b"99999999", b"abc"],
        [b"LO-02", b"20241399", b"-"],
        [b"LO-03", b" " * 8, b"60"],
    ]
    return write_shapefile(out, "dbf_garbage_values", good_polygons(3), fields=fields, rows=rows)


# Coordinate systems -------------------------------------------------------------------------
@case(
    "crs",
    "`.prj` that is garbage (binary noise and words)",
    exit=1,
    fragments=["no coordinate system", ".prj is not one GDAL can read"],
)
def prj_garbage(out: Path) -> Written:
    noise = b"this is not a projection \x00\xff\xfe" + bytes(range(1, 60))
    return write_shapefile(out, "prj_garbage", good_polygons(2), prj=noise)


@case(
    "crs",
    "`.prj` says NAD83 / UTM zone 10N (California) for coordinates drawn in VN-2000",
    exit=1,
    fragments=["outside the service area"],
)
def prj_far_away(out: Path) -> Written:
    return write_shapefile(out, "prj_far_away", good_polygons(2), prj=PRJ_NAD83_UTM10)


@case(
    "crs",
    "`.prj` that is WKT gone wrong (cut off: unbalanced brackets)",
    exit=1,
    fragments=[".prj is not a coordinate system"],
)
def prj_broken_wkt(out: Path) -> Written:
    return write_shapefile(out, "prj_broken_wkt", good_polygons(2), prj=PRJ_HUE[:150])


# Coordinates and rings ----------------------------------------------------------------------
@case(
    "geometry",
    "polygons with a NaN vertex and an infinite vertex (next to a good one)",
    exit=0,
    problems=["bad_coordinates"],
)
def coords_nan_inf(out: Path) -> Written:
    nan_ring = square(1)
    nan_ring[2] = (math.nan, nan_ring[2][1])
    inf_ring = square(2)
    inf_ring[1] = (inf_ring[1][0], math.inf)
    return write_shapefile(out, "coords_nan_inf", [[square(0)], [nan_ring], [inf_ring]])


@case(
    "geometry",
    "polygons with ±1e308 coordinates (next to a good one)",
    exit=0,
    problems=["bad_coordinates"],
)
def coords_1e308(out: Path) -> Written:
    big = square(1)
    big[2] = (1e308, big[2][1])
    small = square(2)
    small[1] = (small[1][0], -1e308)
    return write_shapefile(out, "coords_1e308", [[square(0)], [big], [small]])


@case("geometry", "only polygon is all ±1e308", exit=2, fragments=["no usable feature"])
def coords_only_1e308(out: Path) -> Written:
    ring = [(1e308, 1e308), (1e308, -1e308), (-1e308, -1e308), (-1e308, 1e308), (1e308, 1e308)]
    return write_shapefile(out, "coords_only_1e308", [[ring]])


@case(
    "geometry",
    "bow-tie (self-intersecting) polygon next to a good one",
    exit=0,
    problems=["repaired"],
)
def ring_bowtie(out: Path) -> Written:
    x, y = X0 + 100, Y0
    bowtie = [(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100), (x, y)]
    return write_shapefile(out, "ring_bowtie", [[square(0)], [bowtie]])


@case(
    "geometry",
    "zero-area ring (all vertices on one line) next to a good polygon",
    exit=0,
    problems=["empty"],
)
def ring_zero_area(out: Path) -> Written:
    x, y = X0 + 100, Y0
    flat = [(x, y), (x + 50, y), (x + 100, y), (x + 50, y), (x, y)]
    return write_shapefile(out, "ring_zero_area", [[square(0)], [flat]])


@case(
    "geometry",
    "polygon whose vertices are all the same point (duplicate vertices only)",
    exit=0,
    problems=["empty"],
)
def ring_duplicate_vertices(out: Path) -> Written:
    x, y = X0 + 150, Y0 + 50
    return write_shapefile(out, "ring_duplicate_vertices", [[square(0)], [[(x, y)] * 5]])


@case(
    "geometry",
    "PolygonZ shapefile (3D)",
    exit=0,
    problems=["z_dropped"],
)
def shp_polygon_z(out: Path) -> Written:
    shapes = [[square(i, z=12.5)] for i in range(2)]
    return write_shapefile(out, "shp_polygon_z", shapes, shape_type=POLYGONZ)


@case(
    "geometry",
    "PolygonM shapefile (measured)",
    exit=0,
    problems=["m_dropped"],
)
def shp_polygon_m(out: Path) -> Written:
    shapes = [[square(i, z=0.0)] for i in range(2)]
    return write_shapefile(out, "shp_polygon_m", shapes, shape_type=POLYGONM)


# Text ---------------------------------------------------------------------------------------
@case(
    "text",
    "field names in TCVN3 bytes (TênLô, ChứcNăng, MậtĐộ), no `.cpg`",
    exit=0,
    problems=["field_names"],
)
def names_tcvn3(out: Path) -> Written:
    fields = [
        Field(b"T\xaanL\xab", b"C", 20),
        Field(b"Ch\xf8cN\xa8ng", b"C", 60),
        Field(b"M\xcbt\xa7\xe9", b"N", 8, 2),
    ]
    return write_shapefile(out, "names_tcvn3", good_polygons(2), fields=fields)


@case(
    "text",
    "field names in cp1258 bytes (TênLô, ChứcNăng, MậtĐộ), no `.cpg`",
    exit=0,
    problems=["field_names"],
)
def names_cp1258(out: Path) -> Written:
    fields = [
        Field(b"T\xeanL\xf4", b"C", 20),
        Field(b"Ch\xfd\xeccN\xe3ng", b"C", 60),
        Field(b"M\xe2\xf2t\xd0\xf4\xf2", b"N", 8, 2),
    ]
    return write_shapefile(out, "names_cp1258", good_polygons(2), fields=fields)


@case(
    "text",
    "field names that are invalid UTF-8 although the `.cpg` says UTF-8",
    exit=0,
    problems=["field_names"],
)
def names_bad_utf8_cpg(out: Path) -> Written:
    fields = [
        Field(b"T\xeanL\xf4", b"C", 20),
        Field(b"\xff\xfe\xfd", b"C", 20),
        Field(b"matDo", b"N", 8, 2),
    ]
    return write_shapefile(out, "names_bad_utf8_cpg", good_polygons(2), fields=fields, cpg="UTF-8")


@case("text", "254-byte text values (the dBASE maximum) in every row", exit=0, problems=[])
def long_values(out: Path) -> Written:
    fields = [Field(b"kyHieuLo", b"C", 20), Field(b"ghiChu", b"C", 254)]
    text = ("Đất ở liền kề, mật độ xây dựng tối đa 60%; " * 8).encode("utf-8")[:254]
    text = text.decode("utf-8", errors="ignore").encode("utf-8")
    rows = [[b"LO-01", text], [b"LO-02", text]]
    return write_shapefile(
        out, "long_values", good_polygons(2), fields=fields, rows=rows, cpg="UTF-8"
    )


# GeoJSON ------------------------------------------------------------------------------------
def write_text(out: Path, name: str, text: str | bytes) -> Written:
    (out / name).write_bytes(text.encode() if isinstance(text, str) else text)
    return Written(name, [name])


@case("geojson", "`.geojson` that is not JSON", exit=1, fragments=["cannot be read"])
def geojson_not_json(out: Path) -> Written:
    return write_text(out, "geojson_not_json.geojson", "ceci n'est pas du JSON { [ ,\n")


@case(
    "geojson",
    "a FeatureCollection of points",
    exit=1,
    fragments=["Point", "polygons needed"],
)
def geojson_points(out: Path) -> Written:
    pts = [feature({"type": "Point", "coordinates": [X0 + i, Y0]}, n=i) for i in range(3)]
    return write_text(out, "geojson_points.geojson", collection(pts))


@case(
    "geojson",
    "Polygon, LineString and Point features in one layer",
    exit=0,
    problems=["wrong_geometry_type"],
)
def geojson_mixed(out: Path) -> Written:
    line = {"type": "LineString", "coordinates": [[X0, Y0 - 10], [X0 + 300, Y0 - 10]]}
    point = {"type": "Point", "coordinates": [X0 + 50, Y0 + 50]}
    feats = [lot(0), feature(line, kyHieuLo="DUONG"), feature(point, kyHieuLo="COT"), lot(1)]
    return write_text(out, "geojson_mixed.geojson", collection(feats))


@case(
    "geojson",
    "NaN and Infinity tokens (not JSON) and 1e308 / 1e999 in coordinates",
    exit=0,
    problems=["bad_coordinates"],
)
def geojson_nan_inf(out: Path) -> Written:
    body = collection([lot(0), lot(1), lot(2), lot(3)])
    ring = [
        [X0 + 100, Y0],
        [X0 + 100, Y0 + 100],
        [X0 + 200, Y0 + 100],
        [X0 + 200, Y0],
        [X0 + 100, Y0],
    ]
    text = body.replace(json.dumps(ring[2][0]), "NaN", 1)
    text = text.replace(json.dumps(X0 + 300), "Infinity", 1)
    text = text.replace(json.dumps(X0 + 400), "1e308", 1)
    return write_text(out, "geojson_nan_inf.geojson", text)


@case("geojson", "polygons with Z coordinates", exit=0, problems=["z_dropped"])
def geojson_3d(out: Path) -> Written:
    return write_text(
        out, "geojson_3d.geojson", collection([lot(i, polygon(square(i, z=5.0))) for i in range(2)])
    )


# "Đất ở liền kề", "Đất cây xanh" in cp1258 (decomposed tones), as a legacy tool would write them.
CP1258_FUNCTIONS = [b"\xd0\xe2\xect \xf5\xd2 li\xea\xccn k\xea\xcc", b"\xd0\xe2\xect c\xe2y xanh"]


@case(
    "text",
    "GeoJSON whose text values are cp1258 bytes (invalid UTF-8)",
    exit=0,
    problems=[],
)
def geojson_values_cp1258(out: Path) -> Written:
    feats = [lot(0), lot(1)]
    feats[1]["properties"]["chucNang"] = "@@1@@"
    text = collection(feats, ascii_only=False).encode("utf-8")
    text = text.replace("Đất ở liền kề".encode(), CP1258_FUNCTIONS[0])
    text = text.replace(b"@@1@@", CP1258_FUNCTIONS[1])
    return write_text(out, "geojson_values_cp1258.geojson", text)


@case(
    "text",
    "GeoJSON whose property names are cp1258 bytes (invalid UTF-8)",
    exit=1,
    fragments=["a field name holds text that is not UTF-8"],
)
def geojson_names_cp1258(out: Path) -> Written:
    text = collection([lot(0), lot(1)]).encode("utf-8")
    text = text.replace(b'"chucNang"', b'"Ch\xfd\xeccN\xe3ng"')
    return write_text(out, "geojson_names_cp1258.geojson", text)


@case(
    "text",
    "GeoJSON list property holding cp1258 bytes (invalid UTF-8)",
    exit=1,
    fragments=["not UTF-8"],
)
def geojson_list_cp1258(out: Path) -> Written:
    feats = [lot(0), lot(1)]
    feats[0]["properties"]["tags"] = ["@@0@@", "x"]
    feats[1]["properties"]["tags"] = ["y"]
    text = collection(feats).encode("utf-8").replace(b"@@0@@", CP1258_FUNCTIONS[1])
    return write_text(out, "geojson_list_cp1258.geojson", text)


@case(
    "geometry",
    "rings not closed (closed and kept), of 2 points (collapses: dropped), of 1 point (unreadable)",
    exit=0,
    problems=["repaired", "empty", "unreadable_geometry"],
)
def geojson_bad_rings(out: Path) -> Written:
    open_ring = square(1)[:4]
    short = square(2)[:2]
    single = square(3)[:1]
    feats = [lot(0), lot(1, polygon(open_ring)), lot(2, polygon(short)), lot(3, polygon(single))]
    return write_text(out, "geojson_bad_rings.geojson", collection(feats))


@case("geojson", "arrays nested 50,000 deep", exit=1, fragments=["cannot be read"])
def geojson_deep_nesting(out: Path) -> Written:
    depth = 50_000
    text = '{"type": "FeatureCollection", "features": [' + "[" * depth + "]" * depth + "]}"
    return write_text(out, "geojson_deep_nesting.geojson", text)


@case(
    "geojson",
    "properties named `wkb_geometry`, `geometry`, `fid`, `OGC_FID` and `` (the reader's own names)",
    exit=0,
    problems=[],
)
def geojson_reserved_names(out: Path) -> Written:
    feats = [lot(0), lot(1)]
    for f in feats:
        f["properties"].update(
            {"wkb_geometry": "x", "geometry": "y", "fid": "z", "OGC_FID": 5, "": "?"}
        )
    return write_text(out, "geojson_reserved_names.geojson", collection(feats))


@case("geojson", "an empty FeatureCollection", exit=1, fragments=["is empty"])
def geojson_empty(out: Path) -> Written:
    return write_text(out, "geojson_empty.geojson", '{"type": "FeatureCollection", "features": []}')


@case("geojson", "a 30,000-character property value", exit=0, problems=[])
def geojson_long_value(out: Path) -> Written:
    feats = [lot(0), lot(1)]
    feats[0]["properties"]["ghiChu"] = "Đất ở liền kề. " * 2_000
    return write_text(out, "geojson_long_value.geojson", collection(feats))


# Other formats ------------------------------------------------------------------------------
@case("format", "a `.gpkg` that is really a text file", exit=1, fragments=["cannot be read"])
def gpkg_text(out: Path) -> Written:
    return write_text(out, "gpkg_text.gpkg", "SQLite format 3? No: just a note about lot LO-01.\n")


@case(
    "format",
    "a `.gdb` folder holding garbage files named like a geodatabase's",
    exit=1,
    fragments=["cannot be read as GIS data"],
)
def gdb_garbage(out: Path) -> Written:
    gdb = out / "gdb_garbage.gdb"
    gdb.mkdir()
    rng = random.Random(6)
    names = ["gdb", "timestamps", "a00000001.gdbtable", "a00000001.gdbtablx", "a00000009.gdbtable"]
    for i, name in enumerate(names):
        data = bytes(rng.randrange(256) for _ in range(300 + 40 * i))
        if name.endswith(".gdbtable"):
            data = struct.pack("<4i", 3, 1, 0x7FFFFFFF, 0) + data  # a header with absurd sizes
        (gdb / name).write_bytes(data)
    return Written("gdb_garbage.gdb", sorted(f"gdb_garbage.gdb/{n}" for n in names))


@case(
    "format",
    "a FlatGeobuf whose header declares a 4 GB header",
    exit=1,
    fragments=["holds no layer"],
)
def fgb_huge_header(out: Path) -> Written:
    return write_text(
        out, "fgb_huge_header.fgb", b"fgb\x03fgb\x00" + struct.pack("<I", 0xFFFFFFF0) + b"\x00" * 64
    )


@case(
    "format",
    "a GML file: GDAL writes a `.gfs` schema beside it unless told not to",
    exit=0,
    problems=[],
)
def gml_plain(out: Path) -> Written:
    x, y = X0, Y0
    coords = f"{x},{y} {x},{y + 100} {x + 100},{y + 100} {x + 100},{y} {x},{y}"
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<ogr:FeatureCollection xmlns:ogr="http://ogr.maptools.org/" xmlns:gml="http://www.opengis.net/gml">
 <gml:featureMember>
  <ogr:lots fid="lots.0">
   <ogr:geometryProperty><gml:Polygon srsName="EPSG:9214"><gml:outerBoundaryIs><gml:LinearRing>
    <gml:coordinates>{coords}</gml:coordinates>
   </gml:LinearRing></gml:outerBoundaryIs></gml:Polygon></ogr:geometryProperty>
   <ogr:kyHieuLo>LO-01</ogr:kyHieuLo>
  </ogr:lots>
 </gml:featureMember>
</ogr:FeatureCollection>
"""
    return write_text(out, "gml_plain.gml", text)


# Zip archives -------------------------------------------------------------------------------
def zip_case(out: Path, name: str, members: dict[str, bytes], **kw: Any) -> Written:
    write_zip(out / name, members, **kw)
    return Written(name, [name])


@case("zip", "an empty zip archive (no entries)", exit=1, fragments=["no .gdb folder"])
def zip_empty(out: Path) -> Written:
    return zip_case(out, "zip_empty.zip", {})


@case("zip", "a zip holding only a `.txt`", exit=1, fragments=["no .gdb folder"])
def zip_only_txt(out: Path) -> Written:
    return zip_case(
        out, "zip_only_txt.zip", {"readme.txt": "Hồ sơ quy hoạch: xem bản giấy.\n".encode()}
    )


@case("zip", "a `.zip` that is text", exit=1, fragments=["not a zip"])
def zip_not_zip(out: Path) -> Written:
    return write_text(out, "zip_not_zip.zip", "PK? no: a note saved with the wrong name\n" * 3)


@case(
    "zip",
    "entries named `../../../zip_dotdot_escaped.shp` etc. (zip slip)",
    exit=1,
    fragments=["outside the archive"],
)
def zip_dotdot(out: Path) -> Written:
    parts = shapefile_parts("zip_dotdot_escaped", good_polygons(2))
    return zip_case(out, "zip_dotdot.zip", {f"../../../{n}": d for n, d in parts.items()})


@case(
    "zip",
    "entries with Windows `..\\..\\` paths",
    exit=1,
    fragments=["outside the archive"],
)
def zip_backslash_dotdot(out: Path) -> Written:
    parts = shapefile_parts("zip_backslash_escaped", good_polygons(2))
    return zip_case(out, "zip_backslash_dotdot.zip", {f"..\\..\\{n}": d for n, d in parts.items()})


@case(
    "zip",
    "entries with absolute paths (`/tmp/...`)",
    exit=1,
    fragments=["outside the archive"],
)
def zip_absolute(out: Path) -> Written:
    parts = shapefile_parts("planning_bad_corpus_absolute", good_polygons(2))
    return zip_case(out, "zip_absolute.zip", {f"/tmp/{n}": d for n, d in parts.items()})


@case("zip", "an entry on a Windows drive (`C:/...`)", exit=1, fragments=["outside the archive"])
def zip_drive_letter(out: Path) -> Written:
    parts = shapefile_parts("qh", good_polygons(2))
    return zip_case(out, "zip_drive_letter.zip", {f"C:/Temp/{n}": d for n, d in parts.items()})


@case("zip", "a zip holding two shapefiles", exit=1, fragments=["several datasets"])
def zip_two_datasets(out: Path) -> Written:
    parts = shapefile_parts("qh_a", good_polygons(2))
    parts.update(shapefile_parts("qh_b", good_polygons(3)))
    return zip_case(out, "zip_two_datasets.zip", parts)


@case(
    "zip",
    "a good shapefile zipped on macOS: `__MACOSX/._qh.shp` resource forks beside every part",
    exit=0,
    problems=[],
)
def zip_macos_junk(out: Path) -> Written:
    parts = shapefile_parts("qh_mac", good_polygons(2))
    fork = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 40
    junk = {f"__MACOSX/._{n}": fork for n in parts}
    return zip_case(out, "zip_macos_junk.zip", {**parts, **junk})


@case(
    "zip",
    "the `.shp` entry is a symbolic link to /etc/passwd",
    exit=1,
    fragments=["symbolic link"],
)
def zip_symlink(out: Path) -> Written:
    parts = shapefile_parts("qh", good_polygons(2))
    path = out / "zip_symlink.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in parts.items():
            info = zipfile.ZipInfo(n, ZIP_DATE)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            if n.endswith(".shp"):
                info.external_attr = (0o120777) << 16
                d = b"/etc/passwd"
            zf.writestr(info, d)
    return Written(path.name, [path.name])


@case(
    "zip",
    "a zip inside a zip (the inner one holds a good shapefile)",
    exit=1,
    fragments=["zip inside"],
)
def zip_nested(out: Path) -> Written:
    inner = out / "inner.zip"
    write_zip(inner, shapefile_parts("qh", good_polygons(2)))
    data = inner.read_bytes()
    inner.unlink()
    return zip_case(out, "zip_nested.zip", {"hoso/inner.zip": data})


@case("zip", "a shapefile in a zip without its `.shx`", exit=1, fragments=[".shx", "missing"])
def zip_shp_no_shx(out: Path) -> Written:
    parts = shapefile_parts("qh", good_polygons(2))
    del parts["qh.shx"]
    return zip_case(out, "zip_shp_no_shx.zip", parts)


@case(
    "zip",
    "zip bomb: 100 MB of zeros deflated to ~100 kB (ratio ~1000:1)",
    exit=1,
    fragments=["zip bomb"],
)
def zip_bomb_ratio(out: Path) -> Written:
    zeros = deflate(b"\0" * (100 * 1024 * 1024))
    entry = RawEntry(
        b"qh.geojson",
        zeros,
        crc=zlib.crc32(b"\0" * (100 * 1024 * 1024)),
        file_size=100 * 1024 * 1024,
    )
    (out / "zip_bomb_ratio.zip").write_bytes(raw_zip([entry]))
    return Written("zip_bomb_ratio.zip", ["zip_bomb_ratio.zip"])


@case(
    "zip",
    "zip bomb by overlap: 700 entries share one 8 MB deflated stream (7 GB, each under 200:1)",
    exit=1,
    fragments=["overlap"],
)
def zip_bomb_overlap(out: Path) -> Written:
    rng = random.Random(66)
    kernel = bytearray(8 * 1024 * 1024)
    for pos in range(0, len(kernel), 512):
        kernel[pos] = rng.randrange(1, 256)
    data = deflate(bytes(kernel))
    crc = zlib.crc32(kernel)
    first = RawEntry(b"qh.txt", data, crc=crc, file_size=len(kernel))
    copies = [
        RawEntry(b"qh.txt", data, crc=crc, file_size=len(kernel), offset=0) for _ in range(699)
    ]
    (out / "zip_bomb_overlap.zip").write_bytes(raw_zip([first, *copies]))
    return Written("zip_bomb_overlap.zip", ["zip_bomb_overlap.zip"])


@case(
    "zip",
    "headers declare 3 × 4 GB entries at 100:1 (12 GB; the archive is 325 bytes)",
    exit=1,
    fragments=["expands to 12.0 GB"],
)
def zip_huge_declared(out: Path) -> Written:
    entries = [
        RawEntry(
            f"qh{i}.txt".encode(),
            deflate(b"x" * 1000),
            file_size=4_000_000_000,
            compress_size=40_000_000,
        )
        for i in range(3)
    ]
    (out / "zip_huge_declared.zip").write_bytes(raw_zip(entries))
    return Written("zip_huge_declared.zip", ["zip_huge_declared.zip"])


@case(
    "zip",
    "Zip64 header declares a 1 TB entry stored in 300 bytes",
    exit=1,
    fragments=["zip bomb"],
)
def zip64_declared_terabyte(out: Path) -> Written:
    entry = RawEntry(b"qh.geojson", deflate(b"{}" * 500), file_size=1 << 40, zip64=True)
    (out / "zip64_declared_terabyte.zip").write_bytes(raw_zip([entry]))
    return Written("zip64_declared_terabyte.zip", ["zip64_declared_terabyte.zip"])


@case(
    "zip",
    "a `.kmz` (a zip GDAL opens by itself) whose doc.kml is 100 MB of spaces in ~100 kB",
    exit=1,
    fragments=["zip bomb"],
)
def kmz_bomb(out: Path) -> Written:
    head = b'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
    body = head + b"<Document>" + b" " * (100 * 1024 * 1024) + b"</Document></kml>"
    entry = RawEntry(b"doc.kml", deflate(body), crc=zlib.crc32(body), file_size=len(body))
    (out / "kmz_bomb.kmz").write_bytes(raw_zip([entry]))
    return Written("kmz_bomb.kmz", ["kmz_bomb.kmz"])


@case(
    "zip",
    "a zipped shapefile (`.shz`, which GDAL opens by itself) with `../../` entry names",
    exit=1,
    fragments=["outside the archive"],
)
def shz_dotdot(out: Path) -> Written:
    parts = shapefile_parts("qh", good_polygons(2))
    return zip_case(out, "shz_dotdot.shz", {f"../../{n}": d for n, d in parts.items()})


@case("zip", "an entry flagged as encrypted", exit=1, fragments=["cannot be unzipped"])
def zip_encrypted(out: Path) -> Written:
    body = b'{"type": "FeatureCollection", "features": []}'
    entry = RawEntry(
        b"qh.geojson", body, method=0, crc=zlib.crc32(body), file_size=len(body), flags=1
    )
    (out / "zip_encrypted.zip").write_bytes(raw_zip([entry]))
    return Written("zip_encrypted.zip", ["zip_encrypted.zip"])


@case(
    "zip",
    "an entry compressed with an unknown method (98, PPMd)",
    exit=1,
    fragments=["cannot be unzipped"],
)
def zip_unknown_method(out: Path) -> Written:
    body = b'{"type": "FeatureCollection", "features": []}'
    entry = RawEntry(b"qh.geojson", body, method=98, crc=zlib.crc32(body), file_size=len(body))
    (out / "zip_unknown_method.zip").write_bytes(raw_zip([entry]))
    return Written("zip_unknown_method.zip", ["zip_unknown_method.zip"])


@case(
    "zip",
    "an entry whose declared compressed size runs past the end of the archive",
    exit=1,
    fragments=["runs past the end"],
)
def zip_size_past_end(out: Path) -> Written:
    body = deflate(b"{}")
    entry = RawEntry(
        b"qh.geojson", body, crc=zlib.crc32(b"{}"), file_size=2, compress_size=50_000_000
    )
    (out / "zip_size_past_end.zip").write_bytes(raw_zip([entry]))
    return Written("zip_size_past_end.zip", ["zip_size_past_end.zip"])


# --- output -----------------------------------------------------------------------------------
def _expect_text(expect: dict[str, Any]) -> str:
    if expect["exit"] == 0:
        problems = ", ".join(f"`{p}`" for p in expect["problems"]) or "none"
        return f"loads (exit 0); report records: {problems}"
    frags = " + ".join(f"“{f}”" for f in expect["fragments"])
    return f"exit {expect['exit']}, `error: <path>: …` with {frags}"


# The report codes the table names, with the report's own words.
CODES = {
    "no_geometry": "warning: features without geometry dropped",
    "unreadable_geometry": "warning: features whose geometry cannot be read dropped",
    "bad_coordinates": "warning: features with NaN, infinite or absurd coordinates dropped",
    "wrong_geometry_type": "warning: features that are not polygons dropped",
    "repaired": "warning: invalid polygons repaired (self-intersections, bad rings)",
    "empty": "warning: empty or zero-area geometries dropped",
    "field_names": "warning: field names: encoding unclear, read as ... (or a note: decoded as)",
    "read_remarks": "warning: GDAL remarks while reading (a value it cannot parse is read as 0)",
    "z_dropped": "note: Z coordinates dropped (the service is 2D)",
    "m_dropped": "note: M values dropped",
}


def readme(cases: list[Case], written: dict[str, Written]) -> str:
    lines = [
        "# Malformed ingest inputs (issue 6)",
        "",
        "Every file here is broken on purpose. `planning ingest zoning FILE --plan BAD` must give",
        "one clean `error: FILE: …` line (exit 1, or exit 2 when the file was read but nothing in",
        "it can be published) or load what it can with warnings in the report (exit 0): never a",
        "traceback, a crash or a write outside the work folder.",
        "",
        "`make_corpus.py` writes every file (standard library only, byte by byte, so the output",
        "never changes); `manifest.json` holds the same table for",
        "`tests/ingest/test_bad_corpus.py`, which runs the real CLI on a copy of each case in a",
        "scratch folder. Regenerate with `python tests/data/bad/make_corpus.py`.",
        "",
        "Shapefile cases are several files with the same stem (`.shp`, `.shx`, `.dbf`, `.prj`...).",
        "",
        "| input | category | what is wrong | expected outcome |",
        "|---|---|---|---|",
    ]
    for c in cases:
        w = written[c.name]
        lines.append(f"| `{w.input}` | {c.category} | {c.wrong} | {_expect_text(c.expect)} |")
    lines += ["", "Report codes (`--json` prints them under `problems`):", ""]
    lines += [f"- `{code}`: {text}" for code, text in CODES.items()]
    lines.append("")
    return "\n".join(lines)


def build(out: Path) -> dict[str, Written]:
    out.mkdir(parents=True, exist_ok=True)
    # Remove what an earlier run wrote (as its manifest lists), nothing else.
    old = out / "manifest.json"
    if old.is_file():
        for case in json.loads(old.read_text(encoding="utf-8")).values():
            for rel in case["files"]:
                (out / rel).unlink(missing_ok=True)
            folder = out / case["input"]
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    written = {c.name: c.build(out) for c in CASES}
    manifest = {
        c.name: {
            "input": written[c.name].input,
            "files": written[c.name].files,
            "category": c.category,
            "wrong": c.wrong,
            **c.expect,
        }
        for c in CASES
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    (out / "README.md").write_text(readme(CASES, written), encoding="utf-8")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write (default: this one)")
    args = ap.parse_args()
    written = build(args.out)
    print(f"{len(written)} cases written to {args.out}")


if __name__ == "__main__":
    main()
