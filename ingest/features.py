"""Turn a batch of raw features into rows of the zone, parcel or red_line table."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from ingest import copy as C
from ingest import ewkb as E
from ingest import values as V
from ingest.fields import FieldMapping
from ingest.geometry import parts_of_family
from planning.catalogue import category_of, fold

# Columns COPY writes after revision_id, per kind (the geometry columns come last, as EWKB).
COLUMNS: dict[str, tuple[str, ...]] = {
    "zoning": (
        "code",
        "category",
        "function_l1",
        "function_l2",
        "function_l3",
        "lot",
        "name",
        "density_max",
        "floors_min",
        "floors_max",
        "far_max",
        "height_max_m",
        "setback_m",
        "population",
        "attrs",
        "area_m2",
        "geom",
        "geom_plane",
    ),
    "parcels": (
        "commune_code",
        "sheet",
        "parcel_no",
        "area_official",
        "land_use_code",
        "address",
        "address_search",
        "attrs",
        "area_m2",
        "geom",
        "geom_plane",
    ),
    "red_lines": ("road_name", "row_width_m", "attrs", "length_m", "geom", "geom_plane"),
}
TABLES = {"zoning": "zone", "parcels": "parcel", "red_lines": "red_line"}


@dataclass
class Rows:
    """Encoded COPY columns (in COLUMNS order, after revision_id; the geometry ones are added
    by the caller), plus facts the checks need."""

    columns: list[C.Field] = field(default_factory=list)
    count: int = 0
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # parcels
    codes: list[str | None] = field(default_factory=list)  # zoning: as the file wrote them
    categories: list[str | None] = field(default_factory=list)  # zoning: catalogue codes
    functions: list[str | None] = field(default_factory=list)  # zoning
    lots: list[str | None] = field(default_factory=list)  # zoning
    density_fraction: int = 0


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, int | str | bool):
        return v
    return str(v)


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_ENCODE_STR = encode_basestring
_PLAIN = (str, int, bool)
_TEXT = pa.large_string()
_QUOTE = pa.scalar('"', _TEXT)
_NOTHING = pa.scalar("", _TEXT)
_SPACE = pa.scalar(" ", _TEXT)
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_FLOAT_TYPES = frozenset({float, type(None)})


def _json_column(values: list[Any]) -> list[Any]:
    """Make a column JSON-ready (most columns already are: text and whole numbers)."""
    if set(map(type, values)) <= _PLAIN_TYPES:
        return values
    return [_json_value(v) for v in values]


@functools.lru_cache(maxsize=65_536)
def key_text(v: Any) -> str | None:
    """Normalise a sheet or parcel number: 12, 12.0, "012" → "12"; other text trimmed."""
    if v is None:
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        if v.is_integer():
            return str(int(v))
        return str(v)
    s = str(v).strip()
    if not s:
        return None
    if s.isdigit():
        return str(int(s))
    try:
        f = float(s.replace(",", "."))
    except ValueError:
        return s.upper()
    return str(int(f)) if f.is_integer() else s


def commune_text(v: Any) -> str | None:
    """Normalise a commune code to its 5-digit GSO form."""
    k = key_text(v)
    if k is None:
        return None
    return k.zfill(5) if k.isdigit() and len(k) <= 5 else k


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    s = str(v).strip()
    return s or None


def _num(v: Any) -> float | None:
    return V.parse_number(v)


def geometry_columns(
    kind: str,
    native: NDArray[np.object_],
    to84: Transformer,
    plane_srid: int,
    to_plane: Transformer | None = None,
) -> tuple[list[C.Field], NDArray[np.float64], NDArray[np.object_]]:
    """Return the last three COPY columns (area or length, lon/lat geometry, geometry in the
    metric plane), the lon/lat bounds of each geometry and the geometries in the plane.

    ``to_plane`` takes the native coordinates to the revision's plane (None: they are in it
    already); every area and length is planar there, as the certificate computes them."""
    family = "line" if kind == "red_lines" else "polygon"
    parts = E.parts(native, family)
    wgs84 = E.reproject(parts, to84)
    layout = E.Layout(parts)
    if to_plane is None:
        metric = native
        plane_field = layout.field(parts.coords, plane_srid)
    else:
        plane_coords = E.reproject(parts, to_plane)
        metric = E.geometries(parts, plane_coords)
        invalid = (
            np.flatnonzero(~shapely.is_valid(metric)) if family == "polygon" else np.zeros(0, int)
        )
        if len(invalid):
            # A polygon valid as drawn can cross itself by a rounding once projected (a ring
            # that touches itself within a nanodegree): valid again in the plane, where every
            # area and intersection is computed.
            fixed = shapely.make_valid(metric[invalid], method="structure", keep_collapsed=False)
            metric = metric.copy()
            metric[invalid] = [parts_of_family(g, family) or g for g in fixed]
            again = E.parts(np.asarray(shapely.force_2d(metric), dtype=object), family)
            plane_field = E.Layout(again).field(again.coords, plane_srid)
        else:
            plane_field = layout.field(plane_coords, plane_srid)
    size = shapely.area(metric) if kind != "red_lines" else shapely.length(metric)
    columns = [C.float_field(size), [layout.field(wgs84, 4326)], [plane_field]]
    return columns, E.bounds(parts, wgs84), metric


def build_rows(
    kind: str,
    mapping: FieldMapping,
    names: list[str],
    columns: dict[str, list[Any]],
    n: int,
    commune_default: str | None,
) -> Rows:
    """Build the COPY columns but the geometry ones (geometry_columns) for the kept features
    of a batch (columns already filtered)."""
    out = Rows(count=n)
    raw_names = list(columns)

    def col(target: str) -> list[Any]:
        src = mapping.get(target)
        if src is None:
            return [None] * n
        return columns[raw_names[names.index(src)]] if src in names else [None] * n

    attrs = C.jsonb_field(attrs_json(names, [columns[raw] for raw in raw_names], n))
    if kind == "zoning":
        codes = col("code")
        f1, f2, f3 = col("function"), col("function_l2"), col("function_l3")
        lots, nm = col("lot"), col("name")
        dens, flo, far = col("density"), col("floors"), col("far")
        hei, setb, pop = col("height"), col("setback"), col("population")
        texts: list[list[str | None]] = [[], [], [], [], [], [], []]
        nums: list[list[float | None]] = [[], [], [], [], [], [], []]
        given = mapping.get("code") is not None
        for i in range(n):
            l1, l2, l3 = _text(f1[i]), _text(f2[i]), _text(f3[i])
            # The code as the file wrote it; its category is the catalogue's code it matches
            # (case and spaces aside), else the one the function text names. Where the file
            # gives no code, the category stands for it.
            written = _text(codes[i]) if given else None
            category = category_of(written, l3, l2, l1)
            code = written or category
            fmin, fmax = V.floors(flo[i])
            density = _num(dens[i])
            if density is not None and 0 < density <= 1:
                out.density_fraction += 1
            lot = _text(lots[i])
            out.codes.append(written)
            out.categories.append(category)
            out.functions.append(l3 or l2 or l1)
            out.lots.append(lot)
            row_texts = (code, category, l1, l2, l3, lot, _text(nm[i]))
            for tcol, t in zip(texts, row_texts, strict=True):
                tcol.append(t)
            row_nums = (density, fmin, fmax, _num(far[i]), _num(hei[i]), _num(setb[i]))
            for ncol, x in zip(nums, (*row_nums, _num(pop[i])), strict=True):
                ncol.append(x)
        out.columns = [
            *(C.text_field(t) for t in texts),
            *(C.float_field(x) for x in nums),
            attrs,
        ]
    elif kind == "parcels":
        if mapping.get("commune"):
            communes = _each(commune_text, col("commune"))
        else:
            communes = [commune_default] * n
        sheets = _each(key_text, col("sheet"))
        parcels = _each(key_text, col("parcel"))
        addresses = _texts(col("address"))
        out.keys = [
            (c or "", s or "", p or "") for c, s, p in zip(communes, sheets, parcels, strict=True)
        ]
        out.columns = [
            C.text_field(communes),
            C.text_field(sheets),
            C.text_field(parcels),
            C.float_field(C.finite_or_none(col("area"), _num)),
            C.text_field(_each(_text, col("land_type"))),
            C.text_field(addresses),
            C.text_field(fold_all(addresses)),
            attrs,
        ]
    else:
        roads, widths = col("road_name"), col("width")
        out.columns = [
            C.text_field([_text(v) for v in roads]),
            C.float_field([_num(v) for v in widths]),
            attrs,
        ]
    return out


def _each(fn: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """Return [fn(v) for v in values], calling fn once per distinct value.

    Only for functions whose result depends on the value as a dict key sees it (key_text's
    lru_cache already sees 1, 1.0 and True as one key); a column holds one type anyway."""
    try:
        table = {v: fn(v) for v in set(values)}
    except TypeError:  # unhashable values (lists)
        return [fn(v) for v in values]
    return [table[v] for v in values]


def _texts(values: list[Any]) -> list[str | None]:
    """Return [_text(v) for v in values], fast for a column of text."""
    if set(map(type, values)) <= {str, type(None)}:
        return [None if v is None else (v.strip() or None) for v in values]
    return [_text(v) for v in values]


def attrs_json(names: list[str], values: list[list[Any]], n: int) -> pa.Array:
    """Return the JSON object of each row's original attributes (as json.dumps of the dict)."""
    if len(set(names)) != len(names):  # a later field of the same name wins, as in a dict
        rows = zip(*(_json_column(v) for v in values), strict=True) if values else [()] * n
        return pa.array([_ENCODE(dict(zip(names, row, strict=True))) for row in rows], _TEXT)
    if not names or not n:
        return pa.array(["{}"] * n, _TEXT)
    # Each value's JSON is made once per distinct value; Arrow joins the pieces row by row.
    parts: list[Any] = []
    for i, (name, column) in enumerate(zip(names, values, strict=True)):
        key = ("{" if i == 0 else ", ") + _ENCODE(name) + ": "
        parts.append(pa.scalar(key, _TEXT))
        parts.append(_json_of(column))
    return pc.binary_join_element_wise(*parts, pa.scalar("}", _TEXT), _NOTHING)


