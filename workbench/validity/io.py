"""Reading the inputs of the validity analyses from CSV/TSV/JSON files (sqlite-utils'
``rows_from_file``): other methods' scores, downstream task performance, persona-primed scores and
repeated measurements for reliability. Column names are fixed (below); a file with a missing
column or a non-numeric value is rejected whole with one line naming the file, the line and the fix.

- scores: ``method, group, source, value`` — method M_j's score of model ``source`` for culture ``group``;
- downstream: ``benchmark, group, source, performance`` — model ``source``'s performance on a
  benchmark for a culture (e.g. KOLD, KR);
- primed: ``method, persona, group, source, value`` — the score of model ``source`` primed with
  ``persona``; rows with persona ``control`` (or empty) are the unprimed control;
- reliability: ``method, kind, item, group, source, value`` — ``kind`` names what varies (``split``,
  ``run``, ``template``), ``item`` which one (e.g. the topic split's name).

An empty value is a missing score (NaN), e.g. a model a method could not score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkbenchError
from ..tabular import read_rows
from ..vocabulary import CONTROL

SCORE_COLUMNS = ("method", "group", "source", "value")
DOWNSTREAM_COLUMNS = ("benchmark", "group", "source", "performance")
PRIMED_COLUMNS = ("method", "persona", "group", "source", "value")
RELIABILITY_COLUMNS = ("method", "kind", "item", "group", "source", "value")
CONTROL_PERSONAS = (CONTROL, "")


@dataclass(frozen=True)
class ScoreRecord:
    method: str
    group: str
    source: str
    value: float


@dataclass(frozen=True)
class DownstreamRecord:
    benchmark: str
    group: str
    source: str
    performance: float


@dataclass(frozen=True)
class PrimedRecord:
    method: str
    persona: str  # "control" for the unprimed model
    group: str
    source: str
    value: float

    @property
    def is_control(self) -> bool:
        return self.persona.lower() in CONTROL_PERSONAS


@dataclass(frozen=True)
class ReliabilityRecord:
    method: str
    kind: str
    item: str
    group: str
    source: str
    value: float


def _number(value: object, path: Path, line: int, column: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise WorkbenchError(f"{path}, line {line}: {column} {value!r} is not a number: write a decimal "
                             "such as 0.42, or leave it empty for a missing value") from None


def _text(value: object, path: Path, line: int, column: str, allow_empty: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if not text and not allow_empty:
        raise WorkbenchError(f"{path}, line {line}: {column} is empty: fill it in or remove the row")
    return text


def read_scores(path: str | Path) -> list[ScoreRecord]:
    path = Path(path)
    return [ScoreRecord(_text(r["method"], path, n, "method"), _text(r["group"], path, n, "group"),
                        _text(r["source"], path, n, "source"), _number(r["value"], path, n, "value"))
            for n, r in read_rows(path, SCORE_COLUMNS, "scores")]


def read_downstream(path: str | Path) -> list[DownstreamRecord]:
    path = Path(path)
    return [DownstreamRecord(_text(r["benchmark"], path, n, "benchmark"), _text(r["group"], path, n, "group"),
                             _text(r["source"], path, n, "source"),
                             _number(r["performance"], path, n, "performance"))
            for n, r in read_rows(path, DOWNSTREAM_COLUMNS, "downstream")]


def read_primed(path: str | Path) -> list[PrimedRecord]:
    path = Path(path)
    return [PrimedRecord(_text(r["method"], path, n, "method"),
                         _text(r["persona"], path, n, "persona", allow_empty=True) or CONTROL,
                         _text(r["group"], path, n, "group"), _text(r["source"], path, n, "source"),
                         _number(r["value"], path, n, "value"))
            for n, r in read_rows(path, PRIMED_COLUMNS, "primed scores")]


def read_reliability(path: str | Path) -> list[ReliabilityRecord]:
    path = Path(path)
    return [ReliabilityRecord(_text(r["method"], path, n, "method"), _text(r["kind"], path, n, "kind"),
                              _text(r["item"], path, n, "item"), _text(r["group"], path, n, "group"),
                              _text(r["source"], path, n, "source"), _number(r["value"], path, n, "value"))
            for n, r in read_rows(path, RELIABILITY_COLUMNS, "reliability")]


def parse_pairs(specs: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """``["KR:JP", "KR:CN"]`` → [("KR", "JP"), ("KR", "CN")]; also accepts ``KR,JP``."""
    pairs = []
    for spec in specs:
        parts = [p.strip() for p in spec.replace(",", ":").split(":")]
        if len(parts) != 2 or not all(parts):
            raise WorkbenchError(f"culture pair {spec!r} is not of the form A:B (e.g. KR:JP)")
        pairs.append((parts[0], parts[1]))
    return pairs
