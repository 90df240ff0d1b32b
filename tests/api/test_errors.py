"""Errors are JSON {"detail": ...} with the right status, never a trace, SQL or driver message;
every input has a bound."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import dataset as ds

LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SELECT ", "planning.", "syntax error", 'File "')


def clean(r: Any) -> None:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"detail"}
    assert not any(leak in r.text for leak in LEAKS), r.text
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nothing/here", 404),
        ("GET", "/v1/plans/%27%3B%20DROP%20TABLE%20plan%3B--", 404),
        ("GET", "/v1/parcels?q=%27%20OR%201%3D1--", 200),
        ("GET", "/v1/parcels?q=%5C%25%25_", 200),
        ("POST", "/v1/plans", 405),
        ("GET", "/v1/lookup?lon=1e400&lat=16", 422),
        ("GET", "/v1/lookup?lon=abc&lat=16", 422),
        ("GET", "/v1/lookup?lon=107.5&lat=16.4&date=2025-02-30", 422),
        ("GET", "/v1/plans/" + "A" * 101, 422),
        ("GET", "/v1/lookup?x=1&y=2&crs=" + "E" * 61, 422),
        ("GET", "/v1/lookup?x=1&y=2&province=4600", 422),
        ("GET", "/v1/parcels?q=" + "a" * 101, 422),
        ("GET", "/ogc/collections/zones/items?bbox=" + "1," * 101, 422),
        ("GET", "/ogc/collections/zones/items?limit=1001", 422),
        ("GET", "/ogc/collections/zones/items/0", 422),
        ("GET", "/ogc/collections/zones/items/99999999999999999999", 422),
        ("GET", "/ogc/collections/ZONES", 422),
        ("GET", "/v1/plans/X/diff?from=0&to=1", 422),
        ("GET", "/v1/plans/X/diff?from=1&to=99999999999", 422),
    ],
)
def test_error_shapes(client: TestClient, method: str, path: str, status: int) -> None:
    r = client.request(method, path)
    assert r.status_code == status, r.text
    if status != 200:
        clean(r)


def test_diff_of_unknown_revisions(client: TestClient) -> None:
    r = client.get(f"/v1/plans/{ds.ZONING}/diff", params={"from": 1, "to": 987654})
    assert r.status_code == 404, r.text
    clean(r)


def test_validation_errors_are_bounded(client: TestClient) -> None:
    r = client.post(
        "/v1/lookup/geometry", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    clean(r)
    items = [{"lon": "x", "lat": "y", "id": "i" * 101}] * 50
    r = client.post("/v1/lookup/batch", json={"items": items})
    assert r.status_code == 422
    clean(r)
    assert len(r.text) < 1000


def test_header_bounds(client: TestClient) -> None:
    geometry = ds.to_geojson_lonlat(ds.INSIDE.geom)
    r = client.post(
        "/v1/lookup/geometry", json={"geometry": geometry}, headers={"Content-Crs": "E" * 81}
    )
    assert r.status_code == 422
    clean(r)
    r = client.post("/v1/lookup/geometry", json={"geometry": geometry, "crs": "EPSG:" + "9" * 60})
    assert r.status_code == 422
    clean(r)


def test_streamed_body_over_the_limit(client: TestClient) -> None:
    """A chunked body (no Content-Length) is cut off at the limit too."""

    def chunks() -> Iterator[bytes]:
        yield b'{"items": ['
        for _ in range(100_000):
            yield b'{"lon": 107.58, "lat": 16.47},'
        yield b"{}]}"

    for path in ("/v1/lookup/batch", "/v1/lookup/geometry"):
        r = client.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, (path, r.status_code, r.text)
        clean(r)

    def small() -> Iterator[bytes]:
        yield b'{"items": [{"lon": 107.58, '
        yield b'"lat": 16.47}]}'

    r = client.post(
        "/v1/lookup/batch", content=small(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["succeeded"] == 1


def test_security_headers(client: TestClient) -> None:
    r = client.get("/v1/plans")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "same-origin"
