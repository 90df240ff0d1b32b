"""Recognise written Vietnamese syllables and score how Vietnamese a text looks."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
_STOP_TONES = frozenset("\u0301\u0323")  # the only tones a syllable ending in p/t/c/ch takes
_VOWELS = frozenset("aăâeêioôơuưy")
_LETTERS = _VOWELS | frozenset("bcdđghklmnpqrstvx")

# Longest first, so that "ngh" is tried before "ng" and "n"; every split is tried anyway
# because "gi" + "a" and "g" + "ia" (gì, giếng) are both real.
_ONSETS = (
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
    "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "",
)  # fmt: skip

# Toneless rime = vowel nucleus (with the medial o/u written into it) + coda; "-" = no coda.
# The open diphthongs ia, ua, ưa, uya are listed as i/u/ư/uy + "a" to keep the table short.
# Kept a little generous (rare rimes such as "oong" in xoong, "k" in Đắk Lắk) because a real
# word rejected here costs the right decoding a point, while mojibake almost never hits one.
_RIMES: dict[str, str] = {
    "a": "- c ch i k m n ng nh o p t u y",
    "ă": "c k m n ng p t",
    "â": "c m n ng p t u y",
    "e": "- c m n ng o p t",
    "ê": "- ch m n nh p t u",
    "i": "- a ch m n nh p t u",
    "y": "-",
    "o": "- c i m n ng p t",
    "oo": "c ng",
    "ô": "- c i k m n ng p t",
    "ơ": "- i m n p t",
    "u": "- a c i k m n ng p t y",
    "ư": "- a c i m n ng t u",
    "iê": "c m n ng p t u",
    "yê": "m n ng t u",
    "uô": "c i m n ng t",
    "ươ": "c i m n ng p t u",
    "oa": "- c ch i m n ng nh p t y",
    "oă": "c m n ng t",
    "oe": "- n o t",
    "uâ": "n ng t y",
    "uê": "- ch n nh t",
    "uơ": "- i",
    "uy": "- a ch n nh p t u",
    "uyê": "n t",
}
_VALID_RIMES = frozenset(
    nucleus + ("" if coda == "-" else coda)
    for nucleus, codas in _RIMES.items()
    for coda in codas.split()
)
_STOP_CODAS = ("p", "t", "c", "ch")
_FRONT = ("e", "ê", "i", "y")

# Spelling rules that hold for every native syllable: gh/ngh before front vowels, c/ng/g not
# (g may precede i: gì, giếng are g + i, g + iêng). k before other vowels is left alone:
# Kon Tum and Krông Pắc are everyday names.
_FRONT_ONLY = ("gh", "ngh")
_NOT_BEFORE: dict[str, tuple[str, ...]] = {"c": _FRONT, "ng": _FRONT, "g": ("e", "ê")}

# Characters that separate words besides whitespace and ASCII punctuation/digits: typographic
# punctuation that real Vietnamese text carries. Everything else non-ASCII stays inside a token,
# so a mis-decoded symbol in a word ("t¹i") makes the token invalid instead of splitting it.
_EXTRA_SEPARATORS = frozenset("\u201c\u201d\u2018\u2019\u2013\u2014\u2026\u00b2\u00b3\u20ab")


def _strip_tone(syllable: str) -> tuple[str, str] | None:
    """Split a lowercase NFC syllable into (toneless letters, tone mark or ""); None if invalid."""
    tone = ""
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", syllable):
        if char in _TONES:
            # One tone per syllable, and it must sit on a vowel (after its quality marks).
            base = unicodedata.normalize("NFC", "".join(kept))[-1:]
            if tone or base not in _VOWELS:
                return None
            tone = char
        else:
            kept.append(char)
    toneless = unicodedata.normalize("NFC", "".join(kept))
    if not toneless or not set(toneless) <= _LETTERS:
        return None
    return toneless, tone


def _valid_rime(onset: str, rime: str, tone: str) -> bool:
    """Return whether `rime` (toneless) with `tone` may follow `onset`."""
    if onset == "qu":
        # The u of qu is the medial glide, written o elsewhere before a/ă/e: quảng ~ hoảng,
        # quen ~ hoen, and u before the rest: quân ~ tuân, quy ~ tuy, quyết ~ tuyết.
        glide = "o" if rime.startswith(("a", "ă", "e")) else "u"
        if glide + rime not in _VALID_RIMES:
            return False
    elif rime not in _VALID_RIMES:
        return False
    if onset in _FRONT_ONLY and not rime.startswith(_FRONT):
        return False
    if rime.startswith(_NOT_BEFORE.get(onset, ())):
        return False
    # Syllables closed by a stop take only sắc or nặng: "tát", "tạt", never "tàt".
    return not (rime.endswith(_STOP_CODAS) and tone not in _STOP_TONES)


@lru_cache(maxsize=65536)
def is_vietnamese_syllable(token: str) -> bool:
    """Return whether a single word is a well-formed written Vietnamese syllable."""
    token = unicodedata.normalize("NFC", token)
    # Real words are lower, Title or UPPER case. Mis-decoded text often is not ("trÊn", "NẺm"):
    # the wrong table puts capitals where the right one has toned lowercase letters.
    title = token[:1].isupper() and token[1:].islower()
    if not (token.islower() or token.isupper() or title):
        return False
    split = _strip_tone(token.lower())
    if split is None:
        return False
    toneless, tone = split
    return any(
        toneless.startswith(onset) and _valid_rime(onset, toneless[len(onset) :], tone)
        for onset in _ONSETS
    )


# A token is a run of characters that are none of: ASCII non-letters, whitespace (re's \s is
# str.isspace for str patterns), the extra separators above.
_TOKEN = re.compile(
    r"[^\s\x00-\x40\x5b-\x60\x7b-\x7f" + re.escape("".join(sorted(_EXTRA_SEPARATORS))) + "]+"
)


def tokenize(text: str) -> list[str]:
    """Split text into word tokens (separators: spaces, ASCII non-letters, quotes and dashes)."""
    return _TOKEN.findall(text)


def count_syllables(text: str) -> tuple[int, int]:
    """Return (valid, counted) syllable counts over the tokens that are not plain ASCII."""
    # ASCII-only tokens (codes like ODT, OM, unaccented words) read the same in all five
    # encodings, so they carry no evidence and are left out of both counts.
    counted = [tok for tok in tokenize(unicodedata.normalize("NFC", text)) if not tok.isascii()]
    return sum(1 for tok in counted if is_vietnamese_syllable(tok)), len(counted)


def vietnamese_score(text: str) -> float:
    """Return the share (0..1) of non-ASCII word tokens that are valid Vietnamese syllables."""
    valid, counted = count_syllables(text)
    return valid / counted if counted else 0.0
