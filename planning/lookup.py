"""Answer lookups: plans and zones at a point, a parcel's zone breakdown, parcel search."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from planning.catalogue import fold
from planning.crs import is_tm3, is_vn2000, local_plane
from planning.db import snapshot
from planning.errors import InvalidInput, MultipleMatches, NotFound
from planning.location import Location, in_zone
from planning.revisions import data_version
from planning.texts import DISCLAIMER, LEVEL_NAMES

SQL_DIR = Path(__file__).resolve().parent / "sql"
LEVEL_RANK = {"detail": 0, "zoning": 1, "general": 2, "land_use": 3}
# A point closer than this to a zone boundary (m) belongs to the zones on both sides.
BOUNDARY_TOLERANCE_M = 0.005
RED_LINE_RADIUS_M = 100.0
# Pieces smaller than this (m²) round to 0.00: slivers along shared edges, not shown as zones.
MIN_PIECE_M2 = 0.005
INDICATORS = ("density_max", "floors_min", "floors_max", "far_max", "height_max_m", "setback_m")


@cache
def sql(name: str) -> str:
    """Return the text of a SQL file beside this module."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


_PARAM = re.compile(r"(?<!:):([a-z_]+)\b")


@cache
def _positional(name: str) -> tuple[tuple[str, ...], str]:
    """Return a SQL file's parameter names in order and its text with $1, $2... instead."""
    names = tuple(dict.fromkeys(_PARAM.findall(sql(name))))
    body = _PARAM.sub(lambda m: f"${names.index(m.group(1)) + 1}", sql(name))
    return names, body


