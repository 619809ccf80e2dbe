"""``workbench reliability``: sampling (topic halves) and offline test-retest runs, stored and
picked up by ``validate``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from workbench.cli import main
from workbench.measures.reliability import BOOTSTRAP, SAMPLING, reliability_runs
from workbench.measures.validate import stored_reliability


def test_runs_are_scored_stored_and_read_back(built_project):
    runs = reliability_runs(built_project, splits=3, show_progress=False)
    items = {(r.kind, r.item) for r in runs.records}
    assert items == {(SAMPLING, "full"), *((SAMPLING, f"topics{k}") for k in (1, 2, 3)),
                     *((BOOTSTRAP, f"draw{k}") for k in (1, 2, 3))}
    sources = {r.source for r in runs.records}
    assert sources == {"example-llm@Harbourside"}  # models only: human groups are not ranked
    full = {(r.group, r.source): r.value for r in runs.records if r.item == "full"}
    draws = [{(r.group, r.source): r.value for r in runs.records if r.item == f"draw{k}"} for k in (1, 2, 3)]
    assert all(d.keys() == full.keys() for d in draws)
    assert any(abs(d[k] - full[k]) > 1e-9 for d in draws for k in full)  # re-draws differ from the full set
    assert sorted(stored_reliability(built_project, runs.version), key=repr) == sorted(runs.records, key=repr)
    kinds = {(r["kind"], r["group"]) for r in runs.report.reliability}
    assert (SAMPLING, "mean") in kinds and (BOOTSTRAP, "mean") in kinds
    assert all(np.isnan(r["cv"]) or r["cv"] >= 0 for r in runs.report.reliability)
    assert any("template invariance" in n for n in runs.notes)


def test_reliability_command_and_validate_use_the_stored_runs(built_project):
    out = CliRunner().invoke(main, ["reliability", str(built_project.path), "--quiet"])
    assert out.exit_code == 0, out.output
    assert "Cronbach" in out.output and "test-retest (bootstrap)" in out.output
    strict = {"parse_constant": lambda token: pytest.fail(f"not strict JSON: {token}")}
    data = json.loads(CliRunner().invoke(main, ["reliability", str(built_project.path), "--json"]).output, **strict)
    # one model source on the demo: α over models is undefined and is written as null
    assert any(r["alpha"] is None for r in data["reliability"])
    assert {r["kind"] for r in data["reliability"]} == {SAMPLING, BOOTSTRAP}
    validated = CliRunner().invoke(main, ["validate", str(built_project.path), "--json"])
    assert validated.exit_code == 0, validated.output
    assert {r["kind"] for r in json.loads(validated.output)["reliability"]} == {SAMPLING, BOOTSTRAP}
