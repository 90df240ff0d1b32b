"""Detect the text encoding of a whole attribute column and decode or repair it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from planning.text._tables import TCVN3_DECODE, VISCII_DECODE
from planning.text.codecs_vn import (
    ENCODINGS,
    TOTAL_ENCODINGS,
    decode_many,
    decode_strict,
    fix_text,
    normalize_encoding_name,
)
from planning.text.syllables import count_syllables

# A winner needs at least 60% valid syllables and a lead of 15 points over the runner-up.
# Correct decodings of real planning text score 0.9-1.0 (the misses are abbreviations and
# minority-language place names); wrong decodings of the same text score 0-0.4, with the
# worst case being TCVN3 read as VISCII or the reverse, where short words like "ë" turn into
# other real one-letter words. So 0.6 sits well between the two, and 15 points is far more
# than the difference between two readings of a column with real content, while a column
# with one or two short words (where a wrong table can also produce real words) stays
# undecided rather than guessed.
MIN_SCORE = 0.6
MIN_MARGIN = 0.15
# Scoring more distinct values than this adds time, not accuracy; every value is still decoded,
# so one undecodable value anywhere still excludes a candidate.
MAX_SCORED = 2000

_DISPLAY = {
    "utf-8": "UTF-8",
    "tcvn3": "TCVN3",
    "vni": "VNI",
    "viscii": "VISCII",
    "cp1258": "cp1258",
}

# Bytes that decode to the same character in all five encodings. Not simply < 0x80: TCVN3 and
# VISCII put letters on some C0 control bytes (TCVN3 0x01 is Ú, VISCII 0x02 is Ẳ).
_NEUTRAL_BYTES = frozenset(
    b for b in range(0x80) if TCVN3_DECODE[b] == chr(b) and VISCII_DECODE[b] == chr(b)
)


@dataclass(frozen=True)
class ColumnDecision:
    """The encoding chosen for one column and the evidence behind it."""

    encoding: str | None
    confidence: float
    scores: dict[str, float]
    ambiguous: bool
    reason: str
    # Candidates under which some value failed to decode (never scored).
    excluded: tuple[str, ...] = ()


def _is_neutral(raw: bytes) -> bool:
    """Return whether these bytes read the same in every candidate encoding."""
    return all(b in _NEUTRAL_BYTES for b in raw)


def _percent(score: float) -> str:
    """Format a 0..1 score as a whole percentage."""
    return f"{round(score * 100)}%"


def _ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
    """Order candidates by score, ties broken by their order in ENCODINGS."""
    order = {name: i for i, name in enumerate(ENCODINGS)}
    return sorted(scores.items(), key=lambda item: (-item[1], order.get(item[0], len(order))))


def _column_score(texts: Sequence[str]) -> tuple[float, int]:
    """Return (share of valid syllables, number of counted tokens) over a column's texts."""
    valid, counted = count_syllables("\n".join(texts))
    return (valid / counted if counted else 0.0), counted


def detect_column(values: Sequence[bytes | None]) -> ColumnDecision:
    """Choose one encoding for a whole column of raw attribute values."""
    # Short values ("ODT", one word) are ambiguous on their own, so all non-ASCII values are
    # scored together under each candidate and one decision covers the column.
    # Distinct values only: a column repeats a few labels thousands of times, and a label should
    # count once rather than outvote the rest of the column.
    legacy = list(dict.fromkeys(raw for raw in values if raw is not None and not _is_neutral(raw)))
    if not legacy:
        return ColumnDecision(None, 1.0, {}, False, "all values are ASCII")

    scores: dict[str, float] = {}
    excluded: list[str] = []
    evidence = 0
    for name in ENCODINGS:
        # Every value must decode; only the scored ones need the (slower) NFC decoding.
        if not _all_decode(legacy, name):
            # One invalid value rules the candidate out for the whole column.
            excluded.append(name)
            continue
        scores[name], counted = _column_score(decode_many(legacy[:MAX_SCORED], name))
        evidence = max(evidence, counted)

    ranked = _ranked(scores)
    best, best_score = ranked[0]
    runner, runner_score = ranked[1] if len(ranked) > 1 else (None, 0.0)
    margin = best_score - runner_score
    next_part = f", next {_DISPLAY[runner]} {_percent(runner_score)}" if runner else ""
    summary = f"{_DISPLAY[best]}: {_percent(best_score)} valid syllables{next_part}"
    if evidence == 0:
        return ColumnDecision(
            None, 0.0, scores, True, "non-ASCII bytes but no words to judge by", tuple(excluded)
        )
    if best_score >= MIN_SCORE and margin >= MIN_MARGIN:
        return ColumnDecision(best, margin, scores, False, summary, tuple(excluded))
    return ColumnDecision(
        None, max(margin, 0.0), scores, True, f"no clear winner ({summary})", tuple(excluded)
    )


def _all_decode(values: list[bytes], name: str) -> bool:
    """Tell whether every value decodes in an encoding (as decode_bytes would not raise)."""
    if name in TOTAL_ENCODINGS:
        return True
    try:
        decode_strict(b"\n".join(values), name)
    except UnicodeDecodeError:
        return False
    return True


def _decode_all(values: Sequence[bytes | None], name: str) -> list[str | None]:
    """Decode every value but None like ``decode_bytes``, in one call."""
    decoded = iter(decode_many([raw for raw in values if raw is not None], name))
    return [None if raw is None else next(decoded) for raw in values]


