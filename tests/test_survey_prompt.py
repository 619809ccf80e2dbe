"""The respondent prompt template and the values for its placeholders."""

import prompts
from workbench.survey.prompt_fields import MULTIPLE_HINT, respondent_prompt_fields
from workbench.survey.questionnaire import Question

Q = Question(id="g", text="Do you personally believe that gambling is morally acceptable?",
             type="single", options=["Morally acceptable", "Not a moral issue", "Morally unacceptable"])


def test_template_keeps_the_papers_wording_and_fields_fill_it():
    text = prompts.load("survey_respondent")
    assert "I want you to act as a citizen from {country}" in text
    assert "in the format 'Answer:' and explain afterward using 'Explanation:'" in text
    fields = respondent_prompt_fields(Q, "Japan", "Osaka")
    assert prompts.placeholders("survey_respondent") == set(fields)
    prompt = prompts.render("survey_respondent", **fields)  # refuses missing/unexpected fields
    assert "citizen from Japan, living in Osaka" in prompt
    assert "from 3 choices" in prompt
    assert "Request: Do you personally believe that gambling" in prompt
    assert "A. Morally acceptable\nB. Not a moral issue\nC. Morally unacceptable" in prompt


def test_without_persona_the_city_is_the_country_and_multiple_gets_a_hint():
    assert respondent_prompt_fields(Q, "Japan")["city"] == "Japan"
    multi = Question(id="m", text="Which?", type="multiple", options=["x", "y"])
    assert respondent_prompt_fields(multi, "Japan", "Kyoto")["options"].endswith(MULTIPLE_HINT)
    assert MULTIPLE_HINT not in respondent_prompt_fields(Q, "Japan", "Kyoto")["options"]
