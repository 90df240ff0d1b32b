"""OGC API – Features, Part 1 (Core, GeoJSON): QGIS and GDAL read the data directly."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import Conn, base_url
from api.ogc_schemas import (
    Collection,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    GeoJSONResponse,
    Landing,
)
from api.routers.lookup import ERRORS
from planning import features
from planning.errors import InvalidInput

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
FORMAT = Annotated[str | None, Query(alias="f", max_length=10, description="json only")]


def _json(data: Any, media: str = "application/json") -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), media_type=media)


JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for status in ERRORS
}


def _doc(model: type[Any], geojson: bool = False) -> dict[int | str, dict[str, Any]]:
    """Document the 200 answer's schema (routes build their JSON themselves); errors are JSON."""
    return {**(JSON_ERRORS if geojson else ERRORS), 200: {"model": model}}


@router.get("", summary="Landing page", response_model=None, responses=_doc(Landing))
def landing(request: Request, f: FORMAT = None) -> Response:
    """Describe the service and link to its parts."""
    b = base_url(request)
    return _json(
        {
            "title": "Tra cứu thông tin quy hoạch — OGC API Features",
            "description": "Published planning zones, cadastral parcels and red lines of Vietnam",
            "links": [
                {"href": f"{b}/ogc", "rel": "self", "type": "application/json"},
                {
                    "href": f"{b}/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                },
                {"href": f"{b}/docs", "rel": "service-doc", "type": "text/html"},
                {"href": f"{b}/ogc/conformance", "rel": "conformance", "type": "application/json"},
                {"href": f"{b}/ogc/collections", "rel": "data", "type": "application/json"},
            ],
        }
    )


@router.get(
    "/conformance",
    summary="Conformance classes",
    response_model=None,
    responses=_doc(Conformance),
)
def conformance(f: FORMAT = None) -> Response:
    """List the conformance classes implemented."""
    return _json({"conformsTo": CONFORMANCE})


def _collection_json(conn: Conn, b: str, c: features.Collection) -> dict[str, Any]:
    bbox = features.extent(conn, c)
    return {
        "id": c.id,
        "title": c.title_vi,
        "description": c.title_en,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [bbox] if bbox else [[-180, -90, 180, 90]], "crs": CRS84}},
        "links": [
            {"href": f"{b}/ogc/collections/{c.id}", "rel": "self", "type": "application/json"},
            {"href": f"{b}/ogc/collections/{c.id}/items", "rel": "items", "type": GEOJSON},
        ],
    }


@router.get("/collections", summary="Collections", response_model=None, responses=_doc(Collections))
def collections(request: Request, conn: Conn, f: FORMAT = None) -> Response:
    """List the feature collections."""
    b = base_url(request)
    return _json(
        {
            "links": [{"href": f"{b}/ogc/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection_json(conn, b, c) for c in features.COLLECTIONS.values()],
        }
    )


CID = Annotated[str, Path(pattern=r"^[a-z_]{1,20}$", description="zones, parcels or red_lines")]


@router.get(
    "/collections/{collection_id}",
    summary="One collection",
    response_model=None,
    responses=_doc(Collection),
)
def collection(request: Request, conn: Conn, collection_id: CID, f: FORMAT = None) -> Response:
    """Describe one collection."""
    return _json(_collection_json(conn, base_url(request), features.collection(collection_id)))


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        v = [float(p) for p in text.split(",")]
    except ValueError:
        raise InvalidInput("bbox is minlon,minlat,maxlon,maxlat") from None
    if len(v) == 6:
        v = [v[0], v[1], v[3], v[4]]
    if len(v) != 4 or not (v[0] <= v[2] and v[1] <= v[3]):
        raise InvalidInput("bbox is minlon,minlat,maxlon,maxlat")
    if not all(-180 <= x <= 180 for x in (v[0], v[2])) or not all(
        -90 <= y <= 90 for y in (v[1], v[3])
    ):
        raise InvalidInput("bbox values must be WGS 84 degrees")
    return (v[0], v[1], v[2], v[3])


@router.get(
    "/collections/{collection_id}/items",
    summary="Features",
    response_model=None,
    response_class=GeoJSONResponse,
    responses=_doc(FeatureCollection, geojson=True),
)
def collection_items(
    request: Request,
    conn: Conn,
    collection_id: CID,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    f: FORMAT = None,
) -> Response:
    """Return a page of features as GeoJSON, with a next link while there are more."""
    c = features.collection(collection_id)
    box = _bbox(bbox)
    feats = features.items(conn, c, box, limit, offset)
    b = base_url(request)
    params: dict[str, Any] = {"limit": limit}
    if bbox:
        params["bbox"] = bbox
    url = f"{b}/ogc/collections/{c.id}/items"
    links = [
        {"href": f"{url}?{urlencode({**params, 'offset': offset})}", "rel": "self", "type": GEOJSON}
    ]
    if len(feats) == limit:
        links.append(
            {
                "href": f"{url}?{urlencode({**params, 'offset': offset + limit})}",
                "rel": "next",
                "type": GEOJSON,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": f"{url}?{urlencode({**params, 'offset': max(offset - limit, 0)})}",
                "rel": "prev",
                "type": GEOJSON,
            }
        )
    return _json(
        {
            "type": "FeatureCollection",
            "features": feats,
            "numberReturned": len(feats),
            "links": links,
        },
        GEOJSON,
    )


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_model=None,
    response_class=GeoJSONResponse,
    responses=_doc(Feature, geojson=True),
)
def collection_item(
    request: Request,
    conn: Conn,
    collection_id: CID,
    feature_id: Annotated[int, Path(ge=1, le=2**62)],
    f: FORMAT = None,
) -> Response:
    """Return one feature."""
    c = features.collection(collection_id)
    feat = features.item(conn, c, feature_id)
    b = base_url(request)
    feat["links"] = [
        {"href": f"{b}/ogc/collections/{c.id}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": f"{b}/ogc/collections/{c.id}", "rel": "collection", "type": "application/json"},
    ]
    return _json(feat, GEOJSON)
