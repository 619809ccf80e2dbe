"""The survey file format: JSON and CSV layouts, renormalisation warnings, one-line errors."""

import copy
import json

import numpy as np
import pytest

from workbench.survey.questionnaire import Survey, SurveyFormatError, load_survey

VALID = {
    "name": "Tiny",
    "questions": [
        {"id": "divorce", "text": "Is divorce morally acceptable?", "type": "single",
         "options": ["Yes", "No", "Depends"], "dimension": "TDI"},
        {"id": "values", "text": "Which matter most?", "type": "multiple",
         "options": ["Family", "Work", "Religion"]},
    ],
    "human": {
        "Japan": {"divorce": {"Yes": 0.5, "No": 0.3, "Depends": 0.2}},
        "United States": {"divorce": {"Yes": 0.6, "No": 0.4},
                          "values": {"Family": 0.5, "Work": 0.25, "Religion": 0.25}},
    },
    "groups": {"Japan": {"women 18-29": {"divorce": {"Yes": 0.7, "No": 0.2, "Depends": 0.1}}}},
}


def write_json(tmp_path, data, name="survey.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_text(tmp_path, text, name="survey.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_json_loads_questions_and_distributions_in_option_order(tmp_path):
    survey, warnings = load_survey(write_json(tmp_path, VALID))
    assert warnings == []
    assert [q.id for q in survey.questions] == ["divorce", "values"]
    assert survey.question("divorce").dimension == "TDI"
    assert survey.question("values").type == "multiple"
    assert survey.countries == ["Japan", "United States"]
    # an option left out of a distribution has share 0
    np.testing.assert_allclose(survey.distribution("United States", "divorce"), [0.6, 0.4, 0.0])
    np.testing.assert_allclose(survey.distribution("Japan", "divorce", group="women 18-29"),
                               [0.7, 0.2, 0.1])


def test_json_renormalises_with_one_warning_naming_the_paths(tmp_path):
    data = copy.deepcopy(VALID)
    data["human"]["Japan"]["divorce"] = {"Yes": 0.4, "No": 0.3, "Depends": 0.1}  # sums to 0.8
    data["human"]["United States"]["values"] = {"Family": 1, "Work": 1, "Religion": 2}  # sums to 4
    survey, warnings = load_survey(write_json(tmp_path, data))
    assert len(warnings) == 1
    w = warnings[0]
    assert "survey.json" in w and "2 distribution(s)" in w
    assert '$.human.Japan.divorce (sum 0.8)' in w
    assert '$.human["United States"].values (sum 4)' in w
    assert "\n" not in w
    np.testing.assert_allclose(survey.distribution("Japan", "divorce"), [0.5, 0.375, 0.125])
    np.testing.assert_allclose(survey.distribution("United States", "values"), [0.25, 0.25, 0.5])


def test_sum_within_tolerance_is_not_reported(tmp_path):
    data = copy.deepcopy(VALID)
    data["human"]["Japan"]["divorce"] = {"Yes": 0.5, "No": 0.3, "Depends": 0.2000000001}
    _, warnings = load_survey(write_json(tmp_path, data))
    assert warnings == []


CSV_OK = """question_id,question_text,question_type,options,dimension,country,group,option,share
divorce,Is divorce morally acceptable?,single,Yes | No | Depends,tdi,Japan,,Yes,0.5
divorce,,,,,Japan,,No,0.3
divorce,,,,,Japan,,Depends,0.2
divorce,,,,,Japan,women 18-29,Yes,0.35
divorce,,,,,Japan,women 18-29,No,0.35
values,"Which matter most, if any?",multiple,Family | Work | Religion,,,,,
values,,,,,United States,,Family,0.5
values,,,,,United States,,Work,0.5
"""


def test_csv_layout_with_groups_definition_rows_and_renormalisation(tmp_path):
    survey, warnings = load_survey(write_text(tmp_path, CSV_OK))
    q = survey.question("divorce")
    assert q.options == ("Yes", "No", "Depends") and q.dimension == "TDI"
    assert survey.question("values").text == "Which matter most, if any?"
    np.testing.assert_allclose(survey.distribution("Japan", "divorce"), [0.5, 0.3, 0.2])
    np.testing.assert_allclose(survey.distribution("United States", "values"), [0.5, 0.5, 0.0])
    # women 18-29: 0.35 + 0.35 = 0.7, renormalised to 0.5 / 0.5 / 0
    np.testing.assert_allclose(survey.distribution("Japan", "divorce", "women 18-29"), [0.5, 0.5, 0])
    assert len(warnings) == 1
    assert "lines 5, 6 (Japan/women 18-29, divorce) (sum 0.7)" in warnings[0]
    assert "line 2" not in warnings[0]


def _mutated(change):
    data = copy.deepcopy(VALID)
    change(data)
    return data


JSON_ERRORS = [
    (lambda d: d["questions"][0].update(type="choice"),
     ["$.questions[0].type: ", "type 'choice'", "single, multiple, scale"]),
    (lambda d: d["questions"][1].update(dimension="XYZ"),
     ["$.questions[1].dimension: ", "dimension 'XYZ'", "EVI"]),
    (lambda d: d["questions"][0].update(options=["Yes"]),
     ["$.questions[0].options: ", "1 option(s)", "at least 2"]),
    (lambda d: d["questions"][0].update(options=["Yes", "yes", "No"]),
     ["$.questions[0].options: ", "repeats option", "once"]),
    (lambda d: d["questions"][1].update(id="divorce"),
     ["$.questions[1].id", "used twice"]),
    (lambda d: d["questions"][0].update(answers=[]),
     ["$.questions[0].answers", "unknown question key"]),
    (lambda d: d.update(questons=[]),
     ["$.questons", "did you mean 'questions'"]),
    (lambda d: d["human"]["Japan"]["divorce"].update(Yess=0.1),
     ['$.human.Japan.divorce.Yess', "not an option of question 'divorce'",
      "did you mean 'Yes'", "use one of 'Yes', 'No', 'Depends'"]),
    (lambda d: d["human"]["Japan"].update(abortion={"Yes": 1}),
     ["$.human.Japan.abortion", "unknown question id 'abortion'"]),
    (lambda d: d["human"]["Japan"]["divorce"].update(No="30%"),
     ["$.human.Japan.divorce.No", "share '30%' is not a number"]),
    (lambda d: d["human"]["Japan"]["divorce"].update(No=True),
     ["$.human.Japan.divorce.No", "is not a number"]),
    (lambda d: d["human"]["Japan"]["divorce"].update(No=-0.1),
     ["$.human.Japan.divorce.No", "non-negative"]),
    (lambda d: d["human"]["Japan"].update(divorce={"Yes": 0, "No": 0}),
     ["$.human.Japan.divorce", "all shares", "are 0"]),
    # the error is in the last distribution: nothing of the earlier, valid ones is returned
    (lambda d: d["groups"]["Japan"]["women 18-29"]["divorce"].update(Maybe=0.1),
     ['$.groups.Japan["women 18-29"].divorce.Maybe', "not an option"]),
]


@pytest.mark.parametrize("change,expected", JSON_ERRORS)
def test_json_errors_name_file_place_and_fix(tmp_path, change, expected):
    path = write_json(tmp_path, _mutated(change))
    with pytest.raises(SurveyFormatError) as info:
        load_survey(path)
    message = str(info.value)
    assert message.startswith("survey.json: ")
    assert "\n" not in message
    assert " — " in message  # problem — fix
    for part in expected:
        assert part in message


def test_json_syntax_error_gives_line_and_column(tmp_path):
    path = write_text(tmp_path, '{\n  "questions": [\n    {"id": "q1",}\n  ]\n}', "broken.json")
    with pytest.raises(SurveyFormatError, match=r"^broken\.json: line 3 column 17: invalid JSON"):
        load_survey(path)


def test_survey_format_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="unsupported file type '.xlsx'"):
        load_survey(write_text(tmp_path, "x", "survey.xlsx"))


