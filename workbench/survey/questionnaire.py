"""The survey file format: questions plus human answer distributions per country.

A survey is a questionnaire (single-choice, multiple-choice and scale questions, each optionally
tagged with one of the paper's nine value dimensions) and, for each country, the share of human
respondents choosing each option, optionally per demographic group (Liu et al. 2025 compare model
and human preference distributions per question, dimension and country).

JSON layout (``*.json``)::

    {
      "name": "My survey",
      "questions": [
        {"id": "q1", "text": "Is divorce morally acceptable?", "type": "single",
         "options": ["Yes", "No", "Depends"], "dimension": "TDI"}
      ],
      "human": {"Japan": {"q1": {"Yes": 0.6, "No": 0.3, "Depends": 0.1}}},
      "groups": {"Japan": {"women 18-29": {"q1": {"Yes": 0.7, "No": 0.2, "Depends": 0.1}}}}
    }

- ``questions`` is required and non-empty; ``type`` is single, multiple or scale; ``options`` are
  at least 2 distinct labels in display order (a scale's labels, e.g. "1" .. "5", included);
  ``dimension`` is optional, one of EVI IDV IVR LTO MAS PDI UAI TDI USI.
- ``human`` maps country -> question id -> option -> share; ``groups`` maps country -> demographic
  group -> question id -> option -> share. Both are optional; ``name`` is optional.
- Unknown keys are errors (they are usually typos).

CSV layout (``*.csv``), one row per question x country (x group) x option share::

    question_id,question_text,question_type,options,dimension,country,group,option,share
    q1,Is divorce morally acceptable?,single,Yes | No | Depends,TDI,Japan,,Yes,0.6
    q1,,,,,Japan,,No,0.3
    q1,,,,,Japan,,Depends,0.1
    q1,,,,,Japan,women 18-29,Yes,0.7

- ``question_text``, ``question_type``, ``options`` (separated by ``|``) and ``dimension`` are
  given on at least one row of the question (usually its first); other rows may leave them blank or
  repeat them identically.
- ``group`` blank means the whole country; the ``dimension`` and ``group`` columns may be omitted.
- A row with blank ``country``, ``option`` and ``share`` only defines its question.

Rules for both layouts: shares are non-negative numbers; an option a distribution leaves out has
share 0; an option that is not among the question's options is an error; a distribution whose
shares do not sum to 1 (within ``tolerance``) is divided by its sum and reported in one warning
that names its rows or JSON paths (surveys often drop "don't know", so shares sum below 1).

Errors raise :class:`SurveyFormatError` with one line: the file, the JSON path or CSV line (the
header is line 1), what is wrong and the fix. Nothing is returned from a file with an error.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import WorkbenchError
from ..tabular import open_tabular

DIMENSIONS: tuple[str, ...] = ("EVI", "IDV", "IVR", "LTO", "MAS", "PDI", "UAI", "TDI", "USI")
DIMENSION_NAMES: dict[str, str] = {
    "EVI": "Emancipative Values Index",
    "IDV": "Individualism Index",
    "IVR": "Indulgence versus Restraint Index",
    "LTO": "Long-Term Orientation Index",
    "MAS": "Masculinity Index",
    "PDI": "Power Distance Index",
    "UAI": "Uncertainty Avoidance Index",
    "TDI": "Tradition Index",
    "USI": "Universalism Index",
}
QUESTION_TYPES: tuple[str, ...] = ("single", "multiple", "scale")

QuestionType = Literal["single", "multiple", "scale"]
Dimension = Literal["EVI", "IDV", "IVR", "LTO", "MAS", "PDI", "UAI", "TDI", "USI"]
Shares = dict[str, float]

#: |sum - 1| above this is renormalised *with* a warning; below it, silently.
SUM_TOLERANCE = 1e-6

CSV_COLUMNS: tuple[str, ...] = (
    "question_id", "question_text", "question_type", "options", "dimension",
    "country", "group", "option", "share",
)
_CSV_REQUIRED = ("question_id", "question_text", "question_type", "options", "country", "option", "share")
_JSON_KEYS = ("name", "questions", "human", "groups")
_QUESTION_KEYS = ("id", "text", "type", "options", "dimension")


class SurveyFormatError(ValueError):
    """A survey file a user wrote is malformed; the message is one line naming place and fix."""


def csv_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, [(line, row)]) of a survey CSV, names stripped, read by ``workbench.tabular`` with its
    checks (quotes that swallow rows, rows wider or narrower than the header, NUL bytes)."""
    try:
        table = open_tabular(path, "survey file")
        header, rows = table.header(), table.rows()
    except WorkbenchError as exc:
        raise SurveyFormatError(str(exc)) from None
    return [h.strip() for h in header], [(line, {k.strip(): v for k, v in row.items()}) for line, row in rows]


