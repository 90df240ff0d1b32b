"""Vector tiles, TileJSON (HTTP only; tilesets/ does the work)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import Conn, base_url
from api.routers.lookup import ERRORS
from planning import clock
from planning.errors import BadRequest, InvalidInput
from tilesets.cache import Tile
from tilesets.service import TileService
from tilesets.tilejson import current_tilejson

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"
NAME = Annotated[
    str, Path(pattern=r"^[a-z_]{1,20}$", description="zoning, parcels, red_lines, plans")
]


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("date must be YYYY-MM-DD") from None


def _coordinate(value: str) -> int:
    # Parsed here rather than by FastAPI so that a malformed z/x/y is a 400 like an impossible one.
    try:
        return int(value, 10)
    except ValueError:
        raise BadRequest(f"tile coordinates are integers, not {value[:20]!r}") from None


def _accepts_gzip(header: str) -> bool:
    """Return whether an Accept-Encoding header allows gzip (an explicit q=0 refuses it)."""
    weights: dict[str, float] = {}
    for item in header.lower().split(","):
        coding, _, params = item.partition(";")
        q = 1.0
        if "q=" in params:
            try:
                q = float(params.split("q=", 1)[1].strip())
            except ValueError:
                q = 0.0
        weights[coding.strip()] = q
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def _respond(request: Request, tile: Tile, cache_control: str) -> Response:
    if not tile.raw:
        # An empty tile is always 204 No Content, whatever the request's conditions.
        return Response(status_code=204, headers={"Cache-Control": cache_control})
    gzip_ok = _accepts_gzip(request.headers.get("accept-encoding", ""))
    # One strong ETag per representation (the gzip bytes differ from the identity bytes).
    etag = f'"{tile.etag}-gz"' if gzip_ok else f'"{tile.etag}"'
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    inm = request.headers.get("if-none-match")
    if inm and (
        inm.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in inm.split(",")]
    ):
        return Response(status_code=304, headers=headers)
    if gzip_ok:
        headers["Content-Encoding"] = "gzip"
        return Response(tile.gz, media_type=MVT, headers=headers)
    return Response(tile.raw, media_type=MVT, headers=headers)


@router.get(
    "/tiles/{tileset}/{z}/{x}/{y}.mvt",
    responses={**ERRORS, 200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}},
    summary="A vector tile",
)
async def tile(
    request: Request,
    tileset: NAME,
    z: Annotated[str, Path(description="zoom (integer)")],
    x: Annotated[str, Path(description="column (integer)")],
    y: Annotated[str, Path(description="row (integer)")],
    v: Annotated[
        int | None, Query(ge=0, le=2**62, description="data version (from TileJSON)")
    ] = None,
    date: Annotated[str | None, Query(max_length=10, description="as-of date YYYY-MM-DD")] = None,
) -> Response:
    """Return a Mapbox Vector Tile: immutable when its URL names both the data version and
    the date (as the TileJSON's do), cached briefly otherwise (a revision effective tomorrow
    changes tomorrow's tiles without a new version)."""
    service: TileService = request.app.state.tiles
    on = _date(date)
    zi, xi, yi = _coordinate(z), _coordinate(x), _coordinate(y)
    cache_control = IMMUTABLE if v is not None and on is not None else SHORT
    if v is not None:
        hit = service.cached(tileset, zi, xi, yi, v, on)
        if hit is not None:
            return _respond(request, hit, cache_control)
    # On one of the tile service's threads, each with its own database connection.
    outcome = await service.db.run(service.get, tileset, zi, xi, yi, v, on)
    if outcome.stale:
        # To the current version of the same day (today when none was named).
        query = {"v": outcome.version, "date": (on or clock.today()).isoformat()}
        return Response(
            status_code=302,
            headers={
                # Absolute, like the TileJSON's URLs (a public URL may carry a path prefix).
                "Location": f"{base_url(request)}/tiles/{tileset}/{zi}/{xi}/{yi}.mvt?"
                + urlencode(query),
                "Cache-Control": "no-cache",
            },
        )
    assert outcome.tile is not None
    return _respond(request, outcome.tile, cache_control)


@router.get("/tiles/{tileset}.json", responses=ERRORS, summary="TileJSON 3.0 of a tileset")
def tilejson_doc(
    request: Request,
    conn: Conn,
    tileset: NAME,
    date: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """Describe a tileset; its tile URL carries the current data version and the date."""
    doc: dict[str, Any] = current_tilejson(conn, tileset, base_url(request), _date(date))
    request.app.state.tiles.observe(doc["data_version"])
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )
