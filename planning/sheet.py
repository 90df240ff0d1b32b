"""The printable planning-information sheet ("Thông tin quy hoạch") of a parcel, as an A4 PDF."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import qrcode
from fpdf import FPDF
from sqlalchemy import Connection, text

from planning import clock
from planning.admin_units import commune_label
from planning.catalogue import colours
from planning.db import snapshot
from planning.lookup import answer_of, find_parcel, parcel_answer
from planning.texts import DISCLAIMER, NO_DATA

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
CONTEXT_M = 25.0
MAP_BOX = 85.0  # mm, the square the parcel map is drawn in
ROAD_FILL = (236, 236, 236)  # planned roads: light grey, so they show on white paper

LABELS = {
    "vi": {
        "title": "THÔNG TIN QUY HOẠCH",
        "doc_title": "Thông tin quy hoạch",
        "north": "B",
        "subtitle": "Phiếu tra cứu thông tin quy hoạch của thửa đất",
        "parcel": "Thửa đất",
        "commune": "Xã/phường",
        "sheet": "Số tờ bản đồ",
        "parcel_no": "Số thửa",
        "address": "Địa chỉ",
        "area": "Diện tích (đo trên mặt phẳng VN-2000)",
        "area_official": "Diện tích theo hồ sơ địa chính",
        "plan": "Đồ án quy hoạch",
        "decision": "Quyết định phê duyệt",
        "scale": "Tỷ lệ",
        "in_plan": "Diện tích thửa trong phạm vi quy hoạch",
        "lot": "Ô đất",
        "function": "Chức năng sử dụng đất",
        "area_m2": "Diện tích (m²)",
        "share": "Tỷ lệ",
        "density": "Mật độ XD",
        "floors": "Tầng cao",
        "far": "Hệ số SDĐ",
        "road": "Phần diện tích thuộc đất giao thông quy hoạch",
        "remaining": "Phần diện tích còn lại",
        "no_plan": "Thửa đất chưa thuộc phạm vi đồ án quy hoạch nào trong dữ liệu.",
        "map": "Sơ đồ vị trí thửa đất trên bản đồ quy hoạch",
        "version": "Phiên bản dữ liệu",
        "made": "Thời điểm lập phiếu",
        "verify": "Kiểm tra phiếu còn đúng với dữ liệu hiện hành",
        "on_date": "ngày",
    },
    "en": {
        "title": "PLANNING INFORMATION",
        "doc_title": "Planning information",
        "north": "N",
        "subtitle": "Planning information sheet of a land parcel",
        "parcel": "Parcel",
        "commune": "Commune/ward",
        "sheet": "Map sheet",
        "parcel_no": "Parcel number",
        "address": "Address",
        "area": "Area (planar, VN-2000)",
        "area_official": "Area in the cadastral record",
        "plan": "Plan",
        "decision": "Approving decision",
        "scale": "Scale",
        "in_plan": "Parcel area inside the plan",
        "lot": "Lot",
        "function": "Land-use function",
        "area_m2": "Area (m²)",
        "share": "Share",
        "density": "Density",
        "floors": "Floors",
        "far": "FAR",
        "road": "Area inside planned transport land",
        "remaining": "Remaining area",
        "no_plan": "No plan in the data covers this parcel.",
        "map": "Parcel on the planning map",
        "version": "Data version",
        "made": "Made at",
        "verify": "Check that this sheet still matches the current data",
        "on_date": "of",
    },
}

CONTEXT_SQL = """
WITH p AS (SELECT ST_GeomFromEWKB(:g) AS g)
SELECT z.lot, z.category, z.is_road,
       ST_AsGeoJSON(ST_Intersection(z.geom_plane, near.box), 3) AS shape,
       ST_AsGeoJSON(ST_PointOnSurface(ST_Intersection(z.geom_plane, near.box)), 3) AS label_at
