"""Plans, revisions, diffs and the land-use catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import AsOf, Conn
from api.routers.lookup import ERRORS
from api.schemas import Category, DiffOut, PlanDetail, PlanList, RevisionOut
from planning import lookup, plans, revisions
from planning.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["plans"])
CODE = Path(max_length=100, description="plan code")


@router.get("/plans", response_model=PlanList, responses=ERRORS, summary="All plans")
def plan_list(conn: Conn, on: AsOf) -> dict[str, Any]:
    """List the plans, most detailed first, with the zoning revision current on the date."""
    return {"plans": plans.list_plans(conn, on), "data_version": lookup.current_data_version(conn)}


@router.get("/plans/{code}", response_model=PlanDetail, responses=ERRORS, summary="One plan")
def plan_detail(conn: Conn, on: AsOf, code: Annotated[str, CODE]) -> dict[str, Any]:
    """Describe a plan: decision, level, revisions, extent."""
    return plans.plan_detail(conn, code, on)


@router.get(
    "/plans/{code}/revisions",
    response_model=list[RevisionOut],
    responses=ERRORS,
    summary="A plan's revisions",
)
def plan_revisions(conn: Conn, code: Annotated[str, CODE]) -> list[dict[str, Any]]:
    """List every revision loaded for a plan (staged, published, retired)."""
    return plans.plan_revisions(conn, code)


@router.get(
    "/plans/{code}/diff",
    response_model=DiffOut,
    responses=ERRORS,
    summary="What changed between two revisions",
    response_model_by_alias=True,
)
def plan_diff(
    conn: Conn,
    code: Annotated[str, CODE],
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> dict[str, Any]:
    """Zones added, removed and changed (function, indicators, area) between two revisions."""
    plans.require_plan(conn, code)
    d = revisions.diff_revisions(conn, from_, to)
    if d["plan"] != code:
        raise InvalidInput(f"revisions {from_} and {to} are not revisions of plan {code!r}")
    return d


@router.get(
    "/land-use-categories",
    response_model=list[Category],
    responses=ERRORS,
    tags=["catalogue"],
    summary="The land-use catalogue",
)
def land_use_categories(conn: Conn) -> list[dict[str, Any]]:
    """Land-use codes of both schemes with Vietnamese and English names and map colours."""
    return plans.categories(conn)
