"""``workbench validate`` on CSV files the test writes, with every figure checked by hand:
MTMM A (Eq. 5) and B (Eq. 6), predictive r, priming Δ, Cronbach's α and CV."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.validate import validate
from workbench.validity import io

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
    assert pv["per_benchmark"]["KOLD/KR"] == pytest.approx({"dove": 1.0, "survey": 1.0})
    assert pv["per_benchmark"]["HateXPlain/US"] == pytest.approx({"dove": -1.0, "survey": -1.0})
    assert pv["per_benchmark"]["D3CODE/JP"] == pytest.approx({"dove": 1.0, "survey": -1.0})
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
    from workbench.validate import project_scores

    def rows(pairs):
        return [{"group_name": g, "source": s, "value": v} for g, s, v in pairs]

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
