"""Map a layer's fields to the service's attributes: TT16 names, common synonyms or the user's."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from planning.catalogue import bare
from planning.errors import InvalidInput

# Targets per ingest kind, in the order reports list them.
TARGETS: dict[str, tuple[str, ...]] = {
    "zoning": (
        "code",
        "function",
        "function_l2",
        "function_l3",
        "lot",
        "name",
        "density",
        "floors",
        "far",
        "height",
        "setback",
        "population",
    ),
    "parcels": ("commune", "sheet", "parcel", "area", "land_type", "address"),
    "red_lines": ("road_name", "width"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "zoning": (),
    "parcels": ("sheet", "parcel"),
    "red_lines": (),
}

# Circular 16/2025 field names (QuyHoach.gdb), mapped with no options.
TT16_ZONING_FIELDS = (
    "maThongTinQH",
    "maHoSoQH",
    "maDoiTuong",
    "tenDoiTuong",
    "chucNangSuDungDatMuc1",
    "chucNangSuDungDatMuc2",
    "chucNangSuDungDatMuc3",
    "kyHieuLoDat",
    "tenCongTrinhTrenDat",
    "dienTich",
    "danSo",
    "matDoXayDung",
    "tangCaoXayDung",
    "heSoSuDungDat",
    "trangThaiQuyHoach",
    "phanLoai",
    "ghiChu",
    "loaiQuyHoach",
    "loaiDieuChinh",
    "capDoQuyHoach",
)

# Candidate source names per target, most specific first; compared case-insensitively.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "zoning": {
        "code": ("maLoaiDat", "loaiDat", "ma_ld", "kyHieuMDSD", "landuse_code", "code"),
        "function": (
            "chucNangSuDungDatMuc1",
            "chucNangSuDungDat",
            "chucNang",
            "chuc_nang",
            "CN_SDD",
            "function",
        ),
        "function_l2": ("chucNangSuDungDatMuc2",),
        "function_l3": ("chucNangSuDungDatMuc3",),
        "lot": ("kyHieuLoDat", "kyHieuLo", "ky_hieu", "KH_LO", "KYHIEU", "lot", "lot_label"),
        "name": ("tenCongTrinhTrenDat", "tenDoiTuong", "ten", "name"),
        "density": ("matDoXayDung", "matDo", "mat_do", "MDXD", "density"),
        "floors": ("tangCaoXayDung", "tangCao", "tang_cao", "TCXD", "floors"),
        "far": ("heSoSuDungDat", "heSoSDD", "he_so_sdd", "HSSDD", "far"),
        "height": ("chieuCaoXayDung", "chieuCao", "chieu_cao", "height"),
        "setback": ("khoangLuiXayDung", "khoangLui", "khoang_lui", "setback"),
        "population": ("danSo", "dan_so", "population"),
    },
    "parcels": {
        "commune": ("MaXa", "ma_xa", "maDVHC", "commune", "commune_code"),
        "sheet": ("SoTo", "so_to", "SHBANDO", "soHieuToBanDo", "SOTO", "sheet"),
        "parcel": ("SoThua", "so_thua", "SHTHUA", "soThuTuThua", "SOTHUA", "parcel"),
        "area": ("DienTich", "dien_tich", "DTPL", "dienTichPhapLy", "area"),
        "land_type": ("LoaiDat", "loai_dat", "KHLOAIDAT", "MDSD", "mucDichSuDung", "land_use"),
        "address": ("DiaChi", "dia_chi", "diaChiThuaDat", "address"),
    },
    "red_lines": {
        "road_name": ("tenDoiTuong", "tenDuong", "ten_duong", "name", "road_name"),
        "width": ("chieuRongLoGioi", "loGioi", "lo_gioi", "chieuRong", "width", "row_width"),
    },
}


def gdal_truncated_names(names: tuple[str, ...], width: int = 10) -> dict[str, str]:
    """Return the names GDAL gives fields when a shapefile truncates them to ``width`` chars."""
    used: set[str] = set()
    out: dict[str, str] = {}
    for name in names:
        cand = name[:width]
        n = 1
        while cand.lower() in used:
            digits = str(n)
            cand = f"{name[: width - len(digits) - 1]}_{digits}"
            n += 1
        used.add(cand.lower())
        out[name] = cand
    return out


@dataclass
class FieldMapping:
    """Target attribute → source field, with how each choice was made."""

    columns: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)

    def get(self, target: str) -> str | None:
        """Return the source field of a target, if mapped."""
        return self.columns.get(target)


def load_mapping_file(path: Path) -> dict[str, str]:
    """Read a ``--mapping`` TOML file: ``target = "SourceField"`` lines (optionally [fields])."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: the mapping file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML ({exc})") from None
    table = data.get("fields", data)
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise InvalidInput(f"{path}: the mapping must be 'target = \"FieldName\"' lines")
    return {k.removesuffix("_field").replace("-", "_"): v for k, v in table.items()}


def resolve_mapping(
    kind: str, available: list[str], explicit: dict[str, str], source_name: str
) -> FieldMapping:
    """Choose the source field of each target: explicit names win, then TT16 names, synonyms."""
    targets = TARGETS[kind]
    # Names compare without case, marks, spaces and punctuation: "Số thửa" is SoThua, "Địa Chỉ
    # Thửa Đất" is diaChiThuaDat (exports from Excel and QGIS keep the Vietnamese headings).
    by_lower: dict[str, str] = {}
    for a in available:
        by_lower.setdefault(a.lower(), a)
    for a in available:
        by_lower.setdefault(bare(a), a)
    mapping = FieldMapping()
    for target, src in explicit.items():
        if target not in targets:
            known = ", ".join(targets)
            raise InvalidInput(f"{source_name}: unknown mapping target {target!r} (one of {known})")
        real = by_lower.get(src.lower()) or by_lower.get(bare(src))
        if real is None:
            listed = ", ".join(available[:15])
            raise InvalidInput(
                f"{source_name}: the mapping names field {src!r}, which the layer lacks "
                f"(fields: {listed})"
            )
        mapping.columns[target] = real
        mapping.how[target] = "given"
    truncated = gdal_truncated_names(TT16_ZONING_FIELDS) if kind == "zoning" else {}
    taken = set(mapping.columns.values())
    for target in targets:
        if target in mapping.columns:
            continue
        for cand in SYNONYMS[kind].get(target, ()):
            for name in (cand, truncated.get(cand)):
                real = (by_lower.get(name.lower()) or by_lower.get(bare(name))) if name else None
                if real and real not in taken:
                    mapping.columns[target] = real
                    mapping.how[target] = "TT16" if cand in TT16_ZONING_FIELDS else "recognised"
                    taken.add(real)
                    break
            if target in mapping.columns:
                break
    for target in REQUIRED[kind]:
        if target not in mapping.columns:
            raise InvalidInput(
                f"{source_name}: no {target} field found; name it with "
                f"--{target}-field (fields: {', '.join(available[:15])})"
            )
    return mapping
