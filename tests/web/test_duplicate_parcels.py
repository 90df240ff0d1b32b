"""A sheet and parcel number given twice in a commune's cadastral file (loaded with
--allow-duplicates): the map lists both candidates and opens the one the citizen picks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from playwright.sync_api import expect

from ingest.pipeline import IngestOptions, run_ingest
from planning.db import make_engine
from tests.web.conftest import Demo, MapPage, _clone, _drop

COMMUNE = "19762"  # Phường Thuận Hòa (before 2025), which the demo's parcels leave alone
E, N = 561_300.0, 1_821_500.0  # near the Citadel, EPSG:9214
ADDRESSES = ("5 Kiệt 12 Đinh Tiên Hoàng", "5B Kiệt 12 Đinh Tiên Hoàng")


@pytest.fixture(scope="module")
def demo(
    server_url: str,
    demo_template: tuple[str, dict[str, int]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Demo]:
    """The demo, and a commune's file in which sheet 4 parcel 17 is given twice."""
    name, url = _clone(server_url, demo_template[0], "planning_webdup")
    frame = gpd.GeoDataFrame(
        {
            "MaXa": [COMMUNE] * 3,
            "SoTo": [4, 4, 4],
            "SoThua": [17, 17, 18],
            "DiaChi": [*ADDRESSES, "7 Kiệt 12 Đinh Tiên Hoàng"],
        },
        geometry=[
            shapely.box(E, N, E + 15, N + 20),
            shapely.box(E + 15, N, E + 27, N + 20),
            shapely.box(E + 27, N, E + 40, N + 20),
        ],
        crs=9214,
    )
    path: Path = tmp_path_factory.mktemp("dup_parcels") / "thua_dat.gpkg"
    frame.to_file(path, engine="pyogrio")
    engine = make_engine(url, pool_size=1)
    try:
        report = run_ingest(
            IngestOptions(kind="parcels", path=path, allow_duplicates=True, publish=True), engine
        )
        assert report.published
    finally:
        engine.dispose()
    try:
        yield Demo(url, dict(demo_template[1]))
    finally:
        _drop(server_url, name)


def test_a_repeated_key_lists_its_parcels_and_opens_the_chosen_one(desk: MapPage) -> None:
    desk.rec.expect_http_errors = True  # the 300 answer is the point here
    desk.open(f"/#parcel={COMMUNE}/4/17")
    panel = desk.wait_panel("Có 2 thửa đất")
    assert ADDRESSES[0] in panel and ADDRESSES[1] in panel
    buttons = desk.page.locator("#panel ul.matches button")
    expect(buttons).to_have_count(2)
    buttons.nth(1).click()
    panel = desk.wait_panel("Tờ 4, thửa 17")
    assert ADDRESSES[1] in panel and ADDRESSES[0] not in panel
    expect(desk.page.locator("#map")).to_have_attribute("data-selected", "parcel")
    assert "pid=" in desk.page.url
    # The print link names that parcel, and the deep link opens it again, not the list.
    href = desk.page.locator("#panel a.print").get_attribute("href")
    assert href is not None and "&id=" in href
    desk.open("/" + desk.page.url.split("/", 3)[3])
    assert ADDRESSES[1] in desk.wait_panel("Tờ 4, thửa 17")