class Question(BaseModel):
    """One survey question; ``options`` are in the order shown to respondents."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    type: QuestionType
    options: tuple[str, ...]
    dimension: Dimension | None = None

    @field_validator("options")
    @classmethod
    def _options_are_distinct(cls, options: tuple[str, ...]) -> tuple[str, ...]:
        if len(options) < 2:
            raise ValueError("a question needs at least 2 options")
        if any(not o.strip() for o in options):
            raise ValueError("options must not be blank")
        folded = [o.strip().casefold() for o in options]
        if len(set(folded)) != len(folded):
            raise ValueError("options must differ (ignoring case)")
        return options

    def index(self, option: str) -> int:
        return self.options.index(option)


class Survey(BaseModel):
    """Questions and human distributions.

    ``human[country][question_id][option]`` is a share; every distribution lists every option of its
    question and sums to 1. ``groups[country][group][question_id][option]`` is the same per
    demographic group.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    questions: tuple[Question, ...] = Field(min_length=1)
    human: dict[str, dict[str, Shares]] = Field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, Shares]]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Survey:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        by_id = {q.id: q for q in self.questions}
        tables = [(c, None, t) for c, t in self.human.items()]
        tables += [(c, g, t) for c, gs in self.groups.items() for g, t in gs.items()]
        for country, group, table in tables:
            for qid, shares in table.items():
                where = f"{country}/{group}/{qid}" if group else f"{country}/{qid}"
                if qid not in by_id:
                    raise ValueError(f"{where}: unknown question id")
                if tuple(shares) != by_id[qid].options:
                    raise ValueError(f"{where}: shares must list the question's options in order")
                if any(not math.isfinite(v) or v < 0 for v in shares.values()):
                    raise ValueError(f"{where}: shares must be finite and non-negative")
                if abs(sum(shares.values()) - 1.0) > SUM_TOLERANCE:
                    raise ValueError(f"{where}: shares must sum to 1")
        return self

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    @property
    def countries(self) -> list[str]:
        return list(dict.fromkeys([*self.human, *self.groups]))

    def distribution(self, country: str, question_id: str, group: str | None = None) -> np.ndarray:
        """Human shares of ``question_id`` in ``country`` as an array in option order, shape (k,)."""
        table = self.human[country] if group is None else self.groups[country][group]
        shares = table[question_id]
        return np.array([shares[o] for o in self.question(question_id).options], dtype=float)


# ---------------------------------------------------------------------------------------------
# shared helpers (also used by pew.py)


def one_line(text: object) -> str:
    """Quote a user value for a one-line message."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return repr(s if len(s) <= 80 else s[:77] + "...")


def normalise_shares(shares: Mapping[str, float], options: Sequence[str]) -> tuple[Shares, float]:
    """Shares over ``options`` (missing ones 0) divided by their sum; also returns the sum."""
    total = float(sum(shares.values()))
    return {o: float(shares.get(o, 0.0)) / total for o in options}, total


def renormalisation_warning(source: str, renormalised: Sequence[tuple[str, float]]) -> str:
    """One warning naming every renormalised distribution (``where``, original sum)."""
    sums = [s for _, s in renormalised]
    places = ", ".join(f"{where} (sum {s:.4g})" for where, s in renormalised)
    return (
        f"{source}: shares of {len(renormalised)} distribution(s) did not sum to 1 "
        f"(sums {min(sums):.4g} to {max(sums):.4g}; e.g. \"don't know\" dropped) and were "
        f"renormalised: {places}"
    )


def check_share(value: Any, fail) -> float:
    """A share as float, or ``fail(problem, fix)``; bools are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"share {one_line(value)} is not a number", "write the share as a number such as 0.25")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        fail(f"share {value!r} is not a finite non-negative number", "use a share >= 0")
    return v


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        low = {c.casefold(): c for c in choices}
        close = [low[word.casefold()]] if word.casefold() in low else []
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# loading