FROM p JOIN planning.zone z ON z.geom && ST_Expand(ST_Transform(p.g, 4326), 0.0005)
JOIN planning.revision r ON r.id = z.revision_id
-- :m metres around the parcel, in the revision's plane.
CROSS JOIN LATERAL (
    SELECT ST_Expand(CASE WHEN ST_SRID(p.g) = r.plane_srid THEN p.g
                          ELSE ST_Transform(p.g, r.plane_srid) END, :m) AS box) near
WHERE r.state = 'published' AND r.effective_from <= :d
  AND (r.effective_to IS NULL OR :d < r.effective_to) AND r.plan_id = (
    SELECT id FROM planning.plan WHERE code = :plan)
ORDER BY z.id
"""


def content_hash(answer: dict[str, Any]) -> str:
    """Fingerprint what a sheet states (not when it was made nor the data version)."""
    parcel = {k: v for k, v in answer["parcel"].items() if k != "id"}  # not printed
    core = {"parcel": parcel, "plans": answer["plans"]}
    blob = json.dumps(core, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fmt(v: Any, unit: str = "", digits: int = 2, lang: str = "vi") -> str:
    if v is None:
        return NO_DATA[lang]
    s = f"{float(v):,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{float(v):,.0f}"
    if lang == "vi":  # 1.234,5 as the web page (vi-VN) writes it
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return f"{s} {unit}".strip()


def _floors(ind: dict[str, Any], lang: str) -> str:
    lo, hi = ind.get("floors_min"), ind.get("floors_max")
    if lo is None and hi is None:
        return NO_DATA[lang]
    if lo is not None and hi is not None and lo != hi:
        return f"{_fmt(lo, digits=0, lang=lang)}–{_fmt(hi, digits=0, lang=lang)}"
    return _fmt(hi if hi is not None else lo, digits=0, lang=lang)


class _Sheet(FPDF):
    def para(self, text: str, h: float = 5) -> None:
        """Write a paragraph across the page width, from the left margin."""
        self.set_x(self.l_margin)
        self.multi_cell(0, h, text, align="L", new_x="LMARGIN", new_y="NEXT")

    def __init__(self, lang: str, footer_text: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.lang = lang
        self.footer_text = footer_text
        self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, 18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90, 90, 90)
        self.multi_cell(0, 3.2, self.footer_text, align="C")


def _draw_map(
    pdf: _Sheet,
    parcel_shape: dict[str, Any],
    context: list[dict[str, Any]],
    colours: dict[str, str],
    north: str,
) -> None:
    """Draw the parcel (thick outline) over the zones around it, in the plan's plane."""
    xs: list[float] = []
    ys: list[float] = []

    def rings(geom: dict[str, Any]) -> list[list[list[float]]]:
        if geom["type"] == "Polygon":
            return list(geom["coordinates"])
        if geom["type"] == "MultiPolygon":
            return [ring for poly in geom["coordinates"] for ring in poly]
        if geom["type"] == "GeometryCollection":
            return [r for g in geom["geometries"] for r in rings(g)]
        return []

    for z in context:
        for ring in rings(z["shape"]):
            xs += [c[0] for c in ring]
            ys += [c[1] for c in ring]
    for ring in rings(parcel_shape):
        xs += [c[0] for c in ring]
        ys += [c[1] for c in ring]
    if not xs:
        return
    box = MAP_BOX
    x0, y0 = pdf.l_margin, pdf.get_y()
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    scale = box / span
    minx, maxy = min(xs), max(ys)

    def page(c: list[float]) -> tuple[float, float]:
        return (x0 + (c[0] - minx) * scale, y0 + (maxy - c[1]) * scale)

    pdf.set_draw_color(110, 110, 110)
    pdf.set_line_width(0.2)
    for z in context:
        hexcol = colours.get(z["category"] or "", "#DDDDDD").lstrip("#")
        r, g, b = (int(hexcol[i : i + 2], 16) for i in (0, 2, 4))
        pdf.set_fill_color(*(ROAD_FILL if z.get("is_road") else (r, g, b)))
        for ring in rings(z["shape"]):
            if len(ring) >= 3:
                pdf.polygon([page(c) for c in ring], style="DF")
    pdf.set_font("DejaVu", "", 6)
    pdf.set_text_color(30, 30, 30)
    for z in context:
        at = z["label_at"]
        if z["lot"] and at and at["type"] == "Point" and len(at["coordinates"]) >= 2:
            px, py = page(at["coordinates"])
            pdf.text(px - 4, py, z["lot"])
    pdf.set_draw_color(200, 0, 0)
    pdf.set_line_width(0.8)
    for ring in rings(parcel_shape):
        if len(ring) >= 3:
            pdf.polygon([page(c) for c in ring], style="D")
    # Scale bar: 10 m.
    pdf.set_line_width(0.4)
    pdf.set_draw_color(0, 0, 0)
    bar = 10 * scale
    pdf.line(x0, y0 + box + 4, x0 + bar, y0 + box + 4)
    pdf.set_font("DejaVu", "", 6)
    pdf.text(x0, y0 + box + 7, "10 m")
    # North arrow: the plane's grid north is up.
    pdf.set_font("DejaVu", "B", 8)
    pdf.text(x0 + box - 4, y0 + box + 7, f"↑ {north}")
    pdf.set_y(y0 + box + 10)