def _decode_lenient_cp1258(raw: bytes) -> str:
    """Decode cp1258, keeping its 9 undefined bytes as the same code points (lossless)."""
    return fix_text("".join(_cp1258_char(b) for b in raw))


def _cp1258_char(byte: int) -> str:
    """Return the cp1258 character of one byte, or chr(byte) where cp1258 defines none."""
    try:
        return bytes([byte]).decode("cp1258")
    except UnicodeDecodeError:
        return chr(byte)


def detect_and_decode(
    values: Sequence[bytes | None], override: str | None = None
) -> tuple[list[str | None], ColumnDecision]:
    """Decode a whole column with the detected encoding, or with `override` if given."""
    # With an override every value is decoded strictly in that encoding (an invalid value
    # raises UnicodeDecodeError); the decision keeps the detection scores for the record.
    # Without one, a column with no clear winner is decoded as UTF-8 if every value is valid
    # UTF-8, else as cp1258 (its undefined bytes kept as the same code points, so nothing is
    # lost); the returned decision then names that fallback in `encoding` and has
    # ambiguous=True, so the caller can warn, keep the original bytes and offer an override.
    decision = detect_column(values)
    if override is not None:
        name = normalize_encoding_name(override)
        decoded = _decode_all(values, name)
        reason = f"set by override to {_DISPLAY[name]} (detection: {decision.reason})"
        return decoded, dataclasses.replace(
            decision, encoding=name, confidence=1.0, ambiguous=False, reason=reason
        )
    if decision.encoding is not None or not decision.ambiguous:
        # A winner, or an all-ASCII column, which reads the same in every candidate.
        name = decision.encoding or "utf-8"
        return _decode_all(values, name), decision

    if "utf-8" not in decision.excluded:
        fallback = "utf-8"
        decoded = _decode_all(values, "utf-8")
    else:
        fallback = "cp1258"
        decoded = [None if raw is None else _decode_lenient_cp1258(raw) for raw in values]
    reason = f"{decision.reason}; decoded as {_DISPLAY[fallback]} by default"
    return decoded, dataclasses.replace(decision, encoding=fallback, reason=reason)


def _to_single_bytes(text: str) -> bytes:
    """Recover the bytes a latin-1 or cp1252 reader turned into this text; ValueError if none."""
    # cp1252 and latin-1 differ only in 0x80-0x9F (curly quotes vs C1 controls), and no
    # character is in both there, so one mapping undoes either reading.
    # Fast paths: all of it encodable in cp1252, or all of it in latin-1 (then cp1252 would give
    # the same bytes for every character it can encode), which is what the loop below does.
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec)
        except UnicodeEncodeError:
            pass
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            if ord(char) > 0xFF:
                raise ValueError(f"{char!r} was not produced by a latin-1/cp1252 reader") from None
            out.append(ord(char))
    return bytes(out)


def repair_mojibake_column(values: Sequence[str | None]) -> tuple[list[str | None], ColumnDecision]:
    """Undo legacy Vietnamese text that a tool decoded as latin-1 or cp1252, if clearly so."""
    # The values are turned back into the bytes the latin-1/cp1252 reader saw and the column is
    # re-detected on them. A re-reading is applied only when it wins detection and beats the
    # text as it stands by MIN_MARGIN, because latin-1-range Vietnamese ("Hà", "Chí") is also
    # valid legacy bytes. Otherwise the values come back unchanged (NFC + Eth fix) with
    # encoding "utf-8". `scores` holds the candidates plus "as-is" for the text as it stands.
    fixed = [None if text is None else fix_text(text) for text in values]
    try:
        raws = [None if text is None else _to_single_bytes(text) for text in values]
    except ValueError:
        reason = "kept as is: has characters no latin-1/cp1252 reader produces"
        return fixed, ColumnDecision("utf-8", 1.0, {}, False, reason)
    # Judge the text as it stands on the same distinct values that detection scores.
    as_is_texts: dict[bytes, str] = {}
    for text, raw in zip(fixed, raws, strict=True):
        if text is not None and raw is not None and not _is_neutral(raw):
            as_is_texts.setdefault(raw, text)
    if not as_is_texts:
        return fixed, ColumnDecision("utf-8", 1.0, {}, False, "all values are ASCII")

    as_is, _ = _column_score(list(as_is_texts.values())[:MAX_SCORED])
    legacy = detect_column(raws)
    scores = {**legacy.scores, "as-is": as_is}
    name = legacy.encoding
    if name is not None and scores[name] - as_is >= MIN_MARGIN:
        repaired = _decode_all(raws, name)
        confidence = scores[name] - max(s for n, s in scores.items() if n != name)
        reason = f"repaired as {legacy.reason}; as is {_percent(as_is)}"
        return repaired, ColumnDecision(name, confidence, scores, False, reason, legacy.excluded)

    best, best_score = _ranked(legacy.scores)[0]
    # Neither reading convinces: leave the text alone but let the caller flag the column.
    ambiguous = as_is < MIN_SCORE and best_score >= as_is
    reason = (
        f"kept as is: {_percent(as_is)} valid syllables, "
        f"best re-reading {_DISPLAY[best]} {_percent(best_score)}"
    )
    confidence = max(as_is - best_score, 0.0)
    return fixed, ColumnDecision("utf-8", confidence, scores, ambiguous, reason, legacy.excluded)
