"""Read the chosen option(s) out of a simulated respondent's reply.

The respondent prompt (Liu et al. 2025) asks for "the answer in the format 'Answer:' and explain
afterward using 'Explanation:'". Replies vary, so the text after ``Answer:`` (up to
``Explanation:``) is read in this order, stopping at the first rule that decides:

1. the whole answer is one option's text (case, spacing and surrounding punctuation ignored);
2. for scale questions, a value written as ``4/5`` or ``4 out of 5``;
3. a list (``A, C``; ``A and C``; ``1; 3``) whose every item is a label or an option's text;
4. a leading label: a letter (``B``, ``(b)``, ``B.``) or a number, optionally followed by the
   option's text (``B. Not a moral issue``). A number is the option's value when every option
   starts with a number (scales such as ``1``..``5`` or ``1 - Agree``), else its 1-based position.
   A letter followed by other words without a delimiter (``A moral issue ...``) is not a label;
   a label whose text names a different option is rejected;
5. option texts inside the answer (whole words, so "acceptable" is not found in "unacceptable";
   a match inside a longer matching option, "agree" in "strongly agree", does not count; a match
   right after "not"/"never"/"n't" is a negation and does not count);
6. the answer is a unique whole-word part of one option's text (``unacceptable``).

Without ``Answer:`` only rules 1 and 4 apply, to the first line (or the text before
``Explanation:``), and only when it is bare (``B``, ``(b)``, ``B. <that option's text>``).
A single-choice or scale question with several options named is invalid.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.survey.questionnaire import Question, QuestionType

_ANSWER_RE = re.compile(r"\banswer\b[\s*_]*[:：]", re.IGNORECASE)
_EXPLANATION_RE = re.compile(r"\bexplanation\b[\s*_]*[:：]", re.IGNORECASE)
_LABEL_RE = re.compile(
    r"^(?:(?:option|choice)\s+)?(?P<open>[(\[])?\s*(?P<label>[a-z]|\d+(?:\.\d+)?)\s*(?(open)[)\]])",
    re.IGNORECASE,
)
_DELIMITER_RE = re.compile(r"^\s*[.:)\-–—,]\s*")
_FRACTION_RE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?:/|out of)\s*\d+(?:\.\d+)?$", re.I)
_SEPARATOR_RE = re.compile(r"\s*(?:[,;/&\n]|\band\b|\bor\b)\s*", re.IGNORECASE)
_LEADING_NUMBER_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)(?!\d)")
_NEGATION_RE = re.compile(r"(?:\bnot|n't|\bnever)\s+(?:\w+\s+)?$", re.IGNORECASE)
_EDGE_CHARS = string.whitespace + "\"'“”‘’`*_.,;:!?()[]"


@dataclass(frozen=True)
class ParsedAnswer:
    """``options`` are the chosen options' texts in question order (``None`` when invalid)."""

    options: list[str] | None
    valid: bool
    reason: str
    explanation: str = ""


