"""Agreement statistics for the App. C human evaluation, checked by hand and by textbook."""

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotations.agreement import (
    AgreementReport,
    agreement_report,
    categories,
    coincidence_matrix,
    cohen_kappa,
    disagreements,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha_nominal,
    pairwise_kappa,
    percent_agreement,
    rater_vs_model,
    split_items,
    table_from_rows,
)

# Four raters, four items, Yes/No, used for the by-hand checks below.
#          i1   i2   i3   i4
#   A      y    y    n    n
#   B      y    y    n    n
#   C      y    n    y    n
#   D      y    y    y    n
FOUR = {
    "i1": {"A": "yes", "B": "yes", "C": "yes", "D": "yes"},
    "i2": {"A": "yes", "B": "yes", "C": "no", "D": "yes"},
    "i3": {"A": "no", "B": "no", "C": "yes", "D": "yes"},
    "i4": {"A": "no", "B": "no", "C": "no", "D": "no"},
}


def kappa_of(result, a, b):
    return next(p.kappa for p in result.pairs if {p.rater_a, p.rater_b} == {a, b})


# ------------------------------------------------------------------------ Cohen's κ


def test_two_rater_kappa_matches_hand_computation():
    a = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    b = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    # Agreements at items 1–4 (1,1) and 7–9 (0,0): p_o = 7/10 = 0.7.
    # A says 1 on 6/10, B on 5/10: p_e = 0.6·0.5 + 0.4·0.5 = 0.5.
    # κ = (p_o − p_e) / (1 − p_e) = (0.7 − 0.5) / 0.5 = 0.4.
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    table = {i: {"A": x, "B": y} for i, (x, y) in enumerate(zip(a, b))}
    result = pairwise_kappa(table)
    assert result.pairs[0].kappa == pytest.approx(0.4)
    assert result.pairs[0].n_items == 10
    assert result.mean == pytest.approx(0.4)


def test_kappa_agrees_with_sklearn_on_string_labels():
    rng = np.random.default_rng(0)
    a = list(rng.choice(["yes", "no", "unsure"], size=40))
    b = list(rng.choice(["yes", "no", "unsure"], size=40))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_four_raters_pairwise_average_by_hand():
    result = pairwise_kappa(FOUR)
    # A–B identical: κ = 1.
    # A–C: p_o = 2/4, both say yes half the time: p_e = .5·.5 + .5·.5 = .5 → κ = 0.
    # A–D: p_o = 3/4, p_e = .5·.75 + .5·.25 = .5 → κ = .5; B–D the same (B = A).
    # B–C = A–C = 0.  C–D: p_o = 3/4, p_e = .5·.75 + .5·.25 = .5 → κ = .5.
    expected = {("A", "B"): 1.0, ("A", "C"): 0.0, ("A", "D"): 0.5,
                ("B", "C"): 0.0, ("B", "D"): 0.5, ("C", "D"): 0.5}
    for (a, b), k in expected.items():
        assert kappa_of(result, a, b) == pytest.approx(k)
    assert [(p.rater_a, p.rater_b) for p in result.pairs] == list(expected)
    assert result.mean == pytest.approx(2.5 / 6)
    assert result.undefined_pairs == []


# ------------------------------------------------------------------------ Fleiss' κ


# Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa"): 10 subjects, 14 raters, 5
# categories; P̄ = 0.378, P_e = 0.213, κ = 0.210.
FLEISS_COUNTS = np.array([
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
])


def test_fleiss_kappa_textbook_example():
    assert fleiss_kappa_from_counts(FLEISS_COUNTS) == pytest.approx(0.210, abs=5e-4)
    # The same data as a ratings table; raters differ per subject, as Fleiss allows.
    table = {}
    for i, row in enumerate(FLEISS_COUNTS):
        labels = [c + 1 for c, n in enumerate(row) for _ in range(n)]
        table[f"s{i}"] = {f"r{j}": label for j, label in enumerate(labels)}
    result = fleiss_kappa(table)
    assert result.kappa == pytest.approx(0.210, abs=5e-4)
    assert (result.n_raters, result.n_items, result.excluded_items) == (14, 10, [])


def test_fleiss_kappa_four_raters_by_hand():
    # Counts (yes, no): i1 (4,0) i2 (3,1) i3 (2,2) i4 (0,4); m = 4, m(m−1) = 12.
    # P_i = 12/12, 6/12, 4/12, 12/12 → P̄ = 17/24.
    # p_yes = 9/16, p_no = 7/16 → P_e = (81 + 49)/256 = 65/128.
    # κ = (17/24 − 65/128) / (1 − 65/128) = (77/384) / (189/384) = 11/27.
    assert fleiss_kappa(FOUR).kappa == pytest.approx(11 / 27)


