"""User-facing texts of the service, in Vietnamese and English (NFC)."""

from __future__ import annotations

DISCLAIMER = {
    "vi": (
        "Thông tin chỉ có giá trị tham khảo, không thay thế chứng chỉ quy hoạch hoặc văn bản "
        "cung cấp thông tin quy hoạch của cơ quan nhà nước có thẩm quyền."
    ),
    "en": (
        "For reference only: this does not replace the planning certificate or the official "
        "planning information issued by the competent authority."
    ),
}

NO_DATA = {"vi": "Chưa có dữ liệu", "en": "No data"}

LEVEL_NAMES = {
    "detail": {"vi": "Quy hoạch chi tiết (1/500)", "en": "Detailed plan (1:500)"},
    "zoning": {"vi": "Quy hoạch phân khu (1/2000)", "en": "Zoning plan (1:2000)"},
    "general": {"vi": "Quy hoạch chung", "en": "General plan"},
    "land_use": {"vi": "Quy hoạch sử dụng đất", "en": "Land-use plan"},
}
