"""Decode and encode the five text encodings found in Vietnamese GIS attribute data."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from planning.text._tables import TCVN3_DECODE, VISCII_DECODE

ENCODINGS: tuple[str, ...] = ("utf-8", "tcvn3", "vni", "viscii", "cp1258")
# Encodings that give every byte a meaning: any bytes decode (checked below the tables).
TOTAL_ENCODINGS = frozenset({"tcvn3", "vni", "viscii"})

# Aliases are looked up after lower-casing and dropping everything but letters and digits, so
# "TCVN5712-1", "tcvn_5712_1" and "TCVN 5712-1" all meet the same key.
_ALIASES: dict[str, str] = {
    "utf8": "utf-8",
    "cp65001": "utf-8",
    "tcvn3": "tcvn3",
    "tcvn": "tcvn3",
    "tcvn5712": "tcvn3",
    "tcvn57121": "tcvn3",
    "tcvn571211993": "tcvn3",
    "tcvn57121993": "tcvn3",
    "abc": "tcvn3",
    "vn3": "tcvn3",
    "vntime": "tcvn3",
    "vni": "vni",
    "vniwindows": "vni",
    "vniwin": "vni",
    "vnitimes": "vni",
    "viscii": "viscii",
    "viscii11": "viscii",
    "csviscii": "viscii",
    "cp1258": "cp1258",
    "windows1258": "cp1258",
    "win1258": "cp1258",
    "ms1258": "cp1258",
}

_ETH_FIX = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})


def normalize_encoding_name(name: str) -> str:
    """Return the canonical name in ENCODINGS for an encoding name or alias."""
    key = re.sub(r"[^0-9a-z]", "", name.strip().lower())
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown text encoding {name!r}: expected one of {', '.join(ENCODINGS)} "
            "(or an alias such as 'TCVN5712-1', 'abc', 'vni-windows', 'windows-1258')"
        ) from None


def fix_text(text: str) -> str:
    """Return text NFC-normalised with Eth (U+00D0/U+00F0) replaced by Đ/đ."""
    # GADM-derived and some hand-typed names use the Icelandic Eth for Đ; in Vietnamese text
    # fields it is always meant as Đ, and search must not see two spellings.
    text = unicodedata.normalize("NFC", text)
    # str.translate looks every character up; finding an Eth first is a fast scan.
    if "\u00d0" in text or "\u00f0" in text:
        text = text.translate(_ETH_FIX)
    return text


# --- VNI-Windows -----------------------------------------------------------------------------
# VNI stores a toned vowel as a plain base letter followed by one "mark" byte; the mark bytes
# and a few whole letters sit in 0xC0-0xFF. Uppercase text uses the uppercase twin of each mark
# byte (byte - 0x20). Decoding maps each mark byte to Unicode combining marks and lets NFC
# compose them onto the base letter, which also handles the quality + tone bytes (circumflex
# or breve plus a tone in one byte). Written from the VNI-Windows layout and checked against
# the `viparse` package's VNI converter on ~67,000 words and place names: identical except
# ẳ = "aú" and ỵ = "î" (the layout's spellings), which viparse leaves unconverted. Decoding
# also accepts "yï" for ỵ, as some documents spell it.
_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TONES = (_GRAVE, _ACUTE, _TILDE, _HOOK, _DOT)

# Lowercase byte -> meaning; the uppercase byte is 0x20 lower with the same meaning.
_VNI_MARKS: dict[int, str] = {
    0xF9: _ACUTE,  # ù
    0xF8: _GRAVE,  # ø
    0xFB: _HOOK,  # û
    0xF5: _TILDE,  # õ
    0xEF: _DOT,  # ï
    0xE2: _CIRCUMFLEX,  # â
    0xE1: _CIRCUMFLEX + _ACUTE,  # á
    0xE0: _CIRCUMFLEX + _GRAVE,  # à
    0xE5: _CIRCUMFLEX + _HOOK,  # å
    0xE3: _CIRCUMFLEX + _TILDE,  # ã
    0xE4: _CIRCUMFLEX + _DOT,  # ä
    0xEA: _BREVE,  # ê
    0xE9: _BREVE + _ACUTE,  # é
    0xE8: _BREVE + _GRAVE,  # è
    0xFA: _BREVE + _HOOK,  # ú
    0xFC: _BREVE + _TILDE,  # ü
    0xEB: _BREVE + _DOT,  # ë
}
# Whole letters: ơ ư đ, the toned i family (ì and í are the Latin-1 letters themselves) and ỵ.
_VNI_LETTERS: dict[int, str] = {
    0xF4: "ơ",  # ô
    0xF6: "ư",  # ö
    0xF1: "đ",  # ñ
    0xEC: "ì",
    0xED: "í",
    0xE6: "ỉ",  # æ
    0xF3: "ĩ",  # ó
    0xF2: "ị",  # ò
    0xEE: "ỵ",  # î
}


def _build_vni_table() -> tuple[str, ...]:
    """Return the 256 VNI byte meanings (strings, possibly combining marks)."""
    table: list[str] = []
    for byte in range(256):
        if byte < 0x80:
            table.append(chr(byte))
        elif byte < 0xC0:
            # VNI-Windows fonts are Windows ANSI fonts: outside the letter block, bytes mean what
            # they mean in cp1252 (curly quotes, dashes); its 5 undefined bytes pass through.
            try:
                table.append(bytes([byte]).decode("cp1252"))
            except UnicodeDecodeError:
                table.append(chr(byte))
        elif byte in _VNI_MARKS:
            table.append(_VNI_MARKS[byte])
        elif byte + 0x20 in _VNI_MARKS:
            table.append(_VNI_MARKS[byte + 0x20])
        elif byte in _VNI_LETTERS:
            table.append(_VNI_LETTERS[byte])
        elif byte + 0x20 in _VNI_LETTERS:
            table.append(_VNI_LETTERS[byte + 0x20].upper())
        else:
            table.append(chr(byte))
    return tuple(table)


VNI_DECODE: tuple[str, ...] = _build_vni_table()
assert len(VNI_DECODE) == 256


def _build_vni_encoder() -> dict[str, bytes]:
    """Return the VNI byte sequence of every Vietnamese letter that is not ASCII."""
    mark_byte = {mark: byte for byte, mark in _VNI_MARKS.items()}
    out: dict[str, bytes] = {"đ": b"\xf1", "Đ": b"\xd1"}

    def add(base: str, quality: str, tone: str, seq_lower: bytes) -> None:
        # `seq_lower` is the lowercase spelling; the uppercase letter uses the uppercase base
        # and every non-ASCII byte shifted down by 0x20.
        char = unicodedata.normalize("NFC", base + quality + tone)
        out[char] = seq_lower
        upper = bytes(b - 0x20 if b >= 0xC0 else b for b in seq_lower.upper())
        out[char.upper()] = upper

    for tone in ("", *_TONES):
        tone_bytes = bytes([mark_byte[tone]]) if tone else b""
        for base in "aeouy":
            add(base, "", tone, base.encode() + tone_bytes)
        for base in "aeo":
            add(base, _CIRCUMFLEX, tone, base.encode() + bytes([mark_byte[_CIRCUMFLEX + tone]]))
        add("a", _BREVE, tone, b"a" + bytes([mark_byte[_BREVE + tone]]))
        add("o", _HORN, tone, b"\xf4" + tone_bytes)
        add("u", _HORN, tone, b"\xf6" + tone_bytes)
    letter_byte = {letter: byte for byte, letter in _VNI_LETTERS.items()}
    for tone in _TONES:
        add("i", "", tone, bytes([letter_byte[unicodedata.normalize("NFC", "i" + tone)]]))
    add("y", "", _DOT, bytes([letter_byte["ỵ"]]))
    # Drop the plain ASCII entries (a, A, e, ...): ASCII is encoded as itself.
    return {char: seq for char, seq in out.items() if not char.isascii()}


_VNI_ENCODE: dict[str, bytes] = _build_vni_encoder()
# Bytes that carry VNI letters or marks; any other character may only use a byte outside these.
_VNI_USED_BYTES = frozenset(b for seq in _VNI_ENCODE.values() for b in seq if b >= 0x80)


# The byte tables as str.translate tables over the latin-1 reading of the bytes: decoding then
# runs in C, one call per value (or per batch of values) instead of one step per byte.
_VNI_TRANSLATE = {b: VNI_DECODE[b] for b in range(256) if VNI_DECODE[b] != chr(b)}


def _decode_vni(raw: bytes) -> str:
    """Decode VNI-Windows bytes (never fails: every byte has a meaning)."""
    return raw.decode("latin-1").translate(_VNI_TRANSLATE)


def _encode_vni(text: str) -> bytes:
    """Encode NFC text as VNI-Windows bytes."""
    out = bytearray()
    for pos, char in enumerate(text):
        if char.isascii():
            out += char.encode("ascii")
        elif char in _VNI_ENCODE:
            out += _VNI_ENCODE[char]
        else:
            try:
                byte = char.encode("cp1252")
            except UnicodeEncodeError:
                byte = b""
            if not byte or byte[0] in _VNI_USED_BYTES:
                raise _unencodable("vni", text, pos)
            out += byte
    return bytes(out)


# --- single-byte tables (TCVN3, VISCII) ----------------------------------------------------
_TCVN3_TRANSLATE = {b: TCVN3_DECODE[b] for b in range(256) if TCVN3_DECODE[b] != chr(b)}
_VISCII_TRANSLATE = {b: VISCII_DECODE[b] for b in range(256) if VISCII_DECODE[b] != chr(b)}
_TCVN3_ENCODE = {char: bytes([b]) for b, char in enumerate(TCVN3_DECODE)}
_VISCII_ENCODE = {char: bytes([b]) for b, char in enumerate(VISCII_DECODE)}


def _encode_by_table(text: str, table: dict[str, bytes], encoding: str) -> bytes:
    """Encode NFC text with a character-to-bytes table, splitting off tone marks if needed."""
    out = bytearray()
    for pos, char in enumerate(text):
        seq = table.get(char)
        if seq is None:
            seq = _split_tone(char, table)
        if seq is None:
            raise _unencodable(encoding, text, pos)
        out += seq
    return bytes(out)


def _split_tone(char: str, table: dict[str, bytes]) -> bytes | None:
    """Spell a toned letter as toneless letter + combining tone, or return None if impossible."""
    # TCVN3 and cp1258 have combining tone marks for letters with no precomposed code.
    decomposed = unicodedata.normalize("NFD", char)
    tones = [c for c in decomposed if c in _TONES]
    if len(tones) != 1:
        return None
    toneless = unicodedata.normalize("NFC", decomposed.replace(tones[0], ""))
    if toneless in table and tones[0] in table:
        return table[toneless] + table[tones[0]]
    return None


def _build_cp1258_encoder() -> dict[str, bytes]:
    """Return the character-to-byte table of cp1258 (its 256 bytes minus the undefined ones)."""
    table: dict[str, bytes] = {}
    for byte in range(256):
        try:
            table[bytes([byte]).decode("cp1258")] = bytes([byte])
        except UnicodeDecodeError:
            continue
    return table


_CP1258_ENCODE = _build_cp1258_encoder()


def _unencodable(encoding: str, text: str, pos: int) -> ValueError:
    """Build the error for a character the encoding cannot express."""
    char = text[pos]
    return ValueError(
        f"{encoding} cannot encode {char!r} (U+{ord(char):04X}) at position {pos} of {text!r}"
    )


# --- public API ------------------------------------------------------------------------------
def decode_strict(raw: bytes, encoding: str) -> str:
    """Decode without normalisation; raise UnicodeDecodeError on invalid bytes."""
    if encoding == "utf-8":
        return raw.decode("utf-8")
    if encoding == "cp1258":
        return raw.decode("cp1258")
    if encoding == "tcvn3":
        return raw.decode("latin-1").translate(_TCVN3_TRANSLATE)
    if encoding == "viscii":
        return raw.decode("latin-1").translate(_VISCII_TRANSLATE)
    return _decode_vni(raw)


def decode_bytes(raw: bytes, encoding: str) -> str:
    """Decode bytes in the named encoding to NFC text with the Eth fix."""
    # Every step ends in NFC: cp1258 and VNI store tones as separate marks, and glibc's TCVN3
    # decoder composes base + tone byte, so NFC is what makes all five agree.
    return fix_text(decode_strict(raw, normalize_encoding_name(encoding)))


# Joins values for one decoding call: a line feed is itself in all five encodings and NFC never
# composes across it, so decoding the joined bytes and splitting gives each value's decoding.
_SEP = "\n"


def decode_many(raws: Sequence[bytes], encoding: str) -> list[str]:
    """Decode many values like ``decode_bytes`` each, in one call; raise UnicodeDecodeError when
    any value fails (as the first failing value would)."""
    name = normalize_encoding_name(encoding)
    if len(raws) < 2:
        return [decode_bytes(raw, name) for raw in raws]
    try:
        joined = decode_strict(_SEP.encode().join(raws), name)
    except UnicodeDecodeError:
        # Raise the error of the first value that fails, as one call per value would.
        return [decode_bytes(raw, name) for raw in raws]
    out = fix_text(joined).split(_SEP)
    if len(out) != len(raws):  # a value holds a line feed itself
        return [decode_bytes(raw, name) for raw in raws]
    return out


def fix_many(texts: Sequence[str]) -> list[str]:
    """Apply ``fix_text`` to many values in one call."""
    if len(texts) < 2:
        return [fix_text(t) for t in texts]
    out = fix_text(_SEP.join(texts)).split(_SEP)
    if len(out) != len(texts):
        return [fix_text(t) for t in texts]
    return out


def encode_text(text: str, encoding: str) -> bytes:
    """Encode text in the named encoding; raise ValueError for characters it cannot express."""
    # Fix first so that decode_bytes(encode_text(t, e), e) == fix_text(t) for every encoding.
    return _ENCODERS[normalize_encoding_name(encoding)](fix_text(text))


_ENCODERS: dict[str, Callable[[str], bytes]] = {
    "utf-8": lambda t: t.encode("utf-8"),
    "tcvn3": lambda t: _encode_by_table(t, _TCVN3_ENCODE, "tcvn3"),
    "vni": _encode_vni,
    "viscii": lambda t: _encode_by_table(t, _VISCII_ENCODE, "viscii"),
    "cp1258": lambda t: _encode_by_table(t, _CP1258_ENCODE, "cp1258"),
}
