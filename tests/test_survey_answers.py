"""Reading the chosen option(s) out of a respondent's reply."""

import pytest

from workbench.survey.answers import parse_answer, parse_answer_for
from workbench.survey.questionnaire import Question

PEW = ["Morally acceptable", "Not a moral issue", "Morally unacceptable"]
LIKERT = ["Strongly agree", "Agree", "Disagree", "Strongly disagree"]
SCALE = ["1 - Strongly disagree", "2", "3", "4", "5 - Strongly agree"]
VALUES = ["Family", "Friends", "Work", "Religion"]


@pytest.mark.parametrize("reply,expected", [
    ("Answer: B\nExplanation: it is a private matter.", ["Not a moral issue"]),
    ("Answer: (b)", ["Not a moral issue"]),
    ("Answer: c.", ["Morally unacceptable"]),
    ("Answer: B (Not a moral issue)", ["Not a moral issue"]),
    ("**Answer:** C. Morally unacceptable\n**Explanation:** ...", ["Morally unacceptable"]),
    ("Answer: B, because it is a private matter", ["Not a moral issue"]),
    ("Answer: 2", ["Not a moral issue"]),  # 1-based position
    ("Answer: Not a moral issue", ["Not a moral issue"]),
    ("answer: not a moral issue.\nExplanation: x", ["Not a moral issue"]),
    # "Not a moral issue" contains "moral" but no other option's words
    ("Answer: I think it is not a moral issue for most people", ["Not a moral issue"]),
    # "acceptable" is a whole word of one option only ("unacceptable" is another word)
    ("Answer: acceptable", ["Morally acceptable"]),
    ("Answer: unacceptable", ["Morally unacceptable"]),
    # only the answer part is read: the explanation may name other options
    ("Answer: Morally acceptable\n\nExplanation: Some find it morally unacceptable.",
     ["Morally acceptable"]),
    # the negated option is discarded, the other one counts
    ("Answer: It is not morally unacceptable; it is morally acceptable", ["Morally acceptable"]),
    # no 'Answer:' but a bare letter or label + that option's text
    ("B", ["Not a moral issue"]),
    ("B\n\nI chose this because it is private.", ["Not a moral issue"]),
    ("b) Not a moral issue\nExplanation: private.", ["Not a moral issue"]),
])
def test_single_choice_replies(reply, expected):
    parsed = parse_answer(reply, PEW, "single")
    assert parsed.valid, parsed.reason
    assert parsed.options == expected


@pytest.mark.parametrize("reply,reason", [
    # answer text naming two options
    ("Answer: Morally acceptable, though many find it morally unacceptable",
     "a single question got 2 answers"),
    ("Answer: A and C", "a single question got 2 answers"),
    # the letter and the text disagree
    ("Answer: A. Not a moral issue", "label A is 'Morally acceptable' but the text says"),
    ("Answer: It is not morally acceptable", "only names options after a negation"),
    ("Answer: D", "letter D is beyond the options A-C"),
    ("Answer: 4", "option number 4 is outside 1-3"),
    ("Answer: I cannot answer that.", "no option recognised"),
    ("Answer:\nExplanation: I would rather not say.", "'Answer:' is followed by nothing"),
    ("", "empty reply"),
    # without 'Answer:' only a bare label counts; prose that starts with "A"/"I" does not
    ("A moral issue for many people.", "no 'Answer:'"),
    ("I think B is right.", "no 'Answer:'"),
    ("B. I think so.", "no 'Answer:'"),
])
def test_invalid_single_choice_replies(reply, reason):
    parsed = parse_answer(reply, PEW, "single")
    assert not parsed.valid and parsed.options is None
    assert reason in parsed.reason


@pytest.mark.parametrize("reply,expected", [
    ("Answer: I strongly agree", ["Strongly agree"]),  # "agree" inside "strongly agree" not counted
    ("Answer: agree", ["Agree"]),
    ("Answer: Disagree", ["Disagree"]),  # "agree" is not a whole word of "disagree"
    ("Answer: I strongly disagree with that", ["Strongly disagree"]),
])
def test_options_whose_words_overlap(reply, expected):
    assert parse_answer(reply, LIKERT).options == expected


@pytest.mark.parametrize("reply,expected", [
    ("Answer: 4", ["4"]),
    ("Answer: 1", ["1 - Strongly disagree"]),  # scale value, not position
    ("Answer: 4/5", ["4"]),
    ("Answer: 4 out of 5", ["4"]),
    ("Answer: 5 - Strongly agree", ["5 - Strongly agree"]),
    ("Answer: strongly agree", ["5 - Strongly agree"]),
])
def test_scale_values(reply, expected):
    parsed = parse_answer(reply, SCALE, "scale")
    assert parsed.valid, parsed.reason
    assert parsed.options == expected


def test_scale_value_not_among_options_is_invalid():
    parsed = parse_answer("Answer: 7", SCALE, "scale")
    assert not parsed.valid and "value 7 is not one of the scale's options" in parsed.reason
    # on a 0..10 scale the number is the value: "0" is the first option, "10" the last
    zero_to_ten = [str(i) for i in range(11)]
    assert parse_answer("Answer: 0", zero_to_ten, "scale").options == ["0"]
    assert parse_answer("Answer: 10", zero_to_ten, "scale").options == ["10"]


@pytest.mark.parametrize("reply,expected", [
    ("Answer: A, C", ["Family", "Work"]),
    ("Answer: (a) and (d)", ["Family", "Religion"]),
    ("Answer: C, A", ["Family", "Work"]),  # question order
    ("Answer: 1; 3", ["Family", "Work"]),
    ("Answer: Family and religion", ["Family", "Religion"]),
    ("Answer: I value my family and my work most", ["Family", "Work"]),
    ("Answer: B", ["Friends"]),
])
def test_multiple_choice(reply, expected):
    parsed = parse_answer(reply, VALUES, "multiple")
    assert parsed.valid, parsed.reason
    assert parsed.options == expected


def test_explanation_is_kept_and_question_wrapper():
    q = Question(id="g", text="Gambling?", type="single", options=PEW)
    parsed = parse_answer_for(q, "Answer: C\nExplanation: **It harms families.**")
    assert parsed.options == ["Morally unacceptable"]
    assert parsed.explanation == "It harms families."
