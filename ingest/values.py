"""Parse planning indicators written as free text ("≤ 60%", "3-5", "2,5", "Chưa có")."""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _to_float(token: str) -> float:
    return float(token.replace(",", "."))


def parse_number(value: object) -> float | None:
    """Read one number; a range gives its upper bound; text without a number gives None."""
    lo_hi = parse_range(value)
    if lo_hi is None:
        return None
    return lo_hi[0] if math.isnan(lo_hi[1]) else lo_hi[1]


def parse_range(value: object) -> tuple[float, float] | None:
    """Read ``a-b`` / ``a÷b`` / ``≤ b`` / ``b`` as (min, max); None when there is no number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else (f, f)
    text = str(value).strip()
    if not text:
        return None
    # "1.234,5" is rare in planning tables; a lone comma is a decimal comma ("2,5").
    tokens = _NUMBER.findall(text.replace("–", "-").replace("÷", "-"))
    # A hyphen between two numbers is a range, not a sign.
    nums = [abs(_to_float(t)) if i > 0 else _to_float(t) for i, t in enumerate(tokens)]
    nums = [n for n in nums if math.isfinite(n)]
    if not nums:
        return None
    if len(nums) >= 2:
        lo, hi = min(nums[0], nums[1]), max(nums[0], nums[1])
        return (lo, hi)
    n = nums[0]
    if "≤" in text or "<" in text or "tối đa" in text.lower() or "max" in text.lower():
        return (math.nan, n)
    if "≥" in text or ">" in text or "tối thiểu" in text.lower() or "min" in text.lower():
        return (n, math.nan)
    return (n, n)


def floors(value: object) -> tuple[float | None, float | None]:
    """Return (min floors, max floors) from a floors indicator."""
    r = parse_range(value)
    if r is None:
        return (None, None)
    lo, hi = r
    return (None if math.isnan(lo) else lo, None if math.isnan(hi) else hi)
