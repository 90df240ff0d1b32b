"""Liveness, readiness with the database cut off, the OpenAPI description and /docs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.main import create_app
from tests.api import dataset as ds
from tests.api.conftest import free_port, settings_for
from tests.api.proxy import Relay

DOWN_DETAIL = "the database is unavailable; try again shortly"
LEAKS = (
    "psycopg",
    "sqlalchemy",
    "Traceback",
    "SELECT",
    "connection to server",
    "5432",
    "OperationalError",
)


@pytest.fixture
def relay(api_url: str) -> Iterator[tuple[Relay, str]]:
    """Relay to the shared database; yield it and a database URL that goes through it."""
    u = make_url(api_url)
    r = Relay((u.host or "127.0.0.1", int(u.port or 5432)))
    r.start()
    yield r, u.set(port=r.port).render_as_string(hide_password=False)
    r.stop()


def requests_while_down(c: TestClient) -> None:
    """Every data route answers 503 in JSON, with nothing of the driver in it."""
    e, n = ds.P_HOUSING
    calls = [
        c.get("/v1/lookup", params={"x": e, "y": n, "crs": "EPSG:9214"}),
        c.get("/v1/parcels/19753/7/12"),
        c.get("/v1/parcels", params={"q": "vy da"}),
        c.get("/v1/plans"),
        c.get("/ogc/collections"),
        c.get("/ogc/collections/zones/items"),
        c.post("/v1/lookup/batch", json={"items": [{"lon": 107.58, "lat": 16.47}]}),
        c.post("/v1/lookup/geometry", json={"geometry": ds.to_geojson_lonlat(ds.INSIDE.geom)}),
        c.get("/v1/plans", headers={"X-API-Key": "pk_0123abcd_" + "a" * 32}),
    ]
    for r in calls:
        assert r.status_code == 503, (r.request.url, r.text)
        assert r.json() == {"detail": DOWN_DETAIL}
        assert r.headers["Retry-After"]
        assert not any(leak in r.text for leak in LEAKS)


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "data_version": 4}


def test_readyz_follows_the_database(relay: tuple[Relay, str]) -> None:
    proxy, url = relay
    e, n = ds.P_HOUSING
    point = {"x": e, "y": n, "crs": "EPSG:9214"}
    with TestClient(create_app(settings_for(url))) as c:
        assert c.get("/readyz").status_code == 200
        assert c.get("/v1/plans").status_code == 200
        # A lookup leaves a pooled connection with the statement prepared on it; the relay's
        # stop breaks that connection under the next lookup, which must answer 503 and drop it.
        before = c.get("/v1/lookup", params=point)
        assert before.status_code == 200
        proxy.stop()
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        assert r.headers["Retry-After"] == "5"
        requests_while_down(c)
        proxy.start()
        assert c.get("/readyz").status_code == 200
        assert c.get("/v1/plans").status_code == 200
        # A new connection, prepared again: the same answer as before the outage.
        after = c.get("/v1/lookup", params=point)
        assert after.status_code == 200 and after.json() == before.json()


def test_database_never_reachable() -> None:
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/planning"
    with TestClient(create_app(settings_for(url))) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and not any(leak in r.text for leak in LEAKS)
        requests_while_down(c)


API_PATHS = (
    "/healthz",
    "/readyz",
    "/v1/lookup",
    "/v1/lookup/geometry",
    "/v1/lookup/batch",
    "/v1/parcels",
    "/v1/parcels/{commune}/{sheet}/{parcel}",
    "/v1/plans",
    "/v1/plans/{code}",
    "/v1/plans/{code}/revisions",
    "/v1/plans/{code}/diff",
    "/v1/land-use-categories",
    "/v1/usage",
    "/ogc",
    "/ogc/conformance",
    "/ogc/collections",
    "/ogc/collections/{collection_id}",
    "/ogc/collections/{collection_id}/items",
    "/ogc/collections/{collection_id}/items/{feature_id}",
)


def test_openapi_describes_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(API_PATHS) <= set(spec["paths"])
    ops = [
        (path, method, op)
        for path in API_PATHS
        for method, op in spec["paths"][path].items()
        if method in ("get", "post")
    ]
    for path, method, op in ops:
        assert op.get("summary"), (path, method)
        ok = op["responses"]["200"]
        schemas = [c.get("schema") for c in ok.get("content", {}).values()]
        assert schemas and all(s for s in schemas), (path, method, ok)
        if path.startswith(("/v1", "/ogc")):
            for status in ("429", "503"):
                assert status in op["responses"], (path, method, status)
    assert "X-API-Key" in str(spec["components"]["securitySchemes"])


class _Assets(HTMLParser):
    """Collect what a page loads: (directive, source or None for inline)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.loads.append(("script-src", a.get("src")))
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.loads.append(("style-src", a.get("href")))


