"""Read a layer: its description, its text columns' encodings, then its features in batches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyogrio
import shapely
from numpy.typing import NDArray
from pyogrio.errors import DataLayerError, DataSourceError, FieldError

from ingest.report import Report
from ingest.source import Source, SourceError, gdal_message
from planning.text import (
    ColumnDecision,
    decode_bytes,
    detect_and_decode,
    fix_text,
    repair_mojibake_column,
)

BATCH_SIZE = 50_000
# Detection looks at distinct values only; this many are plenty to decide a column.
DETECT_SAMPLE = 20_000

POLYGON_TYPES = ("polygon", "multipolygon", "multisurface", "curvepolygon")
LINE_TYPES = ("linestring", "multilinestring", "multicurve", "compoundcurve", "circularstring")
WRONG_FOR = {
    "polygon": ("point", "multipoint", *LINE_TYPES),
    "line": ("point", "multipoint", *POLYGON_TYPES),
}


@dataclass
class LayerInfo:
    """What GDAL says about a layer, with field names decoded."""

    raw_fields: list[str]  # as GDAL returns them (latin-1 view for shapefiles)
    fields: list[str]  # decoded names, used for mapping and the JSON of original attributes
    dtypes: list[str]
    geometry_type: str
    crs: str | None
    count: int


@dataclass
class ColumnText:
    """How one text column is turned into Unicode."""

    raw_name: str
    decision: ColumnDecision
    legacy_view: bool  # values arrive as latin-1 views of raw bytes


def _read_encoding(src: Source) -> str | None:
    # Shapefiles: read every byte as latin-1 so the original bytes survive for detection.
    return "latin1" if src.is_shapefile else None


def describe(src: Source, family: str, report: Report, override: str | None = None) -> LayerInfo:
    """Read the layer's description and refuse a layer of the wrong geometry family."""
    try:
        info = pyogrio.read_info(src.gdal_path, layer=src.layer, encoding=_read_encoding(src))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(src.path, f"cannot be read ({gdal_message(exc)})") from None
    gtype = str(info.get("geometry_type") or "Unknown")
    base = re.sub(r"\s+(zm|z|m)$", "", gtype.lower().strip())
    if base in WRONG_FOR[family]:
        need = "polygons" if family == "polygon" else "lines"
        raise SourceError(src.path, f"layer {src.layer!r} holds {gtype} geometries; {need} needed")
    if base in ("none", ""):
        raise SourceError(src.path, f"layer {src.layer!r} has no geometry")
    raw_fields = [str(f) for f in info["fields"]]
    fields = raw_fields
    if src.is_shapefile and any(not f.isascii() for f in raw_fields):
        raw: list[bytes | None] = [f.encode("latin-1", errors="replace") for f in raw_fields]
        try:
            names, decision = detect_and_decode(raw, override)
        except (UnicodeDecodeError, ValueError):
            raise SourceError(
                src.path, f"the field names are not valid {override} text (--encoding)"
            ) from None
        fields = [n or r for n, r in zip(names, raw_fields, strict=True)]
        if decision.ambiguous:
            report.warning(
                "field_names",
                f"field names: encoding unclear, read as {decision.encoding} "
                f"({', '.join(fields)}); give --encoding",
            )
        else:
            report.info("field_names", f"field names decoded as {decision.encoding or 'ASCII'}")
    count = int(info.get("features") or 0)
    if count < 0:
        count = 0
    crs = info.get("crs")
    return LayerInfo(raw_fields, fields, [str(d) for d in info["dtypes"]], gtype, crs, count)


