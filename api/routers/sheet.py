"""The printable sheet (PDF) and its verification link (HTTP only)."""

from __future__ import annotations

import html
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import AsOf, Conn, base_url
from api.routers.lookup import PARCEL_ERRORS
from api.routers.parcels import COMMUNE as COMMUNE_CODE
from api.routers.parcels import KEY, PARCEL_ID
from planning.sheet import parcel_sheet, verify_sheet

router = APIRouter(tags=["sheet"])
COMMUNE = Annotated[str, Path(pattern=COMMUNE_CODE)]
SHEET = Annotated[str, Path(pattern=KEY)]
PARCEL = Annotated[str, Path(pattern=KEY)]


@router.get(
    "/print/parcels/{commune}/{sheet}/{parcel}.pdf",
    responses={**PARCEL_ERRORS, 200: {"content": {"application/pdf": {}}}},
    summary="Planning-information sheet of a parcel (A4 PDF)",
)
def sheet_pdf(
    request: Request,
    conn: Conn,
    on: AsOf,
    commune: COMMUNE,
    sheet: SHEET,
    parcel: PARCEL,
    lang: Annotated[Literal["vi", "en"], Query()] = "vi",
    id: PARCEL_ID = None,
) -> Response:
    """Return the printable sheet: parcel, plans, zones with m² and indicators, map, QR code.

    A key that names several parcels answers 300 with the links to each one's sheet."""
    made = parcel_sheet(conn, commune, sheet, parcel, on, base_url(request), lang, id)
    name = f"thong-tin-quy-hoach-{made.key.replace('/', '-')}.pdf"
    return Response(
        made.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get(
    "/verify/{commune}/{sheet}/{parcel}",
    responses=PARCEL_ERRORS,
    summary="Is a printed sheet still current?",
)
def verify(
    request: Request,
    conn: Conn,
    on: AsOf,
    commune: COMMUNE,
    sheet: SHEET,
    parcel: PARCEL,
    v: Annotated[int, Query(ge=0, le=2**62, description="data version printed on the sheet")],
    h: Annotated[str, Query(pattern=r"^[0-9a-f]{16}$", description="content fingerprint")],
    id: PARCEL_ID = None,
) -> Response:
    """Tell whether the sheet's content still matches the current published data."""
    body = verify_sheet(conn, commune, sheet, parcel, on, v, h, id)
    if "text/html" in request.headers.get("accept", ""):
        same, msg = body["current"], body["message"]
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Kiểm tra phiếu thông tin quy hoạch</title></head><body>"
            f"<main><h1>{'✔' if same else '✘'} {html.escape(msg['vi'])}</h1>"
            f'<p lang="en">{html.escape(msg["en"])}</p>'
            f"<p>Phiên bản dữ liệu / data version: {v} → {body['data_version_now']}</p>"
            '<p><a href="/">Tra cứu thông tin quy hoạch</a></p></main></body></html>'
        )
        return HTMLResponse(page)
    return JSONResponse(body)
