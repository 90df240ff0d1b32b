"""What a citizen does on the map: click a lot, find a parcel by sheet and number, by VN-2000
coordinates or by address, use their location, share a deep link, and do it all by keyboard."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import DESKTOP, Demo, MapPage, Server, new_map_page
from tests.web.facts import (
    CITADEL_FUNCTION,
    CITADEL_LOT,
    CITADEL_X,
    CITADEL_Y,
    Parcel,
    fold,
    known_lot,
    neighbour_lot,
    road_parcel,
    same_number_communes,
    vi_number,
)


def choose_commune(page: Page, code: str, current: bool) -> None:
    """Pick a commune in the form's list (a code can be both a current and a former unit)."""
    page.locator("#more summary").click()
    index = page.evaluate(
        "([code, current]) => [...document.querySelectorAll('#commune option')].findIndex("
        "(o) => o.value === code && o.dataset.current === (current ? '1' : '0'))",
        [code, current],
    )
    assert index > 0, f"commune {code} (current={current}) is not in the list"
    page.locator("#commune").select_option(index=index)


def assert_lands_on(mp: MapPage, lon: float, lat: float, min_zoom: float) -> None:
    """The map has settled near a place: drawn in the middle part of the map, zoomed in."""
    mp.wait_idle()
    zoom = mp.js("() => window.planningMap.getZoom()")
    assert zoom >= min_zoom, zoom
    pt = mp.js("([lon, lat]) => window.planningMap.project([lon, lat])", [lon, lat])
    box = mp.page.locator("#map").bounding_box()
    assert box is not None
    assert abs(pt["x"] - box["width"] / 2) < box["width"] / 4, (pt, box)
    assert abs(pt["y"] - box["height"] / 2) < box["height"] / 4, (pt, box)


def assert_parcel_shown(mp: MapPage, parcel: Parcel) -> str:
    """The parcel is selected, highlighted on the map, and broken down in the panel."""
    expect(mp.page.locator("#map")).to_have_attribute("data-selected", "parcel")
    panel = mp.wait_panel(f"Tờ {parcel.sheet}, thửa {parcel.parcel}")
    assert parcel.address in panel
    heads = mp.page.locator("#panel table.breakdown tbody th").all_inner_texts()
    assert [h.strip() for h in heads] == list(parcel.lots)
    assert "Phần thuộc đất giao thông quy hoạch" in panel and "Phần còn lại" in panel
    assert "không thay thế chứng chỉ quy hoạch" in panel
    assert f"parcel={parcel.key}" in mp.page.url
    assert_lands_on(mp, parcel.lon, parcel.lat, 18)
    drawn = mp.js(
        "() => window.planningMap.queryRenderedFeatures({layers: ['selected-line', "
        "'selected-fill']}).map((f) => f.properties.kind)"
    )
    assert "parcel" in drawn and "road" in drawn, drawn
    return panel


