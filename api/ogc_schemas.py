"""Response shapes of OGC API – Features, for the OpenAPI description (routes build the JSON)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class GeoJSONResponse(JSONResponse):
    """A JSON answer served as GeoJSON."""

    media_type = "application/geo+json"


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(BaseModel):
    title: str
    description: str | None = None
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]] = Field(description="minlon, minlat, maxlon, maxlat")
    crs: str


class Extent(BaseModel):
    spatial: SpatialExtent


class Collection(BaseModel):
    id: str
    title: str
    description: str | None = None
    itemType: str
    crs: list[str]
    extent: Extent
    links: list[Link]


class Collections(BaseModel):
    links: list[Link]
    collections: list[Collection]


class Feature(BaseModel):
    type: Literal["Feature"]
    id: int | str
    geometry: dict[str, Any] | None = Field(description="GeoJSON geometry, WGS 84 lon/lat")
    properties: dict[str, Any] | None
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberReturned: int
    links: list[Link]
