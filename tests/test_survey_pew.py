"""The Pew Global Attitudes morality loader, on the real file and on small hand-made ones."""

import ast
import csv
from pathlib import Path

import numpy as np
import pytest

from workbench.survey.pew import PEW_MORAL_ISSUES, PEW_OPTIONS, load_pew_global_morality
from workbench.survey.questionnaire import SurveyFormatError

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PEW_FILE = SHARED_DATA / "pew-global-morality" / "pew_mcm.csv"
needs_pew = pytest.mark.skipif(
    not PEW_FILE.exists(), reason=f"Pew data not present at {PEW_FILE} (../shared/data)")

HEADER = "country,question,mcm_score,universal_mcm_score,pew_rating,pew_score\n"


def pew_row(country, issue, rating):
    return f'{country},{issue},0.1,0.2,"{rating}",0.3\n'


def write(tmp_path, text):
    path = tmp_path / "pew_mcm.csv"
    path.write_text(text, encoding="utf-8")
    return path


@needs_pew
def test_real_file_has_39_countries_by_8_questions():
    survey, warnings = load_pew_global_morality(PEW_FILE)
    assert len(survey.countries) == 39
    assert [q.id for q in survey.questions] == [i.replace(" ", "_") for i in PEW_MORAL_ISSUES]
    assert all(q.type == "single" and q.options == PEW_OPTIONS for q in survey.questions)
    for country in survey.countries:
        assert len(survey.human[country]) == 8
        for q in survey.questions:
            assert survey.distribution(country, q.id).sum() == pytest.approx(1.0)
    assert {"United States", "Japan", "South Korea", "China", "Britain"} <= set(survey.countries)
    # exactly one summary warning about renormalisation; every line whose shares do not sum to 1
    # within 1e-6 is named in it, and the others are not
    assert len(warnings) == 1
    with PEW_FILE.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        off = []
        for row in reader:
            total = sum(ast.literal_eval(row["pew_rating"]).values())
            if abs(total - 1) > 1e-6:
                off.append(reader.line_num)
    assert 0 < len(off) < 312
    assert f"{len(off)} distribution(s)" in warnings[0]
    named = {int(part.split(" ")[0]) for part in warnings[0].split("line ")[1:]}
    assert named == set(off)


@needs_pew
def test_real_file_renormalises_united_states_contraceptives():
    survey, _ = load_pew_global_morality(PEW_FILE)
    with PEW_FILE.open(newline="", encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    rating = ast.literal_eval(first["pew_rating"])
    raw = np.array([rating[o] for o in PEW_OPTIONS])
    np.testing.assert_allclose(
        survey.distribution(first["country"], first["question"].replace(" ", "_")), raw / raw.sum())


def test_small_file_renormalises_and_names_the_line(tmp_path):
    text = HEADER + pew_row(
        "Japan", "gambling",
        "{'Morally acceptable': 0.2, 'Not a moral issue': 0.3, 'Morally unacceptable': 0.5}",
    ) + pew_row(
        "Japan", "homosexuality",
        "{'Morally acceptable': 0.3, 'Not a moral issue': 0.3, 'Morally unacceptable': 0.2}",
    )
    survey, warnings = load_pew_global_morality(write(tmp_path, text))
    # only the two issues given become questions, in Pew's order
    assert [q.id for q in survey.questions] == ["homosexuality", "gambling"]
    # 0.3 / 0.8 = 0.375, 0.2 / 0.8 = 0.25
    np.testing.assert_allclose(survey.distribution("Japan", "homosexuality"), [0.375, 0.375, 0.25])
    assert "line 3 (sum 0.8)" in warnings[0] and "line 2" not in warnings[0]
    assert any("Japan has no row for using contraceptives" in w for w in warnings)


@pytest.mark.parametrize("rating,expected", [
    ("__import__('os').system('echo hi')", "line 2: pew_rating"),  # never evaluated
    ("[0.2, 0.3, 0.5]", "is a list, not a dict"),
    ("{'Morally acceptable': 'high'}", "share 'high' is not a number"),
    ("{'Morally acceptable': True}", "is not a number"),
    ("{'Acceptable': 0.5}", "pew_rating has option 'Acceptable'"),
    ("{1: 0.5}", "pew_rating has option '1'"),
    ("{'Morally acceptable': 0}", "no positive share"),
])
def test_bad_pew_rating_is_a_one_line_error(tmp_path, rating, expected):
    with pytest.raises(SurveyFormatError) as info:
        load_pew_global_morality(write(tmp_path, HEADER + pew_row("Japan", "gambling", rating)))
    message = str(info.value)
    assert message.startswith("pew_mcm.csv: line 2: ") and "\n" not in message and " — " in message
    assert expected in message


def test_unknown_issue_and_duplicate_row_are_errors(tmp_path):
    good = "{'Morally acceptable': 0.5, 'Not a moral issue': 0.5}"
    with pytest.raises(SurveyFormatError, match="line 2: unknown moral issue 'smoking'"):
        load_pew_global_morality(write(tmp_path, HEADER + pew_row("Japan", "smoking", good)))
    twice = HEADER + pew_row("Japan", "gambling", good) + pew_row("Japan", "gambling", good)
    with pytest.raises(SurveyFormatError, match="line 3: Japan / gambling already given on line 2"):
        load_pew_global_morality(write(tmp_path, twice))


def test_missing_rating_column_is_an_error(tmp_path):
    with pytest.raises(SurveyFormatError, match="line 1: missing column 'pew_rating'"):
        load_pew_global_morality(write(tmp_path, "country,question,pew_score\nJapan,gambling,0.1\n"))