def test_fleiss_kappa_excludes_items_with_fewer_raters():
    table = {k: dict(v) for k, v in FOUR.items()}
    table["i5"] = {"A": "yes", "B": "no", "C": "yes"}  # D missing
    result = fleiss_kappa(table)
    assert result.n_raters == 4
    assert result.n_items == 4
    assert result.excluded_items == ["i5"]
    assert result.kappa == pytest.approx(11 / 27)


def test_fleiss_counts_must_have_equal_row_sums():
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa_from_counts(np.array([[2, 1], [1, 1]]))


# ------------------------------------------------------------------ Krippendorff's α


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example
# with missing data: 4 observers, 12 units, '.' = no value; α = 0.743.
KRIPPENDORFF_ROWS = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}


def krippendorff_table():
    table = {u: {} for u in range(1, 13)}
    for rater, row in KRIPPENDORFF_ROWS.items():
        for unit, value in enumerate(row.split(), start=1):
            if value != ".":
                table[unit][rater] = int(value)
    return table


def test_krippendorff_alpha_textbook_example():
    table = krippendorff_table()
    assert krippendorff_alpha_nominal(table) == pytest.approx(0.743, abs=5e-4)
    o, cats = coincidence_matrix(table)
    # The paper's coincidence matrix: n = 40 pairable values (unit 12 has one value).
    assert cats == [1, 2, 3, 4, 5]
    assert o.sum() == pytest.approx(40)
    assert np.allclose(o, o.T)
    assert np.diag(o) == pytest.approx([7, 10, 8, 4, 3])
    assert o[0, 1] == pytest.approx(4 / 3)
    assert o.sum(axis=1) == pytest.approx([9, 13, 10, 5, 3])


def test_krippendorff_alpha_four_raters_by_hand():
    # Diagonal o_cc = Σ_u n_uc(n_uc − 1)/(m_u − 1): yes 12/3 + 6/3 + 2/3 = 20/3,
    # no 2/3 + 12/3 = 14/3, so Σ o_cc = 34/3; n = 16, n_yes = 9, n_no = 7.
    # α = 1 − (n − 1)(n − Σ o_cc) / (n² − Σ n_c²) = 1 − 15·(14/3)/(256 − 130) = 1 − 70/126 = 4/9.
    assert krippendorff_alpha_nominal(FOUR) == pytest.approx(4 / 9)


# ----------------------------------------------------------------- percent agreement


def test_percent_agreement_by_hand():
    # Share of agreeing pairs out of 6: i1 6/6, i2 3/6 (the three yeses), i3 2/6 (2–2),
    # i4 6/6. Mean = (1 + 1/2 + 1/3 + 1) / 4 = 17/24.
    assert percent_agreement(FOUR) == pytest.approx(17 / 24)


def test_percent_agreement_skips_single_rater_items():
    table = {"a": {"A": 1, "B": 1}, "b": {"A": 1, "B": 0}, "c": {"A": 0}}
    assert percent_agreement(table) == pytest.approx(0.5)


# ------------------------------------------------------------------ degenerate cases


def test_perfect_agreement():
    table = {i: {r: i % 2 for r in "ABCD"} for i in range(6)}
    report = agreement_report(table)
    assert report.pairwise_kappa.mean == pytest.approx(1.0)
    assert report.fleiss_kappa.kappa == pytest.approx(1.0)
    assert report.krippendorff_alpha == pytest.approx(1.0)
    assert report.percent_agreement == pytest.approx(1.0)
    assert report.disagreements == [] and report.even_splits == []


