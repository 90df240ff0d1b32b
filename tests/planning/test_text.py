"""Tests for planning.text: legacy Vietnamese encodings, detection and mojibake repair."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest

from planning.text import (
    ENCODINGS,
    ColumnDecision,
    decode_bytes,
    detect_and_decode,
    detect_column,
    encode_text,
    fix_text,
    is_vietnamese_syllable,
    normalize_encoding_name,
    repair_mojibake_column,
    vietnamese_score,
)

LAND_USE_CSV = Path(__file__).parents[2] / "planning/data/land_use_codes.csv"

PHRASE = "Đất ở tại đô thị"
# Latin-1 renderings of the bytes of PHRASE, from the reference notes (VIETNAM.md section 2).
KNOWN_SAMPLES = {
    "tcvn3": "§Êt ë t¹i ®« thÞ",
    "vni": "Ñaát ôû taïi ñoâ thò",
    "viscii": "Ð¤t · tÕi ðô th¸",
    "cp1258": "Ðâìt õÒ taòi ðô thiò",
}
LEGACY = ("tcvn3", "vni", "viscii", "cp1258")

FUNCTIONS = [
    "Đất ở hiện trạng cải tạo chỉnh trang",
    "Đất cây xanh sử dụng công cộng",
    "Đất giáo dục",
    "Đất công trình dịch vụ đô thị",
    "Đất hỗn hợp",
    "Đất giao thông",
    "Mặt nước",
]
LOTS = ["Đất ở mới OM-01", "Đất cây xanh CX-02", "Đất giáo dục GD-01", "ODT", "OM-01"]
ADDRESSES = [
    "Phường Vỹ Dạ",
    "Phường Thuận Hòa",
    "Phường Phú Xuân",
    "Xã Phú Mậu",
    "Thành phố Huế",
    "Kiệt 12 đường Nguyễn Sinh Cung",
]


def land_use_names() -> list[str]:
    """Return the Vietnamese land-use names from the project's code list."""
    with LAND_USE_CSV.open(encoding="utf-8") as f:
        return [row["name_vi"] for row in csv.DictReader(f)]


def corpus() -> list[str]:
    """Return realistic planning phrases: land-use names, functions, lot names, addresses."""
    return land_use_names() + FUNCTIONS + LOTS + ADDRESSES


def test_corpus_is_real() -> None:
    names = land_use_names()
    assert len(names) > 50
    assert "Đất ở tại đô thị" in names


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip_on_planning_corpus(encoding: str) -> None:
    for phrase in corpus():
        raw = encode_text(phrase, encoding)
        assert decode_bytes(raw, encoding) == phrase, (encoding, phrase, raw)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip_every_vietnamese_letter(encoding: str) -> None:
    letters = []
    for base in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"):
            letter = unicodedata.normalize("NFC", base + tone)
            letters += [letter, letter.upper()]
    text = " ".join(letters) + " đ Đ"
    # All 134 toned vowels + đ/Đ, capitals included (glibc's TCVN5712-1 has capitals too).
    assert len(letters) == 144
    assert decode_bytes(encode_text(text, encoding), encoding) == text


@pytest.mark.parametrize(("encoding", "latin1"), KNOWN_SAMPLES.items())
def test_known_samples_decode(encoding: str, latin1: str) -> None:
    raw = latin1.encode("latin-1")
    assert decode_bytes(raw, encoding) == PHRASE
    # Our encoder produces exactly the bytes that real files carry.
    assert encode_text(PHRASE, encoding) == raw


def test_utf8_decoding_and_invalid_bytes() -> None:
    assert decode_bytes(PHRASE.encode("utf-8"), "utf-8") == PHRASE
    with pytest.raises(UnicodeDecodeError):
        decode_bytes(KNOWN_SAMPLES["vni"].encode("latin-1"), "utf-8")


def test_cp1258_undefined_byte_raises() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_bytes(b"\x81", "cp1258")


