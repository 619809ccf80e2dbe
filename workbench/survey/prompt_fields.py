"""Values for the placeholders of ``prompts/survey_respondent.txt``.

The template follows Liu et al. (2025): "I want you to act as a citizen from [COUNTRY]. You should
obtain an answer from [NUM] choices. You should tell me the answer in the format 'Answer:' and
explain afterward using 'Explanation:'. Request: [QUESTION]", with the DEF persona city added.
Placeholders: ``{country}``, ``{city}``, ``{num}``, ``{question}``, ``{options}``.

With the persona modification off there is no city; ``{city}`` then repeats the country ("a
citizen from Japan, living in Japan"), which adds no location, so one template serves both runs.
Options are lettered A, B, C ... to match what :mod:`workbench.survey.answers` reads back.
"""

from __future__ import annotations

import string

from workbench.survey.questionnaire import Question

MULTIPLE_HINT = "You may choose more than one option; give each of them, separated by commas."


def format_options(question: Question) -> str:
    """One option per line, ``A. Morally acceptable`` (``1.`` ... beyond 26 options); a hint line
    for multiple choice."""
    if len(question.options) > 26:
        lines = [f"{i + 1}. {o}" for i, o in enumerate(question.options)]
    else:
        lines = [f"{string.ascii_uppercase[i]}. {o}" for i, o in enumerate(question.options)]
    if question.type == "multiple":
        lines.append(MULTIPLE_HINT)
    return "\n".join(lines)


def respondent_prompt_fields(question: Question, country: str, city: str | None = None) -> dict[str, str]:
    """``template.format(**fields)`` gives the respondent prompt for one question."""
    return {
        "country": country,
        "city": city or country,
        "num": str(len(question.options)),
        "question": question.text,
        "options": format_options(question),
    }
