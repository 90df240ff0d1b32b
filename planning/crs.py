"""VN-2000 coordinate systems: province zones, .prj reading, transformers, sanity checks."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from planning.errors import InvalidInput
from planning.settings import VIETNAM_BBOX

DATA = Path(__file__).resolve().parent / "data"
WGS84 = 4326
VN2000_GEOG = 4756
VN2000_UTM = {105.0: 3405, 111.0: 3406}
TM3_SCALE = 0.9999
FALSE_EASTING = 500_000.0


@dataclass(frozen=True)
class ProvinceZone:
    """A province's VN-2000 TM-3 zone in one of the reference tables."""

    province_code: str
    province: str
    meridian: float
    epsg: int
    table: str  # "2014" (63 provinces) or "2025" (34 provinces)


@cache
def province_zones() -> tuple[ProvinceZone, ...]:
    """Load both central-meridian tables (Circular 25/2014 and the 2025 merger)."""
    out: list[ProvinceZone] = []
    for year in ("2014", "2025"):
        with (DATA / f"vn2000_central_meridians_{year}.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out.append(
                    ProvinceZone(
                        row["gso_code"].zfill(2),
                        row["province"],
                        float(row["central_meridian_deg"]),
                        int(row["epsg"]),
                        year,
                    )
                )
    return tuple(out)


@cache
def tm3_epsg_by_meridian() -> dict[float, int]:
    """Map each Vietnamese TM-3 central meridian to its EPSG code."""
    return {z.meridian: z.epsg for z in province_zones()}


def _bare_name(name: str) -> str:
    """Reduce a province name to compare the tables' spellings ("Tỉnh Tây Ninh", "TayNinh")."""
    from planning.catalogue import bare, fold

    folded = fold(name)
    for prefix in ("thanh pho ", "tinh "):  # the 2014 table's "Tỉnh …", "Thành phố …"
        folded = folded.removeprefix(prefix)
    return bare(folded)


def zones_for_province(code: str) -> list[ProvinceZone]:
    """Return the zone(s) of a province code, today's first, then those of the 2014 provinces
    it stands for where they differ: the 2014 one of the same code, and the one whose name it
    took in the 1 July 2025 merger (new Tây Ninh, 80, is old Long An's code with old Tây Ninh's
    name, 72: 105.75° and 105.5°)."""
    code = code.strip().zfill(2)
    found = [z for z in province_zones() if z.province_code == code]
    found.sort(key=lambda z: z.table != "2025")
    today = [z for z in found if z.table == "2025"]
    if today:
        name = _bare_name(today[0].province)
        found += [
            z
            for z in province_zones()
            if z.table == "2014" and z.province_code != code and _bare_name(z.province) == name
        ]
    unique: list[ProvinceZone] = []
    for z in found:
        if all(u.epsg != z.epsg for u in unique):
            unique.append(z)
    return unique


def province_name(code: str) -> str:
    """Name a province code as it is called today (since the 1 July 2025 merger), else as
    Circular 25/2014 wrote it."""
    from planning.communes import province_names

    code = code.strip().zfill(2)
    names = {z.table: z.province for z in province_zones() if z.province_code == code}
    return province_names().get(code) or names.get("2014") or names.get("2025") or code


def provinces_with_meridian(meridian: float) -> list[str]:
    """Name the provinces (both tables) whose zone uses a meridian."""
    names: list[str] = []
    for z in province_zones():
        if math.isclose(z.meridian, meridian) and z.province not in names:
            names.append(z.province)
    return names


def epsg_for_province(code: str) -> int:
    """Return the EPSG code of a province's current VN-2000 TM-3 zone."""
    zones = zones_for_province(code)
    if not zones:
        raise InvalidInput(f"unknown province code {code!r} (GSO codes such as 46 for Huế)")
    return zones[0].epsg


def parse_crs(text: str) -> CRS:
    """Read a CRS given as EPSG:nnnn, a bare number, WKT or a PROJ string."""
    t = text.strip()
    try:
        if t.isdigit():
            return CRS.from_epsg(int(t))
        return CRS.from_user_input(t)
    except CRSError as exc:
        raise InvalidInput(f"not a coordinate reference system: {t[:60]!r}") from exc