def test_click_on_a_lot_shows_its_function_and_indicators(desk: MapPage, demo: Demo) -> None:
    lot = known_lot(demo)
    desk.open(f"/#map=17/{lot.lat:.6f}/{lot.lon:.6f}")
    desk.click_lonlat(lot.lon, lot.lat)
    desk.wait_panel(lot.lot)
    card = desk.page.locator(f'#panel li.zone[data-lot="{lot.lot}"]')
    text = card.inner_text()
    assert lot.function in text
    assert f"{vi_number(lot.density, 1)} %" in text
    assert f"{vi_number(lot.floors_min, 0)}–{vi_number(lot.floors_max, 0)}" in text
    assert vi_number(lot.far) in text and "," in vi_number(lot.far)
    panel = desk.panel_text()
    assert "Quyết định 1234/QĐ-UBND (minh họa) ngày 15/03/2025" in panel
    assert "Quy hoạch phân khu" in panel and "Thông tin chỉ có giá trị tham khảo" in panel
    expect(desk.page.locator("#map")).to_have_attribute("data-selected", "point")
    assert "point=" in desk.page.url
    desk.wait_idle()
    assert (
        desk.js(
            "() => window.planningMap.queryRenderedFeatures({layers: ['selected-point']}).length"
        )
        == 1
    )

    # Two clicks in a row, the first answer slower than the second: the panel keeps the second.
    other, other_function, other_lon, other_lat = neighbour_lot(demo, lot)
    desk.js(
        "() => { const real = window.fetch; let first = true;"
        " window.fetch = (url, opts) => { const answer = real(url, opts);"
        " if (first && String(url).includes('/v1/lookup')) { first = false;"
        " return answer.then((r) => new Promise((ok) => setTimeout(() => ok(r), 1500))); }"
        " return answer; }; }"
    )
    desk.click_lonlat(lot.lon, lot.lat)
    desk.click_lonlat(other_lon, other_lat)
    desk.wait_panel(other)
    desk.page.wait_for_timeout(2000)  # the slow first answer has come back by now
    text = desk.panel_text()
    assert other in text and other_function in text
    assert f'data-lot="{lot.lot}"' not in desk.page.locator("#panel").inner_html()


def test_parcel_form_lands_on_and_highlights_the_parcel(desk: MapPage, demo: Demo) -> None:
    parcel = road_parcel(demo)
    desk.open("/")
    choose_commune(desk.page, parcel.commune, current=False)
    desk.page.get_by_label("Số tờ").fill(parcel.sheet)
    desk.page.get_by_label("Số thửa").fill(parcel.parcel)
    desk.page.get_by_role("button", name="Tìm thửa").click()
    assert_parcel_shown(desk, parcel)
    # The answer takes the focus, so keyboard and screen-reader users land on it.
    assert desk.js("() => document.activeElement.id") == "panel"
    link = desk.page.locator("#panel a.print")
    # The id names the parcel even if its key were given twice in the cadastral data.
    assert link.get_attribute("href") == f"/print/parcels/{parcel.key}.pdf?lang=vi&id={parcel.id}"
    assert link.get_attribute("target") == "_blank"

    # A parcel that does not exist: said so in plain words, not the API's English detail.
    desk.rec.expect_http_errors = True  # the lookup's 404 is the point here
    desk.page.get_by_label("Số tờ").fill("999")
    desk.page.get_by_label("Số thửa").fill("999")
    desk.page.get_by_role("button", name="Tìm thửa").click()
    alert = desk.page.locator("#panel [role=alert]")
    expect(alert).to_contain_text("Không tìm thấy thửa đất")
    assert "no parcel" not in alert.inner_text()


def test_sheet_and_parcel_in_the_search_box(desk: MapPage, demo: Demo) -> None:
    parcel = road_parcel(demo)
    communes = same_number_communes(demo, parcel.sheet, parcel.parcel)
    assert len(communes) > 1, "the demo reuses sheet numbers across former wards"
    desk.open("/")
    desk.page.get_by_label("Tìm thửa, tọa độ hoặc địa chỉ").fill(
        f"tờ {parcel.sheet} thửa {parcel.parcel}"
    )
    desk.page.keyboard.press("Enter")
    results = desk.page.locator("#results li button")
    expect(results).to_have_count(len(communes))
    desk.page.locator(f'#results button[data-parcel="{parcel.key}"]').click()
    assert_parcel_shown(desk, parcel)

    # A current ward merged from several former ones: the same numbers are ambiguous there too.
    merged = demo.query(
        "SELECT new_code FROM planning.commune_merge WHERE old_code = :c", c=parcel.commune
    )[0].new_code
    choose_commune(desk.page, merged, current=True)
    desk.page.get_by_label("Tìm thửa, tọa độ hoặc địa chỉ").fill(
        f"to so {parcel.sheet}, thua so {parcel.parcel}"
    )
    desk.page.get_by_role("button", name="Tìm", exact=True).click()
    expect(desk.page.locator("#results li button")).to_have_count(len(communes))
    expect(desk.page.locator("#results")).to_contain_text("Kết quả (")