def _day(iso: Any, lang: str) -> str:
    """Write a date as Vietnamese documents do (15/03/2025); ISO in English."""
    text_ = str(iso)
    if lang == "vi" and len(text_) == 10 and text_[4] == "-" and text_[7] == "-":
        return f"{text_[8:10]}/{text_[5:7]}/{text_[0:4]}"
    return text_


def _parcel_facts(pdf: _Sheet, parcel: dict[str, Any], commune: str | None, lang: str) -> None:
    L = LABELS[lang]
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, L["parcel"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    rows = [
        (L["commune"], commune or parcel["commune"]),
        (L["sheet"], parcel["sheet"]),
        (L["parcel_no"], parcel["parcel"]),
        (L["address"], parcel["address"] or NO_DATA[lang]),
        (L["area"], _fmt(parcel["area_m2"], "m²", lang=lang)),
        (L["area_official"], _fmt(parcel["area_official_m2"], "m²", lang=lang)),
    ]
    with pdf.table(col_widths=(60, 120), text_align="LEFT", first_row_as_headings=False) as t:
        for k, v in rows:
            row = t.row()
            row.cell(k)
            row.cell(str(v))


def _zone_table(pdf: _Sheet, p: dict[str, Any], lang: str) -> None:
    """One row per land-use lot the parcel overlaps: m², share and the indicators."""
    L = LABELS[lang]
    pdf.set_font("DejaVu", "", 8)
    # Wide enough that "Chưa có dữ liệu" stays on one line (and in one piece for pdftotext).
    widths = (17, 49, 24, 16, 25, 25, 24)
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=4.2,
    ) as t:
        head = t.row()
        for h in ("lot", "function", "area_m2", "share", "density", "floors", "far"):
            head.cell(L[h])
        for z in p["zones"]:
            ind = z["indicators"]
            row = t.row()
            row.cell(z["lot"] or NO_DATA[lang])
            row.cell(z["function"] or NO_DATA[lang])
            row.cell(_fmt(z["area_m2"], lang=lang))
            row.cell(_fmt(z["share_pct"], "%", lang=lang))
            row.cell(_fmt(ind["density_max"], "%", 1, lang=lang))
            row.cell(_floors(ind, lang))
            row.cell(_fmt(ind["far_max"], lang=lang))
    pdf.set_font("DejaVu", "", 9)
    pdf.para(f"{L['road']}: {_fmt(p['road_area_m2'], 'm²', lang=lang)}")
    pdf.para(f"{L['remaining']}: {_fmt(p['remaining_area_m2'], 'm²', lang=lang)}")