@dataclass
class CrsDecision:
    """The CRS chosen for a dataset and why."""

    crs: CRS
    epsg: int | None
    read: str | None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Return ``EPSG:n`` when known, else the CRS name."""
        return f"EPSG:{self.epsg}" if self.epsg else self.crs.name


def _tm_params(crs: CRS) -> dict[str, float] | None:
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None
    params: dict[str, float] = {}
    for p in op.params:
        name = p.name.lower()
        if not isinstance(p.value, int | float):
            continue
        if "longitude of natural origin" in name or "central" in name:
            params["lon0"] = p.value
        elif "scale factor" in name:
            params["k"] = p.value
        elif "false easting" in name:
            params["fe"] = p.value
        elif "false northing" in name:
            params["fn"] = p.value
        elif "latitude of natural origin" in name:
            params["lat0"] = p.value
    return params


def _datum_kind(crs: CRS) -> str:
    name = (crs.datum.name if crs.datum else "").lower().replace("-", " ").replace("_", " ")
    if "vietnam" in name or "vn 2000" in name or "vn2000" in name:
        return "vn2000"
    if ("wgs" in name and "84" in name) or "world geodetic system 1984" in name:
        return "wgs84"
    return "other"


# EPSG:6960 (VN-2000 to WGS 84): translations in metres, rotations in the Position Vector
# convention PROJ's +towgs84 and WKT1's TOWGS84 use (arc-seconds).
VN2000_TRANSLATION = (-191.90441429, -39.30318279, -111.45032835)
VN2000_ROTATION_PV = (0.00928836, -0.01975479, 0.00427372)


def _towgs84_kind(crs: CRS) -> str | None:
    """Classify a CRS's TOWGS84: "official" VN-2000, VN-2000 with "other" rotations, or None."""
    # "other" is usually the EPSG (Coordinate Frame) rotation signs pasted into TOWGS84.
    if not crs.is_bound or crs.coordinate_operation is None:
        return None
    values = [
        float(p.value) for p in crs.coordinate_operation.params if isinstance(p.value, int | float)
    ]
    if len(values) < 3 or any(
        abs(v - t) > 1.0 for v, t in zip(values[:3], VN2000_TRANSLATION, strict=True)
    ):
        return None
    rotation = (values + [0.0] * 7)[3:6]
    official = all(abs(r - o) < 1e-5 for r, o in zip(rotation, VN2000_ROTATION_PV, strict=True))
    return "official" if official else "other"


def _wgs84_ellipsoid(crs: CRS) -> bool:
    ellipsoid = crs.ellipsoid
    return ellipsoid is not None and math.isclose(ellipsoid.semi_major_metre, 6_378_137.0)


def interpret_crs(crs: CRS) -> CrsDecision:
    """Map a CRS read from a file to the EPSG definition it stands for, with warnings."""
    read = crs.name
    epsg = crs.to_epsg(min_confidence=90)
    if epsg is not None and epsg != WGS84 and _datum_kind(crs) != "vn2000":
        return CrsDecision(CRS.from_epsg(epsg), epsg, read)
    if epsg == WGS84:
        return CrsDecision(CRS.from_epsg(WGS84), WGS84, read)
    shift = _towgs84_kind(crs)
    source = crs.source_crs if crs.is_bound else None
    bound = source is not None
    if source is not None:
        # A .prj with TOWGS84 (or a PROJ string with +towgs84): judge the CRS it is bound from.
        crs = source
    datum = "vn2000" if shift else _datum_kind(crs)
    if (bound and not shift) or (datum == "other" and _wgs84_ellipsoid(crs)):
        datum = "unnamed"
    tm = _tm_params(crs)
    if tm and crs.is_projected:
        lon0 = round(tm.get("lon0", float("nan")) * 4) / 4
        k = tm.get("k", 0.0)
        fe = tm.get("fe", 0.0)
        fn = tm.get("fn", 0.0)
        vn_epsg = tm3_epsg_by_meridian().get(lon0)
        if vn_epsg and math.isclose(k, TM3_SCALE, abs_tol=1e-7) and fe == FALSE_EASTING and fn == 0:
            if datum == "vn2000":
                note = f"VN-2000 TM-3 {lon0:g}° read as EPSG:{vn_epsg} (official datum shift)"
                warnings = []
                if shift == "other":
                    warnings.append(
                        "the .prj's TOWGS84 rotations differ from EPSG:6960 (often the signs of "
                        f"the other convention, ≈0.65 m off); the official EPSG:{vn_epsg} is used"
                    )
                return CrsDecision(CRS.from_epsg(vn_epsg), vn_epsg, read, [note], warnings)
            if datum in ("wgs84", "unnamed"):
                named = "on the WGS 84 datum" if datum == "wgs84" else "without VN-2000's shift"
                return CrsDecision(
                    CRS.from_epsg(vn_epsg),
                    vn_epsg,
                    read,
                    warnings=[
                        f"the .prj declares TM-3 with the Vietnamese central meridian {lon0:g}° "
                        f"{named} ('VN2000 nội bộ'); read as VN-2000 "
                        f"(EPSG:{vn_epsg}) — read literally it would land ≈225 m off"
                    ],
                )
        utm = VN2000_UTM.get(lon0)
        if utm and datum == "vn2000" and math.isclose(k, 0.9996, abs_tol=1e-7):
            return CrsDecision(CRS.from_epsg(utm), utm, read)
    if datum == "vn2000" and crs.is_geographic:
        return CrsDecision(CRS.from_epsg(VN2000_GEOG), VN2000_GEOG, read)
    if epsg is not None:
        return CrsDecision(CRS.from_epsg(epsg), epsg, read)
    return CrsDecision(crs, None, read, warnings=[f"CRS {read!r} has no EPSG code; used as given"])


