"""The service of ``workbench validate`` (``measures.validate.validate_inputs``), called without the
CLI: it gathers the inputs, refuses a method from two inputs and an empty request, and validates."""
from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.measures.validate import validate_inputs
from workbench.store import create_project

PAPER = Path(__file__).parent / "fixtures" / "paper_tables"


def test_the_paper_tables_give_table_1s_convergent_validity_without_the_cli():
    run = validate_inputs(score_files=[str(PAPER / "table8_scores.csv")],
                          downstream=str(PAPER / "table11_downstream.csv"))
    assert run.version is None  # no project
    assert len(run.report.methods) == 6 and set(run.report.convergent) == set(run.report.methods)
    assert run.report.predictive is not None


def test_a_method_given_twice_is_refused_naming_the_second_file(tmp_path):
    second = tmp_path / "again.csv"
    second.write_text((PAPER / "table8_scores.csv").read_text())
    with pytest.raises(WorkbenchError, match=r"again\.csv: method\(s\) .* already come from another input"):
        validate_inputs(score_files=[str(PAPER / "table8_scores.csv"), str(second)])


def test_nothing_to_validate(tmp_path):
    with pytest.raises(WorkbenchError, match="^nothing to validate: give PROJECT"):
        validate_inputs()
    path = str(tmp_path / "p.db")
    create_project(path)
    with pytest.raises(WorkbenchError, match="has no dove scores: run 'workbench score"):
        validate_inputs(path)
