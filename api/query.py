"""Query strings parsed by one pydantic model, for hot endpoints.

FastAPI validates each declared query parameter on its own, at a cost per parameter and request
that outweighs the rest of a point lookup. A hot endpoint declares no parameters; it validates
the whole query string with one model instead and raises the same RequestValidationError (so
errors look the same), and its OpenAPI parameters are those FastAPI documents for a function
with the classic signature (so the documentation is the same too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
MAX_QUERY_PARAMS = 50


def parse_query(model: type[M], request: Request) -> M:
    """Validate a request's query string with ``model`` (a repeated parameter's last value)."""
    params = request.query_params
    if len(params) > MAX_QUERY_PARAMS:
        raise RequestValidationError(
            [{"loc": ("query",), "msg": "too many query parameters", "type": "too_many"}]
        )
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        errors: list[Any] = [
            {**e, "loc": ("query", *e["loc"])}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise RequestValidationError(errors) from None


def documented_parameters(signature: Callable[..., Any]) -> list[dict[str, Any]]:
    """Return the OpenAPI parameters FastAPI would document for an endpoint ``signature``."""
    probe = FastAPI()
    probe.get("/probe")(signature)
    parameters: list[dict[str, Any]] = probe.openapi()["paths"]["/probe"]["get"]["parameters"]
    return parameters
