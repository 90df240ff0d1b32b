"""The API documentation page, with Swagger UI served from its npm package (works offline)."""

from __future__ import annotations

from pathlib import Path as FsPath

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)
DIST = FsPath(__file__).resolve().parents[1] / "web" / "node_modules" / "swagger-ui-dist"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
}


@router.get("/docs")
def docs() -> HTMLResponse:
    """Render the OpenAPI description with Swagger UI."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tra cứu thông tin quy hoạch — API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> FileResponse:
    """Serve one Swagger UI file from the npm package."""
    media = ASSETS.get(name)
    path = DIST / name
    if media is None:
        raise HTTPException(404, "not found")
    if not path.exists():
        raise HTTPException(503, "Swagger UI is not installed: run 'make web' (npm ci)")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})
