"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from planning.revisions import data_version

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    data_version: int


class NotReady(BaseModel):
    status: str
    detail: str


@router.get("/healthz", response_model=Alive, summary="The process is alive")
def healthz() -> dict[str, str]:
    """Answer while the process lives."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": NotReady, "description": "the database does not answer"}},
    summary="The database answers",
)
def readyz(request: Request) -> Any:
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        with request.app.state.reader.connect() as conn:
            version = data_version(conn)
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "detail": "the database does not answer"},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return {"status": "ready", "data_version": int(version)}