def _context(
    conn: Connection, parcel_ewkb: bytes, answer: dict[str, Any], plan_code: str, epsg: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the parcel and the plan's zones around it, in the plan's plane."""
    context = [
        {
            "lot": r.lot,
            "category": r.category,
            "is_road": bool(r.is_road),
            "shape": json.loads(r.shape),
            "label_at": json.loads(r.label_at) if r.label_at else None,
        }
        for r in conn.execute(
            text(CONTEXT_SQL),
            {"g": parcel_ewkb, "m": CONTEXT_M, "d": answer["date"], "plan": plan_code},
        ).all()
    ]
    shape = json.loads(
        conn.execute(
            text(
                "SELECT ST_AsGeoJSON(CASE WHEN ST_SRID(g) = :s THEN g "
                "ELSE ST_Transform(g, :s) END, 3) FROM (SELECT ST_GeomFromEWKB(:g) AS g) q"
            ),
            {"g": parcel_ewkb, "s": epsg},
        ).scalar_one()
    )
    return shape, context


def _qr_block(pdf: _Sheet, x: float, y: float, width: float, verify_url: str, lines: str) -> float:
    """Draw the QR code to the verification page and what it says; return the bottom."""
    img = qrcode.make(verify_url, box_size=4, border=1)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    pdf.image(buf, x=x, y=y, w=28, h=28)
    pdf.set_xy(x, y + 30)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(width, 4.2, lines, align="L", new_x="LEFT", new_y="NEXT")
    size = 6.5  # the link on one line if it can be (it is also in the QR code)
    pdf.set_font("DejaVu", "", size)
    while size > 5 and pdf.get_string_width(verify_url) > width - 2:
        size -= 0.25
        pdf.set_font("DejaVu", "", size)
    pdf.multi_cell(width, 3.4, verify_url, align="L", new_x="LMARGIN", new_y="NEXT")
    return pdf.get_y()


def render_sheet(
    conn: Connection,
    answer: dict[str, Any],
    parcel_ewkb: bytes,
    verify_url: str,
    colours: dict[str, str],
    lang: str = "vi",
    commune: str | None = None,
) -> bytes:
    """Return the A4 PDF of a parcel's planning information."""
    L = LABELS[lang]
    made = clock.now().strftime(
        "%d/%m/%Y %H:%M (UTC+7)" if lang == "vi" else "%Y-%m-%d %H:%M (UTC+7)"
    )
    parcel = answer["parcel"]
    key = f"{parcel['commune']}/{parcel['sheet']}/{parcel['parcel']}"
    pdf = _Sheet(lang, DISCLAIMER[lang])
    pdf.set_title(f"{L['doc_title']} – {key}")
    pdf.set_lang("vi" if lang == "vi" else "en")
    pdf.set_creator("Tra cứu thông tin quy hoạch")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, L["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, L["subtitle"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _parcel_facts(pdf, parcel, commune, lang)
    if not answer["plans"]:
        pdf.ln(3)
        pdf.para(L["no_plan"])
    last_map: tuple[int, float] | None = None
    for p in answer["plans"]:
        plan = p["plan"]
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 11)
        pdf.para(f"{L['plan']}: {plan['name'] or plan['code']}", 6)
        pdf.set_font("DejaVu", "", 9)
        level = (plan.get("level_name") or {}).get(lang) or plan["level"]
        decision = plan["decision"] or NO_DATA[lang]
        if plan.get("decision_date"):
            decision += f" {L['on_date']} {_day(plan['decision_date'], lang)}"
        pdf.para(f"{level} · {L['scale']}: {plan.get('scale') or NO_DATA[lang]}")
        pdf.para(f"{L['decision']}: {decision}")
        pdf.para(
            f"{L['in_plan']}: {_fmt(p['area_in_plan_m2'], 'm²', lang=lang)} "
            f"/ {_fmt(p['area_m2'], 'm²', lang=lang)} ({p['crs']})"
        )
        pdf.ln(1)
        _zone_table(pdf, p, lang)
        shape, context = _context(
            conn, parcel_ewkb, answer, plan["code"], int(p["crs"].split(":")[1])
        )
        if pdf.get_y() > 175:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 6, L["map"], new_x="LMARGIN", new_y="NEXT")
        last_map = (pdf.page, pdf.get_y())
        _draw_map(pdf, shape, context, colours, L["north"])
    lines = f"{L['version']}: {answer['data_version']}\n{L['made']}: {made}\n{L['verify']}:"
    if last_map is not None and last_map[0] == pdf.page:
        # Beside the last map: the whole sheet of a one-plan parcel fits on one page.
        bottom = _qr_block(
            pdf, 15 + MAP_BOX + 12, last_map[1], 180 - MAP_BOX - 12, verify_url, lines
        )
        pdf.set_y(max(pdf.get_y(), bottom, last_map[1] + MAP_BOX + 10))
    else:
        pdf.ln(3)
        if pdf.get_y() > 225:
            pdf.add_page()
        bottom = _qr_block(pdf, 15, pdf.get_y(), 120, verify_url, lines)
        pdf.set_y(bottom)
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 8)
    pdf.para(DISCLAIMER[lang], 4.2)
    return bytes(pdf.output())


