"""Read a layer: its description, its text columns' encodings, then its features in batches."""

from __future__ import annotations

import queue
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
from numpy.typing import NDArray
from pyogrio.errors import DataLayerError, DataSourceError, FieldError

try:
    from pyogrio._err import _register_error_handler
except ImportError:  # a pyogrio without it: batches are read on the caller's thread
    _register_error_handler = None

from ingest.report import Report
from ingest.source import Source, SourceError, gdal_message
from planning.text import (
    ColumnDecision,
    decode_bytes,
    decode_many,
    detect_and_decode,
    fix_many,
    fix_text,
    repair_mojibake_column,
)

T = TypeVar("T")

BATCH_SIZE = 25_000
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
    raw_bytes: bool = False  # not valid UTF-8 in a UTF-8 format: read as bytes (latin-1 views)


def not_utf8(src: Source, what: str) -> SourceError:
    """The error for text a UTF-8 format (GeoJSON, GeoPackage...) holds in another encoding."""
    return SourceError(
        src.path,
        f"{what} holds text that is not UTF-8, which {src.driver} requires; save the "
        "file again as UTF-8",
    )


def _read_encoding(src: Source) -> str | None:
    # Shapefiles: read every byte as latin-1 so the original bytes survive for detection.
    return "latin1" if src.is_shapefile else None


def _raw_read(src: Source, info: LayerInfo) -> bool:
    """Tell whether to read a shapefile's text as raw bytes (GDAL's ENCODING="" open option)
    and make the latin-1 views here: the same values, without recoding every text field of
    every feature in the read. Field names must then be ASCII, as Arrow takes them as UTF-8."""
    return src.is_shapefile and all(f.isascii() for f in info.raw_fields)


def _read_options(src: Source, info: LayerInfo) -> dict[str, Any]:
    """Return the encoding and open options of a data read (see _raw_read)."""
    if _raw_read(src, info):
        return {"encoding": None, **src.open_options, "ENCODING": ""}
    return {"encoding": _read_encoding(src), **src.open_options}


def describe(src: Source, family: str, report: Report, override: str | None = None) -> LayerInfo:
    """Read the layer's description and refuse a layer of the wrong geometry family."""
    try:
        info = pyogrio.read_info(
            src.gdal_path, layer=src.layer, encoding=_read_encoding(src), **src.open_options
        )
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(src.path, f"cannot be read ({gdal_message(exc)})") from None
    except UnicodeDecodeError:
        raise not_utf8(src, "a field name") from None
    gtype = str(info.get("geometry_type") or "Unknown")
    base = re.sub(r"\s+(zm|z|m)$", "", gtype.lower().strip())
    if base in WRONG_FOR[family]:
        need = "polygons" if family == "polygon" else "lines"
        raise SourceError(src.path, f"layer {src.layer!r} holds {gtype} geometries; {need} needed")
    if base in ("none", ""):
        raise SourceError(src.path, f"layer {src.layer!r} has no geometry")
    raw_fields = [str(f) for f in info["fields"]]
    twice = sorted({f for f in raw_fields if raw_fields.count(f) > 1})
    if twice:
        raise SourceError(
            src.path, f"two fields are named {twice[0]!r}: the attribute table is damaged"
        )
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


def read_columns(
    src: Source, info: LayerInfo, columns: list[str], max_features: int | None = None
) -> pa.Table:
    """Read attribute columns of the layer (no geometry), the first ``max_features`` or all."""
    _meta, table = pyogrio.read_arrow(
        src.gdal_path,
        layer=src.layer,
        columns=columns,
        read_geometry=False,
        max_features=max_features,
        **_read_options(src, info),
    )
    return table


def detect_text(
    src: Source, info: LayerInfo, override: str | None, report: Report
) -> dict[str, ColumnText]:
    """Decide the encoding of every text column (per column, never per value)."""
    text_cols = [f for f, d in zip(info.raw_fields, info.dtypes, strict=True) if d == "object"]
    if not text_cols:
        return {}
    try:
        table = read_columns(src, info, text_cols)
    except (DataSourceError, DataLayerError, FieldError, OSError, pa.ArrowException) as exc:
        raise SourceError(
            src.path, f"cannot read the attribute table ({gdal_message(exc)})"
        ) from None
    out: dict[str, ColumnText] = {}
    for raw_name in text_cols:
        name = info.fields[info.raw_fields.index(raw_name)]
        column = table.column(raw_name)
        raw_bytes = not src.is_shapefile and not _valid_utf8(column)
        if raw_bytes and not (
            pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        ):
            raise not_utf8(src, f"field {name!r}")
        values = _distinct_text(column, _raw_read(src, info)) if not raw_bytes else None
        if values is None:
            values = _distinct(python_values(column, raw_bytes))
        if src.is_shapefile or raw_bytes:
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
        out[raw_name] = ColumnText(raw_name, decision, legacy, raw_bytes)
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


