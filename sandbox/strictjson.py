"""Strict JSON decoding for both sandboxes: `NaN`, `Infinity`, `-Infinity` and numbers too large for a
double (`1e999`) are not JSON (RFC 8259), and the real platforms refuse bodies that contain them. Python's
`json.loads` accepts them; storing such a value would break every later answer that renders it."""

from __future__ import annotations

import json
import math
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def loads(raw: str | bytes | bytearray, *, finite: bool = True) -> Any:
    """`json.loads` that raises ValueError on NaN/Infinity and (when `finite`) on out-of-range numbers.
    `finite=False` keeps PHP's reading of `1e999` as INF (Akeneo's `search` parameter)."""
    return json.loads(raw, parse_constant=_no_constant, parse_float=_finite if finite else float)
