"""Check polygons that callers send (GeoJSON) and turn them into EWKB for the database."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from planning import crs as vncrs
from planning.errors import InvalidInput, OutsideServiceArea

MAX_VERTICES = 10_000


def polygon_ewkb(geojson: Any, epsg: int, area: tuple[float, float, float, float]) -> bytes:
    """Validate a GeoJSON (Multi)Polygon, geometry or Feature in ``epsg``; return EWKB (in
    ``epsg`` when it is VN-2000 or WGS 84, else in WGS 84)."""
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
    _check_area(geom.bounds, epsg, area)
    if not (vncrs.is_vn2000(epsg) or epsg == vncrs.WGS84):
        # Another EPSG CRS (a State Plane zone in feet, say): to lon/lat here, with pyproj, so
        # that the database needs to know only the CRSs it measures in.
        tf = vncrs.to_wgs84(epsg)
        geom = shapely.transform(geom, lambda c: np.column_stack(tf.transform(c[:, 0], c[:, 1])))
        epsg = vncrs.WGS84
    return bytes(shapely.to_wkb(shapely.set_srid(geom, epsg), include_srid=True))


def _check_area(bounds: vncrs.Bounds, epsg: int, area: vncrs.Bounds) -> None:
    """Refuse a polygon that is not wholly inside the service area, naming swapped axes."""
    try:
        tf = vncrs.to_wgs84(epsg)
        lonlat = bounds if epsg in (4326, 4756) else vncrs.project_bounds(tf, bounds)
    except Exception:  # pyproj raises several types for coordinates it cannot transform
        lonlat = (math.nan,) * 4
    if all(math.isfinite(v) for v in lonlat) and vncrs.inside(lonlat, area):
        return
    crs = vncrs.CRS.from_epsg(epsg)
    hint = " (X and Y look swapped: GeoJSON wants easting/longitude first)"
    raise OutsideServiceArea(
        f"the polygon lies (partly) outside the service area in EPSG:{epsg}"
        + (hint if vncrs.looks_swapped(crs, bounds) else "")
    )
