"""Property-based tests from /openapi.json (schemathesis): for every operation, valid and invalid
inputs get no server error and no answer that breaks the documented status, content type or
schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from planning.settings import Settings
from tests.api import dataset as ds
from tests.api.conftest import settings_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}

# The operations, read from an app that never connects (building it touches no database).
_SPEC = create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/unused")).openapi()
OPERATIONS = [
    (method.upper(), path)
    for path, item in _SPEC["paths"].items()
    for method in item
    if method in ("get", "post")
]


def _has_inputs(method: str, path: str) -> bool:
    op = _SPEC["paths"][path][method.lower()]
    return bool(op.get("parameters") or op.get("requestBody"))


@pytest.fixture(scope="module")
def api_schema(api_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(settings_for(api_url)))


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms(api_schema: schemathesis.BaseSchema, method: str, path: str) -> None:
    operation = api_schema[path][method]
    for mode, examples in EXAMPLES.items():

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # No parameters and no body: there is no invalid request to make.
            assert mode is GenerationMode.NEGATIVE and not _has_inputs(method, path)


def _rich_requests() -> list[tuple[str, str, dict[str, Any]]]:
    """Requests with real answers (zones, parcels, red lines, features), not only 4xx."""
    e, n = ds.P_DETAIL
    lon, lat = ds.lonlat(e, n)
    parcel = {"commune": "19753", "sheet": "7", "parcel": "12"}
    polygon = {"geometry": ds.to_geojson_lonlat(ds.STRADDLE.geom), "date": "2025-06-01"}
    batch = {"items": [{"lon": lon, "lat": lat}, parcel, {"lon": 500, "lat": 0}]}
    return [
        ("GET", "/v1/lookup", {"query": {"lon": lon, "lat": lat}}),
        ("GET", "/v1/lookup", {"query": {"x": e, "y": n, "crs": "EPSG:9214"}}),
        ("GET", "/v1/lookup", {"query": {"lon": 107.7, "lat": 16.3}}),
        ("GET", "/v1/parcels/{commune}/{sheet}/{parcel}", {"path_parameters": parcel}),
        (
            "GET",
            "/v1/parcels/{commune}/{sheet}/{parcel}",
            {"path_parameters": parcel, "query": {"geometry": True}},
        ),
        (
            "GET",
            "/v1/parcels/{commune}/{sheet}/{parcel}",
            {"path_parameters": {"commune": "19753", "sheet": "9", "parcel": "1"}},
        ),
        ("GET", "/v1/parcels", {"query": {"q": "vy da", "limit": 5, "offset": 5}}),
        ("POST", "/v1/lookup/geometry", {"body": polygon, "media_type": "application/json"}),
        ("POST", "/v1/lookup/batch", {"body": batch, "media_type": "application/json"}),
        ("GET", "/v1/plans/{code}", {"path_parameters": {"code": ds.ZONING}}),
        ("GET", "/v1/plans/{code}/revisions", {"path_parameters": {"code": ds.ZONING}}),
        (
            "GET",
            "/ogc/collections/{collection_id}",
            {"path_parameters": {"collection_id": "zones"}},
        ),
        (
            "GET",
            "/ogc/collections/{collection_id}/items",
            {"path_parameters": {"collection_id": "parcels"}, "query": {"limit": 3}},
        ),
        (
            "GET",
            "/ogc/collections/{collection_id}/items/{feature_id}",
            {"path_parameters": {"collection_id": "zones", "feature_id": 1}},
        ),
    ]


@pytest.mark.parametrize(("method", "path", "parts"), _rich_requests())
def test_rich_answers_conform(
    api_schema: schemathesis.BaseSchema, method: str, path: str, parts: dict[str, Any]
) -> None:
    case = api_schema[path][method].Case(**parts)
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == 200, response.text
