"""A script-based language guess for imported documents (stored, shown, never decisive).

Counts letters by Unicode script: Hangul → ``ko``, kana → ``ja``, Han without kana → ``zh``,
Latin → ``en`` when mostly ASCII letters, otherwise ``und``. Pass ``--language`` to override.
"""
from __future__ import annotations


def detect_language(text: str) -> str:
    counts = {"hangul": 0, "kana": 0, "han": 0, "latin": 0, "other": 0}
    for ch in text[:2000]:
        code = ord(ch)
        if not ch.isalpha():
            continue
        if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            counts["hangul"] += 1
        elif 0x3040 <= code <= 0x30FF:
            counts["kana"] += 1
        elif 0x4E00 <= code <= 0x9FFF:
            counts["han"] += 1
        elif code < 0x250:
            counts["latin"] += 1
        else:
            counts["other"] += 1
    letters = sum(counts.values())
    if not letters:
        return "und"
    if counts["hangul"] >= 0.3 * letters:
        return "ko"
    if counts["kana"] >= 0.1 * letters:
        return "ja"
    if counts["han"] >= 0.3 * letters:
        return "zh"
    if counts["latin"] >= 0.7 * letters:
        return "en"
    return "und"
