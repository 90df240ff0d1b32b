"""API keys (`planning keys create|list|revoke`), per-key and anonymous quotas, 429, /v1/usage."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.main import create_app
from tests.api.conftest import SECRET, LiveServer, settings_for
from tests.conftest import Cli

LOOKUP = "/v1/lookup?lon=107.58&lat=16.47"


def cli(db_url: str) -> Cli:
    run = Cli(db_url)
    run.env["PLANNING_SECRET"] = SECRET
    return run


def fresh_window(margin: float = 3.0) -> None:
    """Wait for a new quota minute when the current one is about to end (windows are fixed)."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


def check_429(r: httpx.Response, limit: int) -> None:
    assert r.status_code == 429
    assert "quota" in r.json()["detail"]
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 61
    assert r.headers["RateLimit-Limit"] == str(limit)
    assert r.headers["RateLimit-Remaining"] == "0"
    assert int(r.headers["RateLimit-Reset"]) == retry


def test_key_lifecycle(db_url: str, engine: Engine) -> None:
    run = cli(db_url)
    created = run("keys", "create", "Công ty Đo đạc A", "--quota", "4")
    key = created.stdout.strip()
    assert key.startswith("pk_") and "\n" not in key
    assert "not shown again" in created.stderr and key not in created.stderr
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM planning.api_key")).mappings().one()
    # Only a keyed hash is stored; nothing in the row reveals the key.
    assert row["secret_hash"] == hmac.new(SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()
    assert all(key not in str(v) for v in row.values())
    assert key.split("_", 2)[1] == row["prefix"] and row["quota_per_min"] == 4
    listed = json.loads(run("keys", "list", "--json").stdout)
    assert [(k["name"], k["prefix"], k["quota_per_min"]) for k in listed] == [
        ("Công ty Đo đạc A", row["prefix"], 4)
    ]
    assert "secret_hash" not in listed[0] and listed[0]["revoked_at"] is None

    fresh_window()
    with TestClient(create_app(settings_for(db_url))) as c:
        h = {"X-API-Key": key}
        usage = c.get("/v1/usage", headers=h)
        assert usage.status_code == 200, usage.text
        u = usage.json()
        assert (u["key"], u["name"], u["quota_per_min"]) == (row["prefix"], "Công ty Đo đạc A", 4)
        assert u["used_this_minute"] == 1 and u["remaining_this_minute"] == 3
        assert u["requests_today"] == 1 and u["requests_last_30_days"] == 1
        for remaining in (2, 1, 0):
            r = c.get(LOOKUP, headers=h)
            assert r.status_code == 200
            assert r.headers["RateLimit-Limit"] == "4"
            assert r.headers["RateLimit-Remaining"] == str(remaining)
        check_429(c.get(LOOKUP, headers=h), 4)
        check_429(c.get("/v1/usage", headers=h), 4)
        # The key's quota is its own: anonymous calls from the same address still pass.
        assert c.get(LOOKUP).status_code == 200
        bad = c.get(LOOKUP, headers={"X-API-Key": key[:-2] + "xx"})
        assert bad.status_code == 401 and bad.json() == {"detail": "invalid or revoked API key"}
        assert c.get("/v1/usage").status_code == 401
        # Liveness and docs are never keyed or counted.
        assert c.get("/healthz", headers={"X-API-Key": "nonsense"}).status_code == 200
    # The lifespan flushed the day's count of accepted requests.
    with engine.connect() as conn:
        n = conn.execute(text("SELECT sum(requests) FROM planning.api_key_usage")).scalar_one()
    assert n == 4

    run("keys", "revoke", row["prefix"])
    assert json.loads(run("keys", "list", "--json").stdout)[0]["revoked_at"] is not None
    with TestClient(create_app(settings_for(db_url))) as c:
        r = c.get(LOOKUP, headers={"X-API-Key": key})
        assert r.status_code == 401
    assert "no active key" in run("keys", "revoke", row["prefix"], ok=False).stderr


def test_key_create_refuses_bad_input(db_url: str) -> None:
    run = cli(db_url)
    assert run("keys", "create", "x", "--quota", "0", ok=False).exit_code != 0
    r = run("keys", "create", " ", ok=False)
    assert "1 to 100 characters" in r.stderr


def test_anonymous_quota_per_client(api_url: str) -> None:
    fresh_window()
    with TestClient(create_app(settings_for(api_url, anon_quota_per_min=3))) as c:
        for remaining in (2, 1):
            r = c.get("/v1/plans")
            assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == str(remaining)
        assert c.get("/ogc/conformance").status_code == 200  # the OGC API counts too
        check_429(c.get("/v1/plans"), 3)
        check_429(c.get("/ogc/collections"), 3)
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.get("/openapi.json").status_code == 200
    with TestClient(
        create_app(settings_for(api_url, anon_quota_per_min=3)), client=("203.0.113.9", 50000)
    ) as other:
        assert other.get("/v1/plans").status_code == 200  # another address, another count


def test_429_over_real_http(api_url: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("PLANNING_DEBUG", None)
    env.update(
        PLANNING_DATABASE_URL=api_url, PLANNING_SECRET=SECRET, PLANNING_ANON_QUOTA_PER_MIN="5"
    )
    server = LiveServer(env, tmp_path / "server.log")
    try:
        server.wait_ready()
        fresh_window()
        with httpx.Client(base_url=server.base) as http:
            codes = [http.get(LOOKUP).status_code for _ in range(5)]
            assert codes == [200] * 5
            r = http.get(LOOKUP)
            check_429(r, 5)
            assert r.headers["content-type"] == "application/json"
            assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        server.stop()


@pytest.mark.parametrize("header", ["", "pk_", "pk_a_b_c", "x" * 300, "pk_zzzz_" + "a" * 32])
def test_malformed_keys_are_401(client: TestClient, header: str) -> None:
    r = client.get("/v1/plans", headers={"X-API-Key": header})
    if header:
        assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked API key"
    else:
        assert r.status_code == 200  # an empty header is no key


def test_every_created_key_verifies(engine: Engine) -> None:
    from planning.keys import create_key, verify_key

    secret = SECRET.encode()
    with engine.begin() as conn:
        keys = [create_key(conn, secret, f"k{i}", 10) for i in range(40)]
        # Random parts with "_" are common (~40 %): they must verify like the others.
        assert any("_" in k.split("_", 2)[2] for k, _ in keys)
        for k, info in keys:
            assert verify_key(conn, secret, k) == info
            assert verify_key(conn, b"another secret", k) is None