def test_cp1258_output_is_nfc() -> None:
    raw = KNOWN_SAMPLES["cp1258"].encode("latin-1")
    # Python's own codec keeps the tones as separate combining marks ...
    plain = raw.decode("cp1258")
    assert not unicodedata.is_normalized("NFC", plain)
    # ... decode_bytes composes them.
    decoded = decode_bytes(raw, "cp1258")
    assert unicodedata.is_normalized("NFC", decoded)
    assert len(decoded) == len(PHRASE)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_decoded_text_is_always_nfc(encoding: str) -> None:
    for phrase in corpus():
        decoded = decode_bytes(encode_text(phrase, encoding), encoding)
        assert unicodedata.is_normalized("NFC", decoded)


def test_eth_fix() -> None:
    assert fix_text("Ðà Nẵng") == "Đà Nẵng"
    assert fix_text("ðường") == "đường"
    assert fix_text("Ðà Nẵng")[0] == "\u0110"
    # Decoded bytes get the same fix: latin-1-looking Eth typed into a UTF-8 file.
    assert decode_bytes("Ðà Nẵng".encode(), "utf-8") == "Đà Nẵng"


def test_fix_text_composes_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", PHRASE)
    assert decomposed != PHRASE
    assert fix_text(decomposed) == PHRASE


def test_tcvn3_soft_hyphen_is_u_horn() -> None:
    # TCVN3 puts ư on 0xAD, the latin-1 soft hyphen that text cleaners delete.
    raw = encode_text("Phường Vỹ Dạ", "tcvn3")
    assert b"\xad" in raw
    assert decode_bytes(b"n\xad\xedc", "tcvn3") == "nước"
    assert decode_bytes(raw, "tcvn3") == "Phường Vỹ Dạ"
    # Cleaning before decoding would lose the letter: that is why decoding comes first.
    assert decode_bytes(raw.replace(b"\xad", b""), "tcvn3") != "Phường Vỹ Dạ"


def test_tcvn3_combining_tone_bytes_compose() -> None:
    # glibc's TCVN5712-1 has combining tone marks at 0xB0-0xB4; a + 0xB3 (acute) is á.
    assert decode_bytes(b"a\xb3", "tcvn3") == "á"
    assert decode_bytes(b"\xa9\xb3", "tcvn3") == "ấ"  # â + acute


def test_viscii_letters_in_control_range() -> None:
    # VISCII puts Ỵ on 0x1E and Ỹ on 0x19.
    assert decode_bytes(b"\x1e", "viscii") == "Ỵ"
    assert decode_bytes(b"\x19", "viscii") == "Ỹ"


def test_vni_uppercase_and_i_letters() -> None:
    assert encode_text("ĐẤT Ở", "vni") == b"\xd1A\xc1T \xd4\xdb"
    assert decode_bytes(b"\xd1A\xc1T \xd4\xdb", "vni") == "ĐẤT Ở"
    assert decode_bytes(b"th\xf2 l\xee", "vni") == "thị lỵ"
    assert decode_bytes(b"ly\xef", "vni") == "lỵ"  # the y + dot spelling also decodes


@pytest.mark.parametrize("encoding", ["tcvn3", "viscii", "cp1258"])
def test_encode_rejects_unexpressible(encoding: str) -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode_text("Đất 中", encoding)


def test_vni_rejects_unexpressible() -> None:
    with pytest.raises(ValueError, match="cannot encode"):
        encode_text("€ 中", "vni")


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("UTF8", "utf-8"),
        ("TCVN5712-1", "tcvn3"),
        ("abc", "tcvn3"),
        ("TCVN3", "tcvn3"),
        ("vni-windows", "vni"),
        ("VNI", "vni"),
        ("VISCII", "viscii"),
        ("windows-1258", "cp1258"),
        ("CP1258", "cp1258"),
    ],
)
def test_normalize_encoding_name(alias: str, name: str) -> None:
    assert normalize_encoding_name(alias) == name
    assert name in ENCODINGS


def test_normalize_encoding_name_unknown() -> None:
    with pytest.raises(ValueError, match="unknown text encoding 'koi8-r'"):
        normalize_encoding_name("koi8-r")
    with pytest.raises(ValueError, match="unknown"):
        decode_bytes(b"x", "latin-2")


def test_encodings_constant() -> None:
    assert ENCODINGS == ("utf-8", "tcvn3", "vni", "viscii", "cp1258")