def _valid_utf8(column: pa.ChunkedArray) -> bool:
    try:
        column.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def python_values(column: pa.ChunkedArray | pa.Array, raw_bytes: bool = False) -> list[Any]:
    """Return a column's values; with raw_bytes, text as latin-1 views of its bytes (a UTF-8
    format holding legacy text, which Arrow cannot turn into str)."""
    if not raw_bytes:
        return list(column.to_pylist())
    binary = pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()
    return [None if b is None else b.decode("latin-1") for b in column.cast(binary).to_pylist()]


def _distinct_text(column: pa.ChunkedArray, raw: bool = False) -> list[str] | None:
    """Return what ``_distinct`` returns, computed by Arrow (None for a column of another type);
    raw: the column holds raw bytes (see _raw_read), returned as latin-1 views.

    Arrow's unique keeps the order of first appearance, so the sample is the same values."""
    if not _is_text(column.type):
        return None
    unique = pc.unique(column)
    # Length and ASCII tests look at bytes only, so raw bytes need no valid UTF-8.
    binary = unique.cast(_binary_of(unique.type))
    keep = pc.and_(pc.greater(pc.binary_length(binary), 0), pc.invert(pc.string_is_ascii(unique)))
    picked = binary.filter(pc.fill_null(keep, False)).slice(0, DETECT_SAMPLE).to_pylist()
    return [v.decode("latin-1" if raw else "utf-8") for v in picked]


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _binary_of(t: pa.DataType) -> pa.DataType:
    return pa.large_binary() if pa.types.is_large_string(t) else pa.binary()


def _column_values(column: pa.Array, latin1: bool) -> list[Any]:
    """Return a batch column's values; with latin1, text as latin-1 views of its bytes."""
    if latin1 and _is_text(column.type) and not pc.all(pc.string_is_ascii(column)).as_py():
        return python_values(column, raw_bytes=True)
    return list(column.to_pylist())


