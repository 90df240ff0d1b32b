"""The HTTP service: ``create_app(settings)`` builds it; the lifespan owns the database pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine, create_engine, text

from api import errors
from api.fastpath import FastPath
from api.middleware import QUOTA_PREFIXES, Guard
from api.quota import Limiter, RedisLimiter
from api.routers import (
    docs,
    health,
    lookup,
    ogc,
    parcels,
    plans,
    sheet,
    styles,
    tiles,
    usage,
    web,
)
from planning.async_reads import AsyncReads, Database
from planning.db import ReadPool
from planning.keys import server_secret
from planning.settings import Settings
from tilesets.service import TileService

log = logging.getLogger("api")
USAGE_FLUSH_S = 5.0

DESCRIPTION = """
**Tra cứu thông tin quy hoạch** — what the approved urban plans of Vietnam say about a place.

Look up a point (WGS 84 or VN-2000), a parcel by commune, sheet and parcel number, or any polygon,
and get the plans, land-use zones and indicators that apply, with exact planar areas in the plan's
VN-2000 TM-3 plane. Every answer carries the data version and a disclaimer: it is for reference
and does not replace the planning certificate (chứng chỉ quy hoạch).

Send `X-API-Key` for a professional quota; anonymous calls are limited per client address.
"""


def _connect_args(settings: Settings, name: str) -> dict[str, Any]:
    return {
        "application_name": name,
        "connect_timeout": 3,
        "options": f"-c statement_timeout={settings.statement_timeout_ms}",
    }


def _engine(
    settings: Settings,
    url: str | None = None,
    name: str = "planning-api",
    pre_ping: bool = False,
    autocommit: bool = False,
) -> Engine:
    # No ping before each use of the primary's connections: it would cost a round trip per
    # request. After a database restart the first use of a stale connection fails (a 503) and
    # makes the pool replace all of them. Replicas are pinged, so that reads fail over to the
    # primary at once when one stops (planning.db.ReadPool).
    return create_engine(
        url or settings.resolved_database_url(),
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=5,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        connect_args=_connect_args(settings, name),
    )


async def _flush_usage(app: FastAPI) -> None:
    """Move the workers' per-key daily counts into the database."""
    counts = app.state.limiter.drain_daily()
    if not counts:
        return

    def write() -> None:
        with app.state.engine.begin() as conn:
            for (key_id, day), n in counts.items():
                conn.execute(
                    text(
                        "INSERT INTO planning.api_key_usage (key_id, day, requests) "
                        "VALUES (:k, :d, :n) ON CONFLICT (key_id, day) DO UPDATE "
                        "SET requests = api_key_usage.requests + EXCLUDED.requests"
                    ),
                    {"k": key_id, "d": day, "n": n},
                )
                conn.execute(
                    text("UPDATE planning.api_key SET last_used_at = now() WHERE id = :k"),
                    {"k": key_id},
                )

    try:
        await anyio.to_thread.run_sync(write)
    except Exception as exc:  # the database may be down; keep the counts for later
        log.warning("usage flush failed: %s", type(exc).__name__)
        for k, n in counts.items():
            app.state.limiter._daily[k] += n


async def _usage_loop(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(USAGE_FLUSH_S)
        await _flush_usage(app)


def _document_keys(app: FastAPI) -> None:
    """Describe the optional X-API-Key header (checked by the Guard middleware) in the OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            spec.setdefault("components", {}).setdefault("securitySchemes", {})["ApiKey"] = {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "optional: a professional quota instead of the anonymous one",
            }
            for path, item in spec["paths"].items():
                if path.startswith(QUOTA_PREFIXES):
                    for op in item.values():
                        op["security"] = [{}, {"ApiKey": []}]
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service (nothing connects before the first request)."""
    settings = settings or Settings()
    limiter = RedisLimiter(settings.redis_url) if settings.redis_url else Limiter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = _engine(settings)
        # Lookups and tiles read from replicas when there are; keys and usage use the primary.
        # Reads have their own pools, in autocommit: no BEGIN before and no ROLLBACK after each
        # request (with READ COMMITTED every statement had its own snapshot anyway; the readers
        # that need one snapshot for several statements open a REPEATABLE READ transaction).
        primary_reads = _engine(settings, autocommit=True)
        replicas = [
            _engine(settings, url, "planning-api-read", pre_ping=True, autocommit=True)
            for url in settings.replica_urls()
        ]
        app.state.reader = ReadPool(primary_reads, replicas)
        # The point lookup runs on the event loop, on asynchronous connections to the same
        # databases (planning.async_reads).
        app.state.async_reads = AsyncReads(
            Database.of(primary_reads, _connect_args(settings, "planning-api")),
            [Database.of(e, _connect_args(settings, "planning-api-read")) for e in replicas],
        )
        # Point lookups (api.deps.fetch_row) wait here, first come first served: at most
        # pool_size of them run at once, so a worker keeps at most pool_size lookup connections
        # per database.
        app.state.read_slots = asyncio.Semaphore(settings.pool_size)
        app.state.secret = server_secret(settings)
        app.state.tiles = TileService(app.state.reader, settings.tile_cache_mb)
        task = asyncio.create_task(_usage_loop(app))
        # Everything built so far (routes, models, schemas) lives as long as the process: keep it
        # out of the collector's way, so that collections triggered by requests stay short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await _flush_usage(app)
            await limiter.close()
            app.state.tiles.dispose()
            app.state.async_reads.close()
            app.state.reader.dispose()
            primary_reads.dispose()
            app.state.engine.dispose()

    app = FastAPI(
        title="Tra cứu thông tin quy hoạch — Planning information lookup",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry looks for configured providers on every request
        # (≈ 40 µs under cProfile); nothing here configures one.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.limiter = limiter
    errors.install(app)
    _document_keys(app)
    for router in (health.router, lookup.router, parcels.router, plans.router, usage.router):
        app.include_router(router)
    app.include_router(ogc.router)
    app.include_router(tiles.router)
    app.include_router(styles.router)
    app.include_router(web.router)
    app.include_router(sheet.router)
    app.include_router(docs.router)
    # Innermost of our middleware: inside the Guard and CORS, outside the framework's routing.
    app.add_middleware(
        FastPath,
        routes={"/v1/lookup": lookup.lookup_point},
        handlers=app.exception_handlers,
    )
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type", "Content-Crs"],
            expose_headers=["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"],
        )
    app.add_middleware(
        Guard,
        max_body=settings.max_body_bytes,
        anon_quota=settings.anon_quota_per_min,
        limiter=limiter,
        extra_origins=settings.basemap_origins(),
    )
    return app