def _json_of(column: list[Any]) -> pa.Array:
    """Encode each value of an attribute column as JSON text (NaN and infinities are null)."""
    if set(map(type, column)) <= _FLOAT_TYPES:
        r = float.__repr__
        # v - v is 0.0 for a finite float, NaN for NaN and the infinities.
        return pa.array(["null" if v is None or v - v != 0.0 else r(v) for v in column], _TEXT)
    return _json_array(_json_column(column))


def _json_array(values: list[Any]) -> pa.Array:
    """Encode each value of a JSON-ready column as JSON text, by Arrow for a column of text
    with nothing to escape or of whole numbers (int64)."""
    types = set(map(type, values))
    if types <= {str, type(None)}:
        arr = pa.array(values, _TEXT)
        if not _needs_escape(arr):
            return pc.binary_join_element_wise(_QUOTE, arr, _QUOTE, _NOTHING).fill_null("null")
    elif types <= {int, type(None)}:
        try:
            arr = pa.array(values, pa.int64())
        except (OverflowError, pa.ArrowException):
            pass
        else:
            return arr.cast(_TEXT).fill_null("null")
    return pa.array(_json_texts(values), _TEXT)


def _needs_escape(arr: pa.Array) -> bool:
    """Tell whether some text holds a character JSON escapes (a quote, a backslash, a control
    character): bytes below 0x20, 0x22 and 0x5c stand only for those in UTF-8."""
    offsets, data = arr.buffers()[1:3]
    if data is None:
        return False
    start, end = np.frombuffer(offsets, dtype=np.int64)[[arr.offset, arr.offset + len(arr)]]
    b = np.frombuffer(data, dtype=np.uint8)[start:end]
    return bool(((b < 0x20) | (b == 0x22) | (b == 0x5C)).any())


