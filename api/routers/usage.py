"""What an API key has consumed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from api.deps import Conn
from api.routers.lookup import ERRORS
from api.schemas import UsageOut
from planning import clock
from planning.keys import usage_of

router = APIRouter(prefix="/v1", tags=["keys"])


@router.get("/usage", response_model=UsageOut, responses=ERRORS, summary="My usage")
def usage(request: Request, conn: Conn) -> dict[str, Any]:
    """Tell the calling key its quota and consumption (send X-API-Key)."""
    info = request.scope.get("state", {}).get("api_key")
    if info is None:
        raise HTTPException(401, "send your X-API-Key to see its usage")
    limiter = request.app.state.limiter
    verdict = request.scope.get("state", {}).get("quota")
    used = verdict.limit - verdict.remaining if verdict else limiter.used(f"key:{info.id}")
    stored = usage_of(conn, info.id)
    pending = limiter.pending(info.id, clock.today())
    return {
        "key": info.prefix,
        "name": info.name,
        "quota_per_min": info.quota_per_min,
        "used_this_minute": used,
        "remaining_this_minute": max(info.quota_per_min - used, 0),
        "requests_today": stored["today"] + pending,
        "requests_last_30_days": stored["last_30_days"] + pending,
    }
