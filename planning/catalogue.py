"""The land-use catalogue and the mapping from zoning function text to its land-use category."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

ROAD_CODE = "DGT"


@dataclass(frozen=True)
class Category:
    """One land-use code of the catalogue."""

    code: str
    scheme: str
    group: str
    name_vi: str
    name_en: str
    color: str | None


@cache
def categories() -> dict[str, Category]:
    """Load the catalogue (both schemes) from the project's copy of the reference table."""
    with (DATA / "land_use_codes.csv").open(encoding="utf-8") as fh:
        return {
            r["code"]: Category(
                r["code"], r["scheme"], r["group"], r["name_vi"], r["name_en"], r["color"] or None
            )
            for r in csv.DictReader(fh)
        }


# Zoning drawings colour some categories the status-map table leaves blank (or colours alike).
ZONING_PALETTE = {
    "DKV": "#8FD18B",  # public green / recreation
    "DTT": "#6CC070",
    "DGD": "#F7C873",
    "DYT": "#F28B82",
    "DVH": "#C39BD3",
    "DCH": "#F5B041",
    "DSH": "#E59866",
    "DCK": "#D7BDE2",
    "DTS": "#F1948A",
    "DNL": "#AEB6BF",
    "DBV": "#AEB6BF",
    "DDL": "#A3E4D7",
    "DDT": "#B7950B",
    "TON": "#D2B4DE",
    "TIN": "#D2B4DE",
    "DGT": "#FFFFFF",
}
FALLBACK = "#CCCCCC"


def colour_of(code: str, catalogue_colour: str | None) -> str:
    """Return the map colour of a land-use code."""
    return ZONING_PALETTE.get(code) or catalogue_colour or FALLBACK


def colours() -> dict[str, str]:
    """Return the map colour of every code of the catalogue (the map's and the sheet's)."""
    return {code: colour_of(code, c.color) for code, c in categories().items()}


def _strip_table() -> dict[int, str]:
    """Map every precomposed Latin letter (Vietnamese included) to its base letter."""
    table: dict[int, str] = {ord("Đ"): "D", ord("đ"): "d", ord("Ð"): "D", ord("ð"): "d"}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and base:
            table.setdefault(cp, base)
    # Combining marks left in decomposed input disappear.
    for cp in range(0x0300, 0x0370):
        table[cp] = ""
    return table


_STRIP = _strip_table()


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics ("Vỹ Dạ" → "vy da") for matching and search."""
    # str.translate runs in C: folding 200 000 addresses takes well under a second.
    return " ".join(text.translate(_STRIP).lower().split())


def bare(text: str) -> str:
    """Fold a name to its letters and digits only ("Số thửa" → "sothua", "So_Thua" too)."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


# Zoning plans describe functions in free text (Circular 16/2025 attaches no code list). These
# phrases, matched on folded text as whole words, longest first, give the land-use category the
# service shows beside the function. Our own table, built from QCVN 01:2021 function names and
# the catalogue's Vietnamese names; a plan can always carry explicit codes with --code-field.
FUNCTION_PHRASES: tuple[tuple[str, str], ...] = (
    ("o nong thon", "ONT"),
    ("o do thi", "ODT"),
    ("o hien trang", "ODT"),
    ("o moi", "ODT"),
    ("o lien ke", "ODT"),
    ("o chinh trang", "ODT"),
    ("nha o", "ODT"),
    ("biet thu", "ODT"),
    ("chung cu", "ODT"),
    ("dat o", "ODT"),
    ("giao thong", "DGT"),
    ("bai do xe", "DGT"),
    ("duong", "DGT"),
    ("quang truong", "DGT"),
    ("cay xanh", "DKV"),
    ("cong vien", "DKV"),
    ("vuon hoa", "DKV"),
    ("vui choi", "DKV"),
    ("the duc the thao", "DTT"),
    ("the thao", "DTT"),
    ("giao duc", "DGD"),
    ("truong hoc", "DGD"),
    ("mam non", "DGD"),
    ("y te", "DYT"),
    ("benh vien", "DYT"),
    ("van hoa", "DVH"),
    ("thuong mai", "TMD"),
    ("dich vu", "TMD"),
    ("hon hop", "TMD"),
    ("co quan", "TSC"),
    ("tru so", "TSC"),
    ("di tich", "DDT"),
    ("di san", "DDT"),
    ("danh lam", "DDL"),
    ("ton giao", "TON"),
    ("tin nguong", "TIN"),
    ("mat nuoc", "MNC"),
    ("ho dieu hoa", "MNC"),
    ("song", "SON"),
    ("kenh", "SON"),
    ("thuy loi", "DTL"),
    ("nghia trang", "NTD"),
    ("nghia dia", "NTD"),
    ("khu cong nghiep", "SKK"),
    ("cum cong nghiep", "SKN"),
    ("cong nghiep", "SKC"),
    ("quoc phong", "CQP"),
    ("an ninh", "CAN"),
    ("cho", "DCH"),
    ("nong nghiep", "NKH"),
    ("trong lua", "LUK"),
    ("rung", "RSX"),
)
_PHRASES = sorted(FUNCTION_PHRASES, key=lambda p: -len(p[0]))


def category_for_function(*texts: str | None) -> str | None:
    """Infer the land-use code of a zoning function, trying the most specific text first."""
    for text in texts:
        if not text:
            continue
        folded = f" {fold(text)} "
        folded = re.sub(r"[^a-z0-9]+", " ", folded)
        folded = f" {folded.strip()} "
        # The phrase that comes first in the text names the main function ("Đất di tích lịch sử -
        # văn hóa" is a relic, not a cultural facility); a longer phrase wins a tie.
        best: tuple[int, int, str] | None = None
        for phrase, code in _PHRASES:
            pos = folded.find(f" {phrase} ")
            if pos >= 0 and (best is None or (pos, -len(phrase)) < best[:2]):
                best = (pos, -len(phrase), code)
        if best:
            return best[2]
    return None


@cache
def _by_key() -> dict[str, str]:
    return {_code_key(c): c for c in categories()}


def _code_key(value: str) -> str:
    return "".join(value.split()).upper()


def catalogue_code(value: str | None) -> str | None:
    """Return the catalogue's code a code written in a file stands for, ignoring case and
    spaces ("odt ", "O DT" → "ODT"); None when the catalogue has no such code."""
    if not value:
        return None
    return _by_key().get(_code_key(value))


def category_of(code: str | None, *functions: str | None) -> str | None:
    """Return a zone's land-use category: its code's, else the one its function text names."""
    return catalogue_code(code) or category_for_function(*functions)


def is_road(code: str | None, *functions: str | None) -> bool:
    """Tell whether a zone is planned transport land (DGT or a "giao thông" function)."""
    if code == ROAD_CODE:
        return True
    return any(f and "giao thong" in fold(f) for f in functions)
