"""Response shapes, for validation and for the OpenAPI description."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Texts(BaseModel):
    """A text in Vietnamese and English."""

    vi: str
    en: str


class Error(BaseModel):
    """Every error answer."""

    detail: Any = Field(description="what went wrong (a sentence, or a list for bad parameters)")


class WGS84(BaseModel):
    lon: float
    lat: float


class PlanePoint(BaseModel):
    x: float = Field(description="easting (m)")
    y: float = Field(description="northing (m)")
    crs: str


class LocationOut(BaseModel):
    wgs84: WGS84
    plane: PlanePoint = Field(
        description="the point in the plane of the data: its VN-2000 TM-3 zone in Vietnam, "
        "the UTM zone elsewhere"
    )
    vn2000: PlanePoint | None = Field(description="the same, when the plane is VN-2000")


class PlanOut(BaseModel):
    code: str
    name: str | None
    level: str
    level_name: Texts | None
    decision: str | None
    decision_date: str | None
    scale: str | None
    authority: str | None


class RevisionRef(BaseModel):
    id: int
    version: int
    effective_from: str


class LandUse(BaseModel):
    code: str | None
    name_vi: str | None
    name_en: str | None


class Indicators(BaseModel):
    density_max: float | None = Field(description="maximum building density, %")
    floors_min: float | None
    floors_max: float | None
    far_max: float | None = Field(description="maximum floor-area ratio")
    height_max_m: float | None
    setback_m: float | None


class ZoneOut(BaseModel):
    id: int
    code: str | None = Field(
        description="land-use code as the plan wrote it (else the category inferred from the "
        "function); land_use.code is the catalogue's"
    )
    function: str | None = Field(description="the most specific land-use function")
    functions: list[str | None] = Field(description="function levels 1, 2, 3")
    lot: str | None
    name: str | None
    land_use: LandUse | None
    is_road: bool
    indicators: Indicators


class PlanZones(BaseModel):
    plan: PlanOut
    revision: RevisionRef
    zones: list[ZoneOut]


class ParcelOut(BaseModel):
    id: int = Field(
        description="the parcel's id in its revision: names it among parcels that share a key"
    )
    commune: str
    sheet: str
    parcel: str
    area_m2: float | None = Field(
        description="planar area measured in the revision's plane (its VN-2000 TM-3 zone)"
    )
    area_official_m2: float | None = Field(description="area attribute of the cadastral data")
    land_use_code: str | None
    address: str | None


class RedLineOut(BaseModel):
    road_name: str | None
    row_width_m: float | None
    plan: str
    distance_m: float | None


class LookupOut(BaseModel):
    location: LocationOut
    date: str
    parcel: ParcelOut | None
    plans: list[PlanZones] = Field(description="applicable plans, most detailed first")
    red_line: RedLineOut | None = Field(description="nearest red line within 100 m")
    data_version: int
    disclaimer: Texts


class ZoneShare(ZoneOut):
    area_m2: float
    share_pct: float
    geometry: dict[str, Any] | None = None


class PlanBreakdown(BaseModel):
    plan: PlanOut
    revision: RevisionRef
    crs: str = Field(description="the plan's metric plane, where these m² are measured")
    area_m2: float = Field(description="area of the parcel/polygon in this plan's plane")
    area_in_plan_m2: float
    overlap_m2: float = Field(
        description="m² claimed by two or more of the plan's zones (they should not overlap; "
        "shares are then taken from the covered area)"
    )
    outside_plan_m2: float
    outside_plan_pct: float
    zones: list[ZoneShare]
    road_area_m2: float = Field(description="part inside planned transport land")
    remaining_area_m2: float


class BreakdownOut(BaseModel):
    plans: list[PlanBreakdown]
    road_area_m2: float
    remaining_area_m2: float | None
    data_version: int
    disclaimer: Texts
    date: str


class ParcelDetail(BreakdownOut):
    parcel: ParcelOut
    geometry: dict[str, Any] | None = None


class GeometryBreakdown(BreakdownOut):
    area_m2: float
    crs: str


class Links(BaseModel):
    next: str | None
    prev: str | None


class ParcelPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ParcelOut]
    links: Links


class PlanSummary(BaseModel):
    code: str
    name: str | None
    level: str
    decision: str | None
    decision_date: str | None
    scale: str | None
    authority: str | None
    province_code: str | None
    current_revision: int | None


class PlanList(BaseModel):
    plans: list[PlanSummary]
    data_version: int


class RevisionOut(BaseModel):
    id: int
    kind: str
    version: int
    state: str
    effective_from: str
    effective_to: str | None
    feature_count: int
    source_name: str
    crs: str
    loaded_at: str
    published_at: str | None


class PlanDetail(PlanSummary):
    revisions: list[RevisionOut]
    bbox: list[float] | None


class DiffZone(BaseModel):
    key: str
    lot: str | None
    code: str | None
    function: str | None
    area_m2: float


class DiffChange(BaseModel):
    key: str
    lot: str | None
    changes: dict[str, dict[str, Any]]


class DiffOut(BaseModel):
    plan: str | None
    from_: int = Field(alias="from")
    to: int
    added: list[DiffZone]
    removed: list[DiffZone]
    changed: list[DiffChange]
    area_m2: dict[str, float]


class Category(BaseModel):
    code: str
    scheme: str
    group: str
    name_vi: str
    name_en: str
    color: str | None


class UsageOut(BaseModel):
    key: str
    name: str
    quota_per_min: int
    used_this_minute: int
    remaining_this_minute: int
    requests_today: int
    requests_last_30_days: int


class ParcelMatch(ParcelOut):
    link: str = Field(description="the URL naming this parcel by its id")


class Matches(BaseModel):
    """300: the key names several parcels; pick one by its link."""

    detail: str
    matches: list[ParcelMatch]


class BatchItemOut(BaseModel):
    index: int
    id: str | None
    status: int = Field(
        description="200, the error's status (300 with matches: the key names several "
        "parcels), or 503 for an item the batch's time budget did not reach"
    )
    result: dict[str, Any] | None = None
    error: str | None = None
    matches: list[ParcelMatch] | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    succeeded: int
    failed: int
    complete: bool = Field(description="false when the time budget left items unanswered")
    not_reached: list[int] = Field(description="indexes of the items not reached")
    data_version: int