@pytest.mark.parametrize(
    "word",
    ["Đất", "ở", "tại", "đô", "thị", "Phường", "Vỹ", "Dạ", "nghiêm", "quyết", "giữa", "khuỷu"],
)
def test_valid_syllables(word: str) -> None:
    assert is_vietnamese_syllable(word)
    assert is_vietnamese_syllable(word.upper())


@pytest.mark.parametrize("word", ["§Êt", "t¹i", "thÞ", "Ñaát", "ôû", "trÊn", "tàt", "ảá", "ngi"])
def test_invalid_syllables(word: str) -> None:
    assert not is_vietnamese_syllable(word)


def test_tone_placement_does_not_matter() -> None:
    assert is_vietnamese_syllable("hoà") and is_vietnamese_syllable("hòa")
    assert is_vietnamese_syllable("thuỷ") and is_vietnamese_syllable("thủy")


def test_vietnamese_score() -> None:
    assert vietnamese_score(PHRASE) == 1.0
    assert vietnamese_score(KNOWN_SAMPLES["tcvn3"]) == 0.0
    # ASCII tokens (codes, numbers, unaccented words) are neutral: not counted either way.
    assert vietnamese_score("ODT OM-01 123 Đất") == 1.0
    assert vietnamese_score("ODT OM-01 123") == 0.0
    assert vietnamese_score("Đất §Êt") == 0.5


def test_score_is_high_on_real_land_use_names() -> None:
    assert vietnamese_score("\n".join(land_use_names())) > 0.95


COLUMNS = {
    "functions": FUNCTIONS,
    "lots": LOTS,
    "addresses": ADDRESSES,
    "land_use": land_use_names(),
}


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_detect_column_picks_the_encoding(encoding: str, column: str) -> None:
    values = COLUMNS[column]
    raws: list[bytes | None] = [encode_text(v, encoding) for v in values]
    raws.append(None)
    decision = detect_column(raws)
    assert decision.encoding == encoding, decision.reason
    assert not decision.ambiguous
    assert decision.confidence >= 0.15
    assert decision.scores[encoding] >= 0.9
    assert decision.reason.lower().startswith(encoding.replace("-", "")[:3])

    decoded, used = detect_and_decode(raws)
    assert decoded == [*values, None]
    assert used.encoding == encoding


def test_utf8_excluded_when_any_value_is_invalid() -> None:
    raws = [encode_text(v, "tcvn3") for v in ADDRESSES]
    decision = detect_column(raws)
    assert "utf-8" in decision.excluded
    assert "utf-8" not in decision.scores
    assert set(decision.scores) | set(decision.excluded) == set(ENCODINGS)


def test_pure_code_column_is_ascii_not_ambiguous() -> None:
    raws = [b"ODT", b"OM-01", b"CX-02", None, b"123.5"]
    decision = detect_column(raws)
    assert decision == ColumnDecision(None, 1.0, {}, False, "all values are ASCII")
    decoded, used = detect_and_decode(raws)
    assert decoded == ["ODT", "OM-01", "CX-02", None, "123.5"]
    assert used.encoding is None and not used.ambiguous


def test_tcvn3_control_byte_is_not_ascii() -> None:
    # 0x01 is Ú in glibc's TCVN3, so a value with it is not "plain ASCII".
    decision = detect_column([b"\x01"])
    assert decision.reason != "all values are ASCII"


def test_one_short_word_is_ambiguous_and_falls_back() -> None:
    # "ở" in TCVN3 is one byte that VISCII reads as "ẻ": both are real words, so no decision.
    raws = [encode_text("ở", "tcvn3"), b"ODT"]
    decision = detect_column(raws)
    assert decision.encoding is None
    assert decision.ambiguous
    decoded, used = detect_and_decode(raws)
    # Not valid UTF-8, so the documented fallback is cp1258, flagged for the caller.
    assert used.encoding == "cp1258"
    assert used.ambiguous
    assert "fallback" in used.reason or "by default" in used.reason
    assert decoded[1] == "ODT"


def test_fallback_to_utf8_when_all_valid_utf8() -> None:
    # Valid UTF-8 but no Vietnamese words in any reading.
    raws = ["© 2024".encode(), b"ODT"]
    decoded, used = detect_and_decode(raws)
    assert used.ambiguous
    assert used.encoding == "utf-8"
    assert decoded == ["© 2024", "ODT"]


