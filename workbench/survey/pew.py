"""Pew Research Center Global Attitudes (2013) morality questions as a :class:`Survey`.

The layout is the ``pew_mcm.csv`` file of the moral-cultural-map studies: one row per country x
moral issue with columns ``country, question, mcm_score, universal_mcm_score, pew_rating,
pew_score``. ``pew_rating`` is a Python dict literal of the three answer shares; "don't know" /
refused answers were dropped, so shares sum below 1 and are renormalised (with one warning naming
the lines). Only ``pew_rating`` is used; the model scores in the other columns are not survey data.
"""

from __future__ import annotations

import ast
from pathlib import Path

from workbench.survey.questionnaire import (
    SUM_TOLERANCE,
    Question,
    Survey,
    SurveyFormatError,
    check_share,
    csv_table,
    normalise_shares,
    one_line,
    renormalisation_warning,
)

PEW_COLUMNS = ("country", "question", "mcm_score", "universal_mcm_score", "pew_rating", "pew_score")
PEW_OPTIONS = ("Morally acceptable", "Not a moral issue", "Morally unacceptable")
#: The eight issues in the order Pew asked them.
PEW_MORAL_ISSUES = (
    "using contraceptives",
    "getting a divorce",
    "having an abortion",
    "homosexuality",
    "drinking alcohol",
    "married people having an affair",
    "gambling",
    "sex between unmarried adults",
)
PEW_SURVEY_NAME = "Pew Research Center Global Attitudes 2013: morality"


def pew_question(issue: str) -> Question:
    """The question for one moral issue, worded as Pew asked it."""
    return Question(
        id=issue.replace(" ", "_"),
        text=(f"Do you personally believe that {issue} is morally acceptable, morally "
              "unacceptable, or is it not a moral issue?"),
        type="single",
        options=PEW_OPTIONS,
    )


def load_pew_global_morality(
    path: str | Path, *, tolerance: float = SUM_TOLERANCE
) -> tuple[Survey, list[str]]:
    """Read the Pew morality file; returns the survey (8 questions) and one-line warnings.

    Raises :class:`SurveyFormatError` naming the file, the line and the fix.
    """
    path = Path(path)
    source = path.name
    header, rows = csv_table(path)

    def fail_at(line: int | str):
        def fail(problem: str, fix: str):
            raise SurveyFormatError(f"{source}: line {line}: {problem} — {fix}")
        return fail

    missing = [c for c in ("country", "question", "pew_rating") if c not in header]
    if missing:
        fail_at(1)(f"missing column {missing[0]!r}",
                   "this loader expects Pew's columns " + ", ".join(PEW_COLUMNS))

    human: dict[str, dict[str, dict[str, float]]] = {}
    seen: dict[tuple[str, str], int] = {}
    renormalised: list[tuple[str, float]] = []
    for line, row in rows:
        fail = fail_at(line)
        country = (row.get("country") or "").strip()
        issue = (row.get("question") or "").strip()
        if not country:
            fail("blank country", "name the country")
        if issue not in PEW_MORAL_ISSUES:
            fail(f"unknown moral issue {one_line(issue)}",
                 "use one of " + ", ".join(repr(i) for i in PEW_MORAL_ISSUES))
        if (country, issue) in seen:
            fail(f"{country} / {issue} already given on line {seen[country, issue]}",
                 "keep one row per country and issue")
        seen[country, issue] = line

        raw = row.get("pew_rating") or ""
        try:
            # literal_eval, never eval: the cell is data from a file.
            rating = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            fail(f"pew_rating {one_line(raw)} is not a Python dict literal",
                 "write it like {'Morally acceptable': 0.5, 'Not a moral issue': 0.3, "
                 "'Morally unacceptable': 0.2}")
        if not isinstance(rating, dict):
            fail(f"pew_rating is a {type(rating).__name__}, not a dict",
                 "write it as {option: share, ...}")
        shares: dict[str, float] = {}
        for option, value in rating.items():
            if not isinstance(option, str) or option not in PEW_OPTIONS:
                fail(f"pew_rating has option {one_line(option)}",
                     "options are " + ", ".join(repr(o) for o in PEW_OPTIONS))
            shares[option] = check_share(value, fail)
        if sum(shares.values()) <= 0:
            fail("pew_rating has no positive share", "give the answer shares")
        normalised, total = normalise_shares(shares, PEW_OPTIONS)
        if abs(total - 1.0) > tolerance:
            renormalised.append((f"line {line}", total))
        human.setdefault(country, {})[issue.replace(" ", "_")] = normalised

    if not human:
        raise SurveyFormatError(f"{source}: no rows below the header — is this the Pew file?")

    warnings: list[str] = []
    if renormalised:
        warnings.append(renormalisation_warning(source, renormalised))
    for country, table in human.items():
        absent = [i for i in PEW_MORAL_ISSUES if i.replace(" ", "_") not in table]
        if absent:
            warnings.append(f"{source}: {country} has no row for " + ", ".join(absent))
    asked = {q for table in human.values() for q in table}
    questions = tuple(pew_question(i) for i in PEW_MORAL_ISSUES if i.replace(" ", "_") in asked)
    return Survey(name=PEW_SURVEY_NAME, questions=questions, human=human), warnings
