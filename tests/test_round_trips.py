"""Every file the workbench writes, it reads back to the same values: labels (``labels --export``
then ``--import``, byte for byte), the codebook's JSON and CSV (``export``) and the score table's
CSV (``score --csv``, the report's scores.csv). The codebook and scores have no importer: their
files are read back with the project's own reader (``workbench.tabular``) and compared with what
was written. The project is built without UMAP: two documents and one two-code version."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from workbench.config import AlignmentConfig
from workbench.alignment.scoring import ScoreRow
from workbench.annotate.label_files import export_labels, import_labels
from workbench.annotate.labels import record
from workbench.annotate.tasks import CONSENSUS
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.models import Code
from workbench.report.export import codebook_records, export_codebook
from workbench.report.terminal import scores_csv
from workbench.measures.score import ScoreResult
from workbench.store import create_project, open_project
from workbench.tabular import open_tabular
from workbench.vocabulary import SCORE_COLUMNS

# names a CSV must quote: separator, quotes, a line break, a leading quote, a row-like line
AWKWARD = 'care, "family"\nand home'


@pytest.fixture
def unlabelled(tmp_path):
    """Documents j1, j2; codebook version 1 with codes u0 (an awkward name) and u1; no labels."""
    store = create_project(tmp_path / "unlabelled.db")
    ingest_file(store, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="G"))
    codes = [Code(0, "u0", AWKWARD, "test", '"quoted" description,\n2,ok,y', 1, np.ones(4)),
             Code(1, "u1", "code 1", "test", None, 1, np.ones(4))]
    store.save_codebook("t", 1, "init", None, codes, np.array([], int), np.array([], int), {}, "h", "e")
    store.close()
    return tmp_path / "unlabelled.db"


@pytest.fixture
def labelled(unlabelled, tmp_path):
    """A copy with labels as annotators make them: ``y`` pressed twice within one second (two
    rows alike but for the fraction of their second), a consensus label whose note needs quoting."""
    path = tmp_path / "labelled.db"
    shutil.copy(unlabelled, path)
    store = open_project(path)
    record(store, "mapping", "j1::u0", "appropriate", "yes", "ana", 1)
    record(store, "mapping", "j1::u0", "appropriate", "yes", "ana", 1)
    record(store, "mapping", "j1::u0", "appropriate", "no", "bob", 1)
    record(store, "mapping", "j1::u0", "appropriate", "yes", "ana", 1, round=CONSENSUS, note=AWKWARD)
    record(store, "code_quality", "u0", "meaningful", 1, "bob", 1)
    with store.transaction():  # all within one second, whatever the clock did while recording
        store.db.execute("update labels set created = 1800000000.0 + id / 10.0")
    store.close()
    return path


def _labels(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("select task, item_id, criterion, label, annotator, round, codebook_version, "
                            "protocol_id, protocol_version, note, created from labels order by id").fetchall()


def test_an_export_reimports_into_its_own_project_adding_nothing(labelled, tmp_path):
    """Issue 22: 'line 3: repeats line 2' refused the project's own export (two real rows)."""
    exported = tmp_path / "labels.csv"
    assert "exported 5 label rows" in CliRunner().invoke(main, ["labels", str(labelled), "--export",
                                                                str(exported)]).output
    before = _labels(labelled)
    assert before[0][:10] == before[1][:10] and before[0][10] != before[1][10]  # alike but for the time

    result = CliRunner().invoke(main, ["labels", str(labelled), "--import", str(exported)])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("imported 0 labels") and "(5 already in the project" in result.output
    assert _labels(labelled) == before


