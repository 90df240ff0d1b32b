"""Published features as GeoJSON, for OGC API – Features (collections are a fixed whitelist).

"Current" is today in Vietnam (planning.clock), passed to SQL: never the database's date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from planning import clock
from planning.errors import NotFound

PLAN_FILTER = """
JOIN planning.revision r ON r.id = t.revision_id
JOIN planning.plan p ON p.id = r.plan_id
WHERE r.state = 'published' AND r.effective_from <= :today
  AND (r.effective_to IS NULL OR :today < r.effective_to)
"""
PARCEL_FILTER = """
JOIN planning.parcel_coverage pc
  ON pc.revision_id = t.revision_id AND pc.commune_code = t.commune_code
WHERE pc.effective_from <= :today
  AND (pc.effective_to IS NULL OR :today < pc.effective_to)
"""


@dataclass(frozen=True)
class Collection:
    """One feature collection: table, properties, filter for current published data."""

    id: str
    title_vi: str
    title_en: str
    table: str
    properties: tuple[str, ...]
    filter: str


COLLECTIONS = {
    c.id: c
    for c in (
        Collection(
            "zones",
            "Ô đất quy hoạch (chức năng sử dụng đất)",
            "Planning zones (land-use function)",
            "zone",
            (
                "p.code AS plan",
                "t.revision_id",
                "t.code",
                "t.category",
                "t.function_l1",
                "t.function_l2",
                "t.function_l3",
                "t.lot",
                "t.name",
                "t.density_max",
                "t.floors_min",
                "t.floors_max",
                "t.far_max",
                "t.height_max_m",
                "t.setback_m",
                "t.area_m2",
            ),
            PLAN_FILTER,
        ),
        Collection(
            "parcels",
            "Thửa đất",
            "Cadastral parcels",
            "parcel",
            (
                "t.commune_code",
                "t.sheet",
                "t.parcel_no",
                "t.area_official",
                "t.area_m2",
                "t.land_use_code",
                "t.address",
            ),
            PARCEL_FILTER,
        ),
        Collection(
            "red_lines",
            "Chỉ giới đường đỏ",
            "Red lines (planned road boundaries)",
            "red_line",
            ("p.code AS plan", "t.revision_id", "t.road_name", "t.row_width_m", "t.length_m"),
            PLAN_FILTER,
        ),
    )
}


def collection(cid: str) -> Collection:
    """Return a collection by id or raise NotFound."""
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid!r}")
    return COLLECTIONS[cid]


def _props(c: Collection) -> str:
    pairs = []
    for p in c.properties:
        expr, _, alias = p.partition(" AS ")
        name = alias or expr.split(".", 1)[1]
        pairs.append(f"'{name}', {expr}")
    return ", ".join(pairs)


def extent(conn: Connection, c: Collection) -> list[float] | None:
    """Return the lon/lat extent of a collection's current features."""
    row = conn.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            f"SELECT ST_Extent(t.geom) AS e FROM planning.{c.table} t "
            f"{c.filter.replace('JOIN planning.plan p ON p.id = r.plan_id', '')}) s"
        ),
        {"today": clock.today()},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def items(
    conn: Connection,
    c: Collection,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Return a page of GeoJSON features, in id order."""
    where_bbox = "AND t.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)" if bbox else ""
    params: dict[str, Any] = {"limit": limit, "offset": offset, "today": clock.today()}
    if bbox:
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    rows = conn.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', t.id, "
            f"'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
            f"'properties', json_build_object({_props(c)})) AS f "
            f"FROM planning.{c.table} t {c.filter} {where_bbox} "
            f"ORDER BY t.id LIMIT :limit OFFSET :offset"
        ),
        params,
    ).all()
    return [r.f for r in rows]


def item(conn: Connection, c: Collection, fid: int) -> dict[str, Any]:
    """Return one current feature by id."""
    row = conn.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', t.id, "
            f"'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
            f"'properties', json_build_object({_props(c)})) AS f "
            f"FROM planning.{c.table} t {c.filter} AND t.id = :id"
        ),
        {"id": fid, "today": clock.today()},
    ).first()
    if row is None:
        raise NotFound(f"no feature {fid} in {c.id}")
    feature: dict[str, Any] = row.f
    return feature
