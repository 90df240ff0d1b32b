"""The printable sheet: an A4 PDF whose extracted text carries the parcel, the lots, the plan's
decision and correct Vietnamese, with a QR link that tells whether the sheet is still current."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

from planning.sheet import render_sheet
from tests.web.conftest import Demo, Server
from tests.web.facts import road_parcel, vi_number


def pdf_text(path: Path, *args: str) -> str:
    out = subprocess.run(
        ["pdftotext", *args, str(path), "-"], capture_output=True, check=True, text=True
    )
    return out.stdout


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    return dict(
        (k.strip(), v.strip()) for k, v in (ln.split(":", 1) for ln in out.stdout.splitlines())
    )


@pytest.fixture(scope="module")
def sheet(server: Server, demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    parcel = road_parcel(demo)
    r = server.get(f"/print/parcels/{parcel.key}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "inline" in r.headers["content-disposition"]
    path = tmp_path_factory.mktemp("sheet") / "vi.pdf"
    path.write_bytes(r.content)
    return path


def test_sheet_is_an_a4_pdf_with_embedded_fonts(sheet: Path, demo: Demo) -> None:
    info = pdf_info(sheet)
    assert "(A4)" in info["Page size"]
    assert info["Pages"] == "1", "a one-plan parcel fits on one page"
    assert info["Title"].startswith("Thông tin quy hoạch")
    fonts = subprocess.run(["pdffonts", str(sheet)], capture_output=True, text=True).stdout
    rows = [ln for ln in fonts.splitlines()[2:] if ln.strip()]
    assert rows and all("DejaVu" in ln for ln in rows)
    assert all(ln.split()[-5] == "yes" for ln in rows), fonts  # every font embedded


def test_sheet_text_carries_the_parcel_lots_and_plan(sheet: Path, demo: Demo) -> None:
    parcel = road_parcel(demo)
    answer = demo.query(
        "SELECT p.decision, p.name FROM planning.plan p JOIN planning.revision r "
        "ON r.plan_id = p.id WHERE r.id = :r",
        r=demo.revisions["zoning"],
    )[0]
    text = pdf_text(sheet)
    assert re.search(rf"Số thửa\s+{re.escape(parcel.parcel)}\n", pdf_text(sheet, "-layout"))
    assert text == unicodedata.normalize("NFC", text), "extracted text is NFC Vietnamese"
    assert "THÔNG TIN QUY HOẠCH" in text
    for needle in (
        parcel.address,
        "Phường Tây Lộc (19750), nay thuộc Phường Phú Xuân"
        if parcel.commune == "19750"
        else f"({parcel.commune})",
        answer.decision,
        "ngày 15/03/2025",
        "Tỷ lệ: 1/2000",
        "Chưa có dữ liệu",  # the road lot has no indicators
        "Phần diện tích thuộc đất giao thông quy hoạch",
        "Phần diện tích còn lại",
        "Sơ đồ vị trí thửa đất trên bản đồ quy hoạch",
        "Phiên bản dữ liệu",
        "Thời điểm lập phiếu",
        "không thay thế chứng chỉ quy hoạch",
    ):
        assert needle in text, needle
    for lot in parcel.lots:
        assert lot in text
    # The land-use functions, with their diacritics intact.
    functions = demo.query(
        "SELECT DISTINCT function_l3 FROM planning.zone WHERE lot = ANY(:lots)",
        lots=list(parcel.lots),
    )
    for f in functions:
        assert f.function_l3 in text
    assert "Đất ở" in text and "Đất giao thông" in text
    # Areas as the certificate writes them: decimal comma, m².
    area = demo.query(
        "SELECT round(ST_Area(ST_Transform(geom, 9214))::numeric, 2) AS a FROM planning.parcel "
        "WHERE commune_code = :c AND sheet = :s AND parcel_no = :p",
        c=parcel.commune,
        s=parcel.sheet,
        p=parcel.parcel,
    )[0].a
    assert f"{vi_number(float(area))} m²" in text


def test_sheet_qr_link_verifies_the_sheet(sheet: Path, server: Server, demo: Demo) -> None:
    parcel = road_parcel(demo)
    text = pdf_text(sheet, "-raw")
    m = re.search(r"(http://\S+/verify/\S+)(?:\n([0-9a-f]+)\b)?", text)
    assert m, text
    url = m.group(1) + (m.group(2) or "")
    assert url.startswith(f"{server.base}/verify/{parcel.key}?v=")
    r = server.get(url.removeprefix(server.base))
    assert r.status_code == 200
    body = r.json()
    assert body["current"] is True and "còn đúng" in body["message"]["vi"]
    tampered = re.sub(r"h=[0-9a-f]{16}", "h=0000000000000000", url)
    assert server.get(tampered.removeprefix(server.base)).json()["current"] is False
    page = server.get(url.removeprefix(server.base), headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "Phiếu còn đúng" in page.text
    # The QR code is an image on the page.
    images = subprocess.run(["pdfimages", "-list", str(sheet)], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) >= 3


def test_sheet_in_english(server: Server, demo: Demo, tmp_path: Path) -> None:
    parcel = road_parcel(demo)
    r = server.get(f"/print/parcels/{parcel.key}.pdf?lang=en")
    assert r.status_code == 200
    path = tmp_path / "en.pdf"
    path.write_bytes(r.content)
    text = pdf_text(path)
    for needle in (
        "PLANNING INFORMATION",
        "Parcel number",
        "No data",
        "Remaining area",
        "Data version",
        "For reference only",
        "m²",
    ):
        assert needle in text, needle
    assert "Chưa có dữ liệu" not in text
    for lot in parcel.lots:
        assert lot in text
    assert pdf_info(path)["Title"].startswith("Planning information")


def test_unknown_parcel_has_no_sheet(server: Server) -> None:
    r = server.get("/print/parcels/19750/999/999.pdf")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text


def test_sheet_of_a_parcel_outside_every_plan(tmp_path: Path) -> None:
    answer = {
        "parcel": {
            "commune": "19750",
            "sheet": "3",
            "parcel": "12",
            "address": None,
            "area_m2": 1234.5,
            "area_official_m2": None,
        },
        "plans": [],
        "data_version": 7,
        "date": "2026-01-02",
    }
    url = "https://quyhoach.example.vn/verify/19750/3/12?v=7&h=0123456789abcdef"
    path = tmp_path / "none.pdf"
    # No plan: nothing is read from the database, so no connection is needed.
    pdf = render_sheet(None, answer, b"", url, {}, "vi", "Phường Tây Lộc (19750)")  # type: ignore[arg-type]
    path.write_bytes(pdf)
    text = pdf_text(path)
    assert "Thửa đất chưa thuộc phạm vi đồ án quy hoạch nào trong dữ liệu." in text
    assert "1.234,5 m²" in text and "Chưa có dữ liệu" in text  # no address, no official area
    assert url in pdf_text(path, "-raw").replace("\n", "")
    assert pdf_info(path)["Pages"] == "1"
