"""The citizen's map page and its static files (MapLibre served from the npm package)."""

from __future__ import annotations

import html
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import Conn
from api.routers.lookup import ERRORS
from planning.admin_units import list_communes

router = APIRouter()
WEB = FsPath(__file__).resolve().parents[1] / "web"
MAPLIBRE = WEB / "node_modules" / "maplibre-gl" / "dist"
# Only these files are served: nothing else under api/web or node_modules is reachable.
STATIC = {
    "app.js": (WEB / "app.js", "text/javascript"),
    "i18n.js": (WEB / "i18n.js", "text/javascript"),
    "style.css": (WEB / "style.css", "text/css"),
    "maplibre-gl.mjs": (MAPLIBRE / "maplibre-gl.mjs", "text/javascript"),
    "maplibre-gl-worker.mjs": (MAPLIBRE / "maplibre-gl-worker.mjs", "text/javascript"),
    "maplibre-gl-shared.mjs": (MAPLIBRE / "maplibre-gl-shared.mjs", "text/javascript"),
    "maplibre-gl.css": (MAPLIBRE / "maplibre-gl.css", "text/css"),
}


@router.get("/", include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    """Serve the map page (the basemap style URL, when configured, rides in a meta tag)."""
    page = (WEB / "index.html").read_text(encoding="utf-8")
    basemap = request.app.state.settings.basemap_style
    if basemap:
        meta = f'<meta name="planning-basemap" content="{html.escape(basemap, quote=True)}">'
        page = page.replace("</head>", f"  {meta}\n</head>", 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    """Serve one whitelisted static file."""
    entry = STATIC.get(name)
    if entry is None or not entry[0].exists():
        if entry is not None and entry[0].parent == MAPLIBRE:
            raise HTTPException(503, "MapLibre is not installed: run 'make web' (npm ci)")
        raise HTTPException(404, "not found")
    path, media = entry
    # The page's own files change with each release and must match index.html: no stale copy
    # (they are small). MapLibre changes only with `make web`.
    cache = "public, max-age=3600" if path.parent == MAPLIBRE else "no-cache"
    return FileResponse(path, media_type=media, headers={"Cache-Control": cache})


@router.get("/v1/communes", tags=["catalogue"], responses=ERRORS, summary="Communes of a province")
def communes(
    conn: Conn,
    province: Annotated[str, Query(pattern=r"^[0-9]{1,2}$", description="GSO code")] = "46",
) -> list[dict[str, Any]]:
    """List today's communes and the former ones (before 1 July 2025) with what they became."""
    return list_communes(conn, province)
