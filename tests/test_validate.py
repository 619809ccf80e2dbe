"""``workbench validate`` on CSV files the test writes, with every figure checked by hand:
MTMM A (Eq. 5) and B (Eq. 6), predictive r, priming Δ, Cronbach's α and CV."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.measures.validate import validate
from workbench.validity import io

PAPER = Path(__file__).parent / "fixtures" / "paper_tables"  # Tables 1, 8, 10a and 11 of the paper

# Scores of 3 models (m1, m2, m3) for 4 cultures by two methods, chosen so that every correlation
# is one of ±1, ±0.5:
#   dove:   KR [1,2,3]  JP [2,4,6]  CN [3,2,1]  US [1,3,2]
#   survey: KR [1,2,3]  JP [6,4,2]  CN [5,3,1]  US [1,3,2]
SCORES = {
    "dove": {"KR": [1, 2, 3], "JP": [2, 4, 6], "CN": [3, 2, 1], "US": [1, 3, 2]},
    "survey": {"KR": [1, 2, 3], "JP": [6, 4, 2], "CN": [5, 3, 1], "US": [1, 3, 2]},
}
MODELS = ["m1", "m2", "m3"]
# Downstream performance: KOLD/KR rises with the models (r = 1 with both KR rows), HateXPlain/US
# is [0.7, 0.5, 0.6] (r = −1 with both US rows [1,3,2]), D3CODE/JP rises (dove JP r = 1, survey −1).
DOWNSTREAM = [("KOLD", "KR", [0.5, 0.6, 0.7]), ("HateXPlain", "US", [0.7, 0.5, 0.6]), ("D3CODE", "JP", [0.1, 0.2, 0.3]),
              ("JOLFCC", "XX", [0.1, 0.2, 0.3])]  # a group no method scored: left out with a note


def _write(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("method,group,source,value\n" + "".join(
        f"{m},{g},{s},{v}\n" for m, by_group in SCORES.items() for g, vals in by_group.items()
        for s, v in zip(MODELS, vals)), "utf-8")
    downstream = tmp_path / "downstream.csv"
    downstream.write_text("benchmark,group,source,performance\n" + "".join(
        f"{b},{g},{s},{p}\n" for b, g, vals in DOWNSTREAM for s, p in zip(MODELS, vals)), "utf-8")
    # Priming of model m1 by dove: control KR 0.5, US 0.4, JP 0.4.
    #   KR persona on KR: 0.6 → Δ = 0.2 (target); US persona on US: 0.5 → Δ = 0.25 (target)
    #   JP persona on KR: 0.55 → Δ = 0.1 (relevant: KR–JP similar)
    #   US persona on KR: 0.45 → Δ = −0.1 (conflicting); US persona on JP: 0.3 → Δ = −0.25 (conflicting)
    primed = tmp_path / "primed.csv"
    primed.write_text("method,persona,group,source,value\n"
                      "dove,control,KR,m1,0.5\ndove,control,US,m1,0.4\ndove,,JP,m1,0.4\n"
                      "dove,KR,KR,m1,0.6\ndove,US,US,m1,0.5\ndove,JP,KR,m1,0.55\ndove,US,KR,m1,0.45\n"
                      "dove,US,JP,m1,0.3\n", "utf-8")
    # Reliability over two topic splits for group KR, models × items [[1,2],[2,2],[3,5]]:
    #   s²(col1) = 1, s²(col2) = 3, s²(row sums [3,4,8]) = 7 → α = 2·(1 − 4/7) = 6/7
    #   CV: m1 (1/√2)/1.5, m2 0, m3 (2/√2)/4 → mean (0.471405 + 0 + 0.353553)/3 = 0.274986
    reliability = tmp_path / "reliability.csv"
    reliability.write_text("method,kind,item,group,source,value\n"
                           "dove,split,s1,KR,m1,1\ndove,split,s2,KR,m1,2\n"
                           "dove,split,s1,KR,m2,2\ndove,split,s2,KR,m2,2\n"
                           "dove,split,s1,KR,m3,3\ndove,split,s2,KR,m3,5\n", "utf-8")
    return scores, downstream, primed, reliability


def test_hand_checked_figures(tmp_path):
    scores, downstream, primed, reliability = _write(tmp_path)
    report = validate(io.read_scores(scores), io.read_downstream(downstream), io.read_primed(primed),
                      io.read_reliability(reliability))
    assert report.traits == ["CN", "JP", "KR", "US"] and report.models == MODELS
    # Eq. 5 with m = 2: A = mean over traits of Corr(dove_i, survey_i): CN 1, JP −1, KR 1, US 1 → 2/4
    assert report.convergent == pytest.approx({"dove": 0.5, "survey": 0.5})
    # Eq. 6, dove: S⁺ = (KR,JP) 1, (KR,CN) −1, (JP,CN) −1 → −1/3; S⁻ = (KR,US) .5, (JP,US) .5, (CN,US) −.5 → 1/6
    #   B = −1/3 − 1/6 = −0.5. survey: S⁺ = −1, −1, 1 → −1/3; S⁻ = .5, −.5, −.5 → −1/6; B = −1/6.
    assert report.discriminant == pytest.approx({"dove": -0.5, "survey": -1 / 6})
    pv = report.predictive
    assert pv["per_benchmark"]["KOLD"] == pytest.approx({"dove": 1.0, "survey": 1.0})
    assert pv["per_benchmark"]["HateXPlain"] == pytest.approx({"dove": -1.0, "survey": -1.0})
    assert pv["per_benchmark"]["D3CODE"] == pytest.approx({"dove": 1.0, "survey": -1.0})
    assert pv["points"] == {"KOLD": 3, "HateXPlain": 3, "D3CODE": 3}
    assert pv["average"] == pytest.approx({"dove": 1 / 3, "survey": -1 / 3})
    assert any("JOLFCC/XX" in n for n in report.notes)
    (prime,) = report.priming
    assert prime["method"] == "dove" and prime["model"] == "m1"
    assert prime["delta_target"] == pytest.approx((0.2 + 0.25) / 2)
    assert prime["delta_relevant"] == pytest.approx(0.1)
    assert prime["delta_conflicting"] == pytest.approx((-0.1 - 0.25) / 2)
    kr, mean = report.reliability
    assert kr["group"] == "KR" and kr["alpha"] == pytest.approx(6 / 7)
    assert kr["cv"] == pytest.approx((1 / math.sqrt(2) / 1.5 + 2 / math.sqrt(2) / 4) / 3)
    assert mean["group"] == "mean" and mean["alpha"] == pytest.approx(6 / 7)


def test_distances_are_negated_before_correlating(tmp_path):
    # survey-KL is a distance: the same numbers negated must give the same A as a similarity.
    rows = [io.ScoreRecord("survey-KL", g, s, -v) for g, vals in SCORES["survey"].items() for s, v in zip(MODELS, vals)]
    rows += [io.ScoreRecord("dove", g, s, v) for g, vals in SCORES["dove"].items() for s, v in zip(MODELS, vals)]
    report = validate(rows)
    assert report.convergent == pytest.approx({"survey-KL": 0.5, "dove": 0.5})
    assert any("negated" in n for n in report.notes)


def test_cli_table_and_json(tmp_path):
    scores, downstream, primed, reliability = _write(tmp_path)
    args = ["validate", "--scores", str(scores), "--downstream", str(downstream), "--primed", str(primed),
            "--reliability", str(reliability)]
    result = CliRunner().invoke(main, args + ["--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["convergent"]["dove"] == pytest.approx(0.5)
    assert data["discriminant"]["survey"] == pytest.approx(-1 / 6)
    assert data["predictive"]["average"]["dove"] == pytest.approx(1 / 3)
    assert data["priming"][0]["delta_relevant"] == pytest.approx(0.1)
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "convergent A" in table.output and "0.5000" in table.output and "0.8571" in table.output


def test_custom_pairs_and_bad_files(tmp_path):
    scores, *_ = _write(tmp_path)
    report = validate(io.read_scores(scores), similar_pairs=io.parse_pairs(["KR:JP"]),
                      contrasting_pairs=io.parse_pairs(["KR,US"]))
    # dove: Corr(KR, JP) − Corr(KR, US) = 1 − 0.5
    assert report.discriminant["dove"] == pytest.approx(0.5)
    bad = tmp_path / "bad.csv"
    bad.write_text("method,group,source,value\ndove,KR,m1,high\n", "utf-8")
    with pytest.raises(WorkbenchError, match=r"bad.csv, line 2: value 'high' is not a number"):
        io.read_scores(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("method,group,value\ndove,KR,1\n", "utf-8")
    with pytest.raises(WorkbenchError, match=r"lacks column\(s\) \['source'\]"):
        io.read_scores(missing)
    with pytest.raises(WorkbenchError, match="A:B"):
        io.parse_pairs(["KR"])


def test_project_scores_split_models_personas_and_other_methods(project):
    from workbench.measures.validate import project_scores

    def rows(pairs):
        return [{"group": g, "source": s, "r": v} for g, s, v in pairs]

    project.save_scores("dove", 3, rows([("KR", "KR", 1.0), ("KR", "KR/half1", 0.99), ("KR/half1", "KR/half2", 0.98),
                                         ("KR", "m1", 0.5), ("KR", "m1@JP", 0.55), ("JP", "m1", 0.4)]), {})
    project.save_scores("dove", 2, rows([("KR", "m1", 0.1)]), {})
    project.save_scores("survey-KL", None, rows([("KR", "m1", 0.3)]), {})
    project.save_scores("survey-KL", None, rows([("KR", "m1", 0.2)]), {})  # replaces the cell
    scores, primed, version = project_scores(project)
    assert version == 3
    assert sorted((r.method, r.group, r.source, r.value) for r in scores) == [
        ("dove", "JP", "m1", 0.4), ("dove", "KR", "m1", 0.5), ("survey-KL", "KR", "m1", 0.2)]
    assert [(p.persona, p.group, p.source, p.value) for p in primed] == [("JP", "KR", "m1", 0.55)]
    assert project_scores(project, 2)[0][0].value == 0.1
    with pytest.raises(WorkbenchError, match="scored versions are"):
        project_scores(project, 7)


# --- the paper's own tables (tests/fixtures/paper_tables) ---------------------------------------


def _table1() -> dict[str, dict[str, float]]:
    with open(PAPER / "table1_validity.csv", encoding="utf-8") as f:
        return {r.pop("method"): {k: float(v) for k, v in r.items()} for r in csv.DictReader(f)}


def _paper_report(**options):
    return validate(io.read_scores(PAPER / "table8_scores.csv"), io.read_downstream(PAPER / "table11_downstream.csv"),
                    io.read_primed(PAPER / "table10a_primed.csv"), **options)


# Table 1 "Average Correlation" from Tables 8 and 11, one r per benchmark (KOLD, JOLFCC, COLD,
# HateXPlain over the 12 models; D3CODE over 48 model × culture points), mean over the five.
# Tolerance 0.011 percentage points: WVS comes out 16.2100 against the printed 16.20; Table 8 and
# 11 are rounded to 0.01, and that rounding alone moves each figure by ≈ ±0.013 (1 s.d.).
@pytest.mark.parametrize("method", ["WVS", "GOQA", "NormAd", "NaVAB", "DOVE"])
def test_predictive_validity_reproduces_table_1(method):
    report = _paper_report()
    assert report.predictive["points"] == {"KOLD": 12, "JOLFCC": 12, "COLD": 12, "HateXPlain": 12, "D3CODE": 48}
    assert 100 * report.predictive["average"][method] == pytest.approx(_table1()[method]["predictive"], abs=0.011)


def test_cdevals_predictive_figure_is_not_reproducible():
    # Table 1 prints 23.56 % for CDEval; its Table 8 rows give per-benchmark r of 79.67, 43.24,
    # 9.28, −52.30 and 1.91 % (KOLD, JOLFCC, COLD, HateXPlain, D3CODE) → 16.36 %. No reading
    # tried (per-culture cells, per-culture D3CODE, model means, Spearman) gives 23.56 %.
    report = _paper_report()
    per = {b: 100 * r["CDEval"] for b, r in report.predictive["per_benchmark"].items()}
    assert per == pytest.approx({"KOLD": 79.67, "JOLFCC": 43.24, "COLD": 9.28, "HateXPlain": -52.30,
                                 "D3CODE": 1.91}, abs=0.005)
    assert 100 * report.predictive["average"]["CDEval"] == pytest.approx(16.36, abs=0.005)


def test_other_predictive_readings_stay_selectable():
    # NaVAB has no KR/JP scores: r undefined for KOLD and JOLFCC, counted as 0 by default
    # ((15.47 − 42.90 − 76.43)/5 = −20.77 %), left out with undefined="skip" (÷ 3 = −34.62 %).
    report = _paper_report()
    assert math.isnan(report.predictive["per_benchmark"]["KOLD"]["NaVAB"])
    assert any("NaVAB" in n and "KOLD, JOLFCC" in n and "r = 0" in n for n in report.notes)
    skip = _paper_report(undefined="skip").predictive["average"]
    assert 100 * skip["NaVAB"] == pytest.approx(-34.62, abs=0.01)
    # One r per (benchmark, culture), 8 cells (the reading the issue reports): DOVE 11.8 %, WVS 20.3 %.
    cell = _paper_report(pooling="cell").predictive
    assert len(cell["per_benchmark"]) == 8 and cell["points"]["D3CODE/KR"] == 12
    assert 100 * cell["average"]["DOVE"] == pytest.approx(11.81, abs=0.01)
    assert 100 * cell["average"]["WVS"] == pytest.approx(20.26, abs=0.01)


def test_priming_of_the_papers_tables_through_validate():
    paper = _table1()
    for p in _paper_report().priming:
        assert p["model"] == "gpt-oss-120b"
        expected = paper[p["method"]]
        for key in ("delta_target", "delta_relevant", "delta_conflicting"):
            assert 100 * p[key] == pytest.approx(expected[key], abs=0.015), (p["method"], key)


def test_table_1_mtmm_cannot_be_recomputed_from_table_8():
    # Eqs. 5 and 6 over Table 8 (12 models, all six methods) give δ_con DOVE 4.25, WVS −7.25,
    # GOQA −19.13, CDEval −7.61, NormAd −2.40, NaVAB 5.30 % and δ_dis DOVE −0.97, WVS 2.41,
    # GOQA −2.05, CDEval −10.67, NormAd 22.67 %, NaVAB undefined (no KR/JP: no similar pair).
    # Only GOQA's δ_dis matches Table 1; the README says so.
    report = _paper_report()
    paper = _table1()
    assert 100 * report.convergent["DOVE"] == pytest.approx(4.25, abs=0.005)
    assert 100 * report.discriminant["NormAd"] == pytest.approx(22.67, abs=0.005)
    assert math.isnan(report.discriminant["NaVAB"])
    assert 100 * report.discriminant["GOQA"] == pytest.approx(paper["GOQA"]["discriminant"], abs=0.005)
    assert all(abs(100 * report.convergent[m] - paper[m]["convergent"]) > 0.5 for m in paper)


def test_cli_prints_the_papers_predictive_figures():
    result = CliRunner().invoke(main, ["validate", "--scores", str(PAPER / "table8_scores.csv"),
                                       "--downstream", str(PAPER / "table11_downstream.csv")])
    assert result.exit_code == 0, result.output
    average = next(line for line in result.output.splitlines() if line.startswith("│ average"))
    # columns in Table 8's order: DOVE, WVS, GOQA, CDEval, NormAd, NaVAB (WVS and CDEval: see above)
    assert [c.strip() for c in average.split("│")[3:9]] == [
        "31.56 %", "16.21 %", "-13.05 %", "16.36 %", "0.90 %", "-20.77 %"]
    assert "D3CODE" in result.output and " 48 " in result.output