@dataclass(frozen=True)
class Prepared:
    """A SQL file as a server-side prepared statement: its PREPARE and EXECUTE texts."""

    prepare: str
    execute: str
    parameters: tuple[str, ...]

    def arguments(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the EXECUTE statement's arguments, in the driver's %(name)s style."""
        return {n: params[n] for n in self.parameters}


@cache
def prepared(name: str) -> Prepared:
    """Return how to prepare and execute the SQL file ``name``.

    psycopg2 sends statements as text, so PostgreSQL would parse and plan the hot lookup on
    every request, which costs more than running it; prepared once per connection, it is only
    executed."""
    names, body = _positional(name)
    execute = f"EXECUTE planning_{name}(" + ", ".join(f"%({n})s" for n in names) + ")"
    return Prepared(f"PREPARE planning_{name} AS {body}", execute, names)


def run_prepared(conn: Connection, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a SQL file as a prepared statement of this connection (see ``prepared``); return
    its row by column. (The pool clears ``info`` when it replaces a connection.)"""
    stmt = prepared(name)
    done = conn.connection.info.setdefault("planning_prepared", set())
    if name not in done:
        conn.exec_driver_sql(stmt.prepare)
        done.add(name)
    return dict(conn.exec_driver_sql(stmt.execute, stmt.arguments(params)).one()._mapping)


def _r2(v: float | None) -> float | None:
    return None if v is None else round(float(v), 2)


def plan_json(z: dict[str, Any]) -> dict[str, Any]:
    """Describe the plan a zone row belongs to."""
    level = z["level"]
    return {
        "code": z["plan_code"],
        "name": z["plan_name"],
        "level": level,
        "level_name": LEVEL_NAMES.get(level),
        "decision": z["decision"],
        "decision_date": z["decision_date"],
        "scale": z["scale"],
        "authority": z["authority"],
    }


def zone_json(z: dict[str, Any]) -> dict[str, Any]:
    """Describe one zone: function, lot, land-use category and indicators."""
    levels = [z["function_l1"], z["function_l2"], z["function_l3"]]
    return {
        "id": z["id"],
        "code": z["code"],
        "function": next((f for f in reversed(levels) if f), None),
        "functions": levels,
        "lot": z["lot"],
        "name": z["name"],
        "land_use": (
            {"code": z["category"], "name_vi": z["name_vi"], "name_en": z["name_en"]}
            if z.get("name_vi")
            else None
        ),
        "is_road": z["is_road"],
        "indicators": {k: z[k] for k in INDICATORS},
    }


def _by_plan(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["revision_id"], []).append(r)
    ordered = sorted(
        groups.values(), key=lambda g: (LEVEL_RANK.get(g[0]["level"], 9), g[0]["plan_code"])
    )
    return [(g[0], g) for g in ordered]


def red_line_box_degrees(lat: float) -> float:
    """Return a lon/lat half-width that surely covers the red-line search radius."""
    return RED_LINE_RADIUS_M / (111_000.0 * max(math.cos(math.radians(lat)), 0.1)) * 1.2


def location_json(loc: Location) -> dict[str, Any]:
    """Echo a location in WGS 84 and in the plane of the data (VN-2000 TM-3 in Vietnam)."""
    plane = {"x": round(loc.x, 3), "y": round(loc.y, 3), "crs": f"EPSG:{loc.epsg}"}
    return {
        "wgs84": {"lon": round(loc.lon, 8), "lat": round(loc.lat, 8)},
        "plane": plane,
        "vn2000": plane if is_vn2000(loc.epsg) else None,
    }


def parcel_json(p: dict[str, Any]) -> dict[str, Any]:
    """Describe a parcel: key, areas, land use, address, and its id (which names it when its
    key is given twice in the cadastral data)."""
    return {
        "id": p["id"],
        "commune": p["commune_code"],
        "sheet": p["sheet"],
        "parcel": p["parcel_no"],
        "area_m2": _r2(p["area_m2"]),
        "area_official_m2": p["area_official"],
        "land_use_code": p["land_use_code"],
        "address": p["address"],
    }


def point_params(loc: Location, on: date) -> dict[str, Any]:
    """Return the parameters of the point lookup statement (``lookup_point``)."""
    return {
        "lon": loc.lon,
        "lat": loc.lat,
        "x": loc.x,
        "y": loc.y,
        "epsg": loc.epsg,
        "d": on,
        "tol": BOUNDARY_TOLERANCE_M,
        "deg": red_line_box_degrees(loc.lat),
        "radius": RED_LINE_RADIUS_M,
    }


def point_lookup(conn: Connection, loc: Location, on: date) -> dict[str, Any]:
    """Return every applicable plan with its zones at a point, the parcel and the red line."""
    return point_answer(run_prepared(conn, "lookup_point", point_params(loc, on)), loc, on)


def point_answer(row: dict[str, Any], loc: Location, on: date) -> dict[str, Any]:
    """Shape the row of the point lookup statement into the answer."""
    plans = [
        {
            "plan": plan_json(first),
            "revision": {
                "id": first["revision_id"],
                "version": first["version"],
                "effective_from": first["effective_from"],
            },
            "zones": [zone_json(z) for z in sorted(zs, key=lambda z: (z["lot"] or "", z["id"]))],
        }
        for first, zs in _by_plan(row["zones"])
    ]
    red = row["red_line"]
    if loc.zone_guessed:
        # Echo VN-2000 coordinates in the plane of the data: the governing plan's, the parcel's,
        # else the nearest plan's (the meridian nearest the longitude may be another province's).
        if row["zones"]:
            srid = _by_plan(row["zones"])[0][0]["plane_srid"]
        else:
            srid = row["parcel"]["plane_srid"] if row["parcel"] else row["nearest_plane"]
        if srid is not None:
            loc = in_zone(loc, int(srid))
    return {
        "location": location_json(loc),
        "date": on.isoformat(),
        "parcel": parcel_json(row["parcel"]) if row["parcel"] else None,
        "plans": plans,
        "red_line": (
            {
                "road_name": red["road_name"],
                "row_width_m": red["row_width_m"],
                "plan": red["plan_code"],
                "distance_m": _r2(red["distance_m"]),
            }
            if red
            else None
        ),
        "data_version": int(row["data_version"]),
        "disclaimer": DISCLAIMER,
    }


def _shares(areas: list[float], total: float, covered: float | None = None) -> list[float]:
    """Return percentages to 0.01 that add up to exactly 100 with the uncovered rest last.

    Zones of one plan may overlap (a drawing error the ingest report warns of): their areas
    then add up to more than the part they cover. The shares are then taken from the
    covered area, in proportion to the zones' areas, so that they never pass 100 %."""
    if total <= 0:
        return [0.0 for _ in areas]
    inside = sum(areas)
    if covered is not None and inside > covered > 0:
        areas = [a * covered / inside for a in areas]
    parts = [*areas, max(total - sum(areas), 0.0)]
    raw = [Decimal(a) / Decimal(total) * 10000 for a in parts]
    floors = [int(r) for r in raw]
    short = 10000 - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[: max(short, 0)]:
        floors[i] += 1
    return [float(Decimal(f) / 100) for f in floors]


def _round2(v: float) -> float:
    return float(Decimal(v).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def breakdown(
    conn: Connection, ewkb: bytes, on: date, with_geometry: bool = False
) -> dict[str, Any]:
    """Split a polygon among the zones of every applicable plan (planar m² in each plan's CRS)."""
    row = conn.execute(
        text(sql("breakdown")),
        {"g": ewkb, "d": on, "with_geometry": with_geometry, "min_piece": MIN_PIECE_M2},
    ).one()
    per_plan = {p["revision_id"]: p for p in row.plans}
    out = []
    for first, zs in _by_plan(row.zones):
        agg = per_plan[first["revision_id"]]
        total = float(agg["target_area_m2"])
        covered = float(agg["covered_m2"] or 0.0)
        areas = [float(z["area_m2"]) for z in zs]
        shares = _shares(areas, total, covered)
        zones = []
        for z, share in zip(zs, shares, strict=False):
            item = zone_json(z)
            item["area_m2"] = _round2(float(z["area_m2"]))
            item["share_pct"] = share
            if with_geometry:
                item["geometry"] = z["geometry"]
            zones.append(item)
        road = float(agg["road_m2"] or 0.0)
        overlap = sum(areas) - covered
        out.append(
            {
                "plan": plan_json(first),
                "revision": {
                    "id": first["revision_id"],
                    "version": first["version"],
                    "effective_from": first["effective_from"],
                },
                "crs": f"EPSG:{first['plane_srid']}",
                "area_m2": _round2(total),
                "area_in_plan_m2": _round2(covered),
                # m² that two or more of the plan's zones claim (0 when they do not overlap).
                "overlap_m2": _round2(overlap) if overlap >= MIN_PIECE_M2 else 0.0,
                "outside_plan_m2": _round2(max(total - covered, 0.0)),
                "outside_plan_pct": shares[-1] if len(shares) > len(zs) else 0.0,
                "zones": zones,
                "road_area_m2": _round2(road),
                "remaining_area_m2": _round2(max(total - road, 0.0)),
            }
        )
    governing = out[0] if out else None
    return {
        "plans": out,
        "road_area_m2": governing["road_area_m2"] if governing else 0.0,
        "remaining_area_m2": governing["remaining_area_m2"] if governing else None,
        "data_version": int(row.data_version),
    }


PARCEL_SQL = """
SELECT pa.id, pa.commune_code, pa.sheet, pa.parcel_no, pa.area_m2, pa.area_official,
       pa.land_use_code, pa.address, ST_AsEWKB(pa.geom_plane) AS ewkb,
       ST_AsGeoJSON(pa.geom, 7) AS geojson
FROM planning.parcel pa
JOIN planning.parcel_coverage pc
  ON pc.revision_id = pa.revision_id AND pc.commune_code = pa.commune_code
WHERE pa.sheet = :sheet AND pa.parcel_no = :parcel AND pa.commune_code = ANY(:codes)
  AND pc.effective_from <= :d AND (pc.effective_to IS NULL OR :d < pc.effective_to)
"""
ALIASES_SQL = """
SELECT old_code AS code FROM planning.commune_merge WHERE new_code = :c
UNION SELECT new_code FROM planning.commune_merge WHERE old_code = :c
"""


def normalise_key(value: str, what: str) -> str:
    """Normalise a commune, sheet or parcel number as ingest stored it."""
    v = value.strip()
    if not v or len(v) > 20:
        raise InvalidInput(f"{what} must have 1 to 20 characters")
    if v.isdigit():
        return str(int(v))
    return v.upper()


def commune_aliases(conn: Connection, code: str) -> list[str]:
    """Return the code plus the codes it replaced or was merged into (2025 reform)."""
    others = conn.execute(text(ALIASES_SQL), {"c": code}).scalars().all()
    return [code, *[o for o in others if o != code]]


def find_parcel(
    conn: Connection,
    commune: str,
    sheet: str,
    parcel: str,
    on: date,
    parcel_id: int | None = None,
) -> dict[str, Any]:
    """Find a parcel by its key; the commune may be today's code or the cadastral map's.

    A key that names several parcels (given twice in the cadastral data, or in several former
    communes of today's one) raises MultipleMatches with each of them; ``parcel_id`` (from
    such a match) picks one. An id no longer there (a newer parcels revision) falls back to
    the key."""
    c = commune.strip()
    if not c.isdigit() or len(c) > 5:
        raise InvalidInput("the commune is its 5-digit GSO code, e.g. 19753")
    c = c.zfill(5)
    s, p = normalise_key(sheet, "sheet"), normalise_key(parcel, "parcel")
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            text(PARCEL_SQL),
            {"sheet": s, "parcel": p, "codes": commune_aliases(conn, c), "d": on},
        ).all()
    ]
    if not rows:
        raise NotFound(f"no parcel {c}/{s}/{p} (commune/sheet/parcel) on {on.isoformat()}")
    shared = len(rows) > 1
    for r in rows:
        r["shared_key"] = shared  # other parcels have this key too (the id names this one)
    picked = [r for r in rows if r["id"] == parcel_id]
    if picked:
        return picked[0]
    exact = [r for r in rows if r["commune_code"] == c] or rows
    if len(exact) == 1:
        return exact[0]
    if any(r["commune_code"] == c for r in exact):
        why = f"{len(exact)} parcels have the key {c}/{s}/{p} in the cadastral data"
    else:
        codes = ", ".join(sorted({r["commune_code"] for r in exact}))
        why = f"sheet {s} parcel {p} exists in several former communes ({codes})"
    raise MultipleMatches(
        f"{why}; choose one by its id", [parcel_json(r) for r in sorted(exact, key=_by_id)]
    )