def test_fallback_cp1258_keeps_undefined_bytes() -> None:
    raws = [b"\x81\x8d", b"x"]
    decoded, used = detect_and_decode(raws)
    assert used.encoding == "cp1258" and used.ambiguous
    assert decoded == ["\x81\x8d", "x"]


def test_override_wins_and_is_strict() -> None:
    raws = [encode_text("ở", "tcvn3")]
    decoded, used = detect_and_decode(raws, override="ABC")
    assert decoded == ["ở"]
    assert used.encoding == "tcvn3" and not used.ambiguous
    assert "override" in used.reason
    with pytest.raises(UnicodeDecodeError):
        detect_and_decode([KNOWN_SAMPLES["vni"].encode("latin-1")], override="utf-8")


def test_detection_uses_the_whole_column() -> None:
    # The lone word is ambiguous on its own but decided by the rest of its column.
    alone = [encode_text("ở", "tcvn3")]
    assert detect_column(alone).encoding is None
    column = alone + [encode_text(v, "tcvn3") for v in ADDRESSES]
    decoded, used = detect_and_decode(column)
    assert used.encoding == "tcvn3"
    assert decoded[0] == "ở"


@pytest.mark.parametrize(("encoding", "latin1"), KNOWN_SAMPLES.items())
def test_repair_mojibake_known_samples(encoding: str, latin1: str) -> None:
    values, decision = repair_mojibake_column([latin1, "ODT", None])
    assert values == [PHRASE, "ODT", None]
    assert decision.encoding == encoding
    assert not decision.ambiguous
    assert decision.scores[encoding] > decision.scores["as-is"]


@pytest.mark.parametrize("encoding", LEGACY)
def test_repair_mojibake_realistic_column(encoding: str) -> None:
    values = FUNCTIONS + ADDRESSES
    # What a tool shows after reading the legacy bytes as cp1252 (VNI and cp1258 use 0x80-0x9F
    # rarely, TCVN3/VISCII often; latin-1 keeps those as C1 controls, which also repairs).
    mangled = [encode_text(v, encoding).decode("latin-1") for v in values]
    repaired, decision = repair_mojibake_column(mangled)
    assert repaired == values
    assert decision.encoding == encoding


def test_repair_cp1252_reading() -> None:
    # glibc's TCVN3 capitals sit in 0x80-0x9F, where cp1252 has punctuation: Ở (0x99) shows as ™.
    values = ["ĐẤT Ở TẠI ĐÔ THỊ", "Đất ở tại đô thị", "Đất giáo dục"]
    mangled = [encode_text(v, "tcvn3").decode("cp1252") for v in values]
    assert "™" in mangled[0]
    repaired, decision = repair_mojibake_column(mangled)
    assert repaired == values
    assert decision.encoding == "tcvn3"


def test_repair_leaves_utf8_alone() -> None:
    values = [*ADDRESSES, "ODT", None]
    repaired, decision = repair_mojibake_column(values)
    assert repaired == values
    assert decision.encoding == "utf-8"
    assert not decision.ambiguous


def test_repair_leaves_latin1_range_vietnamese_alone() -> None:
    # Every letter here exists in latin-1, so the text could be mojibake; it reads as Vietnamese
    # as it stands, so no re-reading is clearly better.
    values = ["Chí Minh", "Hà Nam", "Tây Ninh"]
    repaired, decision = repair_mojibake_column(values)
    assert repaired == values
    assert decision.encoding == "utf-8"


def test_repair_applies_eth_fix_and_nfc() -> None:
    values = ["Ðà Nẵng", unicodedata.normalize("NFD", "Phường Vỹ Dạ")]
    repaired, decision = repair_mojibake_column(values)
    assert repaired == ["Đà Nẵng", "Phường Vỹ Dạ"]
    assert decision.encoding == "utf-8"


def test_repair_undoes_utf8_read_as_latin1() -> None:
    mangled = PHRASE.encode("utf-8").decode("latin-1")
    repaired, decision = repair_mojibake_column([mangled])
    assert repaired == [PHRASE]
    assert decision.encoding == "utf-8"
    assert decision.reason.startswith("repaired")
