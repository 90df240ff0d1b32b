"""Lookups by point, by polygon, and in batches."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from api.deps import AppSettings, AsOf, Conn, checked_date, fetch_row, json_response
from api.errors import status_of
from api.query import documented_parameters, parse_query
from api.schemas import BatchOut, Error, GeometryBreakdown, LookupOut
from planning import clock, lookup
from planning import crs as vncrs
from planning.errors import InvalidInput, PlanningError
from planning.geometry_input import polygon_ewkb
from planning.location import Location, from_lonlat, from_projected, parse_epsg
from planning.settings import Settings
from planning.texts import DISCLAIMER

router = APIRouter(prefix="/v1", tags=["lookup"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Error} for s in (400, 401, 404, 409, 413, 422, 429, 503)
}
MAX_BATCH = 1000


def locate(
    settings: Settings,
    lon: float | None = None,
    lat: float | None = None,
    x: float | None = None,
    y: float | None = None,
    crs: str | None = None,
    province: str | None = None,
    axis: str = "en",
) -> Location:
    """Turn the accepted forms of a point into a checked Location."""
    area = settings.service_bbox
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
    if epsg in (4326, 4756):
        lon_, lat_ = (y, x) if axis == "ne" else (x, y)
        return from_lonlat(lon_, lat_, area)
    return from_projected(x, y, epsg, area, northing_first=axis == "ne")


class PointFields(BaseModel):
    """A point in any accepted form (see ``locate``)."""

    lon: float | None = None
    lat: float | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = Field(default=None, max_length=60)
    province: str | None = Field(default=None, max_length=3)
    axis: Literal["en", "ne"] = "en"


class PointQuery(PointFields):
    """The query string of GET /v1/lookup (validated in one go: see api.query)."""

    model_config = ConfigDict(extra="ignore")

    date: dt.date | None = None


def _point_signature(
    on: AsOf,
    lon: Annotated[float | None, Query(description="WGS 84 longitude")] = None,
    lat: Annotated[float | None, Query(description="WGS 84 latitude")] = None,
    x: Annotated[
        float | None, Query(description="VN-2000 easting (or northing with axis=ne)")
    ] = None,
    y: Annotated[
        float | None, Query(description="VN-2000 northing (or easting with axis=ne)")
    ] = None,
    crs: Annotated[str | None, Query(max_length=60, description="e.g. EPSG:9214")] = None,
    province: Annotated[
        str | None, Query(max_length=3, description="province GSO code: its TM-3 zone")
    ] = None,
    axis: Annotated[Literal["en", "ne"], Query(description="ne: X = northing")] = "en",
) -> None:
    """The parameters of GET /v1/lookup as documented."""


@router.get(
    "/lookup",
    response_model=LookupOut,
    responses=ERRORS,
    summary="What applies at a point",
    openapi_extra={"parameters": documented_parameters(_point_signature)},
)
async def lookup_point(request: Request) -> Response:
    """Plans, zones and indicators at a point; the parcel there; the nearest red line."""
    q = parse_query(PointQuery, request)
    on = checked_date(q.date)
    loc = locate(request.app.state.settings, q.lon, q.lat, q.x, q.y, q.crs, q.province, q.axis)
    row = await fetch_row(request, "lookup_point", lookup.point_params(loc, on))
    return json_response(lookup.point_answer(row, loc, on))


class GeometryIn(BaseModel):
    """A polygon to split among the zones."""

    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, MultiPolygon or Feature")
    crs: str | None = Field(default=None, max_length=60, description="default EPSG:4326")
    date: dt.date | None = None


def geometry_breakdown(
    conn: Connection, settings: Settings, geometry: Any, crs: str | None, on: date
) -> dict[str, Any]:
    """Break down a caller's polygon."""
    epsg = parse_epsg(crs) if crs else 4326
    ewkb = polygon_ewkb(geometry, epsg, settings.service_bbox)
    result = lookup.breakdown(conn, ewkb, on)
    governing = result["plans"][0]["crs"] if result["plans"] else None
    area = lookup.polygon_area(conn, ewkb, parse_epsg(governing) if governing else None)
    return {
        **result,
        "area_m2": area[0],
        "crs": area[1],
        "date": on.isoformat(),
        "disclaimer": DISCLAIMER,
    }


@router.post(
    "/lookup/geometry",
    response_model=GeometryBreakdown,
    responses=ERRORS,
    summary="Zone breakdown of any polygon",
)
def lookup_geometry(
    conn: Conn,
    settings: AppSettings,
    body: GeometryIn,
    content_crs: Annotated[str | None, Header(max_length=80)] = None,
) -> dict[str, Any]:
    """Split a polygon (WGS 84 or VN-2000) among the zones of every applicable plan."""
    crs = body.crs or (content_crs.strip("<> ") if content_crs else None)
    return geometry_breakdown(conn, settings, body.geometry, crs, body.date or clock.today())


class BatchItem(PointFields):
    """One point or parcel key."""

    id: str | None = Field(default=None, max_length=100)
    commune: str | None = Field(default=None, max_length=10)
    sheet: str | None = Field(default=None, max_length=20)
    parcel: str | None = Field(default=None, max_length=20)


class BatchIn(BaseModel):
    """Up to 1000 items."""

    items: list[BatchItem] = Field(max_length=MAX_BATCH)
    date: dt.date | None = None