def _by_id(row: dict[str, Any]) -> int:
    return int(row["id"])


SEARCH_SQL = """
SELECT pa.id, pa.commune_code, pa.sheet, pa.parcel_no, pa.area_m2, pa.area_official,
       pa.land_use_code, pa.address, count(*) OVER () AS total
FROM planning.parcel pa
JOIN planning.parcel_coverage pc
  ON pc.revision_id = pa.revision_id AND pc.commune_code = pa.commune_code
WHERE pc.effective_from <= :d AND (pc.effective_to IS NULL OR :d < pc.effective_to)
  AND (CAST(:codes AS text[]) IS NULL OR pa.commune_code = ANY(:codes))
  AND (CAST(:sheet AS text) IS NULL OR pa.sheet = :sheet)
  AND (CAST(:parcel AS text) IS NULL OR pa.parcel_no = :parcel)
  AND (CAST(:q AS text) IS NULL OR pa.address_search LIKE :q ESCAPE '\\')
ORDER BY pa.commune_code, length(pa.sheet), pa.sheet, length(pa.parcel_no), pa.parcel_no,
         pa.id
LIMIT :limit OFFSET :offset
"""


def search_parcels(
    conn: Connection,
    on: date,
    commune: str | None = None,
    sheet: str | None = None,
    parcel: str | None = None,
    q: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Search parcels by key parts and address words without diacritics ("vy da")."""
    codes = None
    if commune:
        c = commune.strip()
        if not c.isdigit() or len(c) > 5:
            raise InvalidInput("the commune is its 5-digit GSO code, e.g. 19753")
        codes = commune_aliases(conn, c.zfill(5))
    pattern = None
    if q:
        words = fold(q).split()
        if words:
            esc = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
            pattern = "%" + "%".join(esc) + "%"
    rows = conn.execute(
        text(SEARCH_SQL),
        {
            "d": on,
            "codes": codes,
            "sheet": normalise_key(sheet, "sheet") if sheet else None,
            "parcel": normalise_key(parcel, "parcel") if parcel else None,
            "q": pattern,
            "limit": limit,
            "offset": offset,
        },
    ).all()
    total = int(rows[0].total) if rows else _count_beyond(conn, on, codes, sheet, parcel, pattern)
    return total, [parcel_json(dict(r._mapping)) for r in rows]


def _count_beyond(
    conn: Connection,
    on: date,
    codes: list[str] | None,
    sheet: str | None,
    parcel: str | None,
    pattern: str | None,
) -> int:
    """Count matches when the page is past the end (the window count is then unavailable)."""
    q = SEARCH_SQL.split("ORDER BY")[0].replace(
        "SELECT pa.id, pa.commune_code, pa.sheet, pa.parcel_no, pa.area_m2, pa.area_official,\n"
        "       pa.land_use_code, pa.address, count(*) OVER () AS total",
        "SELECT count(*)",
    )
    return int(
        conn.execute(
            text(q),
            {
                "d": on,
                "codes": codes,
                "sheet": normalise_key(sheet, "sheet") if sheet else None,
                "parcel": normalise_key(parcel, "parcel") if parcel else None,
                "q": pattern,
            },
        ).scalar_one()
    )


def current_data_version(conn: Connection) -> int:
    """Return the data version (changes with every publish and rollback)."""
    return data_version(conn)


# The same rule as the nearest_plane column of sql/lookup_point.sql: the nearest published
# zone within 0.5°, found through its small pieces (exact distances the index checks stay
# cheap).
NEAREST_PLAN_SQL = """
SELECT r.plane_srid
FROM planning.zone_piece zp JOIN planning.revision r ON r.id = zp.revision_id
WHERE r.state = 'published'
  AND ST_DWithin(zp.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 0.5)
ORDER BY zp.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
LIMIT 1
"""
AREA_SQL = """
SELECT ST_SRID(g) AS srid, ST_X(c) AS lon, ST_Y(c) AS lat FROM (
  SELECT g, ST_Centroid(ST_Transform(g, 4326)) AS c FROM (SELECT ST_GeomFromEWKB(:g) AS g) s) t
"""


def nearest_plan_plane(conn: Connection, lon: float, lat: float) -> int | None:
    """Return the plane of the published plan nearest a point (within ~50 km)."""
    srid = conn.execute(text(NEAREST_PLAN_SQL), {"lon": lon, "lat": lat}).scalar()
    return None if srid is None else int(srid)


def polygon_area(conn: Connection, ewkb: bytes, plane: int | None = None) -> tuple[float, str]:
    """Return a polygon's planar area: in the VN-2000 TM-3 zone it was given in, else in
    ``plane`` (the governing plan's), else the nearest plan's, else the plane of its place
    (the nearest TM-3 zone in Vietnam, the UTM zone elsewhere)."""
    row = conn.execute(text(AREA_SQL), {"g": ewkb}).one()
    srid = int(row.srid)
    if not is_tm3(srid):
        lon, lat = float(row.lon), float(row.lat)
        srid = plane or nearest_plan_plane(conn, lon, lat) or local_plane(lon, lat)
    area = conn.execute(
        text("SELECT ST_Area(ST_Transform(ST_GeomFromEWKB(:g), :srid))"), {"g": ewkb, "srid": srid}
    ).scalar_one()
    return _round2(float(area)), f"EPSG:{srid}"


def parcel_answer(
    conn: Connection,
    commune: str,
    sheet: str,
    parcel: str,
    on: date,
    with_geometry: bool = False,
    parcel_id: int | None = None,
) -> dict[str, Any]:
    """Return a parcel's facts and its breakdown by plan and zone, from one snapshot."""
    with snapshot(conn):
        p = find_parcel(conn, commune, sheet, parcel, on, parcel_id)
        return answer_of(conn, p, on, with_geometry)


def answer_of(
    conn: Connection, p: dict[str, Any], on: date, with_geometry: bool = False
) -> dict[str, Any]:
    """Return the answer about a parcel found by ``find_parcel`` (in the caller's snapshot)."""
    result = breakdown(conn, bytes(p["ewkb"]), on, with_geometry)
    out: dict[str, Any] = {
        "parcel": parcel_json(p),
        **result,
        "date": on.isoformat(),
        "disclaimer": DISCLAIMER,
    }
    if with_geometry:
        out["geometry"] = json.loads(p["geojson"])
    return out


def polygon_answer(conn: Connection, ewkb: bytes, on: date) -> dict[str, Any]:
    """Return the breakdown of any polygon (planning.geometry_input.polygon_ewkb) and its
    area in the governing plan's plane, from one snapshot."""
    with snapshot(conn):
        result = breakdown(conn, ewkb, on)
        governing = result["plans"][0]["crs"] if result["plans"] else None
        plane = int(governing.removeprefix("EPSG:")) if governing else None
        area, crs = polygon_area(conn, ewkb, plane)
    return {**result, "area_m2": area, "crs": crs, "date": on.isoformat(), "disclaimer": DISCLAIMER}
