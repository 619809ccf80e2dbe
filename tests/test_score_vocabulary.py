"""One score vocabulary: a score row's fields are named alike in ``ScoreRow``, the store's rows,
``score --csv/--json`` and the report's scores.csv; the scores table keeps its older column names
(a project written before reads as it is); the reserved names are written once."""
from __future__ import annotations

import ast
import csv
import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from workbench.experiments import ablations
from workbench.config import AlignmentConfig
from workbench.alignment.scoring import ScoreRow
from workbench.cli import main
from workbench.report.terminal import scores_csv
from workbench.measures.score import ScoreResult
from workbench.vocabulary import METHOD, SCORE_COLUMNS, SCORE_HEADER

ROOT = Path(__file__).resolve().parents[1]


def test_every_stored_field_is_a_score_row_field_and_a_column_of_the_header():
    assert set(SCORE_COLUMNS) <= {f.name for f in dataclasses.fields(ScoreRow)}
    assert SCORE_HEADER == ("method", "codebook_version", *SCORE_COLUMNS)
    assert len(set(SCORE_COLUMNS.values())) == len(SCORE_COLUMNS)  # one column per field


def test_the_store_maps_the_fields_onto_the_columns_existing_projects_have(project):
    # a row as an earlier version wrote it, in the table's own column names
    project.db["scores"].insert({"method": "survey-KL", "codebook_version": None, "group_name": "KR", "source": "m1",
                                 "value": 0.3, "raw": 0.01, "ci_low": 0.2, "ci_high": 0.4, "n_group": 12,
                                 "n_source": 30, "config": "{}", "created": 0.0})
    project.save_scores(METHOD, 2, [{"group": "KR", "source": "m1", "r": 0.9, "D": 0.01, "D_bias": 0.002,
                                     "r_corrected": 0.95, "ci_method": "basic", "ceiling": 0.98, "ceiling_n": 20,
                                     "r_over_ceiling": 0.918, "n_group_docs": 40, "n_source_docs": 20,
                                     "ci_power": 2.5}], {})  # ci_power is not a stored field

    old, new = project.load_scores()
    assert {k: old[k] for k in ("group", "source", "r", "D", "ci_low", "ci_high", "n_group_docs", "n_source_docs")} \
        == {"group": "KR", "source": "m1", "r": 0.3, "D": 0.01, "ci_low": 0.2, "ci_high": 0.4, "n_group_docs": 12,
            "n_source_docs": 30}
    assert old["D_bias"] is None and old["method"] == "survey-KL" and old["codebook_version"] is None
    assert set(new) == {"id", "method", "codebook_version", *SCORE_COLUMNS, "config", "created"}
    stored = project.db.execute("select group_name, value, raw, raw_bias, value_corrected, value_over_ceiling, "
                                "n_group, n_source from scores where method = ?", [METHOD]).fetchall()
    assert stored == [("KR", 0.9, 0.01, 0.002, 0.95, 0.918, 40, 20)]


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(text.splitlines()))
    return header, rows


def test_an_ablations_csv_rows_are_the_rows_it_stores(project):
    rows = [ablations.AblationRow("KR", "m1", 0.7, 0.03, 0.6, 0.8, {"D_bias": 0.001, "ours_KL": 0.2}, 10, 12,
                                  ours=0.4, ours_ci=(0.3, 0.5)),
            ablations.AblationRow("KR", "m2", 0.5, None, None, None, {"ours_KL": 0.9}, 10, 7, ours=0.6)]
    result = ablations.AblationResult("no-uot", 2, rows, "cosine", True, ours_measure="JS distance")
    ablations._save(project, result, AlignmentConfig())

    header, written = _rows(scores_csv(ScoreResult(2, [], AlignmentConfig(), K=2, sigma=0.1), [result]))
    stored = [["" if v is None else str(v) for v in (r["method"], r["codebook_version"],
                                                      *(r[f] for f in SCORE_COLUMNS))]
              for r in project.load_scores()]
    assert header == list(SCORE_HEADER) and written == stored
    assert [(r[0], r[header.index("r")], r[header.index("D")]) for r in written] == [
        ("dove:no-uot", "0.7", "0.03"), ("dove:no-uot", "0.5", ""), ("dove:no-uot:ours", "0.4", "0.2"),
        ("dove:no-uot:ours", "0.6", "0.9")]


def test_score_csv_and_the_reports_scores_csv_are_one_table(built_project, tmp_path):
    """``score --csv`` stores what it prints; the report prints what is stored: the same header,
    the same rows to the last digit, for the same version."""
    path = str(built_project.path)
    scored = CliRunner().invoke(main, ["score", path, "--csv", "--quiet"])
    assert scored.exit_code == 0, scored.output
    out = tmp_path / "report"
    reported = CliRunner().invoke(main, ["report", path, "--out", str(out), "--quiet"])
    assert reported.exit_code == 0, reported.output

    header, rows = _rows(scored.output)
    assert _rows((out / "scores.csv").read_text("utf-8")) == (header, rows)
    assert header == list(SCORE_HEADER) and len(rows) >= 3
    assert {r[0] for r in rows} == {METHOD} and {r[1] for r in rows} == {str(built_project.latest_version())}

    as_json = CliRunner().invoke(main, ["score", path, "--json", "--quiet"])
    assert as_json.exit_code == 0, as_json.output
    assert set(SCORE_COLUMNS) <= set(json.loads(as_json.output)["rows"][0])  # and ci_power, ci_mc_error
    stored = json.loads((out / "scores.json").read_text("utf-8"))
    assert [str(row["r"]) for row in stored] == [r[header.index("r")] for r in rows]


def test_the_reserved_names_are_written_once():
    """The source ``human``, the persona ``control`` and the methods are spelt only in
    workbench/vocabulary.py. (In workbench/survey/, ``human`` is the questionnaire file's key for
    the human answer shares, not a source.)"""
    names = {"human", "control", METHOD, "survey-KL", "survey-JS"}
    found = []
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value in names or node.value.startswith(f"{METHOD}:")):
                if not (node.value == "human" and "survey" in path.parts):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == []
