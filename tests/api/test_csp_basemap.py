"""The Content-Security-Policy allows only this origin, plus a configured basemap's origins."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from planning.settings import Settings


def _csp(settings: Settings) -> dict[str, list[str]]:
    with TestClient(create_app(settings)) as client:
        header = client.get("/healthz").headers["content-security-policy"]
    rules: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            rules[words[0]] = words[1:]
    return rules


def test_only_self_without_a_basemap(db_url: str) -> None:
    rules = _csp(Settings(database_url=db_url))
    assert rules["default-src"] == ["'self'"]
    assert "connect-src" not in rules  # falls back to default-src 'self'
    assert all(not s.startswith("http") for v in rules.values() for s in v)


def test_basemap_origins_are_allowed_for_fetches_and_images(db_url: str) -> None:
    rules = _csp(
        Settings(
            database_url=db_url,
            basemap_style="https://tiles.example.org/styles/basic.json?key=1",
            basemap_extra_origins="https://fonts.example.org, not a url",
        )
    )
    assert rules["connect-src"] == [
        "'self'",
        "https://tiles.example.org",
        "https://fonts.example.org",
    ]
    assert "https://tiles.example.org" in rules["img-src"]
    # Scripts still come from this origin only.
    assert rules["default-src"] == ["'self'"] and "script-src" not in rules