def test_vn2000_coordinates_land_on_the_citadel(desk: MapPage, server: Server) -> None:
    where = server.get(f"/v1/lookup?x={CITADEL_X}&y={CITADEL_Y}&province=46&axis=ne").json()[
        "location"
    ]["wgs84"]
    desk.open("/")
    desk.page.locator("#more summary").click()
    desk.page.get_by_label("X (hướng Bắc)").fill(str(CITADEL_X))
    desk.page.get_by_label("Y (hướng Đông)").fill(str(CITADEL_Y))
    desk.page.get_by_label("Tỉnh/thành phố (kinh tuyến trục)").select_option("46")
    desk.page.get_by_role("button", name="Tìm vị trí").click()
    panel = desk.wait_panel(CITADEL_LOT)
    assert CITADEL_FUNCTION in panel
    assert "X = 1.821.649,834, Y = 561.475,812" in panel
    expect(desk.page.locator("#map")).to_have_attribute("data-selected", "point")
    assert_lands_on(desk, where["lon"], where["lat"], 17.5)

    # The same, typed as printed on a certificate (decimal commas), into the one search box.
    clear = (
        "() => { document.querySelector('#panel-body').textContent = '';"
        " history.replaceState(null, '', '#'); }"
    )
    desk.js(clear)
    desk.page.locator("#q").fill("X: 1821649,834  Y: 561475,812")
    desk.page.keyboard.press("Enter")
    assert CITADEL_FUNCTION in desk.wait_panel(CITADEL_LOT)
    assert f"point={where['lat']:.6f},{where['lon']:.6f}" in desk.page.url
    # And as lat, lon.
    desk.js(clear)
    desk.page.locator("#q").fill(f"{where['lat']}, {where['lon']}")
    desk.page.keyboard.press("Enter")
    expect(desk.page.locator("#panel")).to_contain_text("107.577600, 16.469800")
    assert CITADEL_FUNCTION in desk.panel_text()
    assert f"point={where['lat']:.6f},{where['lon']:.6f}" in desk.page.url
    # X and Y swapped in the form: the larger number is the northing, so it still lands.
    desk.js(clear)
    desk.page.get_by_label("X (hướng Bắc)").fill("561475,812")
    desk.page.get_by_label("Y (hướng Đông)").fill("1821649,834")
    desk.page.get_by_role("button", name="Tìm vị trí").click()
    assert CITADEL_FUNCTION in desk.wait_panel(CITADEL_LOT)
    # Coordinates outside Vietnam: said so in words.
    desk.rec.expect_http_errors = True  # the lookup's 400 is the point here
    desk.page.locator("#q").fill("X: 100 Y: 200")
    desk.page.keyboard.press("Enter")
    expect(desk.page.locator("#panel [role=alert]")).to_have_text(
        "Vị trí nằm ngoài phạm vi phục vụ."
    )


def test_address_without_diacritics(desk: MapPage, demo: Demo) -> None:
    parcel = road_parcel(demo)
    desk.open("/")
    desk.page.locator("#q").fill(fold(parcel.address).lower())
    desk.page.keyboard.press("Enter")
    assert_parcel_shown(desk, parcel)
    # A looser query lists the matches with their accents restored.
    desk.page.locator("#q").fill("le thanh ton")
    desk.page.keyboard.press("Enter")
    expect(desk.page.locator("#results")).to_contain_text("Lê Thánh Tôn")
    assert desk.page.locator("#results li").count() > 1