def detect_text(
    src: Source, info: LayerInfo, override: str | None, report: Report
) -> dict[str, ColumnText]:
    """Decide the encoding of every text column (per column, never per value)."""
    text_cols = [f for f, d in zip(info.raw_fields, info.dtypes, strict=True) if d == "object"]
    if not text_cols:
        return {}
    try:
        _meta, table = pyogrio.read_arrow(
            src.gdal_path,
            layer=src.layer,
            columns=text_cols,
            read_geometry=False,
            encoding=_read_encoding(src),
        )
    except (DataSourceError, DataLayerError, FieldError, OSError, pa.ArrowException) as exc:
        raise SourceError(
            src.path, f"cannot read the attribute table ({gdal_message(exc)})"
        ) from None
    out: dict[str, ColumnText] = {}
    for raw_name in text_cols:
        name = info.fields[info.raw_fields.index(raw_name)]
        values = _distinct(table.column(raw_name))
        if src.is_shapefile:
            raw = [v.encode("latin-1", errors="replace") for v in values]
            if override:
                decision = ColumnDecision(override, 1.0, {}, False, "given with --encoding")
            else:
                # With no clear winner this falls back to one encoding for the whole column
                # (UTF-8 when every value is valid UTF-8, else cp1258), flagged as ambiguous.
                _decoded, decision = detect_and_decode(list(raw))
            legacy = True
        else:
            _fixed, decision = repair_mojibake_column(values)
            if override:
                decision = ColumnDecision(override, 1.0, {}, False, "given with --encoding")
            legacy = False
        out[raw_name] = ColumnText(raw_name, decision, legacy)
        report.encodings[name] = {
            "encoding": decision.encoding,
            "confidence": round(decision.confidence, 3),
            "ambiguous": decision.ambiguous,
            "reason": decision.reason,
        }
        if decision.ambiguous:
            report.warning(
                "encoding_ambiguous",
                f"column {name!r}: encoding unclear ({decision.reason}); "
                "check the text or give --encoding",
            )
    return out


def _distinct(column: pa.ChunkedArray) -> list[str]:
    seen: dict[str, None] = {}
    for v in column.to_pylist():
        if isinstance(v, str) and v and not v.isascii() and v not in seen:
            seen[v] = None
            if len(seen) >= DETECT_SAMPLE:
                break
    return list(seen)


def decode_column(values: list[Any], text: ColumnText) -> list[str | None]:
    """Turn one batch of a text column into NFC Unicode with the column's decision."""
    enc = text.decision.encoding
    out: list[str | None] = []
    for v in values:
        if v is None or not isinstance(v, str) or v.isascii():
            out.append(v)
        elif text.legacy_view:
            raw = v.encode("latin-1", errors="replace")
            out.append(_decode_one(raw, enc))
        elif enc and enc != "utf-8":
            legacy = _legacy_bytes(v)
            out.append(_decode_one(legacy, enc) if legacy is not None else fix_text(v))
        else:
            out.append(fix_text(v))
    return out


def _legacy_bytes(v: str) -> bytes | None:
    for codec in ("latin-1", "cp1252"):
        try:
            return v.encode(codec)
        except UnicodeEncodeError:
            continue
    return None


def _decode_one(raw: bytes, enc: str | None) -> str:
    for codec in (enc or "utf-8", "utf-8", "cp1258"):
        try:
            return decode_bytes(raw, codec)
        except (UnicodeDecodeError, ValueError):
            continue
    return fix_text(raw.decode("latin-1"))


def _geometry_column(schema: pa.Schema, named: str | None) -> str:
    """Find the WKB geometry column (its name depends on the driver: geom, wkb_geometry...)."""
    for f in schema:
        meta = f.metadata or {}
        if meta.get(b"ARROW:extension:name") in (b"geoarrow.wkb", b"ogc.wkb"):
            return str(f.name)
    if named and named in schema.names:
        return named
    return "wkb"


@dataclass
class Batch:
    """A slice of the layer: geometries and raw attribute columns."""

    offset: int
    geoms: NDArray[np.object_]
    columns: dict[str, list[Any]]


def batches(src: Source, info: LayerInfo) -> Iterator[Batch]:
    """Stream the layer in batches (bounded memory for a million features)."""
    try:
        with pyogrio.raw.open_arrow(
            src.gdal_path,
            layer=src.layer,
            encoding=_read_encoding(src),
            batch_size=BATCH_SIZE,
            use_pyarrow=True,
        ) as (meta, reader):
            geom_name = _geometry_column(reader.schema, meta.get("geometry_name"))
            offset = 0
            for rb in reader:
                cols = {
                    n: rb.column(n).to_pylist() for n in info.raw_fields if n in rb.schema.names
                }
                wkb = rb.column(geom_name).to_numpy(zero_copy_only=False)
                geoms = shapely.from_wkb(wkb, on_invalid="ignore")
                yield Batch(offset, np.asarray(geoms, dtype=object), cols)
                offset += rb.num_rows
    except (DataSourceError, DataLayerError, OSError, pa.ArrowException) as exc:
        raise SourceError(src.path, f"reading failed ({gdal_message(exc)})") from None
