"""Parcels: one parcel with its zone breakdown, and search."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request

from api.deps import AsOf, Conn
from api.routers.lookup import ERRORS, PARCEL_ERRORS
from api.schemas import ParcelDetail, ParcelPage
from planning import lookup

router = APIRouter(prefix="/v1", tags=["parcels"])
# Sheet and parcel numbers; spaces around them (pasted from a certificate) are trimmed.
KEY = r"^\s*[0-9A-Za-z.\-]{1,20}\s*$"
COMMUNE = r"^\s*[0-9]{1,5}\s*$"
PARCEL_ID = Annotated[
    int | None,
    Query(ge=1, le=2**62, description="the parcel's id: names one of several with this key"),
]


@router.get(
    "/parcels/{commune}/{sheet}/{parcel}",
    response_model=ParcelDetail,
    responses=PARCEL_ERRORS,
    summary="A parcel and how the plans divide it",
)
def parcel_detail(
    conn: Conn,
    on: AsOf,
    commune: Annotated[str, Path(pattern=COMMUNE, description="commune GSO code")],
    sheet: Annotated[str, Path(pattern=KEY, description="map sheet number (số tờ)")],
    parcel: Annotated[str, Path(pattern=KEY, description="parcel number (số thửa)")],
    geometry: Annotated[bool, Query(description="add the pieces as GeoJSON")] = False,
    id: PARCEL_ID = None,
) -> dict[str, Any]:
    """Parcel facts and, per plan and zone, m² and % with indicators, roads and the rest.

    The commune code may be today's or the one the cadastral map was made with (2025 reform).
    A key that names several parcels (given twice in the cadastral data, or in several former
    communes) answers **300** with `matches`: each candidate with its area, address and the
    link naming it by `id`."""
    return lookup.parcel_answer(conn, commune, sheet, parcel, on, geometry, id)


@router.get("/parcels", response_model=ParcelPage, responses=ERRORS, summary="Search parcels")
def parcel_search(
    request: Request,
    conn: Conn,
    on: AsOf,
    commune: Annotated[str | None, Query(pattern=COMMUNE)] = None,
    sheet: Annotated[str | None, Query(pattern=KEY)] = None,
    parcel: Annotated[str | None, Query(pattern=KEY)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="address words, diacritics optional")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Find parcels by commune, sheet, number and address text ("vy da" finds "Vỹ Dạ")."""
    total, items = lookup.search_parcels(conn, on, commune, sheet, parcel, q, limit, offset)
    params = {
        k: v for k, v in {"commune": commune, "sheet": sheet, "parcel": parcel, "q": q}.items() if v
    }
    base = str(request.url.path)

    def link(off: int) -> str:
        return f"{base}?{urlencode({**params, 'limit': limit, 'offset': off})}"

    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": items,
        "links": {
            "next": link(offset + limit) if offset + limit < total else None,
            "prev": link(max(offset - limit, 0)) if offset > 0 else None,
        },
    }