@cache
def to_wgs84(epsg: int) -> Transformer:
    """Return the (cached) transformer from an EPSG CRS to WGS 84 lon/lat."""
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(WGS84), always_xy=True)


@cache
def from_wgs84(epsg: int) -> Transformer:
    """Return the (cached) transformer from WGS 84 lon/lat to an EPSG CRS."""
    return Transformer.from_crs(CRS.from_epsg(WGS84), CRS.from_epsg(epsg), always_xy=True)


@cache
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """Return the (cached) transformer between two EPSG CRSs, x/y = lon/lat or easting/northing."""
    return Transformer.from_crs(CRS.from_epsg(src_epsg), CRS.from_epsg(dst_epsg), always_xy=True)


def nearest_tm3_epsg(lon: float) -> int:
    """Return the VN-2000 TM-3 zone whose central meridian is nearest a longitude."""
    table = tm3_epsg_by_meridian()
    return table[min(table, key=lambda m: (abs(m - lon), m))]


def transformer_to_wgs84(crs: CRS) -> Transformer:
    """Return a transformer to WGS 84 for any CRS (cached for EPSG ones)."""
    epsg = crs.to_epsg(min_confidence=100)
    if epsg is not None:
        return to_wgs84(epsg)
    return Transformer.from_crs(crs, CRS.from_epsg(WGS84), always_xy=True)


Bounds = tuple[float, float, float, float]


def inside(bounds: Bounds, box: Bounds) -> bool:
    """Tell whether ``bounds`` lies inside ``box`` (both minx, miny, maxx, maxy)."""
    return (
        bounds[0] >= box[0] and bounds[1] >= box[1] and bounds[2] <= box[2] and bounds[3] <= box[3]
    )


def looks_swapped(crs: CRS, bounds: Bounds) -> bool:
    """Tell whether coordinates look like northing/easting (or lat/lon) written first."""
    minx, miny, maxx, maxy = bounds
    if crs.is_geographic:
        # Vietnam: lon 102–110, lat 8–23.5. Latitude-first data has x in the latitude range.
        return 8 <= minx and maxx <= 24 and 100 <= miny and maxy <= 112
    # TM-3/UTM in Vietnam: easting 100 km–900 km, northing 900 km–2 600 km.
    return 900_000 <= minx and maxx <= 2_700_000 and 0 <= miny and maxy <= 1_000_000


def project_bounds(transformer: Transformer, bounds: Bounds) -> Bounds:
    """Transform a bbox, densified along its edges, to the target CRS."""
    x0, y0, x1, y1 = transformer.transform_bounds(*bounds, densify_pts=21)
    return (x0, y0, x1, y1)


def looks_projected_vn(bounds: Bounds) -> bool:
    """Tell whether coordinates have the magnitude of VN-2000 TM-3/UTM easting and northing."""
    minx, miny, maxx, maxy = bounds
    return 100_000 < minx and maxx < 900_000 and 900_000 < miny and maxy < 2_700_000


def looks_lonlat_vn(bounds: Bounds) -> bool:
    """Tell whether coordinates have the magnitude of longitude/latitude degrees in Vietnam."""
    minx, miny, maxx, maxy = bounds
    return 100 <= minx and maxx <= 112 and 7 <= miny and maxy <= 24


def candidate_zones(bounds: Bounds, service_area: Bounds) -> list[tuple[int, float, list[str]]]:
    """List the VN-2000 TM-3 zones in which projected ``bounds`` would fall inside the area."""
    if not looks_projected_vn(bounds):
        return []
    found: list[tuple[int, float, list[str]]] = []
    for meridian, epsg in sorted(tm3_epsg_by_meridian().items()):
        ll = project_bounds(to_wgs84(epsg), bounds)
        if inside(ll, service_area):
            found.append((epsg, meridian, provinces_with_meridian(meridian)))
    return found


def describe_candidates(cands: list[tuple[int, float, list[str]]]) -> str:
    """Phrase candidate zones for an error message ("" when there is none)."""
    if not cands:
        return ""
    if len(cands) > 3:
        return (
            "they look like VN-2000 TM-3 easting/northing: name the province's zone with "
            "--province CODE (e.g. --province 46 for Huế, EPSG:9214) or --crs EPSG:nnnn"
        )
    parts = []
    for epsg, meridian, provinces in cands:
        names = ", ".join(provinces[:4]) + (" …" if len(provinces) > 4 else "")
        parts.append(f"EPSG:{epsg} (TM-3 {meridian:g}°: {names})")
    return "they would fit VN-2000 " + " or ".join(parts)