class _Reject(Exception):
    """The answer names something, but it cannot be accepted (reason in args[0])."""


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("*", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip(_EDGE_CHARS).casefold()


def _first_nonempty_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip(_EDGE_CHARS):
            return line
    return ""


class _Options:
    def __init__(self, options: Sequence[str]):
        self.texts = list(options)
        self.norm = [_norm(o) for o in options]
        numbers = [_LEADING_NUMBER_RE.match(o) for o in options]
        # value -> index when every option starts with a number (a scale), else None
        self.values = (
            {float(m.group(1)): i for i, m in enumerate(numbers)} if all(numbers) else None
        )

    def exact(self, text: str) -> int | None:
        t = _norm(text)
        return self.norm.index(t) if t in self.norm else None

    def label_index(self, label: str, strict: bool) -> int | None:
        """Index named by a label; ``None`` if it is no label here (only when not ``strict``)."""
        n = len(self.texts)
        if label.isalpha():
            i = ord(label.lower()) - ord("a")
            if i < n:
                return i
            if strict:
                raise _Reject(f"letter {label.upper()} is beyond the options A-{chr(ord('A') + n - 1)}")
            return None
        value = float(label)
        if self.values is not None:
            if value in self.values:
                return self.values[value]
            if strict:
                raise _Reject(f"value {label} is not one of the scale's options")
            return None
        if value.is_integer() and 1 <= value <= n:
            return int(value) - 1
        if strict:
            raise _Reject(f"option number {label} is outside 1-{n}")
        return None


def _labelled(text: str, opts: _Options, *, allow_words: bool) -> int | None:
    """Rule 4 on ``text``: the index a leading label names, or ``None``."""
    text = text.replace("*", "").strip()
    m = _LABEL_RE.match(text)
    if not m:
        return None
    after = text[m.end():]
    bracketed = m.group("open") is not None
    delim = _DELIMITER_RE.match(after)
    if after and not delim and not after[0].isspace():
        return None  # "Agree", "10%": the label is the start of a word
    rest = after[delim.end():] if delim else after.strip()
    marked = bracketed or delim is not None or not after.strip(_EDGE_CHARS)
    rest_norm = _norm(rest)
    index = opts.label_index(m.group("label"), strict=marked)
    if index is None:
        return None
    if not rest_norm:
        return index
    named = opts.exact(rest)
    if named == index:
        return index
    if named is not None:
        raise _Reject(
            f"label {m.group('label').upper()} is {opts.texts[index]!r} but the text says "
            f"{opts.texts[named]!r}"
        )
    # A marked label followed by other words ("B. I think ...") still names B; an unmarked one
    # ("A moral issue ...", "I think ...") is ordinary prose.
    return index if marked and allow_words else None


def _listed(text: str, opts: _Options) -> list[int] | None:
    """Rule 3: every item of a separated list is a label or an option text."""
    parts = [p for p in _SEPARATOR_RE.split(text) if p and p.strip(_EDGE_CHARS)]
    if len(parts) < 2:
        return None
    found = []
    for part in parts:
        index = opts.exact(part)
        if index is None:
            try:
                index = _labelled(part, opts, allow_words=False)
            except _Reject:
                return None
        if index is None:
            return None
        found.append(index)
    return found


def _mentioned(text: str, opts: _Options) -> tuple[list[int], list[int]]:
    """Rule 5: (indices named, indices named only in negation)."""
    t = _norm(text)
    spans: list[tuple[int, int, int]] = []
    for i, o in enumerate(opts.norm):
        if not o:
            continue
        for m in re.finditer(r"(?<!\w)" + re.escape(o) + r"(?!\w)", t):
            spans.append((m.start(), m.end(), i))
    kept = [
        s for s in spans
        if not any(o[0] <= s[0] and s[1] <= o[1] and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)
    ]
    named, negated = [], []
    for start, _, i in kept:
        (negated if _NEGATION_RE.search(t[:start]) else named).append(i)
    return sorted(set(named)), sorted(set(negated) - set(named))


def _part_of_one(text: str, opts: _Options) -> int | None:
    """Rule 6: ``text`` is a whole-word part of exactly one option."""
    t = _norm(text)
    if len(t) < 3 or not any(c.isalpha() for c in t):
        return None
    hits = [i for i, o in enumerate(opts.norm) if re.search(r"(?<!\w)" + re.escape(t) + r"(?!\w)", o)]
    if len(hits) > 1:
        raise _Reject(f"{text.strip()!r} is part of several options")
    return hits[0] if hits else None


def _decide(segment: str, opts: _Options, labelled: bool, qtype: str) -> tuple[list[int], str]:
    index = opts.exact(segment)
    if index is not None:
        return [index], "option text"
    if not labelled:
        index = _labelled(_first_nonempty_line(segment), opts, allow_words=False)
        if index is not None:
            return [index], "bare label without 'Answer:'"
        raise _Reject("no 'Answer:' and the reply does not start with a bare option")
    # "4/5" is a scale value; for other questions "/" separates a list ("A/C").
    fraction = _FRACTION_RE.match(_norm(segment))
    if fraction and (qtype == "scale" or opts.values is not None):
        index = opts.label_index(fraction.group("value"), strict=True)
        return [index], "scale value"
    listed = _listed(segment, opts)
    if listed is not None:
        return listed, "list of options"
    index = _labelled(segment, opts, allow_words=True)
    if index is not None:
        return [index], "label"
    named, negated = _mentioned(segment, opts)
    if named:
        return named, "option text in answer"
    if negated:
        raise _Reject("the answer only names options after a negation: "
                      + ", ".join(repr(opts.texts[i]) for i in negated))
    index = _part_of_one(segment, opts)
    if index is not None:
        return [index], "part of option text"
    raise _Reject(f"no option recognised in {segment.strip()[:60]!r}")


def parse_answer(reply: str, options: Sequence[str], qtype: QuestionType = "single") -> ParsedAnswer:
    """The option(s) a reply chose for a question with ``options`` (see module docstring)."""
    if not reply or not reply.strip():
        return ParsedAnswer(None, False, "empty reply")
    opts = _Options(options)
    answer = _ANSWER_RE.search(reply)
    if answer:
        rest = reply[answer.end():]
        explanation = _EXPLANATION_RE.search(rest)
        segment = rest[:explanation.start()] if explanation else _first_nonempty_line(rest)
        labelled = True
    else:
        explanation = _EXPLANATION_RE.search(reply)
        segment = reply[:explanation.start()] if explanation else reply
        rest = reply
        labelled = False
    explained = rest[explanation.end():].strip(string.whitespace + "*_") if explanation else ""
    if not segment.strip(_EDGE_CHARS):
        return ParsedAnswer(None, False, "'Answer:' is followed by nothing", explained)
    try:
        indices, how = _decide(segment, opts, labelled, qtype)
    except _Reject as e:
        return ParsedAnswer(None, False, str(e.args[0]), explained)
    indices = sorted(set(indices))
    if len(indices) > 1 and qtype != "multiple":
        return ParsedAnswer(
            None, False,
            f"a {qtype} question got {len(indices)} answers: "
            + ", ".join(repr(opts.texts[i]) for i in indices),
            explained,
        )
    return ParsedAnswer([opts.texts[i] for i in indices], True, how, explained)


def parse_answer_for(question: Question, reply: str) -> ParsedAnswer:
    return parse_answer(reply, question.options, question.type)
