"""Decode attribute text from Vietnamese shapefiles and geodatabases.

Five encodings occur in practice: UTF-8, TCVN3 (ABC), VNI-Windows, VISCII and cp1258. Decode
a whole column at once with `detect_and_decode` (one decision per column, never per value),
or repair text that a tool already read as latin-1/cp1252 with `repair_mojibake_column`.
Every decoded string is NFC-normalised and has Eth (Ð/ð) replaced by Đ/đ.

When detection finds no clear winner (MIN_SCORE/MIN_MARGIN in `detect`), `detect_and_decode`
falls back to UTF-8 if every value is valid UTF-8, else to cp1258, and returns a decision with
`ambiguous=True` naming the fallback: warn, keep the original bytes, and let the uploader
override. An all-ASCII column has `encoding=None` and is not ambiguous.
"""

from planning.text.codecs_vn import (
    ENCODINGS,
    decode_bytes,
    decode_many,
    encode_text,
    fix_many,
    fix_text,
    normalize_encoding_name,
)
from planning.text.detect import (
    MIN_MARGIN,
    MIN_SCORE,
    ColumnDecision,
    detect_and_decode,
    detect_column,
    repair_mojibake_column,
)
from planning.text.syllables import is_vietnamese_syllable, vietnamese_score

__all__ = [
    "ENCODINGS",
    "MIN_MARGIN",
    "MIN_SCORE",
    "ColumnDecision",
    "decode_bytes",
    "decode_many",
    "detect_and_decode",
    "detect_column",
    "encode_text",
    "fix_many",
    "fix_text",
    "is_vietnamese_syllable",
    "normalize_encoding_name",
    "repair_mojibake_column",
    "vietnamese_score",
]