@dataclass(frozen=True)
class Sheet:
    """A rendered sheet: the PDF and the parcel key it is about (for its file name)."""

    pdf: bytes
    key: str


def parcel_sheet(
    conn: Connection,
    commune: str,
    sheet: str,
    parcel: str,
    on: date,
    base_url: str,
    lang: str = "vi",
    parcel_id: int | None = None,
) -> Sheet:
    """Render a parcel's sheet from one snapshot: the answer, the maps and the data version
    printed on it all come from the same state of the data."""
    with snapshot(conn):
        found = find_parcel(conn, commune, sheet, parcel, on, parcel_id)
        answer = answer_of(conn, found, on)
        key = f"{found['commune_code']}/{found['sheet']}/{found['parcel_no']}"
        query = {"v": answer["data_version"], "h": content_hash(answer)}
        if on != clock.today():
            query["date"] = on.isoformat()
        if found["shared_key"]:
            query["id"] = int(found["id"])  # the key alone names several parcels
        verify = f"{base_url}/verify/{key}?{urlencode(query)}"
        label = commune_label(conn, found["commune_code"], lang)
        pdf = render_sheet(conn, answer, bytes(found["ewkb"]), verify, colours(), lang, label)
    return Sheet(pdf, key)


def verify_sheet(
    conn: Connection,
    commune: str,
    sheet: str,
    parcel: str,
    on: date,
    printed_version: int,
    printed_hash: str,
    parcel_id: int | None = None,
) -> dict[str, Any]:
    """Tell whether a printed sheet still states what the published data says."""
    answer = parcel_answer(conn, commune, sheet, parcel, on, parcel_id=parcel_id)
    same = content_hash(answer) == printed_hash
    return {
        "current": same,
        "data_version_printed": printed_version,
        "data_version_now": answer["data_version"],
        "message": VERIFY_MESSAGES["same" if same else "changed"],
    }


VERIFY_MESSAGES = {
    "same": {
        "vi": "Phiếu còn đúng: nội dung trùng với dữ liệu quy hoạch đang công bố.",
        "en": "The sheet is current: it matches the published planning data.",
    },
    "changed": {
        "vi": "Phiếu đã cũ: dữ liệu quy hoạch của thửa đất đã thay đổi, hãy tra cứu lại.",
        "en": "The sheet is out of date: the parcel's planning data changed; look it up again.",
    },
}
