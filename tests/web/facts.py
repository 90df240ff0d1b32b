"""What the browser tests expect, read from the demo database (never hard-coded guesses)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from tests.web.conftest import Demo

# The Citadel reference point as a certificate prints it (X = northing, Y = easting), Huế (46).
CITADEL_X = 1821649.834
CITADEL_Y = 561475.812
CITADEL_LOT = "DT-01"
CITADEL_FUNCTION = "Đất di tích lịch sử - văn hóa"


def vi_number(value: float, digits: int = 2) -> str:
    """Format a number as the page does in Vietnamese (1.234,5)."""
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fold(text: str) -> str:
    """Strip Vietnamese diacritics as a citizen typing without them would."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Lot:
    """A land-use lot with all its indicators and a point well inside it."""

    lot: str
    function: str
    density: float
    floors_min: float
    floors_max: float
    far: float
    lon: float
    lat: float


@dataclass(frozen=True)
class Parcel:
    """A cadastral parcel, a point inside it, and the lots it overlaps."""

    commune: str
    sheet: str
    parcel: str
    address: str
    lon: float
    lat: float
    lots: tuple[str, ...]
    has_road: bool
    id: int  # the parcel's id, which names it among parcels that share its key

    @property
    def key(self) -> str:
        return f"{self.commune}/{self.sheet}/{self.parcel}"


LOT_SQL = """
SELECT lot, function_l3 AS function, density_max, floors_min, floors_max, far_max,
       ST_X(c) AS lon, ST_Y(c) AS lat
FROM (SELECT z.*, ST_Transform((ST_MaximumInscribedCircle(z.geom_plane)).center, 4326) AS c,
             (ST_MaximumInscribedCircle(z.geom_plane)).radius AS r
      FROM planning.zone z
      WHERE z.revision_id = :rev AND NOT z.is_road AND z.lot IS NOT NULL
        AND z.density_max IS NOT NULL AND z.far_max IS NOT NULL
        AND z.floors_min IS NOT NULL AND z.floors_max IS NOT NULL
        AND z.floors_min <> z.floors_max AND z.far_max <> round(z.far_max)) q
ORDER BY r DESC, lot LIMIT 1
"""

# A parcel on the front row of a block: part of it lies inside a planned road corridor.
PARCEL_SQL = """
SELECT pa.id, pa.commune_code, pa.sheet, pa.parcel_no, pa.address,
       ST_X(ST_PointOnSurface(pa.geom)) AS lon, ST_Y(ST_PointOnSurface(pa.geom)) AS lat,
       array_agg(z.lot ORDER BY z.lot) AS lots, bool_or(z.is_road) AS has_road
FROM planning.parcel pa
JOIN planning.zone z ON z.revision_id = :zoning AND ST_Intersects(z.geom, pa.geom)
  AND ST_Area(ST_Intersection(z.geom_plane, ST_Transform(pa.geom, ST_SRID(z.geom_plane)))) > 1
WHERE pa.revision_id = :parcels AND pa.address IS NOT NULL
GROUP BY pa.id
HAVING bool_or(z.is_road) AND count(*) = 2
ORDER BY pa.commune_code, length(pa.sheet), pa.sheet, length(pa.parcel_no), pa.parcel_no
LIMIT 1 OFFSET 7
"""


def known_lot(demo: Demo) -> Lot:
    """Return the lot with the roomiest interior among those with every indicator."""
    r = demo.query(LOT_SQL, rev=demo.revisions["zoning"])[0]
    return Lot(
        r.lot, r.function, r.density_max, r.floors_min, r.floors_max, r.far_max, r.lon, r.lat
    )


NEIGHBOUR_SQL = """
SELECT lot, function_l3 AS function, ST_X(c) AS lon, ST_Y(c) AS lat
FROM (SELECT z.*, ST_Transform((ST_MaximumInscribedCircle(z.geom_plane)).center, 4326) AS c,
             (ST_MaximumInscribedCircle(z.geom_plane)).radius AS r
      FROM planning.zone z
      WHERE z.revision_id = :rev AND NOT z.is_road AND z.lot IS NOT NULL AND z.lot <> :lot) q
WHERE r > 8
ORDER BY ST_Distance(c::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography), lot
LIMIT 1
"""


def neighbour_lot(demo: Demo, lot: Lot) -> tuple[str, str, float, float]:
    """Return the nearest other lot (label, function, lon, lat of a point well inside it)."""
    r = demo.query(
        NEIGHBOUR_SQL, rev=demo.revisions["zoning"], lot=lot.lot, lon=lot.lon, lat=lot.lat
    )[0]
    return r.lot, r.function, r.lon, r.lat


def road_parcel(demo: Demo) -> Parcel:
    """Return a parcel split between a planned road and one lot."""
    r = demo.query(PARCEL_SQL, zoning=demo.revisions["zoning"], parcels=demo.revisions["parcels"])[
        0
    ]
    return Parcel(
        r.commune_code,
        r.sheet,
        r.parcel_no,
        r.address,
        r.lon,
        r.lat,
        tuple(r.lots),
        r.has_road,
        r.id,
    )


def same_number_communes(demo: Demo, sheet: str, parcel: str) -> list[str]:
    """Return the communes whose cadastral maps have this sheet and parcel number."""
    rows = demo.query(
        "SELECT commune_code FROM planning.parcel WHERE revision_id = :r AND sheet = :s "
        "AND parcel_no = :p ORDER BY commune_code",
        r=demo.revisions["parcels"],
        s=sheet,
        p=parcel,
    )
    return [r.commune_code for r in rows]
