"""Fixtures of the real-browser tests: per test module, a database loaded with the Huế demo and a
live uvicorn server on it; per session, Debian's Chromium driven by Playwright; per test, a page
that records every request and every console error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ingest.demo_cli import load_demo
from planning.boundaries import compute_boundary
from planning.db import make_engine
from planning.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
AXE = ROOT / "api" / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PARCELS = 2000
SECRET = "web-tests-secret"
QUIET = (
    "ignore:Normalized/laundered field name",
    "ignore:Column names longer than 10",
    "ignore:Value .* of field .* has been truncated",
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore the warnings GDAL gives while the demo generator writes shapefiles."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            for spec in QUIET:
                item.add_marker(pytest.mark.filterwarnings(spec))


def _admin(url: str) -> psycopg2.extensions.connection:
    u = make_url(url)
    conn = psycopg2.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Demo:
    """The loaded demo database: its URL and the ids of its published revisions."""

    url: str
    revisions: dict[str, int]

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Run one read-only query on the demo database."""
        engine = make_engine(self.url, pool_size=1)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def web_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the servers' data folder (the label glyphs are made once and kept here)."""
    return tmp_path_factory.mktemp("web_data")


def _clone(server_url: str, template: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _admin(server_url)
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        admin.close()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, name: str) -> None:
    admin = _admin(server_url)
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@pytest.fixture(scope="session")
def demo_template(
    server_url: str,
    template_db: str,
    web_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, int]]]:
    """Load the Huế demo once into a database the test modules clone (a copy takes 0.2 s)."""
    name, url = _clone(server_url, template_db, "planning_webtpl")
    try:
        load_demo(
            Settings(database_url=url, data_dir=web_data_dir),
            parcels=DEMO_PARCELS,
            out=tmp_path_factory.mktemp("web_demo"),
            echo=lambda _msg: None,
        )
        engine = make_engine(url, pool_size=1)
        try:
            with engine.begin() as conn:
                rows = conn.execute(
                    text("SELECT kind, id FROM planning.revision WHERE state = 'published'")
                ).all()
                revisions = {r.kind: r.id for r in rows}
                compute_boundary(conn, revisions["zoning"])  # the plans tileset draws it
        finally:
            engine.dispose()
        yield name, revisions
    finally:
        _drop(server_url, name)


@pytest.fixture(scope="module")
def demo(server_url: str, demo_template: tuple[str, dict[str, int]]) -> Iterator[Demo]:
    """Give the test module its own database with the demo loaded and published."""
    name, url = _clone(server_url, demo_template[0], "planning_web")
    try:
        yield Demo(url, dict(demo_template[1]))
    finally:
        _drop(server_url, name)


@dataclass
class Server:
    """A uvicorn process serving the app on the demo database."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of the server."""
        return httpx.get(f"{self.base}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def server(
    demo: Demo, web_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Start uvicorn on a free port and wait until /readyz answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNING_")}
    env.update(
        PLANNING_DATABASE_URL=demo.url,
        PLANNING_DATA_DIR=str(web_data_dir),
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN="1000000",
        PLANNING_POOL_SIZE="4",
    )
    log = tmp_path_factory.mktemp("web_server") / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    srv = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {log.read_text()[-2000:]}")
            try:
                if srv.get("/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn not ready: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Start Playwright once."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Launch Debian's Chromium (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make deps)")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


# Chromium's software GL reports its own performance notes as console warnings; they are not ours.
NOT_OURS = ("GL Driver Message", "GPU stall")


@dataclass
class Recorder:
    """What a page did: every request URL and every console error or uncaught exception."""

    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expect_http_errors: bool = False

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and not any(s in msg.text for s in NOT_OURS):
            if self.expect_http_errors and "Failed to load resource" in msg.text:
                return
            self.errors.append(msg.text)

    def foreign(self) -> list[str]:
        """Return the requests that left the server's origin."""
        return [
            u
            for u in self.requests
            if not (u.startswith(f"{self.origin}/") or u.startswith(("data:", "blob:")))
        ]


@dataclass
class MapPage:
    """A browser page on the map, with its recorder and helpers."""

    page: Page
    rec: Recorder
    base: str

    def open(self, path: str = "/") -> None:
        """Load the page (afresh, even if only the hash differs) and wait for the map's tiles."""
        if self.page.url != "about:blank":
            self.page.goto("about:blank")
        self.page.goto(f"{self.base}{path}")
        self.wait_idle()

    def wait_idle(self, timeout: float = 20_000) -> None:
        """Wait until the map is loaded, not moving, and every visible tile is in."""
        self.page.wait_for_function(
            "() => { const m = window.planningMap; return !!m && m.loaded() && "
            "m.areTilesLoaded() && !m.isMoving(); }",
            timeout=timeout,
        )

    def panel_text(self) -> str:
        """Return the text of the answer panel."""
        return self.page.locator("#panel").inner_text()

    def wait_panel(self, needle: str, timeout: float = 15_000) -> str:
        """Wait until the panel shows a text, then return the panel's text."""
        self.page.locator("#panel-body").get_by_text(needle, exact=False).first.wait_for(
            timeout=timeout
        )
        return self.panel_text()

    def js(self, expression: str, arg: Any = None) -> Any:
        """Evaluate a function expression in the page (CSP forbids eval of plain strings)."""
        return self.page.evaluate(expression, arg)

    def click_lonlat(self, lon: float, lat: float) -> None:
        """Click the map where a lon/lat is drawn."""
        pt = self.js("([lon, lat]) => window.planningMap.project([lon, lat])", [lon, lat])
        box = self.page.locator("#map").bounding_box()
        assert box is not None
        assert 0 < pt["x"] < box["width"] and 0 < pt["y"] < box["height"], (pt, box)
        self.page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])

    def assert_clean(self) -> None:
        """No console error, no uncaught exception, no request outside the origin."""
        assert not self.rec.errors, self.rec.errors
        assert not self.rec.foreign(), self.rec.foreign()


def new_map_page(
    browser: Browser, server: Server, viewport: dict[str, int], **context: Any
) -> tuple[MapPage, Any]:
    """Open a fresh browser context and a recorded page in it.

    The context prefers reduced motion: MapLibre then jumps instead of flying, which keeps the
    suite fast (and is what a citizen with that setting gets)."""
    context.setdefault("reduced_motion", "reduce")
    ctx = browser.new_context(viewport=viewport, **context)  # type: ignore[arg-type]
    page = ctx.new_page()
    rec = Recorder(server.base)
    page.on("request", lambda r: rec.requests.append(r.url))
    page.on("console", rec.on_console)
    page.on("pageerror", lambda e: rec.errors.append(f"uncaught: {e}"))
    return MapPage(page, rec, server.base), ctx


@pytest.fixture
def desk(browser: Browser, server: Server) -> Iterator[MapPage]:
    """A desktop-sized page (1280×800); checked for console errors and foreign requests."""
    mp, ctx = new_map_page(browser, server, DESKTOP)
    yield mp
    ctx.close()
    mp.assert_clean()


@pytest.fixture
def phone(browser: Browser, server: Server) -> Iterator[MapPage]:
    """A phone-sized page (360×740, touch); checked like the desktop one."""
    mp, ctx = new_map_page(
        browser, server, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    yield mp
    ctx.close()
    mp.assert_clean()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """Return the folder the screenshots go to (kept after the run to be looked at)."""
    folder = Path(os.environ.get("PLANNING_SCREENSHOTS", "/tmp/planning-web-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