def test_everyone_uses_one_category_is_undefined_not_a_crash():
    table = {i: {r: "yes" for r in "ABCD"} for i in range(5)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = agreement_report(table)
    assert all(math.isnan(p.kappa) for p in report.pairwise_kappa.pairs)
    assert math.isnan(report.pairwise_kappa.mean)
    assert len(report.pairwise_kappa.undefined_pairs) == 6
    assert math.isnan(report.fleiss_kappa.kappa)
    assert math.isnan(report.krippendorff_alpha)
    assert report.percent_agreement == pytest.approx(1.0)


def test_undefined_pair_is_reported_and_left_out_of_the_average():
    # A and B say yes to everything (κ undefined); C varies.
    # A–C: p_o = 2/4, p_e = 1·(2/4) + 0 = .5 → κ = 0; B–C the same.
    table = {
        1: {"A": "yes", "B": "yes", "C": "yes"},
        2: {"A": "yes", "B": "yes", "C": "no"},
        3: {"A": "yes", "B": "yes", "C": "yes"},
        4: {"A": "yes", "B": "yes", "C": "no"},
    }
    result = pairwise_kappa(table)
    assert math.isnan(kappa_of(result, "A", "B"))
    assert kappa_of(result, "A", "C") == pytest.approx(0.0)
    assert result.undefined_pairs == [("A", "B")]
    assert result.mean == pytest.approx(0.0)


def test_one_rater_with_one_category_against_a_varying_rater():
    assert cohen_kappa(["yes"] * 4, ["yes", "no", "yes", "no"]) == pytest.approx(0.0)
    # A single shared item on which they differ: p_o = 0, p_e = 0 → κ = 0, defined.
    assert cohen_kappa(["yes"], ["no"]) == pytest.approx(0.0)


def test_missing_raters_use_shared_items_only():
    table = {
        1: {"A": 1, "B": 1, "C": 1},
        2: {"A": 0, "B": 0},
        3: {"A": 1, "C": 0},
        4: {"B": 0, "C": 0},
        5: {"A": None, "B": 1},  # None is a missing rating
    }
    result = pairwise_kappa(table)
    shared = {(p.rater_a, p.rater_b): p.n_items for p in result.pairs}
    assert shared == {("A", "B"): 2, ("A", "C"): 2, ("B", "C"): 2}
    assert kappa_of(result, "A", "B") == pytest.approx(1.0)
    # Item 5 has one rating: not pairable, so α matches the table without it.
    without_5 = {k: v for k, v in table.items() if k != 5}
    assert krippendorff_alpha_nominal(table) == pytest.approx(krippendorff_alpha_nominal(without_5))


def test_raters_with_no_shared_items():
    result = pairwise_kappa({1: {"A": 1}, 2: {"B": 0}, 3: {"A": 0}})
    assert result.pairs[0].n_items == 0
    assert math.isnan(result.mean)
    assert result.undefined_pairs == [("A", "B")]


def test_mixed_label_types_do_not_crash():
    table = {1: {"A": "yes", "B": 1}, 2: {"A": "no", "B": 0}, 3: {"A": "yes", "B": 1}}
    assert set(categories(table)) == {"yes", "no", 0, 1}
    assert not math.isnan(pairwise_kappa(table).mean)


# ------------------------------------------------------------------ latest label wins


def test_latest_label_wins_by_time():
    rows = [
        ("d1", "A", "no", "2025-01-03T10:00"),  # re-annotation, listed first on purpose
        ("d1", "A", "yes", "2025-01-01T09:00"),
        ("d1", "B", "yes", "2025-01-01T09:05"),
        ("d2", "A", "no", "2025-01-01T09:10"),
    ]
    assert table_from_rows(rows) == {"d1": {"A": "no", "B": "yes"}, "d2": {"A": "no"}}


def test_latest_label_wins_by_order_and_equal_times_keep_input_order():
    assert table_from_rows([(1, "A", 0), (1, "A", 1)]) == {1: {"A": 1}}
    assert table_from_rows([(1, "A", 0, 5), (1, "A", 1, 5)]) == {1: {"A": 1}}


def test_none_label_withdraws_a_rating():
    rows = [(1, "A", "yes"), (1, "B", "no"), (1, "B", None), (2, "A", "no"), (2, "A", None)]
    assert table_from_rows(rows) == {1: {"A": "yes"}}


def test_rows_as_mappings_with_custom_keys():
    rows = [
        {"doc": "d1", "annotator": "A", "answer": "no", "at": 2},
        {"doc": "d1", "annotator": "A", "answer": "yes", "at": 1},
    ]
    table = table_from_rows(rows, keys=("doc", "annotator", "answer", "at"))
    assert table == {"d1": {"A": "no"}}


def test_rows_mixing_timed_and_untimed_are_refused():
    with pytest.raises(ValueError, match="every row has a time"):
        table_from_rows([(1, "A", 0, 1), (1, "B", 0)])
    with pytest.raises(ValueError, match="expected"):
        table_from_rows([(1, "A")])


# ------------------------------------------------------- disagreements and 2–2 splits


def test_disagreements_and_even_splits():
    assert disagreements(FOUR) == ["i2", "i3"]
    assert split_items(FOUR, 4) == ["i3"]  # 2–2; i2 is 3–1


def test_split_items_needs_all_n_ratings_and_a_tie_for_the_top_label():
    table = {
        "tie3": {"A": "x", "B": "x", "C": "y", "D": "y"},
        "all_differ": {"A": "w", "B": "x", "C": "y", "D": "z"},
        "plurality": {"A": "x", "B": "x", "C": "y", "D": "z"},
        "incomplete": {"A": "x", "B": "y"},
        "agreed": {"A": "x", "B": "x", "C": "x", "D": "x"},
    }
    assert split_items(table, 4) == ["tie3", "all_differ"]
    assert split_items(table, 2) == ["incomplete"]
    assert disagreements(table) == ["tie3", "all_differ", "plurality", "incomplete"]


def test_reannotation_round_resolves_disagreements():
    first = [(i, r, lab, 1) for i, ratings in FOUR.items() for r, lab in ratings.items()]
    second = [("i2", "C", "yes", 2), ("i3", "A", "yes", 2)]
    table = table_from_rows(first + second)
    assert disagreements(table) == ["i3"]
    assert split_items(table) == []  # i3 is now 3–1


# --------------------------------------------------------------- model as one rater


def test_rater_vs_model():
    model = {"i1": "yes", "i2": "yes", "i3": "no", "i4": "no", "unrated": "yes"}
    result = rater_vs_model(FOUR, model)
    assert result.model_name == "recognizer"
    # The model labels exactly as A and B; against C and D as A does.
    assert kappa_of(result, "A", "recognizer") == pytest.approx(1.0)
    assert kappa_of(result, "B", "recognizer") == pytest.approx(1.0)
    assert kappa_of(result, "C", "recognizer") == pytest.approx(0.0)
    assert kappa_of(result, "D", "recognizer") == pytest.approx(0.5)
    assert result.mean == pytest.approx(2.5 / 4)
    assert all(p.n_items == 4 for p in result.pairs)


def test_rater_vs_model_refuses_a_name_clash():
    with pytest.raises(ValueError, match="also a human rater"):
        rater_vs_model(FOUR, {"i1": "yes"}, model_name="A")


# ------------------------------------------------------------------------ the report


def test_report_bundles_everything_and_round_trips_through_json():
    report = agreement_report(FOUR, {"i1": "yes", "i2": "yes", "i3": "no", "i4": "no"})
    assert report.n_items == 4 and report.n_ratings == 16 and report.n_annotators == 4
    assert report.raters == ["A", "B", "C", "D"]
    assert report.categories == ["no", "yes"]
    assert report.pairwise_kappa.mean == pytest.approx(2.5 / 6)
    assert report.fleiss_kappa.kappa == pytest.approx(11 / 27)
    assert report.krippendorff_alpha == pytest.approx(4 / 9)
    assert report.percent_agreement == pytest.approx(17 / 24)
    assert report.disagreements == ["i2", "i3"] and report.even_splits == ["i3"]
    assert report.model is not None and report.model.mean == pytest.approx(0.625)

    data = json.loads(report.model_dump_json())
    assert data["pairwise_kappa"]["mean"] == pytest.approx(2.5 / 6)
    assert AgreementReport.model_validate_json(report.model_dump_json()) == report


def test_report_json_has_null_for_undefined_values():
    report = agreement_report({1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 1}})
    data = json.loads(report.model_dump_json())  # strict JSON: no NaN tokens
    assert data["pairwise_kappa"]["mean"] is None
    assert data["krippendorff_alpha"] is None
    assert report.model is None
    back = AgreementReport.model_validate_json(report.model_dump_json())
    assert math.isnan(back.pairwise_kappa.mean)


def test_alpha_per_code_flags_only_the_code_the_annotators_disagree_on():
    from annotations.agreement import alpha_per_unit, krippendorff_alpha_nominal, unreliable_units

    rng = np.random.default_rng(3)
    table, unit_of = {}, {}
    for code in ("care", "duty", "freedom"):
        for d in range(30):
            truth = str(rng.integers(2))
            other = truth if code != "duty" else str(rng.integers(2))  # on 'duty' bob answers at random
            table[(code, d)] = {"ana": truth, "bob": other}
            unit_of[(code, d)] = code
    alphas = {a.unit: a for a in alpha_per_unit(table, unit_of, n_boot=300, seed=1)}
    assert alphas["care"].alpha == pytest.approx(1.0) and alphas["freedom"].n_items == 30
    duty = {i: r for i, r in table.items() if unit_of[i] == "duty"}
    assert alphas["duty"].alpha == pytest.approx(krippendorff_alpha_nominal(duty))
    assert alphas["duty"].low <= alphas["duty"].alpha <= alphas["duty"].high < 0.667
    assert [a.unit for a in unreliable_units(list(alphas.values()))] == ["duty"]
