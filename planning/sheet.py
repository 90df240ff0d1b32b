"""The printable planning-information sheet ("Thông tin quy hoạch") of a parcel, as an A4 PDF."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import qrcode
from fpdf import FPDF
from sqlalchemy import Connection, text

from planning.texts import DISCLAIMER, NO_DATA

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
VN_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
CONTEXT_M = 25.0

LABELS = {
    "vi": {
        "title": "THÔNG TIN QUY HOẠCH",
        "subtitle": "Phiếu tra cứu thông tin quy hoạch của thửa đất",
        "parcel": "Thửa đất",
        "commune": "Xã/phường (mã)",
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
        "subtitle": "Planning information sheet of a land parcel",
        "parcel": "Parcel",
        "commune": "Commune/ward (code)",
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
SELECT z.lot, z.code, z.is_road, ST_AsGeoJSON(ST_Intersection(z.geom_native,
         ST_Expand(CASE WHEN ST_SRID(p.g) = r.srid THEN p.g ELSE ST_Transform(p.g, r.srid) END,
                   :m)), 3) AS shape,
       ST_AsGeoJSON(ST_PointOnSurface(ST_Intersection(z.geom_native, ST_Expand(
         CASE WHEN ST_SRID(p.g) = r.srid THEN p.g ELSE ST_Transform(p.g, r.srid) END, :m))), 3)
         AS label_at
FROM p JOIN planning.zone z ON z.geom && ST_Expand(ST_Transform(p.g, 4326), 0.0005)
JOIN planning.revision r ON r.id = z.revision_id
WHERE r.state = 'published' AND r.effective_from <= :d
  AND (r.effective_to IS NULL OR :d < r.effective_to) AND r.plan_id = (
    SELECT id FROM planning.plan WHERE code = :plan)
ORDER BY z.id
"""


def content_hash(answer: dict[str, Any]) -> str:
    """Fingerprint what a sheet states (not when it was made nor the data version)."""
    core = {"parcel": answer["parcel"], "plans": answer["plans"]}
    blob = json.dumps(core, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fmt(v: Any, unit: str = "", digits: int = 2, lang: str = "vi") -> str:
    if v is None:
        return NO_DATA[lang]
    s = f"{float(v):,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{float(v):,.0f}"
    if lang == "vi":
        s = s.replace(",", " ").replace(".", ",")
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
        self.multi_cell(0, h, text, new_x="LMARGIN", new_y="NEXT")

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
    box_w, box_h = 110.0, 80.0
    x0, y0 = pdf.get_x(), pdf.get_y()
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    scale = min(box_w, box_h) / span
    minx, maxy = min(xs), max(ys)

    def page(c: list[float]) -> tuple[float, float]:
        return (x0 + (c[0] - minx) * scale, y0 + (maxy - c[1]) * scale)

    pdf.set_draw_color(110, 110, 110)
    pdf.set_line_width(0.2)
    for z in context:
        hexcol = colours.get(z["code"] or "", "#DDDDDD").lstrip("#")
        r, g, b = (int(hexcol[i : i + 2], 16) for i in (0, 2, 4))
        pdf.set_fill_color(r, g, b)
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
    pdf.line(x0, y0 + box_h + 4, x0 + bar, y0 + box_h + 4)
    pdf.set_font("DejaVu", "", 6)
    pdf.text(x0, y0 + box_h + 7, "10 m")
    pdf.set_y(y0 + box_h + 10)


def render_sheet(
    conn: Connection,
    answer: dict[str, Any],
    parcel_ewkb: bytes,
    verify_url: str,
    colours: dict[str, str],
    lang: str = "vi",
) -> bytes:
    """Return the A4 PDF of a parcel's planning information."""
    L = LABELS[lang]
    made = datetime.now(VN_TIME).strftime("%Y-%m-%d %H:%M (UTC+7)")
    pdf = _Sheet(lang, DISCLAIMER[lang])
    pdf.set_title(L["title"])
    pdf.set_creator("Tra cứu thông tin quy hoạch")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, L["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, L["subtitle"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    parcel = answer["parcel"]
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, L["parcel"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    rows = [
        (L["commune"], parcel["commune"]),
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
    if not answer["plans"]:
        pdf.ln(3)
        pdf.para(L["no_plan"])
    for p in answer["plans"]:
        plan = p["plan"]
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 11)
        pdf.para(f"{L['plan']}: {plan['name'] or plan['code']}", 6)
        pdf.set_font("DejaVu", "", 9)
        level = (plan.get("level_name") or {}).get(lang) or plan["level"]
        decision = plan["decision"] or NO_DATA[lang]
        if plan.get("decision_date"):
            decision += f" {L['on_date']} {plan['decision_date']}"
        pdf.para(
            f"{level} · {L['decision']}: {decision} · {L['scale']}: "
            f"{plan.get('scale') or NO_DATA[lang]}"
        )
        pdf.para(
            f"{L['in_plan']}: {_fmt(p['area_in_plan_m2'], 'm²', lang=lang)} "
            f"/ {_fmt(p['area_m2'], 'm²', lang=lang)} ({p['crs']})"
        )
        pdf.ln(1)
        widths = (18, 58, 24, 16, 20, 20, 24)
        with pdf.table(
            col_widths=widths,
            text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        ) as t:
            head = t.row()
            for h in (
                L["lot"],
                L["function"],
                L["area_m2"],
                L["share"],
                L["density"],
                L["floors"],
                L["far"],
            ):
                head.cell(h)
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
        pdf.para(f"{L['road']}: {_fmt(p['road_area_m2'], 'm²', lang=lang)}")
        pdf.para(f"{L['remaining']}: {_fmt(p['remaining_area_m2'], 'm²', lang=lang)}")
        context = [
            {
                "lot": r.lot,
                "code": r.code,
                "shape": json.loads(r.shape),
                "label_at": json.loads(r.label_at) if r.label_at else None,
            }
            for r in conn.execute(
                text(CONTEXT_SQL),
                {"g": parcel_ewkb, "m": CONTEXT_M, "d": answer["date"], "plan": plan["code"]},
            ).all()
        ]
        shape = json.loads(
            conn.execute(
                text(
                    "SELECT ST_AsGeoJSON(CASE WHEN ST_SRID(g) = :s THEN g "
                    "ELSE ST_Transform(g, :s) END, 3) FROM (SELECT ST_GeomFromEWKB(:g) AS g) q"
                ),
                {"g": parcel_ewkb, "s": int(p["crs"].split(":")[1])},
            ).scalar_one()
        )
        if pdf.get_y() > 170:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 6, L["map"], new_x="LMARGIN", new_y="NEXT")
        _draw_map(pdf, shape, context, colours)
    pdf.ln(3)
    if pdf.get_y() > 240:
        pdf.add_page()
    y = pdf.get_y()
    img = qrcode.make(verify_url, box_size=4, border=1)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    pdf.image(buf, x=15, y=y, w=28, h=28)
    pdf.set_xy(47, y)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(
        0,
        4.2,
        f"{L['version']}: {answer['data_version']}\n{L['made']}: {made}\n"
        f"{L['verify']}:\n{verify_url}",
    )
    pdf.set_y(max(pdf.get_y(), y + 30))
    pdf.set_font("DejaVu", "B", 8)
    pdf.para(DISCLAIMER[lang], 4.2)
    return bytes(pdf.output())
