"""Turn a batch of raw features into rows of the zone, parcel or red_line table."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from ingest import values as V
from ingest.fields import FieldMapping
from planning.catalogue import category_for_function, fold, normalise_code

# Columns COPY writes, per kind (the geometry columns come last, as hex EWKB).
COLUMNS: dict[str, tuple[str, ...]] = {
    "zoning": (
        "code",
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
        "geom_native",
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
        "geom_native",
    ),
    "red_lines": ("road_name", "row_width_m", "attrs", "length_m", "geom", "geom_native"),
}
TABLES = {"zoning": "zone", "parcels": "parcel", "red_lines": "red_line"}


@dataclass
class Rows:
    """Rows ready to load, plus facts the checks need."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # parcels
    codes: list[str | None] = field(default_factory=list)  # zoning
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
_PLAIN = (str, int, bool)


def _json_column(values: list[Any]) -> list[Any]:
    """Make a column JSON-ready (most columns already are: text and whole numbers)."""
    if all(v is None or type(v) in _PLAIN for v in values):
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


def ewkb(geoms: NDArray[np.object_], srid: int) -> list[str]:
    """Return hex EWKB with the SRID, as COPY expects for geometry columns."""
    return list(shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True))


def reproject(geoms: NDArray[np.object_], transformer: Transformer) -> NDArray[np.object_]:
    """Transform geometries (to lon/lat, or to a zone) in one vectorised call."""

    def fn(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, fn), dtype=object)


def build_rows(
    kind: str,
    mapping: FieldMapping,
    names: list[str],
    columns: dict[str, list[Any]],
    native: NDArray[np.object_],
    wgs84: NDArray[np.object_],
    srid: int,
    commune_default: str | None,
    metric: NDArray[np.object_] | None = None,
) -> Rows:
    """Build table rows for the kept features of a batch (all arrays already filtered)."""
    # Areas and lengths are planar in `metric` (the native geometries projected to a VN-2000
    # zone when the native CRS is geographic), else in the native CRS.
    n = len(native)
    out = Rows()
    raw_names = list(columns)

    def col(target: str) -> list[Any]:
        src = mapping.get(target)
        if src is None:
            return [None] * n
        return columns[raw_names[names.index(src)]] if src in names else [None] * n

    json_columns = [_json_column(columns[raw]) for raw in raw_names]
    by_row = zip(*json_columns, strict=True) if json_columns else iter([()] * n)
    attrs = [_ENCODE(dict(zip(names, values, strict=True))) for values in by_row]
    planar = native if metric is None else metric
    size = shapely.area(planar) if kind != "red_lines" else shapely.length(planar)
    g84 = ewkb(wgs84, 4326)
    gnat = ewkb(native, srid)
    if kind == "zoning":
        codes = col("code")
        f1, f2, f3 = col("function"), col("function_l2"), col("function_l3")
        lots, nm = col("lot"), col("name")
        dens, flo, far = col("density"), col("floors"), col("far")
        hei, setb, pop = col("height"), col("setback"), col("population")
        for i in range(n):
            l1, l2, l3 = _text(f1[i]), _text(f2[i]), _text(f3[i])
            code = normalise_code(_text(codes[i])) if mapping.get("code") else None
            if code is None:
                code = category_for_function(l3, l2, l1)
            fmin, fmax = V.floors(flo[i])
            density = _num(dens[i])
            if density is not None and 0 < density <= 1:
                out.density_fraction += 1
            lot = _text(lots[i])
            out.codes.append(code)
            out.functions.append(l3 or l2 or l1)
            out.lots.append(lot)
            out.rows.append(
                (
                    code,
                    l1,
                    l2,
                    l3,
                    lot,
                    _text(nm[i]),
                    density,
                    fmin,
                    fmax,
                    _num(far[i]),
                    _num(hei[i]),
                    _num(setb[i]),
                    _num(pop[i]),
                    attrs[i],
                    float(size[i]),
                    g84[i],
                    gnat[i],
                )
            )
    elif kind == "parcels":
        communes = col("commune")
        sheets, parcels = col("sheet"), col("parcel")
        areas, types, addrs = col("area"), col("land_type"), col("address")
        for i in range(n):
            commune = commune_text(communes[i]) if mapping.get("commune") else commune_default
            sheet, parcel = key_text(sheets[i]), key_text(parcels[i])
            address = _text(addrs[i])
            out.keys.append((commune or "", sheet or "", parcel or ""))
            out.rows.append(
                (
                    commune,
                    sheet,
                    parcel,
                    _num(areas[i]),
                    normalise_code(_text(types[i])),
                    address,
                    fold(address) if address else None,
                    attrs[i],
                    float(size[i]),
                    g84[i],
                    gnat[i],
                )
            )
    else:
        roads, widths = col("road_name"), col("width")
        for i in range(n):
            out.rows.append(
                (_text(roads[i]), _num(widths[i]), attrs[i], float(size[i]), g84[i], gnat[i])
            )
    return out