def is_tm3(epsg: int | None) -> bool:
    """Tell whether an EPSG code is one of the VN-2000 TM-3 zones."""
    return epsg is not None and epsg in tm3_epsg_by_meridian().values()


def is_vn2000(epsg: int | None) -> bool:
    """Tell whether an EPSG code is a VN-2000 CRS (geographic, TM-3 or UTM)."""
    return is_tm3(epsg) or epsg in (VN2000_GEOG, *VN2000_UTM.values())


@cache
def usable_crs(epsg: int) -> CRS | None:
    """Return the EPSG CRS a caller may give coordinates in (2D projected or geographic)."""
    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        return None
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        return None
    return crs


def utm_epsg(lon: float, lat: float) -> int:
    """Return the WGS 84 UTM zone (EPSG:326nn north, 327nn south) of a point."""
    zone = min(max(int((lon + 180.0) // 6.0) + 1, 1), 60)
    return (32600 if lat >= 0 else 32700) + zone


def in_vietnam(lon: float, lat: float) -> bool:
    """Tell whether a lon/lat point lies in Vietnam's box (mainland and islands): inside, the
    plane is a VN-2000 TM-3 zone; outside (a wider PLANNING_SERVICE_AREA), a UTM zone."""
    return inside((lon, lat, lon, lat), VIETNAM_BBOX)


def local_plane(lon: float, lat: float) -> int:
    """Return the plane a point is measured in when nothing names one: the VN-2000 TM-3 zone
    nearest it in Vietnam, the UTM zone elsewhere."""
    return nearest_tm3_epsg(lon) if in_vietnam(lon, lat) else utm_epsg(lon, lat)


@dataclass(frozen=True)
class Plane:
    """The metric plane a revision's geometry is measured in, and why it was chosen."""

    epsg: int
    why: str
    warning: str | None = None


def choose_plane(
    source_epsg: int | None, province: str | None, centre: tuple[float, float], how: str = ""
) -> Plane:
    """Choose the plane that measures a dataset (every m and m² of its answers).

    ``province`` is the GSO code the data belongs to (``how`` says where it came from:
    --province, the plan, the parcels' communes) and ``centre`` the lon/lat of the data. The
    plane is the province's VN-2000 TM-3 zone (the file's own when it is one of the
    province's: a merged province's drawings keep their old meridian), else the file's own
    TM-3 zone, else the zone nearest the data with a warning; outside Vietnam the UTM zone of
    the data's centre."""
    lon, lat = centre
    if province:
        zones = zones_for_province(province)
        if not zones:
            raise InvalidInput(f"unknown province code {province!r} (GSO codes such as 46 for Huế)")
        named = f"province {province.strip().zfill(2)} ({province_name(province)}{how})"
        if is_tm3(source_epsg) and any(z.epsg == source_epsg for z in zones):
            return Plane(int(source_epsg or 0), f"the file's VN-2000 TM-3 zone, {named}'s")
        others = [z for z in zones[1:] if z.epsg != zones[0].epsg]
        warning = None
        if others:
            listed = "; ".join(
                f"{z.province} ({z.province_code}, {z.table}): {z.meridian:g}° EPSG:{z.epsg}"
                for z in others
            )
            warning = (
                f"{named} also stands for provinces with another meridian ({listed}): a map "
                f"keeps the meridian of the province that made it; areas are measured in "
                f"EPSG:{zones[0].epsg}, name the former province with --province CODE if the "
                "map is older than the 1 July 2025 merger"
            )
        plane = Plane(zones[0].epsg, f"the VN-2000 TM-3 zone of {named}", warning)
        if is_tm3(source_epsg):
            own = next(m for m, e in tm3_epsg_by_meridian().items() if e == source_epsg)
            return Plane(
                plane.epsg,
                plane.why,
                f"the file's own TM-3 meridian {own:g}° (EPSG:{source_epsg}) is not that of "
                f"{named}, {zones[0].meridian:g}° (EPSG:{zones[0].epsg}); check the province: "
                f"areas are measured in EPSG:{zones[0].epsg}",
            )
        return plane
    if is_tm3(source_epsg):
        return Plane(int(source_epsg or 0), "the file's own VN-2000 TM-3 zone")
    if in_vietnam(lon, lat):
        epsg = nearest_tm3_epsg(lon)
        return Plane(
            epsg,
            "the VN-2000 TM-3 zone nearest the data",
            f"no province named: areas are measured in EPSG:{epsg}, the VN-2000 TM-3 zone "
            "nearest the data, which may not be its province's; name the province with "
            "--province CODE (e.g. --province 46 for Huế) to measure as its certificates do",
        )
    return Plane(utm_epsg(lon, lat), "the UTM zone of the data's centre (outside Vietnam)")
