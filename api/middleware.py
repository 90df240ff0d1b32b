"""ASGI middleware: security headers, body size limit, API keys and quotas."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import DB_DOWN, RETRY_AFTER_S
from api.quota import Limiter
from planning.errors import PayloadTooLarge
from planning.keys import KeyInfo, verify_key

QUOTA_PREFIXES = ("/v1/", "/ogc")
KEY_CACHE_S = 30.0

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; "
        b"style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'; "
        b"base-uri 'self'",
    ),
]

# The API docs page (Swagger UI, served from its npm package) starts with an inline script; the
# page holds no user content, so only there is that allowed.
DOCS_PATH = "/docs"
DOCS_HEADERS = [
    *[h for h in SECURITY_HEADERS if h[0] != b"content-security-policy"],
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
        b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'self'",
    ),
]


def with_origins(
    headers: list[tuple[bytes, bytes]], origins: tuple[str, ...]
) -> list[tuple[bytes, bytes]]:
    """Allow a configured basemap's origins to be fetched (styles, tiles, glyphs, sprites)."""
    if not origins:
        return headers
    extra = " ".join(origins).encode()
    out = []
    for name, value in headers:
        if name == b"content-security-policy":
            value = value.replace(b"img-src 'self'", b"img-src 'self' " + extra)
            value += b"; connect-src 'self' " + extra
        out.append((name, value))
    return out


async def _json(send: Send, status: int, detail: Any, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a receive that hands over an already read body, then the client's messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Guard:
    """Add security headers, refuse oversized bodies, authenticate keys and enforce quotas."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        anon_quota: int,
        limiter: Limiter,
        extra_origins: tuple[str, ...] = (),
    ) -> None:
        self.security = with_origins(SECURITY_HEADERS, extra_origins)
        self.app = app
        self.max_body = max_body
        self.anon_quota = anon_quota
        self.limiter = limiter
        self._keys: dict[str, tuple[float, KeyInfo | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _json(send, 413, f"request body larger than {self.max_body} bytes", [])
            return
        if length is None and b"transfer-encoding" in headers:
            # A streamed body: read it here up to the limit, so that an oversized one is a 413
            # rather than a parse error deep inside the framework.
            body = await self._read_streamed(receive)
            if body is None:
                await _json(send, 413, f"request body larger than {self.max_body} bytes", [])
                return
            receive = _replay(body, receive)
        else:
            receive = self._bounded(receive)
        extra: list[tuple[bytes, bytes]] = []
        path: str = scope["path"]
        if path.startswith(QUOTA_PREFIXES):
            raw_key = headers.get(b"x-api-key")
            key_id: int | None = None
            if raw_key:
                try:
                    info = await self._key(scope, raw_key.decode("latin-1"))
                except SQLAlchemyError:
                    retry = [(b"retry-after", RETRY_AFTER_S.encode())]
                    await _json(send, 503, DB_DOWN, retry)
                    return
                if info is None:
                    await _json(send, 401, "invalid or revoked API key", [])
                    return
                key_id, limit = info.id, info.quota_per_min
                client = f"key:{key_id}"
                scope.setdefault("state", {})["api_key"] = info
            else:
                addr = scope.get("client") or ("unknown", 0)
                client, limit = f"ip:{addr[0]}", self.anon_quota
            verdict = await self.limiter.ahit(client, limit)
            scope.setdefault("state", {})["quota"] = verdict
            extra = [
                (b"ratelimit-limit", str(verdict.limit).encode()),
                (b"ratelimit-remaining", str(verdict.remaining).encode()),
                (b"ratelimit-reset", str(verdict.reset_s).encode()),
            ]
            if not verdict.allowed:
                extra.append((b"retry-after", str(verdict.reset_s).encode()))
                await _json(send, 429, "quota exceeded; see Retry-After", extra)
                return
            if key_id is not None:
                self.limiter.count_key(key_id)  # consumption: accepted requests only

        security = DOCS_HEADERS if path == DOCS_PATH else self.security

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra, *security]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _read_streamed(self, receive: Receive) -> bytes | None:
        """Read a streamed body; None when it exceeds the limit."""
        parts: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(parts)
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body:
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    def _bounded(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"request body larger than {limit} bytes")
            return message

        return wrapped

    async def _key(self, scope: Scope, key: str) -> KeyInfo | None:
        now = time.monotonic()
        cached = self._keys.get(key)
        if cached and cached[0] > now:
            return cached[1]
        app = scope["app"]

        def check() -> KeyInfo | None:
            with app.state.engine.connect() as conn:
                return verify_key(conn, app.state.secret, key)

        info = await anyio.to_thread.run_sync(check)
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[key] = (now + KEY_CACHE_S, info)
        return info
