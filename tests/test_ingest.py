"""Import: good files land whole; every bad file gives one line naming file, line and fix, and
imports nothing."""
from __future__ import annotations

import csv
import sqlite3

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, shared_data
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.ingest.documents import MAX_DOCUMENT_CHARS, IngestOptions, ingest_file

BAD = FIXTURES / "bad_input"


def _nothing_imported(store):
    assert store.count("documents") == 0
    assert store.count("imports") == 0
    assert store.count("groups") == 0


# (fixture under BAD, where the error must point, words it must say); test_bad_input.py reuses them
BAD_FILES = [
    ("not_utf8.csv", "line 2", "not UTF-8"),
    ("empty.csv", "empty.csv", "empty"),
    ("missing_column.csv", "line 2", "--text-col"),
    ("empty_text.csv", "line 3", "text is empty"),
    ("duplicate_id.csv", "line 4", "duplicate id '1'"),
    ("wrong_types.json", "item 2", "must be a string"),
    ("wrong_types.jsonl", "line 2", "must be a string"),
]


@pytest.mark.parametrize("name, line, words", BAD_FILES)
def test_bad_file_is_rejected_whole_with_one_line(project, name, line, words):
    with pytest.raises(WorkbenchError) as err:
        ingest_file(project, BAD / name, IngestOptions(group="G"))
    message = str(err.value)
    assert "\n" not in message
    assert name in message and line in message and words in message
    assert ":" in message.split(words, 1)[-1] or "with" in message or "re-save" in message  # a fix follows
    _nothing_imported(project)


@pytest.mark.parametrize("group", ["", "   "])
def test_blank_group_is_rejected(project, group):
    with pytest.raises(WorkbenchError, match="group name is empty: pass --group"):
        ingest_file(project, FIXTURES / "good" / "docs.jsonl", IngestOptions(group=group))
    _nothing_imported(project)


def test_five_megabyte_document_is_rejected_or_truncated_explicitly(project, tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_text('{"id": "ok", "text": "Fairness matters."}\n'
                   + '{"id": "big", "text": "%s"}\n' % ("Freedom matters. " * 300_000))
    assert big.stat().st_size > 5_000_000
    with pytest.raises(WorkbenchError, match=r"big.jsonl, line 2: .*over the limit of 100,000: .*--truncate"):
        ingest_file(project, big, IngestOptions(group="G"))
    _nothing_imported(project)
    result = ingest_file(project, big, IngestOptions(group="G", truncate=True))
    assert result.documents == 2 and result.truncated == 1
    length, truncated = project.db.execute("select length(text), truncated from documents where id = 'big'").fetchone()
    assert length == MAX_DOCUMENT_CHARS and truncated == 1


def test_csv_document_over_the_csv_field_limit_follows_the_length_rule(project, tmp_path):
    """A CSV field over Python's default limit (131,072 characters) is read; then the documented
    rule applies: rejected naming --truncate, or cut at the limit with --truncate."""
    csv.field_size_limit(131_072)  # the default, whatever an earlier test in this process set
    big = tmp_path / "big.csv"
    big.write_text('id,text\nok,Fairness matters.\nbig,"%s"\n' % ("Freedom matters. " * 10_000))
    with pytest.raises(WorkbenchError, match=r"big.csv, line 3: .*over the limit of 100,000: .*--truncate"):
        ingest_file(project, big, IngestOptions(group="G"))
    csv.field_size_limit(131_072)
    result = ingest_file(project, big, IngestOptions(group="G", truncate=True))
    assert result.documents == 2 and result.truncated == 1


def test_duplicate_against_project_imports_nothing_more(project):
    ingest_file(project, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="G"))
    with pytest.raises(WorkbenchError, match=r"docs.jsonl, line 1: id 'j1' is already in the project"):
        ingest_file(project, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="H"))
    assert project.count("documents") == 2 and project.count("imports") == 1


def test_bom_and_crlf_are_accepted(project):
    result = ingest_file(project, FIXTURES / "good" / "bom_crlf.csv", IngestOptions(group="G"))
    assert result.documents == 2
    rows = project.db.execute("select id, text from documents order by id").fetchall()
    assert rows[0][0] == "1"  # the BOM is not part of the first column name or id
    assert rows[1][1] == "Hard work deserves reward,\nand honesty too."
    topics = {r[0] for r in project.db.execute("select text from topics")}
    assert topics == {"family", "work"}


def test_language_is_guessed_per_document(project):
    ingest_file(project, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="G"))
    langs = dict(project.db.execute("select id, language from documents").fetchall())
    assert langs == {"j1": "en", "j2": "ko"}


def test_cli_prints_one_line_and_no_traceback(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "p.db")
    assert runner.invoke(main, ["init", db]).exit_code == 0
    result = runner.invoke(main, ["ingest", db, str(BAD / "duplicate_id.csv"), "--group", "G"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0 and result.output.startswith("Error: ")
    missing = runner.invoke(main, ["extract", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "workbench init" in missing.output


def test_an_unclosed_quote_imports_nothing_as_a_new_user_sees_it(tmp_path):
    """Issue 22: line 2's quote never closes; Python's csv took line 3 into its text and imported
    1 document, exit 0. Now: one line naming the line the quote opens, and no document."""
    runner = CliRunner()
    db, docs = str(tmp_path / "p.db"), tmp_path / "docs.csv"
    docs.write_text('id,text,topic\n1,"unterminated quote,x\n2,ok,y\n')
    assert runner.invoke(main, ["init", db]).exit_code == 0
    result = runner.invoke(main, ["ingest", db, str(docs), "--group", "G"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    assert f"{docs}, line 2: a quoted field opens here and never closes" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from documents").fetchone()[0] == 0


def test_valueeval_preset_reads_real_data_with_gold_labels(project):
    arguments = shared_data("valueeval23", "arguments-validation.tsv")
    result = ingest_file(project, arguments, IngestOptions(preset="valueeval"))
    assert result.documents == 1896
    assert set(result.by_group) == {"A", "D", "E"}
    assert result.gold_labels == 1896 * 20
    rows = project.db.execute("select d.text, t.text from documents d join topics t on t.id = d.topic_id").fetchall()
    assert len(rows) == 1896
    assert all(text.startswith(("(in favor of) ", "(against) ")) for text, _ in rows)
    # the conclusion is the topic, not part of the text (a restatement is not the author's value)
    with open(arguments, encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f, delimiter="\t"))
    text, topic = project.db.execute("select d.text, t.text from documents d join topics t on t.id = d.topic_id "
                                     "where d.id = ?", [first["Argument ID"]]).fetchone()
    assert (text, topic) == (f"({first['Stance']}) {first['Premise']}", first["Conclusion"])
    # a TSV's quotes are characters: the conclusion keeps them (csv's quoting dropped them)
    quoted = project.db.execute("select t.text from documents d join topics t on t.id = d.topic_id "
                                "where d.id = 'D27042'").fetchone()
    assert quoted == ('"Bullet for Bullet" is a right policy',)


def test_korean_petitions_with_joined_text_columns(project):
    petitions = shared_data("petitions-ko", "petitions_2017-08.jsonl")
    result = ingest_file(project, petitions, IngestOptions(group="KR", text_cols=("title", "content"),
                                                           id_col="petition_idx", topic_col="category"))
    assert result.documents == 662
    langs = {r[0] for r in project.db.execute("select distinct language from documents")}
    assert langs == {"ko"}
