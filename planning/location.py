"""Turn a location as people give it (lon/lat, VN-2000 X/Y with a CRS or a province) into one."""

from __future__ import annotations

import math
from dataclasses import dataclass

from planning import crs as vncrs
from planning.errors import InvalidInput, OutsideServiceArea

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Location:
    """A point in WGS 84 and in the plane it was given in (or the local one: the nearest
    VN-2000 TM-3 zone in Vietnam, the UTM zone elsewhere)."""

    lon: float
    lat: float
    x: float
    y: float
    epsg: int
    zone_guessed: bool = False  # the plane was picked by position, not given


def _finite(*values: float) -> None:
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput("coordinates must be finite numbers")


def from_lonlat(lon: float, lat: float, area: Bounds, epsg: int | None = None) -> Location:
    """Check a WGS 84 point and add its VN-2000 coordinates."""
    _finite(lon, lat)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(f"lon {lon} / lat {lat} are not valid WGS 84 degrees")
    if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
        raise OutsideServiceArea(
            f"the point lon {lon}, lat {lat} lies outside the service area "
            f"({area[0]}–{area[2]}° E, {area[1]}–{area[3]}° N)"
        )
    zone = epsg or vncrs.local_plane(lon, lat)
    x, y = vncrs.from_wgs84(zone).transform(lon, lat)
    return Location(lon, lat, float(x), float(y), zone, zone_guessed=epsg is None)


def in_zone(loc: Location, epsg: int) -> Location:
    """Return the same point with its VN-2000 coordinates in another zone."""
    if epsg == loc.epsg or epsg in (4326, 4756):
        return loc
    x, y = vncrs.from_wgs84(epsg).transform(loc.lon, loc.lat)
    return Location(loc.lon, loc.lat, float(x), float(y), epsg)


def from_projected(
    x: float, y: float, epsg: int, area: Bounds, northing_first: bool = False
) -> Location:
    """Check a projected point (optionally written northing first) and add lon/lat."""
    _finite(x, y)
    if northing_first:
        x, y = y, x
    try:
        lon, lat = vncrs.to_wgs84(epsg).transform(x, y)
    except Exception as exc:  # pyproj raises several types for unusable codes
        raise InvalidInput(f"cannot use EPSG:{epsg} for this point") from exc
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInput(f"x {x} / y {y} are not valid coordinates in EPSG:{epsg}")
    if not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
        hint = ""
        if not northing_first and vncrs.looks_swapped(vncrs.CRS.from_epsg(epsg), (x, y, x, y)):
            hint = " (X and Y look swapped: surveyors write X = northing; add axis=ne)"
        raise OutsideServiceArea(f"x {x}, y {y} in EPSG:{epsg} lies outside the service area{hint}")
    return Location(float(lon), float(lat), x, y, epsg)


def parse_epsg(value: str) -> int:
    """Read ``EPSG:nnnn`` (a bare number, an OGC CRS URI) as a usable EPSG code: a VN-2000
    CRS, WGS 84, or any 2D projected or geographic CRS of the EPSG registry (a US State Plane
    zone in feet, say: areas are measured in the data's plane all the same)."""
    v = value.strip().upper().removeprefix("EPSG:")
    if v.startswith("HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/"):
        v = v.rsplit("/", 1)[-1]
    if v in ("CRS84", "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84"):
        return 4326
    if not v.isdigit() or len(v) > 6:
        raise InvalidInput(f"unsupported CRS {value!r}: use EPSG:4326 or a VN-2000 code")
    code = int(v)
    if vncrs.is_vn2000(code) or code == 4326 or vncrs.usable_crs(code) is not None:
        return code
    raise InvalidInput(
        f"unsupported CRS EPSG:{code}: use EPSG:4326, a VN-2000 TM-3 zone (e.g. EPSG:9214) "
        "or another 2D projected or geographic EPSG CRS"
    )


def locate(
    area: Bounds,
    lon: float | None = None,
    lat: float | None = None,
    x: float | None = None,
    y: float | None = None,
    crs: str | None = None,
    province: str | None = None,
    axis: str = "en",
) -> Location:
    """Turn the accepted forms of a point (lon/lat; x/y with a CRS or a province, easting
    first or, with axis="ne", northing first as surveyors write) into a checked Location
    inside the service area ``area``."""
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            raise InvalidInput("give both lon and lat")
        if x is not None or y is not None:
            raise InvalidInput("give either lon/lat or x/y, not both")
        return from_lonlat(lon, lat, area)
    if x is None or y is None:
        raise InvalidInput("give lon and lat (WGS 84), or x and y with crs or province")
    if axis not in ("en", "ne"):
        raise InvalidInput("axis is 'en' (x = easting) or 'ne' (x = northing, as surveyors write)")
    if crs and province:
        raise InvalidInput("give crs or province, not both")
    if province:
        epsg = vncrs.epsg_for_province(province)
    elif crs:
        epsg = parse_epsg(crs)
    else:
        raise InvalidInput("x/y need crs (e.g. EPSG:9214) or province (e.g. 46)")
    if epsg == vncrs.WGS84:
        lon_, lat_ = (y, x) if axis == "ne" else (x, y)
        return from_lonlat(lon_, lat_, area)
    loc = from_projected(x, y, epsg, area, northing_first=axis == "ne")
    if vncrs.usable_crs(epsg) is not None and vncrs.CRS.from_epsg(epsg).is_geographic:
        # Degrees of another datum (VN-2000's EPSG:4756 lies ≈200 m from WGS 84 in Huế): taken
        # to WGS 84, then echoed in the plane of the data like any lon/lat point.
        return from_lonlat(loc.lon, loc.lat, area)
    return loc