def csp_allows(csp: str, directive: str, source: str | None) -> bool:
    rules = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    tokens = rules.get(directive, rules.get("default-src", []))
    if source is None:
        return "'unsafe-inline'" in tokens
    if source.startswith("/") and not source.startswith("//"):
        return "'self'" in tokens
    return any(source.startswith(t) for t in tokens if t.startswith("https://"))


def test_docs_page_can_load_under_its_csp(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text and "/openapi.json" in r.text
    parser = _Assets()
    parser.feed(r.text)
    assert ("script-src", None) in parser.loads and len(parser.loads) >= 3
    csp = r.headers["content-security-policy"]
    for directive, source in parser.loads:
        assert csp_allows(csp, directive, source), (directive, source, csp)
        if source and source.startswith("/docs/assets/"):
            # Served from the npm package: the docs work offline.
            assert client.get(source).status_code == 200, source
    # Everywhere else inline scripts stay forbidden.
    strict = client.get("/v1/plans").headers["content-security-policy"]
    assert not csp_allows(strict, "script-src", None)


def test_lookup_statement_timeout_is_a_503_and_keeps_the_connection(api_url: str) -> None:
    """A lookup cancelled by the statement timeout answers 503 "took too long" (not a 500),
    and the same pooled connection, its statement still prepared, answers the next one."""
    import psycopg2

    e, n = ds.P_HOUSING
    point = {"x": e, "y": n, "crs": "EPSG:9214"}
    u = make_url(api_url)
    blocker = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
    )
    settings = settings_for(api_url, statement_timeout_ms=300, pool_size=1)
    try:
        with TestClient(create_app(settings)) as c:
            before = c.get("/v1/lookup", params=point)
            assert before.status_code == 200
            with blocker.cursor() as cur:  # hold a lock the lookup must wait for
                cur.execute("LOCK TABLE planning.zone_piece IN ACCESS EXCLUSIVE MODE")
                r = c.get("/v1/lookup", params=point)
                assert r.status_code == 503, r.text
                assert r.json() == {"detail": "the query took too long"}
                assert r.headers["Retry-After"] == "5"
                assert not any(leak in r.text for leak in LEAKS)
            blocker.rollback()
            after = c.get("/v1/lookup", params=point)
            assert after.status_code == 200 and after.json() == before.json()
    finally:
        blocker.close()


def test_lookups_queue_for_a_read_slot_then_503(
    api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every read slot taken (pool size 1, its lookup waiting on a lock), the next lookup
    waits its turn for READ_WAIT_S, then answers 503 without a trace; the first one completes."""
    import threading

    import psycopg2

    from api import deps

    monkeypatch.setattr(deps, "READ_WAIT_S", 0.5)
    e, n = ds.P_HOUSING
    point = {"x": e, "y": n, "crs": "EPSG:9214"}
    u = make_url(api_url)
    blocker = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
    )
    settings = settings_for(api_url, pool_size=1)
    answers: dict[str, int] = {}
    try:
        with TestClient(create_app(settings)) as c:
            assert c.get("/v1/lookup", params=point).status_code == 200
            with blocker.cursor() as cur:
                cur.execute("LOCK TABLE planning.zone_piece IN ACCESS EXCLUSIVE MODE")
                first = threading.Thread(
                    target=lambda: answers.update(
                        first=c.get("/v1/lookup", params=point).status_code
                    )
                )
                first.start()
                time.sleep(0.3)  # the first lookup holds the only slot, waiting on the lock
                r = c.get("/v1/lookup", params=point)
                assert r.status_code == 503, r.text
                assert r.json() == {"detail": DOWN_DETAIL}
                assert r.headers["Retry-After"] == "5"
                assert not any(leak in r.text for leak in LEAKS)
            blocker.rollback()  # the lock goes: the first lookup gets its answer
            first.join(10)
            assert answers == {"first": 200}
    finally:
        blocker.close()
