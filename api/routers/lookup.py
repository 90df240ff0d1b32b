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

from api.deps import AppSettings, AsOf, Conn, checked_date, fetch_row, json_response
from api.errors import status_of, with_links
from api.query import documented_parameters, parse_query
from api.schemas import BatchOut, Error, GeometryBreakdown, LookupOut, Matches
from planning import clock, lookup
from planning.batch import Batch, Item, run_batch
from planning.errors import InvalidInput, MultipleMatches
from planning.geometry_input import polygon_ewkb
from planning.location import locate, parse_epsg

router = APIRouter(prefix="/v1", tags=["lookup"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Error} for s in (400, 401, 404, 409, 413, 422, 429, 503)
}
# Answers about one parcel by its key: 300 when the key names several.
PARCEL_ERRORS: dict[int | str, dict[str, Any]] = {
    300: {"model": Matches, "description": "the key names several parcels: pick one"},
    **ERRORS,
}
MAX_BATCH = 1000


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
    area = request.app.state.settings.service_bbox
    loc = locate(area, q.lon, q.lat, q.x, q.y, q.crs, q.province, q.axis)
    row = await fetch_row(request, "lookup_point", lookup.point_params(loc, on))
    return json_response(lookup.point_answer(row, loc, on))


class GeometryIn(BaseModel):
    """A polygon to split among the zones."""

    geometry: dict[str, Any] = Field(description="GeoJSON Polygon, MultiPolygon or Feature")
    crs: str | None = Field(default=None, max_length=60, description="default EPSG:4326")
    date: dt.date | None = None


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
    """Split a polygon among the zones of every applicable plan (m² in each plan's plane).

    The polygon is WGS 84 unless `crs` (or the `Content-Crs` header) names another EPSG CRS:
    VN-2000, or any 2D projected or geographic one (a State Plane zone in feet, say)."""
    crs = body.crs or (content_crs.strip("<> ") if content_crs else None)
    epsg = parse_epsg(crs) if crs else 4326
    ewkb = polygon_ewkb(body.geometry, epsg, settings.service_bbox)
    return lookup.polygon_answer(conn, ewkb, body.date or clock.today())


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


def batch_json(request: Request, batch: Batch) -> dict[str, Any]:
    """Wrap a batch's outcomes: an HTTP status per item, the candidates of a key that names
    several parcels (with their links), and the items the time budget did not reach."""
    results: list[dict[str, Any]] = []
    for o in batch.outcomes:
        if o.error is None:
            results.append({"index": o.index, "id": o.id, "status": 200, "result": o.result})
            continue
        row: dict[str, Any] = {
            "index": o.index,
            "id": o.id,
            "status": status_of(o.error),
            "error": str(o.error),
        }
        if isinstance(o.error, MultipleMatches):
            row["matches"] = with_links(o.error.matches, request, PARCEL_PATH)
        results.append(row)
    ok = sum(1 for r in results if r["status"] == 200)
    return {
        "results": results,
        "succeeded": ok,
        "failed": len(results) - ok,
        "complete": not batch.not_reached,
        "not_reached": batch.not_reached,
        "data_version": batch.data_version,
    }


PARCEL_PATH = "/v1/parcels/{commune}/{sheet}/{parcel}"


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

    def work() -> Batch:
        with request.app.state.reader.connect() as conn:
            return run_batch(
                conn,
                [Item(**item.model_dump()) for item in items],
                on,
                settings.service_bbox,
                settings.batch_budget_s,
                settings.statement_timeout_ms,
            )

    result = batch_json(request, await anyio.to_thread.run_sync(work))
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
