"""API keys: created once and shown once; only a keyed hash (HMAC-SHA256) is stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from planning import clock
from planning.errors import InvalidInput, NotFound
from planning.settings import Settings

KEY_PREFIX = "pk"


def server_secret(settings: Settings) -> bytes:
    """Return the server secret; create a private file for it on first use when not configured."""
    if settings.secret:
        return settings.secret.encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def hash_key(secret: bytes, key: str) -> str:
    """Return the stored form of a key."""
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    """A verified key."""

    id: int
    name: str
    prefix: str
    quota_per_min: int


def create_key(conn: Connection, secret: bytes, name: str, quota: int) -> tuple[str, KeyInfo]:
    """Create a key; return the plain key (shown once) and its record."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a key name must have 1 to 100 characters")
    if not 1 <= quota <= 1_000_000:
        raise InvalidInput("the quota is 1 to 1 000 000 requests per minute")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    row = conn.execute(
        text(
            "INSERT INTO planning.api_key (name, prefix, secret_hash, quota_per_min) "
            "VALUES (:n, :p, :h, :q) RETURNING id"
        ),
        {"n": name, "p": prefix, "h": hash_key(secret, key), "q": quota},
    ).one()
    return key, KeyInfo(int(row.id), name, prefix, quota)


def verify_key(conn: Connection, secret: bytes, key: str) -> KeyInfo | None:
    """Return the key's record when it is valid and not revoked (constant-time comparison)."""
    parts = key.split("_", 2)  # the random part may itself contain "_"
    if len(key) > 200 or len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    row = conn.execute(
        text(
            "SELECT id, name, prefix, secret_hash, quota_per_min FROM planning.api_key "
            "WHERE prefix = :p AND revoked_at IS NULL"
        ),
        {"p": parts[1]},
    ).first()
    if row is None:
        # Spend the same time as a real comparison so prefixes cannot be probed by timing.
        hmac.compare_digest(hash_key(secret, key), "0" * 64)
        return None
    if not hmac.compare_digest(hash_key(secret, key), row.secret_hash):
        return None
    return KeyInfo(int(row.id), row.name, row.prefix, int(row.quota_per_min))


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    """List keys (never their secrets)."""
    rows = conn.execute(
        text(
            "SELECT id, name, prefix, quota_per_min, created_at, revoked_at, last_used_at "
            "FROM planning.api_key ORDER BY id"
        )
    ).all()
    return [dict(r._mapping) for r in rows]


def revoke_key(conn: Connection, ident: str) -> None:
    """Revoke a key by id or prefix."""
    res = conn.execute(
        text(
            "UPDATE planning.api_key SET revoked_at = now() WHERE revoked_at IS NULL AND "
            "(prefix = :v OR CAST(id AS text) = :v)"
        ),
        {"v": ident.strip()},
    )
    if res.rowcount == 0:
        raise NotFound(f"no active key {ident!r}")


def usage_of(conn: Connection, key_id: int) -> dict[str, int]:
    """Return a key's stored request counts (today in Vietnam, last 30 days)."""
    row = conn.execute(
        text(
            "SELECT coalesce(sum(requests) FILTER (WHERE day = :today), 0) AS today, "
            "coalesce(sum(requests) FILTER (WHERE day > CAST(:today AS date) - 30), 0) "
            "AS last_30_days FROM planning.api_key_usage WHERE key_id = :k"
        ),
        {"k": key_id, "today": clock.today()},
    ).one()
    return {"today": int(row.today), "last_30_days": int(row.last_30_days)}