def _distinct(values: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if isinstance(v, str) and v and not v.isascii() and v not in seen:
            seen[v] = None
            if len(seen) >= DETECT_SAMPLE:
                break
    return list(seen)


def decode_column(values: list[Any], text: ColumnText) -> list[str | None]:
    """Turn one batch of a text column into NFC Unicode with the column's decision."""
    enc = text.decision.encoding
    out: list[Any] = list(values)
    todo = [i for i, v in enumerate(values) if isinstance(v, str) and not v.isascii()]
    if not todo:
        return out
    if text.legacy_view:
        raws = [values[i].encode("latin-1", errors="replace") for i in todo]
        _put(out, todo, _decode_batch(raws, enc))
    elif enc and enc != "utf-8":
        legacy = [_legacy_bytes(values[i]) for i in todo]
        with_bytes = [i for i, b in zip(todo, legacy, strict=True) if b is not None]
        without = [i for i, b in zip(todo, legacy, strict=True) if b is None]
        _put(out, with_bytes, _decode_batch([b for b in legacy if b is not None], enc))
        _put(out, without, fix_many([values[i] for i in without]))
    else:
        _put(out, todo, fix_many([values[i] for i in todo]))
    return out


def _put(out: list[Any], where: list[int], values: list[str]) -> None:
    for i, v in zip(where, values, strict=True):
        out[i] = v


def _decode_batch(raws: list[bytes], enc: str | None) -> list[str]:
    """Decode values as ``_decode_one`` does each, in one call when they all decode."""
    try:
        return decode_many(raws, enc or "utf-8")
    except (UnicodeDecodeError, ValueError):
        return [_decode_one(raw, enc) for raw in raws]


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


def _geometry_column(schema: pa.Schema, named: str | None) -> int:
    """Find the WKB geometry column (its name depends on the driver: geom, wkb_geometry...) by
    position: an attribute may have the same name (a GeoJSON property "wkb_geometry")."""
    for i, f in enumerate(schema):
        meta = f.metadata or {}
        if meta.get(b"ARROW:extension:name") in (b"geoarrow.wkb", b"ogc.wkb"):
            return i
    names = list(schema.names)
    for name in (named, "wkb"):
        if name and name in names:
            return len(names) - 1 - names[::-1].index(name)  # the geometry comes last
    raise pa.ArrowInvalid("no geometry column")


@dataclass
class Batch:
    """A slice of the layer: geometries and raw attribute columns."""

    offset: int
    geoms: NDArray[np.object_]
    columns: dict[str, list[Any]]
    unreadable: list[int] = field(default_factory=list)  # WKB that GEOS refused
    closed: list[int] = field(default_factory=list)  # rings that had to be closed to read
    remarks: list[str] = field(default_factory=list)  # GDAL's warnings while reading it


def _next_batch(reader: Iterator[Any]) -> tuple[Any, list[str]]:
    """Read the next record batch, keeping GDAL's warnings ("Value 'abc' of field matDo parsed
    incompletely to real 0") for the report instead of letting them reach stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        rb = next(reader, None)
    # GDAL's warnings name the line that called next(); other threads' warnings (batches are
    # read one ahead, see prefetched) name their own code and are not GDAL's remarks.
    remarks = [
        str(w.message).strip()
        for w in caught
        if issubclass(w.category, RuntimeWarning)
        and w.filename == __file__
        and "closed ring" not in str(w.message)
    ]
    return rb, remarks


class Prefetched(Iterator[T]):
    """Run an iterator ahead on a thread from the moment it is made: GDAL reads and shapely
    parses and repairs the next batch while the caller works on this one (or still detects
    encodings). Items and errors come out in order; ``close`` stops the thread."""

    def __init__(self, items: Iterator[T], timeout: float = 0.1) -> None:
        self._items = items
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._done = False
        self._thread: threading.Thread | None = None
        if _register_error_handler is not None:  # else GDAL would print on another thread
            self._thread = threading.Thread(target=self._run, name="read", daemon=True)
            self._thread.start()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=self._timeout)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            # GDAL keeps error handlers per thread and pyogrio installs its own (errors become
            # exceptions and warnings, not stderr lines) only on the thread that imported it.
            assert _register_error_handler is not None
            _register_error_handler()
            for item in self._items:
                if not self._put(("item", item)):
                    break
            else:
                self._put(("end", None))
        except BaseException as exc:  # handed to the caller
            self._put(("error", exc))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        if self._thread is None:
            return next(self._items)
        kind, value = self._queue.get()
        if kind == "item":
            return cast(T, value)
        self.close()
        if kind == "end":
            raise StopIteration
        raise value

    def close(self) -> None:
        """Stop reading ahead and wait for the thread."""
        self._done = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _parse_wkb(wkb: NDArray[np.object_]) -> tuple[NDArray[np.object_], list[int], list[int]]:
    """Parse WKB; close unclosed rings where shapely can; return what stayed unreadable."""
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    lost = np.flatnonzero(shapely.is_missing(geoms) & np.array([w is not None for w in wkb]))
    if not len(lost):
        return geoms, [], []
    try:
        fixed = np.asarray(shapely.from_wkb(wkb[lost], on_invalid="fix"), dtype=object)
    except ValueError:  # shapely < 2.1 cannot fix
        fixed = np.full(len(lost), None, dtype=object)
    ok = ~shapely.is_missing(fixed)
    geoms[lost[ok]] = fixed[ok]
    return geoms, lost[~ok].tolist(), lost[ok].tolist()


def batches(
    src: Source, info: LayerInfo, raw_bytes: frozenset[str] = frozenset()
) -> Iterator[Batch]:
    """Stream the layer in batches (bounded memory for a million features); the columns named
    in raw_bytes arrive as latin-1 views of their bytes (see ColumnText.raw_bytes)."""
    try:
        with pyogrio.raw.open_arrow(
            src.gdal_path,
            layer=src.layer,
            batch_size=BATCH_SIZE,
            use_pyarrow=True,
            **_read_options(src, info),
        ) as (meta, reader):
            raw = _raw_read(src, info)
            geom_index = _geometry_column(reader.schema, meta.get("geometry_name"))
            index = {n: i for i, n in reversed(list(enumerate(reader.schema.names)))}
            index = {n: i for n, i in index.items() if i != geom_index}
            offset = 0
            batch_reader = iter(reader)
            while True:
                rb, remarks = _next_batch(batch_reader)
                if rb is None:
                    break
                cols = {
                    n: _column_values(rb.column(index[n]), n in raw_bytes or raw)
                    for n in info.raw_fields
                    if n in index
                }
                wkb = rb.column(geom_index).to_numpy(zero_copy_only=False)
                geoms, unreadable, closed = _parse_wkb(wkb)
                yield Batch(offset, geoms, cols, unreadable, closed, remarks)
                offset += rb.num_rows
    except (DataSourceError, DataLayerError, OSError, pa.ArrowException) as exc:
        raise SourceError(src.path, f"reading failed ({gdal_message(exc)})") from None
    except UnicodeDecodeError:
        # Legacy text inside a list field (text fields are read as bytes: ColumnText.raw_bytes).
        raise not_utf8(src, "a field") from None
