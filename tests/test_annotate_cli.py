"""``workbench agreement``, ``workbench labels`` and ``workbench review`` at the command line."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from conftest import label_a_paused_version
from workbench.annotate.labels import record
from workbench.annotate.tasks import CONSENSUS, RECOGNIZER, pair_id
from workbench.cli import main

ANN = ["yes"] * 4 + ["no"] * 3 + ["yes", "yes", "no"]
BOB = ["yes"] * 4 + ["no"] * 3 + ["no", "no", "yes"]  # with ANN: p_o = .7, p_e = .5, κ = .4


@pytest.fixture
def labelled(project):
    for i, (a, b) in enumerate(zip(ANN, BOB)):
        record(project, "mapping", f"d{i}::u", "appropriate", a, "ann", 1)
        record(project, "mapping", f"d{i}::u", "appropriate", b, "bob", 1)
    return project


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_agreement_prints_the_figures_and_json(labelled):
    text = run("agreement", labelled.path, "--task", "mapping")
    assert text.exit_code == 0, text.output
    assert "mean pairwise κ 0.400" in text.output and "agreement 70.0%" in text.output
    assert "κ ann / bob = 0.400 (n=10)" in text.output and "3 in disagreement" in text.output
    out = run("agreement", labelled.path, "--json")
    data = {r["task"]: r for r in json.loads(out.output)}
    assert set(data) == {"proposals", "code_quality", "mapping"}
    mapping = data["mapping"]["criteria"]["appropriate"]
    assert mapping["pairwise_kappa"]["mean"] == pytest.approx(0.4) and mapping["n_items"] == 10
    assert data["code_quality"]["criteria"]["meaningful"]["pairwise_kappa"]["mean"] is None  # no labels: null


def test_labels_summary_and_export(labelled, tmp_path):
    summary = run("labels", labelled.path)
    assert "mapping" in summary.output and "ann" in summary.output and "10 labels on 10 items" in summary.output
    out = run("labels", labelled.path, "--export", tmp_path / "labels.csv")
    assert out.exit_code == 0 and "exported 20 label rows" in out.output
    rows = list(csv.DictReader((tmp_path / "labels.csv").open(encoding="utf-8")))
    assert len(rows) == 20 and {r["annotator"] for r in rows} == {"ann", "bob"}
    bad = run("labels", labelled.path, "--export", tmp_path / "missing" / "labels.csv")
    assert bad.exit_code == 1 and "does not exist" in bad.output


def test_review_refuses_a_reserved_name_and_an_unknown_version(project):
    out = run("review", project.path, "--annotator", "recognizer")
    assert out.exit_code == 1 and "reserved" in out.output and "Traceback" not in out.output
    out = run("review", project.path, "--annotator", "ann", "--codebook-version", "9")
    assert out.exit_code == 1 and "codebook" in out.output


def test_review_serve_points_to_the_server_with_personal_links(project):
    out = run("review", project.path, "--annotator", "ann", "--serve")
    assert out.exit_code == 1 and "'workbench serve PROJECT'" in out.output and "Traceback" not in out.output
    assert "annotators PROJECT add ann" in out.output


def test_labels_round_trip_through_export_and_import(built_project, built_project_template, tmp_path):
    import shutil

    from workbench.store import open_project

    uid = built_project.load_codebook(1).codes[0].uid
    docs = [r[0] for r in built_project.db.execute("select id from documents order by id limit 10")]
    for doc, a, b in zip(docs, ANN, BOB):
        record(built_project, "mapping", pair_id(doc, uid), "appropriate", a, "ann", 1)
        record(built_project, "mapping", pair_id(doc, uid), "appropriate", b, "bob", 1)
    record(built_project, "mapping", pair_id(docs[7], uid), "appropriate", "yes", "ann", 1, round=CONSENSUS,
             note="agreed")
    exported = tmp_path / "labels.csv"
    assert "exported 21 label rows" in run("labels", built_project.path, "--export", exported).output

    again = run("labels", built_project.path, "--import", exported).output
    assert again.startswith("imported 0 labels") and "(21 already in the project" in again
    assert built_project.count("labels") == 21

    shutil.copy(built_project_template, tmp_path / "fresh.db")
    fresh = open_project(tmp_path / "fresh.db")
    out = run("labels", fresh.path, "--import", exported).output
    assert out.startswith("imported 21 labels"), out
    key = "select task, item_id, criterion, label, annotator, round, codebook_version, note, cast(created as int) " \
          "from labels order by id"
    assert fresh.db.execute(key).fetchall() == built_project.db.execute(key).fetchall()
    figures = [run("agreement", p, "--task", "mapping", "--json").output for p in (fresh.path, built_project.path)]
    assert figures[0] == figures[1] and '"pairwise_kappa"' in figures[0]


def test_labels_import_without_times_twice_adds_nothing_the_second_time(built_project, tmp_path):
    uid = built_project.load_codebook(1).codes[0].uid
    doc = built_project.db.execute("select id from documents order by id limit 1").fetchone()[0]
    proposal = built_project.proposals()[0]
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("task\titem_id\tcriterion\tlabel\tannotator\tcodebook_version\tround\n"
                     f"mapping\t{pair_id(doc, uid)}\tappropriate\tyes\tcho\t1\t\n"
                     f"code_quality\t{uid}\tmeaningful\t1\tcho\t1\tfirst\n"
                     f"proposals\t{proposal['id']}\tdecision\treject\tcho\t\t\n"
                     f"mapping\t{pair_id(doc, uid)}\tappropriate\tno\t{RECOGNIZER}\t1\tmodel\n", encoding="utf-8")
    first = run("labels", built_project.path, "--import", sheet).output
    assert first.startswith("imported 3 labels") and "1 recognizer rows left to the workbench" in first, first
    rows = {r["task"]: r for r in built_project.labels(viewer="cho")}
    assert rows["proposals"]["codebook_version"] == proposal["version"]  # taken from the proposal
    assert rows["mapping"]["round"] == "first" and rows["mapping"]["protocol_version"] == "1.0.0"
    again = run("labels", built_project.path, "--import", sheet).output
    assert again.startswith("imported 0 labels") and "(3 already in the project" in again, again
    assert built_project.count("labels") == 3


def test_labels_and_agreement_show_labels_carried_from_the_paused_version(built_project):
    paused, final, _, _, kept = label_a_paused_version(built_project)
    summary = run("labels", built_project.path).output
    assert f"v{final}  first         ann              {len(kept):>6,} labels on {len(kept):,} items carried " \
           f"from v{paused}" in summary
    text = run("agreement", built_project.path, "--task", "mapping", "--codebook-version", final).output
    assert f"mapping (codebook v{final}, round final, protocol 1.0.0, {2 * len(kept)} labels carried from " \
           f"v{paused})" in text
    assert f"{len(kept)} items, {2 * len(kept)} ratings by 2 annotators" in text
    own = run("agreement", built_project.path, "--task", "mapping", "--codebook-version", paused).output
    assert "carried" not in own
