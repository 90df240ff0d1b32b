"""Find the fields of a layer that hold personal data, which ingest leaves out.

Cadastral exports carry owners' names, identity numbers (CMND, 9 digits; CCCD, 12 digits),
birth years and phone numbers: personal data under Decree 13/2023/NĐ-CP, which a public
planning service has no reason to hold. A field is personal by its name (``TenChu``,
``chusudung``, ``HoTen``, ``so_cmnd``, ``NamSinh``, ``DienThoai``, ``SDT``...) or by its content
(most of its values are identity or phone numbers; not for a field that names a record or a
parcel, such as ViLIS's nine-digit THUAID). Fields the mapping uses (commune, sheet, parcel,
address...) are never dropped; the office keeps any other one with ``--keep-field``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
from pyogrio.errors import DataLayerError, DataSourceError, FieldError

from ingest.fields import FieldMapping
from ingest.read import LayerInfo, read_columns
from ingest.source import Source
from planning.catalogue import bare, fold
from planning.errors import InvalidInput

# Folded field-name words (no marks, lower case, joined) that name personal data; a field
# whose name has one of them starting at one of its words is personal ("TenChuSuDung",
# "HO_TEN", "so_cmnd", "CSD" and "Chu_SD" for chủ sử dụng, as real exports abbreviate it),
# but not "MucDichSuDung" (land-use purpose), where "chusudung" only appears inside "dich".
PERSONAL_NAMES = (
    "tenchu",
    "chusudung",
    "chusohuu",
    "chusd",
    "csd",
    "tencsd",
    "chuho",
    "nguoisudung",
    "tennguoi",
    "hoten",
    "hovaten",
    "cmnd",
    "cccd",
    "cancuoc",
    "dinhdanhcanhan",
    "cmt",
    "socmt",
    "hochieu",
    "namsinh",
    "ngaysinh",
    "gioitinh",
    "dienthoai",
    "sodienthoai",
    "sdt",
    "email",
    "thuongtru",
    "diachichu",
    "owner",
    "fullname",
    "phone",
    "mobile",
    "birth",
    "passport",
    "nationalid",
    "idcard",
)
# A value that is, spaces and dots aside, an identity number or a Vietnamese phone number.
_ID_NUMBER = re.compile(r"\d{9}|\d{12}")
_PHONE = re.compile(r"(?:0|\+?84)\d{9,10}")
_SEPARATORS = re.compile(r"[\s.\-]")
# Most of a column's sampled values must look so (a few numbers in a notes column do not).
CONTENT_SHARE = 0.5
SAMPLE = 5_000
_WORDS = re.compile(r"[A-ZĐ]?[a-zđ\u00c0-\u1ef9]+|[A-ZĐ\u00c0-\u1ef9]+(?![a-z])|\d+")


@dataclass(frozen=True)
class PersonalField:
    """A field left out, and why."""

    raw_name: str  # as GDAL names it
    name: str  # decoded
    why: str


def _words(name: str) -> list[str]:
    """Split a field name into folded words (camelCase, snake_case, spaces)."""
    return [fold(w) for w in _WORDS.findall(name)] or [fold(name)]


def personal_by_name(name: str) -> str | None:
    """Return the personal-data word a field name holds, if any."""
    words = [w for w in _words(name) if w]
    joined = "".join(words)
    starts, at = set(), 0
    for w in words:
        starts.add(at)
        at += len(w)
    for pattern in PERSONAL_NAMES:
        at = joined.find(pattern)
        while at >= 0:
            if at in starts:
                return pattern
            at = joined.find(pattern, at + 1)
    return None


def names_a_record(name: str) -> bool:
    """Tell whether a field names a record or a parcel rather than a person ("THUAID",
    "OBJECTID", "MaThua"): nine-digit parcel ids are not identity numbers."""
    folded = bare(name)
    return folded.endswith("id") or "thua" in folded


def personal_by_content(values: list[object]) -> str | None:
    """Say what most of a column's values are when they are identity or phone numbers."""
    texts = [_SEPARATORS.sub("", str(v)) for v in values if v not in (None, "")]
    texts = [t for t in texts if t]
    if not texts:
        return None
    ids = sum(1 for t in texts if _ID_NUMBER.fullmatch(t))
    phones = sum(1 for t in texts if _PHONE.fullmatch(t))
    if ids >= CONTENT_SHARE * len(texts):
        return "identity numbers (CMND/CCCD, 9 or 12 digits)"
    if phones >= CONTENT_SHARE * len(texts):
        return "phone numbers"
    return None


def find_personal(
    src: Source, info: LayerInfo, mapping: FieldMapping, keep: tuple[str, ...]
) -> tuple[list[PersonalField], list[str]]:
    """Return the fields to leave out, and the --keep-field names kept on purpose."""
    mapped = set(mapping.columns.values())
    wanted = {k.lower() for k in keep}
    known = {f.lower() for f in info.fields} | {f.lower() for f in info.raw_fields}
    unknown = [k for k in keep if k.lower() not in known]
    if unknown:
        listed = ", ".join(info.fields[:15])
        raise InvalidInput(f"--keep-field {unknown[0]!r}: no such field (fields: {listed})")
    out: list[PersonalField] = []
    kept: list[str] = []
    unsure: list[tuple[str, str]] = []
    for raw, name in zip(info.raw_fields, info.fields, strict=True):
        if name in mapped:
            continue
        on_purpose = name.lower() in wanted or raw.lower() in wanted
        word = personal_by_name(name)
        if word is not None:
            if on_purpose:
                kept.append(name)
            else:
                out.append(PersonalField(raw, name, f"its name ({word!r}) names personal data"))
        elif not names_a_record(name):
            unsure.append((raw, name))
    for (raw, name), values in zip(
        unsure, _samples(src, info, [r for r, _ in unsure]), strict=True
    ):
        what = personal_by_content(values)
        if what is None:
            continue
        if name.lower() in wanted or raw.lower() in wanted:
            kept.append(name)
        else:
            out.append(PersonalField(raw, name, f"its values are {what}"))
    return out, kept


def _samples(src: Source, info: LayerInfo, raw_names: list[str]) -> list[list[object]]:
    """Return the first values of some columns (for the content rule)."""
    if not raw_names:
        return []
    try:
        table = read_columns(src, info, raw_names, SAMPLE)
    except (
        DataSourceError,
        DataLayerError,
        FieldError,
        OSError,
        pa.ArrowException,
        UnicodeDecodeError,
    ):
        return [[] for _ in raw_names]  # the read proper reports what is wrong
    return [_values(table.column(raw)) for raw in raw_names]


def _values(column: pa.ChunkedArray) -> list[object]:
    """Return a text or integer column's values as Python text or numbers (others: none)."""
    t = column.type
    if pa.types.is_integer(t):
        return list(column.to_pylist())
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)):
        return []
    binary = pa.large_binary() if pa.types.is_large_string(t) else pa.binary()
    raw = column.cast(binary) if not pa.types.is_binary(t) else column
    # Digits and separators are ASCII in every encoding these files use.
    return [None if b is None else b.decode("latin-1") for b in raw.to_pylist()]