def test_deep_links_restore_view_panel_and_layers(
    desk: MapPage, browser: Browser, server: Server, demo: Demo
) -> None:
    parcel = road_parcel(demo)
    desk.open("/")
    desk.page.locator("#q").fill(fold(parcel.address))
    desk.page.keyboard.press("Enter")
    assert_parcel_shown(desk, parcel)
    desk.page.get_by_label("Chỉ giới đường đỏ").uncheck()
    desk.page.locator("#lang").click()
    desk.page.wait_for_function("() => /map=1[89]/.test(location.hash)")
    link = desk.page.url
    assert "map=" in link and f"parcel={parcel.key}" in link and "lang=en" in link
    view = desk.js("() => [window.planningMap.getZoom(), window.planningMap.getCenter()]")

    other, ctx = new_map_page(browser, server, DESKTOP)
    try:
        other.page.goto(link)
        other.wait_idle()
        expect(other.page.locator("#map")).to_have_attribute("data-selected", "parcel")
        panel = other.wait_panel(f"Sheet {parcel.sheet}, parcel {parcel.parcel}")
        assert "Inside planned transport land" in panel
        zoom, centre = other.js(
            "() => [window.planningMap.getZoom(), window.planningMap.getCenter()]"
        )
        assert abs(zoom - view[0]) < 0.02
        assert abs(centre["lng"] - view[1]["lng"]) < 1e-5
        assert abs(centre["lat"] - view[1]["lat"]) < 1e-5
        assert not other.page.get_by_label("Red lines").is_checked()
        assert other.js(
            "() => window.planningMap.getLayoutProperty('red-lines', 'visibility')"
        ) == ("none")

        # A point link: the lookup there, the point drawn.
        lot = known_lot(demo)
        other.open(f"/#map=18/{lot.lat:.6f}/{lot.lon:.6f}&point={lot.lat:.6f},{lot.lon:.6f}")
        other.wait_panel(lot.lot)
        assert lot.function in other.panel_text()
        expect(other.page.locator("#map")).to_have_attribute("data-selected", "point")
        assert abs(other.js("() => window.planningMap.getZoom()") - 18) < 0.01
    finally:
        ctx.close()
    other.assert_clean()


def test_locate_me_uses_the_browser_location(browser: Browser, server: Server, demo: Demo) -> None:
    lot = known_lot(demo)
    mp, ctx = new_map_page(
        browser,
        server,
        DESKTOP,
        geolocation={"longitude": lot.lon, "latitude": lot.lat, "accuracy": 5},
        permissions=["geolocation"],
    )
    try:
        mp.open("/")
        mp.page.get_by_role("button", name="Vị trí của tôi").click()
        mp.wait_panel(lot.lot)
        assert lot.function in mp.panel_text()
        assert_lands_on(mp, lot.lon, lot.lat, 17)
    finally:
        ctx.close()
    mp.assert_clean()


def test_keyboard_only(desk: MapPage, demo: Demo) -> None:
    lot = known_lot(demo)
    parcel = road_parcel(demo)
    desk.open(f"/#map=17/{lot.lat:.6f}/{lot.lon:.6f}")
    page = desk.page
    # The skip link is the first stop and leads past the map to the answer panel.
    page.keyboard.press("Tab")
    assert desk.js("() => document.activeElement.className") == "skip"
    # The map: focus its canvas, press Enter: the lookup at its centre.
    page.locator("canvas.maplibregl-canvas").focus()
    page.keyboard.press("Enter")
    desk.wait_panel(lot.lot)
    assert desk.js("() => document.activeElement.id") == "panel"
    # From the answer, Tab reaches its buttons and Enter opens the parcel breakdown.
    page.locator("#q").focus()
    page.keyboard.type(fold(parcel.address))
    page.keyboard.press("Enter")
    desk.wait_panel(f"Tờ {parcel.sheet}, thửa {parcel.parcel}")
    assert desk.js("() => document.activeElement.id") == "panel"
    for _ in range(5):
        page.keyboard.press("Tab")
        if desk.js("() => document.activeElement.matches('#panel a.print')"):
            break
    assert desk.js("() => document.activeElement.matches('#panel a.print')")
