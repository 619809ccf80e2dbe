"""``workbench survey import``: validate a survey file completely, then store it in one transaction.

Two layouts are read: the workbench survey format (JSON or CSV, :mod:`workbench.survey.questionnaire`)
and the Pew Global Attitudes "global morality" file (:mod:`workbench.survey.pew`), recognised by
its columns ``country``, ``question`` and ``pew_rating``. Distributions that do not sum to 1 are
renormalised and reported in the warnings; a file with any error stores nothing.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import WorkbenchError
from ..store import Store
from .pew import load_pew_global_morality
from .questionnaire import Survey, SurveyFormatError, load_survey

SurveyFileFormat = Literal["auto", "survey", "pew"]
_PEW_MARKERS = {"country", "question", "pew_rating"}


@dataclass
class SurveyImport:
    survey_id: int
    name: str
    file: str
    format: str
    countries: list[str]
    questions: int
    distributions: int
    warnings: list[str] = field(default_factory=list)
    already_imported: bool = False


def detect_format(path: Path) -> Literal["survey", "pew"]:
    """``pew`` for a CSV whose header has Pew's columns, else ``survey``."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return "survey"
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(io.StringIO(f.readline())), [])
    except UnicodeDecodeError:
        return "survey"  # load_survey reports the encoding with the fix
    return "pew" if _PEW_MARKERS <= {h.strip() for h in header} else "survey"


def read_survey_file(path: str | Path, format: SurveyFileFormat = "auto") -> tuple[Survey, list[str], str]:
    """(survey, warnings, format used); raises :class:`WorkbenchError` with the file's first error."""
    path = Path(path)
    if format not in ("auto", "survey", "pew"):
        raise WorkbenchError(f"unknown survey format {format!r}: use auto, survey or pew")
    used = detect_format(path) if format == "auto" else format
    try:
        if used == "pew":
            survey, warnings = load_pew_global_morality(path)
        else:
            survey, warnings = load_survey(path)
    except SurveyFormatError as exc:
        raise WorkbenchError(str(exc)) from None
    return survey, warnings, used


def import_survey(store: Store, path: str | Path, format: SurveyFileFormat = "auto",
                  name: str | None = None) -> SurveyImport:
    """Validate ``path`` and store it as one survey; the same file imported again is not duplicated."""
    path = Path(path)
    survey, warnings, used = read_survey_file(path, format)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    name = (name or survey.name or path.stem).strip()
    if not name:
        raise WorkbenchError(f"{path.name}: the survey has no name — give one with --name")
    summary = dict(name=name, file=path.name, format=used, countries=survey.countries,
                   questions=len(survey.questions),
                   distributions=sum(len(t) for t in survey.human.values())
                   + sum(len(t) for g in survey.groups.values() for t in g.values()),
                   warnings=warnings)
    same = store.survey_by_sha256(digest)
    if same is not None and same["name"] == name:
        return SurveyImport(survey_id=same["id"], already_imported=True, **summary)
    clash = [s for s in store.surveys() if s["name"] == name]
    if clash:
        raise WorkbenchError(f"a survey named {name!r} is already imported (#{clash[0]['id']} from "
                             f"{clash[0]['file']}) — give this one another name with --name")
    survey = survey.model_copy(update={"name": name})
    survey_id = store.save_survey(name, path.name, digest, survey.model_dump_json(), warnings)
    return SurveyImport(survey_id=survey_id, **summary)


def load_stored_survey(store: Store, survey: int | str | None = None) -> tuple[int, Survey]:
    """(id, survey) of an imported survey by id or name; ``None`` is the latest import."""
    row = store.survey_row(survey)
    return row["id"], Survey.model_validate_json(row["definition"])
