"""KL / JS against hand-computed values, diversity figures, averages and score rows."""

import math

import numpy as np
import pytest

from workbench.survey.answers import ParsedAnswer
from workbench.survey.metrics import (
    answers_to_distribution,
    average_scores,
    distinct_answers,
    entropy,
    js_distance,
    kl_divergence,
    kl_label,
    score_questions,
    score_rows,
    smooth,
)
from workbench.survey.questionnaire import Survey


def ok(*options):
    return ParsedAnswer(list(options), True, "test")


BAD = ParsedAnswer(None, False, "no option recognised")


def test_kl_hand_computed_without_smoothing():
    # KL([.5,.5] || [.25,.75]) = .5 ln(.5/.25) + .5 ln(.5/.75)
    #   = .5 * 0.693147 + .5 * (-0.405465) = 0.143841
    assert kl_divergence([0.5, 0.5], [0.25, 0.75], epsilon=0) == pytest.approx(0.143841, abs=1e-6)
    # counts are normalised first: [2, 2] vs [1, 3] is the same
    assert kl_divergence([2, 2], [1, 3], epsilon=0) == pytest.approx(0.143841, abs=1e-6)
    # the default epsilon = 1e-6 barely moves it
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.143841, abs=1e-5)
    assert kl_divergence([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.0, abs=1e-9)


def test_kl_smoothing_of_a_model_zero():
    # epsilon = 0.01 over k = 3: m~ = ([1, 0, 0] + .01) / 1.03 = [0.980583, 0.009709, 0.009709]
    np.testing.assert_allclose(smooth([1, 0, 0], 0.01), [1.01 / 1.03, 0.01 / 1.03, 0.01 / 1.03])
    # KL([.5,.5,0] || m~) = .5 ln(.5/.980583) + .5 ln(.5/.009709) + 0 (human zero)
    #   = .5 * (-0.673539) + .5 * 3.941582 = 1.634022
    assert kl_divergence([0.5, 0.5, 0], [1, 0, 0], epsilon=0.01) == pytest.approx(1.634022, abs=1e-6)
    # without smoothing a missed human option is infinite
    assert kl_divergence([0.5, 0.5, 0], [1, 0, 0], epsilon=0) == math.inf
    # KL is not symmetric
    assert kl_divergence([1, 0, 0], [0.5, 0.5, 0], epsilon=0) == pytest.approx(math.log(2))


def test_kl_label_names_the_smoothing_constant():
    assert kl_label() == "KL (ε = 1e-6)"  # the default, KL_EPSILON
    assert kl_label(0.01) == "KL (ε = 0.01)" and kl_label(2.5e-7) == "KL (ε = 2.5e-7)" and kl_label(0) == "KL (ε = 0)"


def test_js_distance_hand_computed():
    # p = [.5,.5], q = [1,0], M = [.75,.25]
    # KL2(p||M) = .5 log2(.5/.75) + .5 log2(.5/.25) = .5 * (-0.584963) + .5 * 1 = 0.207519
    # KL2(q||M) = log2(1/.75) = 0.415037
    # JSD = (0.207519 + 0.415037) / 2 = 0.311278; distance = sqrt(0.311278) = 0.557923
    assert js_distance([0.5, 0.5], [1, 0]) == pytest.approx(0.557923, abs=1e-6)
    assert js_distance([1, 0], [0.5, 0.5]) == pytest.approx(0.557923, abs=1e-6)
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint: the maximum
    assert js_distance([0.3, 0.7], [0.3, 0.7]) == pytest.approx(0.0, abs=1e-9)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="2 options but model has 3"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="no mass"):
        js_distance([0, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match="non-negative"):
        entropy([-0.1, 1.1])


def test_entropy_and_distinct_answers_by_hand():
    # -(.5 log2 .5 + 2 * .25 log2 .25) = .5 + 2 * .5 = 1.5 bits
    assert entropy([0.5, 0.25, 0.25]) == pytest.approx(1.5)
    assert entropy([1, 0, 0]) == 0.0
    assert entropy([1, 1, 1, 1]) == pytest.approx(2.0)
    assert entropy([0.5, 0.5], base=math.e) == pytest.approx(math.log(2))
    assert distinct_answers([ok("b"), ok("b"), ok("c"), BAD]) == 2
    assert distinct_answers([ok("a", "c"), ok("c", "a"), ok("a")]) == 2  # sets, not orders


def test_answers_to_distribution_counts_valid_answers_and_mentions():
    d = answers_to_distribution([ok("b"), ok("b"), ok("c"), BAD], ["a", "b", "c"])
    assert d.counts.tolist() == [0, 2, 1] and d.n_valid == 3 and d.n_invalid == 1
    np.testing.assert_allclose(d.shares, [0, 2 / 3, 1 / 3])
    # multiple choice: each named option is one mention; shares are of 3 mentions
    d = answers_to_distribution([ok("a", "c"), ok("a")], ["a", "b", "c"])
    np.testing.assert_allclose(d.shares, [2 / 3, 0, 1 / 3])
    none = answers_to_distribution([BAD], ["a", "b"])
    assert none.n_valid == 0 and none.shares.tolist() == [0, 0]
    with pytest.raises(ValueError, match="'z' is not one of"):
        answers_to_distribution([ok("z")], ["a", "b"])


@pytest.fixture
def survey():
    q = lambda qid, dim: {"id": qid, "text": f"{qid}?", "type": "single", "options": ["a", "b"],
                          "dimension": dim}
    return Survey(
        questions=[q("q1", "TDI"), q("q2", "TDI"), q("q3", None)],
        human={"Japan": {"q1": {"a": 0.5, "b": 0.5}, "q2": {"a": 1.0, "b": 0.0}},
               "United States": {"q1": {"a": 0.5, "b": 0.5}, "q3": {"a": 0.5, "b": 0.5}}},
    )


def test_scores_averages_and_rows(survey):
    model = {
        "Japan": {"q1": [ok("a"), ok("b")], "q2": [ok("a"), ok("a"), ok("b"), ok("b")],
                  "q3": [ok("a")]},  # no human q3 for Japan: skipped
        "United States": {"q1": [BAD, BAD], "q3": [ok("b"), ok("b"), BAD]},
    }
    scores = {(s.country, s.question_id): s for s in score_questions(survey, model)}
    assert set(scores) == {("Japan", "q1"), ("Japan", "q2"), ("United States", "q1"),
                           ("United States", "q3")}
    # Japan q1: model [.5,.5] = human -> 0; entropy 1 bit; 2 distinct answers
    assert scores["Japan", "q1"].kl == pytest.approx(0, abs=1e-9)
    assert scores["Japan", "q1"].entropy == pytest.approx(1.0)
    # Japan q2: KL([1,0] || [.5,.5]) = 1 * ln(1/.5) = 0.693147; JS distance 0.557923 (as above)
    assert scores["Japan", "q2"].kl == pytest.approx(0.693147, abs=1e-5)
    assert scores["Japan", "q2"].js == pytest.approx(0.557923, abs=1e-6)
    assert scores["Japan", "q2"].distinct == 2 and scores["Japan", "q2"].n == 4
    # US q1: no valid answer -> NaN, kept so the gap is visible
    us1 = scores["United States", "q1"]
    assert math.isnan(us1.kl) and us1.n == 0 and us1.n_invalid == 2
    # US q3: model [0,1] vs human [.5,.5]: .5 ln(.5/1e-6) + .5 ln(.5/1) (epsilon = 1e-6)
    #   = .5 * 13.122363 + .5 * (-0.693147) = 6.214608
    assert scores["United States", "q3"].kl == pytest.approx(6.214608, abs=1e-4)
    assert scores["United States", "q3"].entropy == 0.0

    by_country = average_scores(scores.values(), "country")
    # Japan: (0 + 0.693147) / 2 = 0.346574 over 2 questions
    assert by_country["Japan"].kl == pytest.approx(0.346574, abs=1e-5)
    assert by_country["Japan"].n == 2 and by_country["Japan"].entropy == pytest.approx(1.0)
    assert by_country["United States"].n == 1 and by_country["United States"].n_unanswered == 1
    by_dimension = average_scores(scores.values(), "dimension")
    # TDI: Japan q1, Japan q2, US q1 (unanswered) -> mean of 0 and 0.693147; q3 has no dimension
    assert set(by_dimension) == {"TDI"}
    assert by_dimension["TDI"].kl == pytest.approx(0.346574, abs=1e-5)
    assert by_dimension["TDI"].n == 2 and by_dimension["TDI"].n_unanswered == 1
    by_question = average_scores(scores.values(), "question")
    # q3: only the US answered: 6.214608
    assert by_question["q3"].kl == pytest.approx(6.214608, abs=1e-4)
    assert by_question["q1"].distinct == 2.0

    rows = score_rows(scores.values(), source="mistral-7b")
    assert rows[0] == {"group": "Japan", "source": "mistral-7b", "method": "survey-KL",
                       "value": pytest.approx(0.346574, abs=1e-5), "n": 2}
    assert rows[1]["group"] == "United States" and rows[1]["n"] == 1
    js_rows = score_rows(scores.values(), source="m", metric="js")
    assert {r["method"] for r in js_rows} == {"survey-JS"}


def test_group_distributions_are_compared_when_asked():
    survey = Survey(
        questions=[{"id": "q", "text": "q?", "type": "single", "options": ["a", "b"]}],
        human={"Japan": {"q": {"a": 0.5, "b": 0.5}}},
        groups={"Japan": {"women": {"q": {"a": 1.0, "b": 0.0}}}},
    )
    model = {"Japan": {"q": [ok("a")]}}
    (country,) = score_questions(survey, model, epsilon=0)
    (women,) = score_questions(survey, model, group="women", epsilon=0)
    # country: .5 ln(.5/1) + .5 ln(.5/0) = inf without smoothing; women: 1 ln(1/1) = 0
    assert country.kl == math.inf and women.kl == 0.0
