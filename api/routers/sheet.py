"""The printable sheet (PDF) and its verification link (HTTP only)."""

from __future__ import annotations

import html
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import AsOf, Conn, base_url
from api.routers.lookup import ERRORS
from planning import clock, lookup
from planning.admin_units import commune_label
from planning.sheet import content_hash, render_sheet
from tilesets.style import catalogue, colour_of

router = APIRouter(tags=["sheet"])
KEY = r"^[0-9A-Za-z.\-]{1,20}$"
COMMUNE = Annotated[str, Path(pattern=r"^[0-9]{1,5}$")]
SHEET = Annotated[str, Path(pattern=KEY)]
PARCEL = Annotated[str, Path(pattern=KEY)]


@router.get(
    "/print/parcels/{commune}/{sheet}/{parcel}.pdf",
    responses={**ERRORS, 200: {"content": {"application/pdf": {}}}},
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
) -> Response:
    """Return the printable sheet: parcel, plans, zones with m² and indicators, map, QR code."""
    answer = lookup.parcel_answer(conn, commune, sheet, parcel, on)
    found = lookup.find_parcel(conn, commune, sheet, parcel, on)
    key = f"{answer['parcel']['commune']}/{answer['parcel']['sheet']}/{answer['parcel']['parcel']}"
    verify = (
        f"{base_url(request)}/verify/{key}?v={answer['data_version']}&h={content_hash(answer)}"
        + (f"&date={on.isoformat()}" if on != clock.today() else "")
    )
    colours = {c["code"]: colour_of(c["code"], c.get("color")) for c in catalogue(conn)}
    commune = commune_label(conn, answer["parcel"]["commune"], lang)
    pdf = render_sheet(conn, answer, bytes(found["ewkb"]), verify, colours, lang, commune)
    name = f"thong-tin-quy-hoach-{key.replace('/', '-')}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


MESSAGES = {
    "same": {
        "vi": "Phiếu còn đúng: nội dung trùng với dữ liệu quy hoạch đang công bố.",
        "en": "The sheet is current: it matches the published planning data.",
    },
    "changed": {
        "vi": "Phiếu đã cũ: dữ liệu quy hoạch của thửa đất đã thay đổi, hãy tra cứu lại.",
        "en": "The sheet is out of date: the parcel's planning data changed; look it up again.",
    },
}


@router.get(
    "/verify/{commune}/{sheet}/{parcel}",
    responses=ERRORS,
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
) -> Response:
    """Tell whether the sheet's content still matches the current published data."""
    answer = lookup.parcel_answer(conn, commune, sheet, parcel, on)
    same = content_hash(answer) == h
    body: dict[str, Any] = {
        "current": same,
        "data_version_printed": v,
        "data_version_now": answer["data_version"],
        "message": MESSAGES["same" if same else "changed"],
    }
    if "text/html" in request.headers.get("accept", ""):
        msg = body["message"]
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Kiểm tra phiếu thông tin quy hoạch</title></head><body>"
            f"<main><h1>{'✔' if same else '✘'} {html.escape(msg['vi'])}</h1>"
            f'<p lang="en">{html.escape(msg["en"])}</p>'
            f"<p>Phiên bản dữ liệu / data version: {v} → {answer['data_version']}</p>"
            '<p><a href="/">Tra cứu thông tin quy hoạch</a></p></main></body></html>'
        )
        return HTMLResponse(page)
    return JSONResponse(body)
