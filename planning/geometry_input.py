"""Check polygons that callers send (GeoJSON) and turn them into EWKB for the database."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import shape

from planning.errors import InvalidInput, OutsideServiceArea

MAX_VERTICES = 10_000


def polygon_ewkb(geojson: Any, epsg: int, area: tuple[float, float, float, float]) -> bytes:
    """Validate a GeoJSON (Multi)Polygon, geometry or Feature in ``epsg``; return EWKB."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput("the geometry must be a GeoJSON Polygon or MultiPolygon")
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InvalidInput(f"not a valid GeoJSON polygon ({str(exc)[:80]})") from None
    n = int(shapely.get_num_coordinates(geom))
    if n > MAX_VERTICES:
        raise InvalidInput(f"the polygon has {n} vertices; at most {MAX_VERTICES} are accepted")
    coords = shapely.get_coordinates(geom)
    if not len(coords) or not all(math.isfinite(v) for v in coords.ravel()):
        raise InvalidInput("the polygon has no or non-finite coordinates")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(polys) if polys else shapely.Polygon()
    if geom.is_empty or geom.area <= 0:
        raise InvalidInput("the polygon is empty or has no area")
    if epsg in (4326, 4756):
        minx, miny, maxx, maxy = geom.bounds
        if minx < area[0] or maxx > area[2] or miny < area[1] or maxy > area[3]:
            raise OutsideServiceArea("the polygon lies (partly) outside the service area")
    return bytes(shapely.to_wkb(shapely.set_srid(geom, epsg), include_srid=True))