HEADER = "question_id,question_text,question_type,options,dimension,country,group,option,share\n"
CSV_ERRORS = [
    (HEADER + "q1,Q?,single,Yes | No,,Japan,,Yes,0.5\nq1,,,,,Japan,,Maybe,0.5\n",
     ["line 3", "option 'Maybe' is not an option of question 'q1'", "use one of 'Yes', 'No'"]),
    (HEADER + "q1,Q?,single,Yes | No,,Japan,,Yes,0.5\nq1,,multiple,,,Japan,,No,0.5\n",
     ["line 3", "question_type 'multiple' but line 2 gave 'single'", "leave it blank"]),
    (HEADER + "q1,Q?,single,Yes | No,,Japan,,Yes,half\n",
     ["line 2", "share 'half' is not a number"]),
    (HEADER + "q1,Q?,single,Yes | No,,Japan,,Yes,0.5\nq1,,,,,Japan,,Yes,0.5\n",
     ["line 3", "already has a share on line 2", "one row per option"]),
    (HEADER + "q1,Q?,single,Yes | No,,,,Yes,0.5\n",
     ["line 2", "blank country", "fill country, option and share"]),
    (HEADER + "q1,Q?,single,,,Japan,,Yes,0.5\n",
     ["line 2", "no options on any row", "fill options on its first row"]),
    (HEADER + "q1,Q?,single,Yes | No,XYZ,Japan,,Yes,0.5\n",
     ["line 2", "dimension 'XYZ'"]),
    (HEADER + ",Q?,single,Yes | No,,Japan,,Yes,0.5\n",
     ["line 2", "blank question_id"]),
    ("question_id,question_text,question_type,options,country,option,shares\n",
     ["line 1", "unknown column 'shares'", "did you mean 'share'"]),
    ("question_id,question_text,question_type,options,country,option\n",
     ["line 1", "missing column 'share'"]),
    (HEADER, ["no rows below the header"]),
]


@pytest.mark.parametrize("text,expected", CSV_ERRORS)
def test_csv_errors_name_file_line_and_fix(tmp_path, text, expected):
    with pytest.raises(SurveyFormatError) as info:
        load_survey(write_text(tmp_path, text))
    message = str(info.value)
    assert message.startswith("survey.csv: ")
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_survey_model_rejects_unnormalised_shares_built_in_code():
    with pytest.raises(ValueError, match="sum to 1"):
        Survey(questions=[{"id": "q", "text": "Q?", "type": "single", "options": ["a", "b"]}],
               human={"Japan": {"q": {"a": 0.5, "b": 0.4}}})
