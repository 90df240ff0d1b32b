"""The MapLibre style, its legend and its glyphs (HTTP only; tilesets/ does the work)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import Conn, base_url
from api.routers.lookup import ERRORS
from tilesets.glyphs import glyph_range
from tilesets.style import build_legend, build_style, catalogue

router = APIRouter(tags=["map"])


@router.get("/styles/planning.json", summary="MapLibre style of the planning map")
def style(request: Request, conn: Conn) -> Response:
    """Return the style (spec v8): zoning colours, lot labels, parcels, red lines, plans."""
    doc = build_style(base_url(request), catalogue(conn))
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/v1/legend", summary="Legend in Vietnamese and English", responses=ERRORS)
def legend(conn: Conn) -> dict[str, Any]:
    """Return the land-use colours the current plans use and the line symbols."""
    return build_legend(catalogue(conn))


@router.get(
    "/fonts/{fontstack}/{range_name}.pbf",
    summary="Label glyphs (SDF)",
    responses={**ERRORS, 200: {"content": {"application/x-protobuf": {}}}},
)
async def glyphs(
    request: Request,
    fontstack: Annotated[str, Path(max_length=100)],
    range_name: Annotated[str, Path(max_length=20, pattern=r"^[0-9]+-[0-9]+$")],
) -> Response:
    """Return one 256-character range of glyphs for MapLibre text."""
    settings = request.app.state.settings
    data = await anyio.to_thread.run_sync(
        glyph_range, settings.data_dir, fontstack, range_name, None
    )
    return Response(
        data,
        media_type="application/x-protobuf",
        headers={"Cache-Control": "public, max-age=86400"},
    )
