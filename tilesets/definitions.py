"""The tilesets, as data: layers, zoom ranges, attributes per zoom, simplification."""

from __future__ import annotations

from dataclasses import dataclass, field

# Filters selecting what is published on the date :d (plan kinds, and parcels by commune).
PLAN_PUBLISHED = (
    "JOIN planning.revision r ON r.id = t.revision_id "
    "JOIN planning.plan p ON p.id = r.plan_id "
    "WHERE r.state = 'published' AND r.effective_from <= :d "
    "AND (r.effective_to IS NULL OR :d < r.effective_to)"
)
PARCEL_PUBLISHED = (
    "JOIN planning.parcel_coverage pc "
    "ON pc.revision_id = t.revision_id AND pc.commune_code = t.commune_code "
    "WHERE pc.effective_from <= :d AND (pc.effective_to IS NULL OR :d < pc.effective_to)"
)
REVISION_PUBLISHED = (
    "JOIN planning.plan p ON p.id = t.plan_id "
    "WHERE t.kind = 'zoning' AND t.state = 'published' AND t.effective_from <= :d "
    "AND (t.effective_to IS NULL OR :d < t.effective_to)"
)


@dataclass(frozen=True)
class Attribute:
    """One feature property: its SQL expression, MVT type, and from which zoom it is sent."""

    name: str
    expr: str
    kind: str  # "String" or "Number" (TileJSON vector_layers field types)
    minzoom: int = 0
    description: str = ""


@dataclass(frozen=True)
class Layer:
    """One MVT layer of a tileset."""

    id: str
    table: str
    geometry: str  # "polygon" or "line"
    where: str
    attributes: tuple[Attribute, ...]
    minzoom: int
    maxzoom: int
    description: str
    # Below this zoom geometries are simplified by ~1 tile pixel before encoding.
    simplify_below: int = 14
    feature_cap: int = 20_000
    geom_column: str = "geom"


@dataclass(frozen=True)
class Tileset:
    """A named set of layers served as one tile pyramid."""

    name: str
    title: dict[str, str]
    minzoom: int
    maxzoom: int
    layers: tuple[Layer, ...] = field(default_factory=tuple)


_FUNCTION = "coalesce(t.function_l3, t.function_l2, t.function_l1)"

TILESETS: dict[str, Tileset] = {
    ts.name: ts
    for ts in (
        Tileset(
            "zoning",
            {"vi": "Chức năng sử dụng đất", "en": "Land-use zoning"},
            10,
            18,
            (
                Layer(
                    "zoning",
                    "zone",
                    "polygon",
                    PLAN_PUBLISHED,
                    (
                        Attribute("code", "t.code", "String", 0, "land-use code as given"),
                        Attribute("category", "t.category", "String", 0, "catalogue land-use code"),
                        Attribute("function", _FUNCTION, "String", 0, "land-use function"),
                        Attribute("road", "t.is_road", "Boolean", 0, "planned transport land"),
                        Attribute("plan", "p.code", "String", 0, "plan code"),
                        Attribute("lot", "t.lot", "String", 13, "lot label"),
                        Attribute("density_max", "t.density_max", "Number", 14, "max density %"),
                        Attribute("floors_max", "t.floors_max", "Number", 14, "max floors"),
                        Attribute("far_max", "t.far_max", "Number", 14, "max FAR"),
                        Attribute("height_max_m", "t.height_max_m", "Number", 14, "max height"),
                    ),
                    10,
                    18,
                    "planning zones (lots) with land-use function and indicators",
                ),
            ),
        ),
        Tileset(
            "parcels",
            {"vi": "Thửa đất", "en": "Cadastral parcels"},
            15,
            18,
            (
                Layer(
                    "parcels",
                    "parcel",
                    "polygon",
                    PARCEL_PUBLISHED,
                    (
                        Attribute("commune", "t.commune_code", "String", 0, "commune code"),
                        Attribute("sheet", "t.sheet", "String", 0, "map sheet number"),
                        Attribute("parcel", "t.parcel_no", "String", 0, "parcel number"),
                    ),
                    15,
                    18,
                    "cadastral parcels with sheet and parcel numbers",
                    simplify_below=0,
                ),
            ),
        ),
        Tileset(
            "red_lines",
            {"vi": "Chỉ giới đường đỏ", "en": "Red lines"},
            12,
            18,
            (
                Layer(
                    "red_lines",
                    "red_line",
                    "line",
                    PLAN_PUBLISHED,
                    (
                        Attribute("road_name", "t.road_name", "String", 0, "road name"),
                        Attribute("row_width_m", "t.row_width_m", "Number", 0, "right of way m"),
                        Attribute("plan", "p.code", "String", 0, "plan code"),
                    ),
                    12,
                    18,
                    "planned road boundaries",
                ),
            ),
        ),
        Tileset(
            "plans",
            {"vi": "Ranh giới quy hoạch", "en": "Plan boundaries"},
            8,
            18,
            (
                Layer(
                    "plans",
                    "revision",
                    "polygon",
                    REVISION_PUBLISHED,
                    (
                        Attribute("code", "p.code", "String", 0, "plan code"),
                        Attribute("name", "p.name", "String", 0, "plan name"),
                        Attribute("level", "p.level", "String", 0, "general, zoning or detail"),
                        Attribute("decision", "p.decision", "String", 0, "approving decision"),
                        Attribute(
                            "decision_date", "p.decision_date::text", "String", 0, "decision date"
                        ),
                    ),
                    8,
                    18,
                    "boundaries of the published plans",
                    geom_column="boundary",
                ),
            ),
        ),
    )
}