def load_survey(path: str | Path, *, tolerance: float = SUM_TOLERANCE) -> tuple[Survey, list[str]]:
    """Read a survey file (``.json`` or ``.csv``, layouts in the module docstring).

    Returns the survey and a list of one-line warnings; raises :class:`SurveyFormatError`.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise SurveyFormatError(
            f"{name}: unsupported file type {path.suffix!r} — save the survey as .json or .csv"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SurveyFormatError(f"{path.resolve()}: file not found — check the path") from None
    except UnicodeDecodeError as e:
        raise SurveyFormatError(
            f"{name}: not UTF-8 text (byte {e.start}) — save the file as UTF-8"
        ) from None
    if not text.strip():
        raise SurveyFormatError(f"{name}: the file is empty — give a survey (see the README's survey format)")
    if suffix == ".json":
        return _load_json(name, text, tolerance)
    return _load_csv(name, path, tolerance)


def _jp(*keys: str | int) -> str:
    """A JSON path like ``$.human["United States"].q1``."""
    out = "$"
    for k in keys:
        if isinstance(k, int):
            out += f"[{k}]"
        elif k.isidentifier():
            out += f".{k}"
        else:
            out += f"[{json.dumps(k, ensure_ascii=False)}]"
    return out


def _failer(source: str, where: str):
    def fail(problem: str, fix: str):
        raise SurveyFormatError(f"{source}: {where}: {problem} — {fix}")

    return fail


def _make_question(raw: Mapping[str, Any], fail_for) -> Question:
    """Validate a question given as a mapping; ``fail_for(field)(problem, fix)`` raises."""
    qid = raw.get("id")
    if not isinstance(qid, str) or not qid.strip():
        fail_for("id")("question has no id", "give every question a non-empty string id")
    qid = qid.strip()
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        fail_for("text")(f"question {qid!r} has no text",
                         "give the question's wording as a non-empty string")
    qtype = raw.get("type")
    if not isinstance(qtype, str) or qtype.strip().lower() not in QUESTION_TYPES:
        fail_for("type")(f"question {qid!r} has type {one_line(qtype)}",
                         "use one of " + ", ".join(QUESTION_TYPES))
    options = raw.get("options")
    fail = fail_for("options")
    if not isinstance(options, (list, tuple)) or not all(isinstance(o, str) for o in options):
        fail(f"question {qid!r} has no list of options", "give options as a list of strings")
    options = tuple(o.strip() for o in options)
    if len(options) < 2:
        fail(f"question {qid!r} has {len(options)} option(s)", "give at least 2 options")
    if any(not o for o in options):
        fail(f"question {qid!r} has a blank option", "remove it or give it a label")
    folded = [o.casefold() for o in options]
    dupes = sorted({o for o, f in zip(options, folded) if folded.count(f) > 1})
    if dupes:
        fail(f"question {qid!r} repeats option {dupes[0]!r}", "list each option once")
    dimension = raw.get("dimension")
    if dimension is not None and not (isinstance(dimension, str) and dimension.strip() == ""):
        if not isinstance(dimension, str) or dimension.strip().upper() not in DIMENSIONS:
            fail_for("dimension")(
                f"question {qid!r} has dimension {one_line(dimension)}",
                "use one of " + ", ".join(DIMENSIONS) + " or leave it out",
            )
        dimension = dimension.strip().upper()
    else:
        dimension = None
    return Question(id=qid, text=text.strip(), type=qtype.strip().lower(), options=options,
                    dimension=dimension)


def _check_option(option: str, question: Question, fail) -> None:
    if option not in question.options:
        fail(
            f"option {one_line(option)} is not an option of question {question.id!r}"
            + _did_you_mean(option, question.options),
            "use one of " + ", ".join(repr(o) for o in question.options),
        )


def _finish_shares(shares: Mapping[str, float], question: Question, fail) -> tuple[Shares, float]:
    if sum(shares.values()) <= 0:
        fail(
            f"all shares of question {question.id!r} are 0",
            "give at least one positive share or remove the distribution",
        )
    return normalise_shares(shares, question.options)


# --- JSON -----------------------------------------------------------------------------------


def _load_json(source: str, text: str, tolerance: float) -> tuple[Survey, list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SurveyFormatError(
            f"{source}: line {e.lineno} column {e.colno}: invalid JSON ({e.msg}) — fix the syntax there"
        ) from None
    if not isinstance(data, dict):
        _failer(source, "$")("the top level is not an object",
                             'write {"questions": [...], "human": {...}}')
    unknown = [k for k in data if k not in _JSON_KEYS]
    if unknown:
        _failer(source, _jp(unknown[0]))(
            f"unknown key {unknown[0]!r}" + _did_you_mean(unknown[0], _JSON_KEYS),
            "allowed keys are " + ", ".join(_JSON_KEYS),
        )
    name = data.get("name", "")
    if not isinstance(name, str):
        _failer(source, _jp("name"))("name is not a string", "write the survey name as a string")

    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        _failer(source, _jp("questions"))("no list of questions",
                                          'add "questions": [{"id": ..., "text": ..., ...}]')
    questions: dict[str, Question] = {}
    for i, raw in enumerate(raw_questions):
        fail = _failer(source, _jp("questions", i))
        if not isinstance(raw, dict):
            fail("question is not an object", "write each question as {\"id\": ..., ...}")
        extra = [k for k in raw if k not in _QUESTION_KEYS]
        if extra:
            _failer(source, _jp("questions", i, extra[0]))(
                f"unknown question key {extra[0]!r}" + _did_you_mean(extra[0], _QUESTION_KEYS),
                "allowed keys are " + ", ".join(_QUESTION_KEYS),
            )
        q = _make_question(raw, lambda field, i=i: _failer(source, _jp("questions", i, field)))
        if q.id in questions:
            _failer(source, _jp("questions", i, "id"))(
                f"question id {q.id!r} is used twice", "give every question its own id")
        questions[q.id] = q

    renormalised: list[tuple[str, float]] = []

    def table(raw_table: Any, keys: tuple[str, ...]) -> dict[str, Shares]:
        fail = _failer(source, _jp(*keys))
        if not isinstance(raw_table, dict):
            fail("is not an object", "map question ids to {option: share} objects")
        out: dict[str, Shares] = {}
        for qid, raw_shares in raw_table.items():
            here = (*keys, qid)
            fail = _failer(source, _jp(*here))
            if qid not in questions:
                fail(f"unknown question id {qid!r}" + _did_you_mean(qid, list(questions)),
                     "use an id from \"questions\"")
            q = questions[qid]
            if not isinstance(raw_shares, dict):
                fail("is not an object", "map each option to its share, e.g. {\"Yes\": 0.6}")
            shares: dict[str, float] = {}
            for option, value in raw_shares.items():
                ofail = _failer(source, _jp(*here, option))
                _check_option(option, q, ofail)
                shares[option] = check_share(value, ofail)
            out[qid], total = _finish_shares(shares, q, fail)
            if abs(total - 1.0) > tolerance:
                renormalised.append((_jp(*here), total))
        return out

    human_raw = data.get("human", {})
    if not isinstance(human_raw, dict):
        _failer(source, _jp("human"))("is not an object", "map countries to {question: shares}")
    human = {}
    for country, raw_table in human_raw.items():
        if not country.strip():
            _failer(source, _jp("human", country))("blank country name", "name the country")
        human[country.strip()] = table(raw_table, ("human", country))

    groups_raw = data.get("groups", {})
    if not isinstance(groups_raw, dict):
        _failer(source, _jp("groups"))("is not an object",
                                       "map countries to {group: {question: shares}}")
    groups: dict[str, dict[str, dict[str, Shares]]] = {}
    for country, by_group in groups_raw.items():
        if not isinstance(by_group, dict):
            _failer(source, _jp("groups", country))("is not an object",
                                                    "map group names to {question: shares}")
        groups[country.strip()] = {
            g.strip(): table(t, ("groups", country, g)) for g, t in by_group.items()
        }

    survey = Survey(name=name, questions=tuple(questions.values()), human=human, groups=groups)
    warnings = [renormalisation_warning(source, renormalised)] if renormalised else []
    return survey, warnings


# --- CSV ------------------------------------------------------------------------------------


def _load_csv(source: str, path: Path, tolerance: float) -> tuple[Survey, list[str]]:
    header, rows = csv_table(path)
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        _failer(source, "line 1")(
            f"unknown column {unknown[0]!r}" + _did_you_mean(unknown[0], CSV_COLUMNS),
            "columns are " + ", ".join(CSV_COLUMNS),
        )
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if missing:
        _failer(source, "line 1")(f"missing column {missing[0]!r}",
                                  "the header needs " + ", ".join(_CSV_REQUIRED))

    # question_id -> field -> (value, line)
    definitions: dict[str, dict[str, tuple[str, int]]] = {}
    first_line: dict[str, int] = {}
    # line, question_id, country, group, option, share
    data_rows: list[tuple[int, str, str, str, str, str]] = []
    for line, row in rows:
        fail = _failer(source, f"line {line}")
        cell = {k: v.strip() for k, v in row.items()}
        if not any(cell.values()):
            continue
        qid = cell["question_id"]
        if not qid:
            fail("blank question_id", "give the question's id on every row")
        first_line.setdefault(qid, line)
        fields = definitions.setdefault(qid, {})
        for col in ("question_text", "question_type", "options", "dimension"):
            value = cell.get(col, "")
            if not value:
                continue
            if col in fields and fields[col][0] != value:
                fail(
                    f"question {qid!r} has {col} {one_line(value)} but line {fields[col][1]} "
                    f"gave {one_line(fields[col][0])}",
                    "give the same value on every row or leave it blank after the first",
                )
            fields.setdefault(col, (value, line))
        country, group, option, share = (cell.get(c, "") for c in ("country", "group", "option",
                                                                  "share"))
        if not (country or group or option or share):
            continue  # a definition-only row
        for col, value in (("country", country), ("option", option), ("share", share)):
            if not value:
                fail(f"blank {col} in a row that gives a share", "fill country, option and share, "
                     "or leave all three blank to only define the question")
        data_rows.append((line, qid, country, group, option, share))

    if not definitions:
        raise SurveyFormatError(
            f"{source}: no rows below the header — add one row per question x country x option")

    questions: dict[str, Question] = {}
    for qid, fields in definitions.items():
        where = f"line {first_line[qid]}"
        for col in ("question_text", "question_type", "options"):
            if col not in fields:
                _failer(source, where)(f"question {qid!r} has no {col} on any row",
                                       f"fill {col} on its first row")
        raw = {
            "id": qid,
            "text": fields["question_text"][0],
            "type": fields["question_type"][0],
            "options": [o.strip() for o in fields["options"][0].split("|")],
            "dimension": fields.get("dimension", ("", 0))[0],
        }

        def fail_for(field: str, fields=fields, qid=qid):
            # point at the line that gave the bad field, else at the question's first line
            col = {"text": "question_text", "type": "question_type"}.get(field, field)
            return _failer(source, f"line {fields[col][1] if col in fields else first_line[qid]}")

        questions[qid] = _make_question(raw, fail_for)

    # (country, group, qid) -> option -> (share, line)
    cells: dict[tuple[str, str, str], dict[str, tuple[float, int]]] = {}
    for line, qid, country, group, option, share in data_rows:
        fail = _failer(source, f"line {line}")
        q = questions[qid]
        _check_option(option, q, fail)
        try:
            value = float(share)
        except ValueError:
            fail(f"share {one_line(share)} is not a number",
                 "write the share as a number such as 0.25")
        check_share(value, fail)
        key = (country, group, qid)
        dist = cells.setdefault(key, {})
        if option in dist:
            fail(f"option {option!r} of question {qid!r} for {country}{'/' + group if group else ''} "
                 f"already has a share on line {dist[option][1]}", "keep one row per option")
        dist[option] = (value, line)

    human: dict[str, dict[str, Shares]] = {}
    groups: dict[str, dict[str, dict[str, Shares]]] = {}
    renormalised: list[tuple[str, float]] = []
    for (country, group, qid), dist in cells.items():
        lines = sorted(line for _, line in dist.values())
        where = ("line " if len(lines) == 1 else "lines ") + ", ".join(map(str, lines))
        label = f"{country}{'/' + group if group else ''}, {qid}"
        shares, total = _finish_shares({o: v for o, (v, _) in dist.items()}, questions[qid],
                                       _failer(source, where))
        if abs(total - 1.0) > tolerance:
            renormalised.append((f"{where} ({label})", total))
        target = human.setdefault(country, {}) if not group else \
            groups.setdefault(country, {}).setdefault(group, {})
        target[qid] = shares

    survey = Survey(questions=tuple(questions.values()), human=human, groups=groups)
    warnings = [renormalisation_warning(source, renormalised)] if renormalised else []
    return survey, warnings
