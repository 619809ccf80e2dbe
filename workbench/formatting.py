"""The one number formatter of every surface (TUI, terminal, HTML report, CLI): a figure with a
fixed number of decimals, a chosen mark when it is undefined (None or NaN), never "-0.000"."""
from __future__ import annotations

import json
import math
import time

NOT_DEFINED = "n/a"  # agreement and build figures that a too-small sample leaves undefined
MISSING = "—"  # an empty cell of a score or validity table


def undefined(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: float | None, digits: int = 3, missing: str = NOT_DEFINED) -> str:
    """``value`` with ``digits`` decimals, or ``missing``; a rounding residue prints as 0."""
    if undefined(value):
        return missing
    return f"{0.0 if abs(value) < 0.5 * 10 ** -digits else value:.{digits}f}"


def percent(value: float | None, digits: int = 1, missing: str = NOT_DEFINED, unit: str = "%") -> str:
    """A ratio as a percentage (0.3156 → '31.6%'), or ``missing``."""
    return missing if undefined(value) else fmt(100 * value, digits) + unit


def local_time(seconds: float | None, missing: str = "never") -> str:
    """A stored time (seconds since the epoch) as local 'YYYY-MM-DD HH:MM', or ``missing``."""
    return missing if seconds is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def json_text(data: object) -> str:
    """``data`` as JSON that other tools read: an undefined figure (NaN, ±inf) is ``null``, never the
    ``NaN`` token Python writes and strict JSON parsers refuse."""
    def clean(value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data), indent=2, ensure_ascii=False, allow_nan=False)
