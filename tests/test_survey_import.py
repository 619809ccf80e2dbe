"""`workbench survey import`: the Pew file and the workbench format, validated whole, stored in one
transaction, renormalised rows reported, nothing stored from a bad file."""
from __future__ import annotations

import ast
import csv
import json

import pytest
from click.testing import CliRunner

from conftest import shared_data
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.survey.importer import detect_format, import_survey, load_stored_survey
from workbench.survey.pew import PEW_OPTIONS, load_pew_global_morality

PEW_HEADER = "country,question,mcm_score,universal_mcm_score,pew_rating,pew_score\n"
SURVEY_CSV = """question_id,question_text,question_type,options,dimension,country,group,option,share
q1,Is divorce acceptable?,single,Yes | No,TDI,Japan,,Yes,0.6
q1,,,,,Japan,,No,0.3
q2,Is gambling acceptable?,single,Yes | No,,Japan,,Yes,0.5
q2,,,,,Japan,,No,0.5
"""


def test_pew_file_imports_39_countries_by_8_questions_and_reports_renormalised_rows(project):
    path = shared_data("pew-global-morality", "pew_mcm.csv")
    result = CliRunner().invoke(main, ["survey", "import", str(project.path), str(path)])

    assert result.exit_code == 0, result.output
    assert "39 countries × 8 questions, 312 distributions" in result.stdout
    assert "[pew]" in result.stdout
    # every line whose shares do not sum to 1 is named in the warning, and no other line
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        off = [reader.line_num for row in reader if abs(sum(ast.literal_eval(row["pew_rating"]).values()) - 1) > 1e-6]
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning: pew_mcm.csv: shares of")
    assert f"{len(off)} distribution(s) did not sum to 1" in warning
    assert {int(p.split(" ")[0]) for p in warning.split("line ")[1:]} == set(off)

    survey_id, stored = load_stored_survey(project)
    direct, _ = load_pew_global_morality(path)
    assert stored == direct  # what is stored is exactly what was validated
    assert len(stored.countries) == 39 and len(stored.questions) == 8
    assert stored.distribution("United States", "using_contraceptives").sum() == pytest.approx(1)
    assert json.loads(project.survey_row(survey_id)["warnings"])[0] == warning.removeprefix("warning: ")


def test_json_survey_with_shares_not_summing_to_one_is_renormalised_with_a_warning(project, tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({
        "name": "small", "questions": [{"id": "q1", "text": "Agree?", "type": "single", "options": ["Yes", "No"]}],
        "human": {"Japan": {"q1": {"Yes": 0.6, "No": 0.3}}, "China": {"q1": {"Yes": 0.5, "No": 0.5}}}}))

    result = import_survey(project, path)

    assert result.format == "survey" and result.name == "small" and result.distributions == 2
    (warning,) = result.warnings
    assert "1 distribution(s)" in warning and '$.human.Japan.q1 (sum 0.9)' in warning
    _, survey = load_stored_survey(project, "small")
    assert survey.human["Japan"]["q1"] == {"Yes": pytest.approx(2 / 3), "No": pytest.approx(1 / 3)}


def test_a_bad_file_is_one_line_and_imports_nothing(project, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(SURVEY_CSV + "q2,,,,,Japan,,Maybe,0.1\n")

    result = CliRunner().invoke(main, ["survey", "import", str(project.path), str(path)])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "bad.csv: line 6: option 'Maybe' is not an option of question 'q2'" in result.output
    assert project.count("surveys") == 0


def test_the_pew_layout_is_detected_by_its_columns(project, tmp_path):
    pew = tmp_path / "morality.csv"
    pew.write_text(PEW_HEADER + "Japan,gambling,0,0,\"{'Morally acceptable': 0.2, 'Not a moral issue': 0.3, "
                   "'Morally unacceptable': 0.5}\",0\n")
    mine = tmp_path / "mine.csv"
    mine.write_text(SURVEY_CSV)
    assert detect_format(pew) == "pew" and detect_format(mine) == "survey"

    first = import_survey(project, pew)
    second = import_survey(project, mine)

    assert first.format == "pew" and first.questions == 1 and first.countries == ["Japan"]
    _, survey = load_stored_survey(project, first.survey_id)
    assert survey.question("gambling").options == PEW_OPTIONS
    assert second.format == "survey" and second.name == "mine" and second.questions == 2
    assert second.warnings and "lines 2, 3 (Japan, q1)" in second.warnings[0]
    with pytest.raises(WorkbenchError, match="mine.csv: line 1: missing column 'question'"):
        import_survey(project, mine, format="pew", name="other")


def test_the_same_file_is_not_imported_twice_and_names_are_unique(project, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(SURVEY_CSV)
    first = import_survey(project, path)

    again = import_survey(project, path)
    assert again.already_imported and again.survey_id == first.survey_id and project.count("surveys") == 1

    path.write_text(SURVEY_CSV.replace("0.6", "0.7"))
    with pytest.raises(WorkbenchError, match="a survey named 'mine' is already imported .* --name"):
        import_survey(project, path)
    other = import_survey(project, path, name="mine v2")
    assert other.survey_id != first.survey_id
    assert load_stored_survey(project)[0] == other.survey_id  # the latest by default
    assert load_stored_survey(project, "mine")[0] == first.survey_id
    with pytest.raises(WorkbenchError, match=r"no survey 'nope' .*#1 'mine'"):
        load_stored_survey(project, "nope")