def test_an_export_imported_elsewhere_exports_byte_for_byte_the_same(labelled, unlabelled, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    export_labels(open_project(labelled), first)

    fresh = open_project(unlabelled)
    done = import_labels(fresh, first)
    assert (done.imported, done.already_present) == (5, 0)
    assert import_labels(fresh, first).imported == 0  # and a second time nothing
    export_labels(fresh, second)

    assert second.read_bytes() == first.read_bytes()
    assert _labels(unlabelled) == _labels(labelled)


def test_rows_alike_to_the_bit_are_counted_not_refused(labelled, unlabelled, tmp_path):
    """Two rows written in one batch share their time exactly: a file with them twice imports both
    into a project that has neither, one into a project that has one, none where both are."""
    store = open_project(labelled)
    row = {**dict(zip(("task", "item_id", "criterion", "label", "annotator"),
                      ("mapping", "j2::u1", "appropriate", "no", "cho"))),
           "round": "first", "codebook_version": 1, "protocol_id": "mapping", "protocol_version": "1.0.0",
           "created": 1_800_000_000.123456}
    store.record_labels([row, row])
    exported = tmp_path / "labels.csv"
    export_labels(store, exported)
    assert import_labels(store, exported).imported == 0

    fresh = open_project(unlabelled)
    assert import_labels(fresh, exported).imported == 7
    fresh.db.execute("delete from labels where id = (select max(id) from labels)")
    assert import_labels(fresh, exported).imported == 1
    assert _labels(unlabelled) == _labels(labelled)


def test_a_file_with_times_to_the_second_imports_both_presses_once(unlabelled, tmp_path):
    """A spreadsheet with created_utc only (no exact 'created'): two presses in one second are two
    rows; importing the file again adds nothing."""
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("task,item_id,criterion,label,annotator,codebook_version,created_utc\n"
                     + "mapping,j1::u0,appropriate,yes,ana,1,2026-11-23T14:05:00Z\n" * 2
                     + "mapping,j1::u0,appropriate,yes,ana,1,2026-11-23T14:05:00.250Z\n")
    store = open_project(unlabelled)
    assert import_labels(store, sheet).imported == 3
    assert import_labels(store, sheet).imported == 0
    assert [r[10] for r in _labels(unlabelled)] == [1795442700.0, 1795442700.0, 1795442700.25]


def test_codebook_json_and_csv_read_back_to_what_was_written(unlabelled, tmp_path):
    store = open_project(unlabelled)
    records = codebook_records(store, 1)
    assert records["codes"][0]["name"] == AWKWARD

    as_json = export_codebook(store, "json", tmp_path / "codebook.json", 1)
    assert json.loads(as_json.read_text("utf-8")) == records

    as_csv = export_codebook(store, "csv", tmp_path / "codebook.csv", 1)
    rows = open_tabular(as_csv).rows()
    assert len(rows) == len(records["codes"])
    for (_, row), code in zip(rows, records["codes"]):
        assert row == {"guid": code["guid"], "idx": str(code["idx"]), "name": code["name"],
                       "named_by": code["named_by"], "description": code["description"], "size": str(code["size"]),
                       "usage": "" if code["usage"] is None else repr(code["usage"]),
                       "examples": " | ".join(code["examples"])}


def test_scores_csv_reads_back_to_the_same_numbers(tmp_path):
    rows = [ScoreRow(AWKWARD, "gpt, 4o", 0.012345678901234567, 1e-9, 0.8765432101234567, 0.5, 1.0, "basic",
                     0.99, 40, 0.885397, 80, 40),
            ScoreRow("KR", "human", -0.5, None, 6.0, None, None, None, None, None, None, 1, 1)]
    result = ScoreResult(3, rows, AlignmentConfig(), K=2, sigma=0.1)
    path = tmp_path / "scores.csv"
    path.write_text(scores_csv(result), encoding="utf-8")

    back = open_tabular(path).rows()

    assert [line for line, _ in back] == [2, 4]  # the awkward group name spans two lines
    for (_, got), written in zip(back, result.as_dicts()):
        assert got["method"] == "dove"
        for name in ("codebook_version", *SCORE_COLUMNS):
            value = written[name]
            if value is None:
                assert got[name] == ""
            elif isinstance(value, (int, float)):
                assert type(value)(got[name]) == value  # floats to the bit
            else:
                assert got[name] == value


def test_a_label_time_no_export_can_write_is_refused_on_import(labelled, tmp_path):
    store = open_project(labelled)
    exported = tmp_path / "labels.csv"
    export_labels(store, exported)
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    rows[0] |= {"created": "1e20", "created_utc": ""}  # year ≫ 9999: time.gmtime cannot write it back
    with exported.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(WorkbenchError, match="not a time in seconds since 1970"):
        import_labels(store, exported)
    export_labels(store, tmp_path / "again.csv")  # the project still exports