def _json_texts(values: list[Any]) -> list[str]:
    """Encode each value of a JSON-ready column as JSON text."""
    types = set(map(type, values))
    if types <= {str, type(None)} or types <= {int, type(None)}:
        # Once per distinct value (codes and numbers repeat); str and int keys never collide.
        encode = _ENCODE_STR if str in types else int.__repr__
        table = {v: "null" if v is None else encode(v) for v in set(values)}
        return [table[v] for v in values]
    if types == {float}:  # finite: _json_column turned NaN and infinities into None
        return list(map(float.__repr__, values))
    if types <= {float, type(None)}:
        return ["null" if v is None else float.__repr__(v) for v in values]
    out: list[str] = []
    for v in values:
        t = type(v)
        if v is None:
            out.append("null")
        elif t is str:
            out.append(_ENCODE_STR(v))
        elif t is int:
            out.append(int.__repr__(v))
        else:
            out.append(_ENCODE(v))
    return out


def fold_all(texts: list[str | None]) -> pa.Array:
    """Return fold(t) for each text (None for None and ""), folding each distinct word once.

    fold lower-cases and strips marks character by character and then collapses whitespace,
    so it acts word by word: Arrow splits the texts into words (on the characters str.split
    splits on) and joins the folded words back, without the GIL."""
    arr = pa.array(texts, _TEXT)
    words = pc.utf8_split_whitespace(arr)
    codes = pc.dictionary_encode(pc.list_flatten(words))
    folded = [_fold_word(w) for w in codes.dictionary.to_pylist()]
    if "" in folded:  # a word that folds to nothing (a lone mark) leaves no gap
        return pa.array(_fold_each(texts), _TEXT)
    lists = pa.ListArray.from_arrays(
        words.offsets, pa.array(folded, _TEXT).take(codes.indices), mask=words.is_null()
    )
    joined = pc.binary_join(lists, _SPACE)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, _TEXT), joined)


@functools.lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> str:
    return fold(word)


def _fold_each(texts: list[str | None]) -> list[str | None]:
    get = _fold_word
    return [" ".join(filter(None, map(get, t.split()))) if t else None for t in texts]
