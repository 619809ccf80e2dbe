"""Telling a model's refusal from malformed output.

A reply that fails validation is normally sent back once with the error (the model slipped on the
format). A refusal is not a format slip: asking again with the parse error only repeats the cost,
so it is recorded as a refusal, counted, and the item is skipped. Only short replies that open
with a refusal phrase count; a long answer that mentions "I can't" somewhere is a format problem.
"""
from __future__ import annotations

import re

_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,|i apologi[sz]e|i can(?:no|')t|i cannot|i won'?t|i will not|i'?m not able|"
    r"i am not able|i'?m unable|i am unable|as an ai\b|unfortunately,? i can)", re.I)
MAX_REFUSAL_CHARS = 600


def is_refusal(text: str | None) -> bool:
    """True for a short reply that opens by declining the task."""
    return bool(text) and len(text) <= MAX_REFUSAL_CHARS and bool(_REFUSAL.match(text.strip()))