def _one(conn: Connection, settings: Settings, item: BatchItem, on: date) -> dict[str, Any]:
    if item.commune or item.sheet or item.parcel:
        if not (item.commune and item.sheet and item.parcel):
            raise InvalidInput("a parcel key needs commune, sheet and parcel")
        return lookup.parcel_answer(conn, item.commune, item.sheet, item.parcel, on)
    loc = locate(settings, item.lon, item.lat, item.x, item.y, item.crs, item.province, item.axis)
    return lookup.point_lookup(conn, loc, on)


def run_batch(
    conn: Connection, settings: Settings, items: list[BatchItem], on: date
) -> dict[str, Any]:
    """Answer every item; an item's error stays in its row."""
    results = []
    for i, item in enumerate(items):
        try:
            results.append(
                {"index": i, "id": item.id, "status": 200, "result": _one(conn, settings, item, on)}
            )
        except PlanningError as exc:
            results.append({"index": i, "id": item.id, "status": status_of(exc), "error": str(exc)})
    ok = sum(1 for r in results if r["status"] == 200)
    return {
        "results": results,
        "succeeded": ok,
        "failed": len(results) - ok,
        "data_version": lookup.current_data_version(conn),
    }


CSV_IN = ("id", "lon", "lat", "x", "y", "crs", "province", "axis", "commune", "sheet", "parcel")
CSV_OUT = (
    "index",
    "id",
    "status",
    "error",
    "plan",
    "lot",
    "code",
    "function",
    "density_max",
    "floors_min",
    "floors_max",
    "far_max",
    "height_max_m",
    "setback_m",
    "commune",
    "sheet",
    "parcel",
    "parcel_area_m2",
    "road_area_m2",
    "remaining_area_m2",
    "data_version",
)


def _parse_csv(raw: bytes) -> list[BatchItem]:
    try:
        textual = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8") from None
    reader = csv.DictReader(io.StringIO(textual))
    unknown = set(reader.fieldnames or []) - set(CSV_IN)
    if not reader.fieldnames or unknown:
        raise InvalidInput(
            f"CSV columns are {', '.join(CSV_IN)}"
            + (f" (unknown: {', '.join(sorted(unknown))[:100]})" if unknown else "")
        )
    items: list[BatchItem] = []
    for n, row in enumerate(reader):
        if n >= MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} rows per batch")
        clean: dict[str, Any] = {k: (v.strip() or None) for k, v in row.items() if k and v}
        try:
            items.append(BatchItem(**clean))
        except ValueError:
            raise InvalidInput(f"CSV row {n + 1} has a value of the wrong type") from None
    return items


def _csv_row(r: dict[str, Any]) -> list[Any]:
    res = r.get("result") or {}
    plans = res.get("plans") or []
    first = plans[0] if plans else {}
    zones = first.get("zones") or []
    z = max(zones, key=lambda z: z.get("area_m2", 0)) if zones else {}
    ind = z.get("indicators") or {}
    parcel = res.get("parcel") or {}
    return [
        r["index"],
        r.get("id") or "",
        r["status"],
        r.get("error") or "",
        (first.get("plan") or {}).get("code", ""),
        z.get("lot") or "",
        z.get("code") or "",
        z.get("function") or "",
        *[ind.get(k, "") if ind.get(k) is not None else "" for k in lookup.INDICATORS],
        parcel.get("commune", ""),
        parcel.get("sheet", ""),
        parcel.get("parcel", ""),
        parcel.get("area_m2", ""),
        res.get("road_area_m2", ""),
        res.get("remaining_area_m2", ""),
        res.get("data_version", ""),
    ]


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a pydantic JSON schema with its ``$defs`` substituted (OpenAPI cannot reach them)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


@router.post(
    "/lookup/batch",
    response_model=BatchOut,
    responses={**ERRORS, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="Many points or parcels in one call (JSON or CSV)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": inline_defs(BatchIn.model_json_schema())},
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def lookup_batch(request: Request, settings: AppSettings) -> Any:
    """Answer up to 1000 points or parcel keys; an item's error is reported in its row.

    Send JSON (`{"items": [...]}`) or CSV (columns id, lon, lat, x, y, crs, province, axis,
    commune, sheet, parcel). Ask for CSV back with `Accept: text/csv`."""
    import anyio

    raw = await request.body()
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    on = clock.today()
    if ctype == "text/csv":
        items = _parse_csv(raw)
        on_param = request.query_params.get("date")
        if on_param:
            try:
                on = date.fromisoformat(on_param)
            except ValueError:
                raise InvalidInput("date must be YYYY-MM-DD") from None
    elif ctype in ("application/json", ""):
        try:
            body = BatchIn.model_validate_json(raw)
        except ValueError as exc:
            raise InvalidInput(
                f"the body is not a valid batch ({str(exc).splitlines()[0][:120]})"
            ) from None
        items, on = body.items, body.date or clock.today()
    else:
        raise InvalidInput("send application/json or text/csv")

    def work() -> dict[str, Any]:
        with request.app.state.reader.connect() as conn:
            return run_batch(conn, settings, items, on)

    result = await anyio.to_thread.run_sync(work)
    if "text/csv" in request.headers.get("accept", ""):
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_OUT)
        for r in result["results"]:
            w.writerow(_csv_row(r))
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8")
    return Response(
        json.dumps(BatchOut.model_validate(result).model_dump(), ensure_ascii=False, default=str),
        media_type="application/json",
    )
