"""GET /v1/lookup validates its query string with one model (api.query): the same documented
parameters and the same 422 answers as FastAPI's per-parameter validation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

POINT = "lon=107.58&lat=16.47"


def test_documented_parameters(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/lookup"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) == {"date", "lon", "lat", "x", "y", "crs", "province", "axis"}
    assert all(p["in"] == "query" and not p.get("required") for p in params.values())
    assert {"type": "number"} in params["lon"]["schema"]["anyOf"]
    assert params["axis"]["schema"]["enum"] == ["en", "ne"]
    assert {"type": "string", "maxLength": 60} in params["crs"]["schema"]["anyOf"]
    assert params["lon"]["description"] == "WGS 84 longitude"
    assert "200" in op["responses"] and "422" in op["responses"]


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ("lon=abc&lat=16.47", "lon", "float_parsing"),
        (f"{POINT}&axis=up", "axis", "literal_error"),
        (f"{POINT}&date=2025-13-01", "date", "date_from_datetime_parsing"),
        (f"{POINT}&crs={'E' * 61}", "crs", "string_too_long"),
        (f"{POINT}&province=1234", "province", "string_too_long"),
    ],
)
def test_bad_values_are_422_naming_the_parameter(
    client: TestClient, query: str, name: str, kind: str
) -> None:
    r = client.get(f"/v1/lookup?{query}")
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["query", name] and error["type"] == kind and error["msg"]


def test_unknown_parameters_are_ignored_and_the_last_repeat_wins(client: TestClient) -> None:
    r = client.get(f"/v1/lookup?lon=1&lat=1&{POINT}&foo=bar")
    assert r.status_code == 200
    assert r.json()["location"]["wgs84"] == {"lon": 107.58, "lat": 16.47}


def test_too_many_parameters(client: TestClient) -> None:
    query = "&".join(f"p{i}=1" for i in range(60))
    r = client.get(f"/v1/lookup?{POINT}&{query}")
    assert r.status_code == 422
