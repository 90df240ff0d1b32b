"""The map page in a real browser: loads offline from its own origin, draws the four tilesets,
has a legend, layer toggles, a scale bar and both languages, passes an axe-core scan, and on a
360×740 phone turns the answer into a bottom sheet. Screenshots of the phone and the desktop
layouts are kept to be looked at."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from api.main import create_app
from planning.settings import Settings
from tests.web.conftest import AXE, DESKTOP, PHONE, Demo, MapPage, Server, new_map_page
from tests.web.facts import CITADEL_LOT, CITADEL_X, CITADEL_Y, fold, road_parcel


def test_page_loads_offline_and_draws_the_four_tilesets(desk: MapPage, server: Server) -> None:
    desk.open("/#map=16.5/16.4712/107.5745")
    kinds = {u.split("?")[0].rsplit("/", 4)[1] for u in desk.rec.requests if "/tiles/" in u}
    assert {"zoning", "parcels", "red_lines", "plans"} <= kinds, kinds
    assert any(u.endswith("/static/maplibre-gl.mjs") for u in desk.rec.requests)
    assert any("/fonts/" in u for u in desk.rec.requests), "labels use the service's glyphs"
    desk.assert_clean()  # no console error, nothing fetched from another origin

    # Tiles render: features of every tileset are drawn, read back through the map.
    layers = desk.js(
        "() => [...new Set(window.planningMap.queryRenderedFeatures().map((f) => f.layer.id))]"
    )
    for layer in ("zoning-fill", "zoning-labels", "parcels-outline", "red-lines", "plans-outline"):
        assert layer in layers, layers
    lots = desk.js(
        "() => window.planningMap.queryRenderedFeatures({layers: ['zoning-labels']})"
        ".map((f) => f.properties.lot)"
    )
    assert any(lot and lot.startswith("OHT-") for lot in lots), lots[:20]

    # Legend from /v1/legend, the scale bar, the locate-me button.
    legend = server.get("/v1/legend").json()
    items = desk.page.locator("#legend li")
    expect(items).to_have_count(len(legend["land_use"]) + len(legend["lines"]))
    expect(desk.page.locator("#legend")).to_contain_text(legend["land_use"][0]["vi"])
    expect(desk.page.locator(".maplibregl-ctrl-scale")).to_be_visible()
    assert desk.page.locator(".maplibregl-ctrl-scale").inner_text().strip().endswith("m")
    expect(desk.page.get_by_role("button", name="Vị trí của tôi")).to_be_visible()

    # Layer toggles hide and show what the map draws, and the hash remembers them.
    zoning = desk.page.get_by_label("Chức năng sử dụng đất")
    expect(zoning).to_be_checked()
    zoning.uncheck()
    desk.wait_idle()
    assert desk.js("() => window.planningMap.getLayoutProperty('zoning-fill', 'visibility')") == (
        "none"
    )
    assert (
        desk.js("() => window.planningMap.queryRenderedFeatures({layers: ['zoning-fill']}).length")
        == 0
    )
    assert "layers=parcels,red_lines,plans" in desk.page.url
    zoning.check()
    desk.wait_idle()
    assert (
        desk.js("() => window.planningMap.queryRenderedFeatures({layers: ['zoning-fill']}).length")
        > 0
    )


def test_security_headers_and_no_secrets(server: Server, demo: Demo) -> None:
    r = server.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert "'unsafe-eval'" not in csp and "script-src" not in csp  # scripts: this origin only
    assert directives["frame-ancestors"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "geolocation=(self)" in r.headers["permissions-policy"]
    for name in ("app.js", "i18n.js", "style.css"):
        s = server.get(f"/static/{name}")
        assert s.status_code == 200 and "content-security-policy" in s.headers
        # Revalidated on every load, so a release never pairs a new page with old scripts.
        assert s.headers["cache-control"] == "no-cache"
    page = r.text + "".join(server.get(f"/static/{n}").text for n in ("app.js", "i18n.js"))
    for secret in ("postgresql", "web-tests-secret", "X-API-Key", "password"):
        assert secret not in page
    # Only whitelisted files are reachable under /static.
    assert server.get("/static/package.json").status_code == 404
    assert server.get("/static/..%2Fpackage.json").status_code == 404


def test_desktop_layout_and_language_toggle(desk: MapPage, demo: Demo, screenshots: Path) -> None:
    parcel = road_parcel(demo)
    desk.open(f"/#parcel={parcel.key}")
    desk.wait_panel("Phần thuộc đất giao thông quy hoạch")
    desk.wait_idle()
    page = desk.page
    panel = page.locator("#panel").bounding_box()
    assert panel is not None and panel["x"] > 700, "the answer is the right-hand column"
    # The breakdown fits the 440 px column without a horizontal scroll bar.
    assert desk.js(
        "() => [...document.querySelectorAll('#panel .scroll')].every("
        "(e) => e.scrollWidth <= e.clientWidth)"
    )
    page.screenshot(path=str(screenshots / "desktop-1280x800-parcel.png"))

    assert page.title() == "Tra cứu thông tin quy hoạch"
    vi_text = page.locator("body").inner_text()
    page.locator("#lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Planning information lookup")
    assert page.title() == "Planning information lookup"
    en_panel = desk.wait_panel("Inside planned transport land")
    assert "Remaining area" in en_panel and "Sheet" in en_panel
    assert "For reference only" in en_panel
    en_text = page.locator("body").inner_text()
    for vi in ("Tìm kiếm", "Lớp bản đồ", "Diện tích đo đạc", "Chưa có dữ liệu", "Tìm thửa"):
        assert vi not in en_text, vi
    assert page.get_by_label("Land-use zoning").is_checked()
    assert "/print/parcels/" in (page.locator("#panel a.print").get_attribute("href") or "")
    assert "lang=en" in (page.locator("#panel a.print").get_attribute("href") or "")
    assert page.locator(".maplibregl-ctrl-zoom-in").get_attribute("aria-label") == "Zoom in"
    assert "lang=en" in page.url
    page.locator("#lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    desk.wait_panel("Phần còn lại")
    assert page.locator(".maplibregl-ctrl-zoom-in").get_attribute("aria-label") == "Phóng to"
    # Vietnamese texts are NFC (precomposed), as typed on Vietnamese keyboards and in the data.
    assert vi_text == unicodedata.normalize("NFC", vi_text)
    assert "Đất" in vi_text or "đất" in vi_text

    # Every text exists in both languages, NFC, and every labelled element shows its English.
    texts = desk.js("async () => (await import('/static/i18n.js')).TEXTS")
    assert set(texts["vi"]) == set(texts["en"])
    for lang in ("vi", "en"):
        for key, value in texts[lang].items():
            assert value.strip(), (lang, key)
            assert value == unicodedata.normalize("NFC", value), (lang, key)
    same = [k for k in texts["vi"] if texts["vi"][k] == texts["en"][k]]
    assert same == [], same
    page.locator("#lang").click()
    shown = desk.js(
        "() => [...document.querySelectorAll('[data-i18n]')].map((e) => [e.dataset.i18n,"
        " e.textContent])"
    )
    assert shown and all(text == texts["en"][key] for key, text in shown), shown
    assert page.locator("#q").get_attribute("placeholder") == texts["en"]["searchPlaceholder"]
    assert page.locator("#map").get_attribute("aria-label") == texts["en"]["mapLabel"]


def test_basemap_setting_rides_in_a_meta_tag(demo: Demo) -> None:
    plain = TestClient(create_app(Settings(database_url=demo.url))).get("/")
    assert 'name="planning-basemap"' not in plain.text  # none set: the plain background
    style = 'https://tiles.example.vn/style.json?a=1&b="x"'
    page = TestClient(create_app(Settings(database_url=demo.url, basemap_style=style))).get("/")
    assert (
        '<meta name="planning-basemap" '
        'content="https://tiles.example.vn/style.json?a=1&amp;b=&quot;x&quot;">'
    ) in page.text


def _axe(mp: MapPage) -> list[dict[str, Any]]:
    mp.page.add_script_tag(path=str(AXE))
    result = mp.js(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return JSON.stringify(r.violations.map((v) => ({id: v.id, impact: v.impact,"
        " help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)}))); }"
    )
    violations: list[dict[str, Any]] = json.loads(result)
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_accessibility_scan_finds_no_serious_violation(
    browser: Browser, server: Server, demo: Demo
) -> None:
    parcel = road_parcel(demo)
    # axe is injected as an inline script, which the page's CSP (rightly) forbids: bypass it here.
    mp, ctx = new_map_page(browser, server, DESKTOP, bypass_csp=True)
    try:
        mp.open("/")
        assert _axe(mp) == []
        mp.page.locator("#q").fill(fold(parcel.address))
        mp.page.keyboard.press("Enter")
        mp.wait_panel("Phần còn lại")
        assert _axe(mp) == []
        mp.page.locator("#lang").click()
        mp.page.locator("#q").fill(f"{parcel.lat:.6f}, {parcel.lon:.6f}")
        mp.page.keyboard.press("Enter")
        mp.wait_panel("Parcel breakdown")
        assert _axe(mp) == []
    finally:
        ctx.close()
    mp.assert_clean()
    mp, ctx = new_map_page(browser, server, PHONE, bypass_csp=True, is_mobile=True, has_touch=True)
    try:
        mp.open(f"/#parcel={parcel.key}")
        mp.wait_panel("Phần còn lại")
        assert _axe(mp) == []
    finally:
        ctx.close()
    mp.assert_clean()


def no_horizontal_overflow(mp: MapPage) -> None:
    width = mp.js("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"


def test_phone_search_bottom_sheet_and_tools(phone: MapPage, demo: Demo, screenshots: Path) -> None:
    parcel = road_parcel(demo)
    phone.open("/")
    page = phone.page
    no_horizontal_overflow(phone)
    # Header: title and both buttons on one bar, nothing spilling out of it.
    bar = page.locator("header.bar").bounding_box()
    assert bar is not None
    for sel in ("#tools-toggle", "#lang"):
        box = page.locator(sel).bounding_box()
        assert box is not None
        assert box["y"] >= bar["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"], sel
        assert box["x"] + box["width"] <= PHONE["width"], sel
    # The search box is on screen; the map has most of the screen.
    expect(page.locator("#q")).to_be_in_viewport()
    map_box = page.locator("#map").bounding_box()
    assert map_box is not None and map_box["height"] > 400
    # Layers and legend hide behind the header button.
    expect(page.locator("#legend")).to_be_hidden()
    page.locator("#tools-toggle").tap()
    expect(page.locator("#tools-toggle")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#legend li").first).to_be_visible()
    page.get_by_label("Ranh giới quy hoạch").uncheck()
    phone.wait_idle()
    visibility = "() => window.planningMap.getLayoutProperty('plans-outline', 'visibility')"
    assert phone.js(visibility) == "none"
    page.locator("#tools-toggle").tap()
    expect(page.locator("#legend")).to_be_hidden()

    # Search: the answer rises as a bottom sheet over the lower part of the map.
    page.locator("#q").fill(fold(parcel.address))
    page.locator("#q").press("Enter")
    phone.wait_panel(f"Tờ {parcel.sheet}, thửa {parcel.parcel}")
    expect(page.locator("#map")).to_have_attribute("data-selected", "parcel")
    phone.wait_idle()
    sheet = page.locator("#panel").bounding_box()
    assert sheet is not None
    assert abs(sheet["y"] + sheet["height"] - PHONE["height"]) < 1, "docked at the bottom"
    assert sheet["width"] == PHONE["width"]
    assert 0.25 * PHONE["height"] < sheet["height"] <= 0.45 * PHONE["height"] + 1
    # The parcel stays visible above the sheet.
    pt = phone.js(
        "([lon, lat]) => window.planningMap.project([lon, lat])", [parcel.lon, parcel.lat]
    )
    assert map_box["y"] + pt["y"] < sheet["y"], (pt, sheet)
    # The zone breakdown fits the phone: nothing wider than the sheet.
    widest = phone.js(
        "() => Math.max(...[...document.querySelectorAll('#panel table, #panel li.zone')]"
        ".map((e) => e.getBoundingClientRect().right))"
    )
    assert widest <= PHONE["width"], widest
    no_horizontal_overflow(phone)
    # The sheet scrolls to the disclaimer.
    page.locator("#panel .disclaimer").scroll_into_view_if_needed()
    expect(page.locator("#panel .disclaimer")).to_be_in_viewport()
    page.locator("#panel").evaluate("(el) => { el.scrollTop = 0; }")
    page.screenshot(path=str(screenshots / "phone-360x740-parcel.png"))

    # The sheet folds down to its title, and opens again.
    page.locator("#sheet-toggle").tap()
    folded = page.locator("#panel").bounding_box()
    assert folded is not None and folded["height"] < 80
    page.locator("#sheet-toggle").tap()
    expect(page.locator("#sheet-toggle")).to_have_attribute("aria-expanded", "true")

    # Layers & legend over an open answer: the sheet folds so the map stays in sight.
    page.locator("#tools-toggle").tap()
    expect(page.locator("#sheet-toggle")).to_have_attribute("aria-expanded", "false")
    side = page.locator(".side").bounding_box()
    folded = page.locator("#panel").bounding_box()
    assert side is not None and folded is not None
    assert folded["y"] - (side["y"] + side["height"]) > 150, "some map between the two"
    page.locator("#tools-toggle").tap()
    expect(page.locator("#sheet-toggle")).to_have_attribute("aria-expanded", "true")

    # VN-2000 from the form, on the phone.
    page.locator("#more summary").tap()
    page.get_by_label("X (hướng Bắc)").fill(str(CITADEL_X))
    page.get_by_label("Y (hướng Đông)").fill(str(CITADEL_Y))
    page.get_by_role("button", name="Tìm vị trí").tap()
    phone.wait_panel(CITADEL_LOT)
    no_horizontal_overflow(phone)
    # The form folds away after the search, so the place is in sight above the sheet.
    expect(page.locator("#more")).not_to_have_attribute("open", "")
    phone.wait_idle()
    side = page.locator(".side").bounding_box()
    sheet = page.locator("#panel").bounding_box()
    assert side is not None and sheet is not None
    assert sheet["y"] - (side["y"] + side["height"]) > 150
    drawn = phone.js(
        "() => window.planningMap.queryRenderedFeatures({layers: ['selected-point']})"
        ".map((f) => window.planningMap.project(f.geometry.coordinates))"
    )
    assert len(drawn) == 1
    box = page.locator("#map").bounding_box()
    assert box is not None and side["y"] + side["height"] < box["y"] + drawn[0]["y"] < sheet["y"]
