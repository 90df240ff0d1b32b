"""The hottest GET routes, answered without the framework's routing and dependency layers.

A trivial async route costs about 0.3 ms of CPU in FastAPI's exception, routing and request
handling layers, against 0.04 ms for the same answer straight from ASGI (measured with wrk on
this project's server; see bench/RESULTS.md). For ``GET /v1/lookup``, the citizen map's click
and the professionals' most frequent call, that is a quarter of the request. ``FastPath`` sits
inside the Guard (security headers, body limits, keys and quotas still apply) and calls the
route's own endpoint — an ``async def endpoint(request) -> Response`` that parses its query
itself — with the app's own exception handlers. Everything else, HEAD included, goes through the
framework as before; the route stays declared there, so the OpenAPI document is unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


def handler_for(handlers: Mapping[Any, Any], exc: Exception) -> Any:
    """Return the exception handler the framework would pick (None: let it propagate).

    The catch-all ``Exception`` handler is the outermost middleware's business (it logs the
    trace and answers 500), so an exception that only it handles propagates."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


class FastPath:
    """Serve ``GET`` on a few exact paths by calling their endpoints directly."""

    def __init__(
        self, app: ASGIApp, routes: Mapping[str, Endpoint], handlers: Mapping[Any, Any]
    ) -> None:
        self.app = app
        self.routes = dict(routes)
        # The app's handlers, looked up when an error happens (they are registered after the
        # middleware is declared, and the mapping is the app's own).
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.routes.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = handler_for(self.handlers, exc)
            if handler is None:
                raise
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)
