"""GET /v1/lookup skips the framework's routing (api.fastpath) and answers exactly as it would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.fastpath import FastPath
from api.main import create_app
from tests.api import dataset as ds
from tests.api.conftest import settings_for

E, N = ds.P_HOUSING
QUERIES: list[dict[str, Any]] = [
    {"x": E, "y": N, "crs": "EPSG:9214"},  # a zone, a parcel, a red line
    {"x": E, "y": N, "province": "46", "date": "2020-01-01"},  # before any plan
    {"x": ds.P_EMPTY[0], "y": ds.P_EMPTY[1], "crs": "EPSG:9214"},  # no plan here
    {"lon": 107.58, "lat": 96.0},  # not WGS 84
    {"lon": 120.0, "lat": 16.0},  # outside the service area
    {"lon": "abc", "lat": 16.0},  # not a number
    {"lon": 107.58},  # half a point
    {"x": E, "y": N, "crs": "EPSG:9214", "axis": "up"},  # not an axis order
    {"x": E, "y": N, "crs": "EPSG:9214", "date": "2026-13-01"},  # not a date
    {"x": E, "y": N, "crs": "E" * 61},  # too long
]


class Seen:
    """Outermost ASGI wrapper that keeps the scope of the last request."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.scope: Scope = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.scope = scope
        await self.app(scope, receive, send)


def _without_fastpath(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FastPath]
    return app


@pytest.fixture(scope="module")
def pair(api_url: str) -> Iterator[tuple[TestClient, TestClient, Seen, Seen]]:
    fast, plain = (
        Seen(create_app(settings_for(api_url))),
        Seen(_without_fastpath(create_app(settings_for(api_url)))),
    )
    with TestClient(fast) as a, TestClient(plain) as b:  # type: ignore[arg-type]
        yield a, b, fast, plain


@pytest.mark.parametrize("query", QUERIES)
def test_same_answer_with_and_without_the_fast_path(
    pair: tuple[TestClient, TestClient, Seen, Seen], query: dict[str, Any]
) -> None:
    a, b, fast, plain = pair
    ra, rb = a.get("/v1/lookup", params=query), b.get("/v1/lookup", params=query)
    assert (ra.status_code, ra.json()) == (rb.status_code, rb.json())
    skip = {"date", "ratelimit-remaining", "ratelimit-reset"}
    assert {k: v for k, v in ra.headers.items() if k not in skip} == {
        k: v for k, v in rb.headers.items() if k not in skip
    }
    # The fast path served it: the framework's router never matched the route.
    assert "endpoint" not in fast.scope
    assert plain.scope["endpoint"].__name__ == "lookup_point"


def test_other_requests_still_go_through_the_framework(
    pair: tuple[TestClient, TestClient, Seen, Seen],
) -> None:
    a, _, fast, _ = pair
    e, n = ds.P_HOUSING
    # HEAD is the framework's (FastAPI routes answer only their declared methods): 405
    assert a.head("/v1/lookup", params={"x": e, "y": n, "crs": "EPSG:9214"}).status_code == 405
    assert "endpoint" in fast.scope
    assert a.get("/v1/plans").status_code == 200
    assert fast.scope["endpoint"].__name__ != "lookup_point"
    r = a.get("/v1/lookup/", follow_redirects=False)  # not the fast path's exact path
    assert r.status_code == 307 and "endpoint" not in fast.scope  # the framework's redirect
    assert a.post("/v1/lookup").status_code == 405
