"""Every importer, through the CLI, on bad files: documents, surveys, labels and validity CSVs.
Each bad file gives exactly one line naming the file (and the line, where there is one) with a
fix, no traceback, a failing exit code, and the project unchanged, table by table.

The project is small and built without UMAP (two documents, one two-code codebook version, one
proposal, one label), so the whole table runs in seconds."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from test_ingest import BAD, BAD_FILES
from workbench.annotate.labels import record
from workbench.cli import main
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.models import Code
from workbench.store import create_project

LABELS = "task,item_id,criterion,label,annotator,round,codebook_version,note\n"
GOOD_LABEL = "mapping,j1::u0,appropriate,yes,ana,first,1,\n"  # every label file opens with a good row
SURVEY = "question_id,question_text,question_type,options,dimension,country,group,option,share\n"
GOOD_SURVEY = "q1,Is divorce acceptable?,single,Yes | No,TDI,Japan,,Yes,0.6\n"
SCORES = "method,group,source,value\n"


def _param(kind: str, name: str, content: str | bytes, *says: str, id: str):
    return pytest.param(kind, name, content, says, id=id)


CASES = [
    # documents: the fixtures of test_ingest.py, as they are
    *(pytest.param("documents", name, None, (line, words), id=f"documents {name}") for name, line, words in BAD_FILES),
    # documents: damage that reading used to pass on as rows (issue 22)
    _param("documents", "docs.csv", 'id,text\n1,"unterminated quote\n2,ok\n', "line 2", "never closes",
           id="documents unclosed quote"),
    _param("documents", "docs.csv", 'id,text\n1,"stray\n2,ok\n3,"more"\n', "line 2", "closes on line 4",
           id="documents stray quote"),
    _param("documents", "docs.csv", "id,text\n1,a\x00b\n", "line 2", "NUL", id="documents NUL byte"),
    _param("documents", "docs.csv", "id,text,topic\n1,ok\n", "line 2", "fewer fields", id="documents short row"),
    _param("documents", "docs.csv", "id,text\n1,ok,x\n", "line 2", "more fields", id="documents long row"),
    _param("documents", "docs.tsv", "id\ttext\n1\ttwo\nlines\n", "line 3", "fewer fields",
           id="documents TSV line break"),
    _param("documents", "docs.jsonl", '{"id": "1", "text": "a"}\n{"id": "2", "text": "b\n"}\n', "line 2",
           "invalid JSON", id="documents JSON lines line break in a string"),
    _param("documents", "docs.json", '[{"id": "1", "text": "a"},\n{"id": "2", "text": "b"c"}]', "line 2",
           "invalid JSON", id="documents JSON stray quote"),
    # surveys
    _param("survey", "survey.csv", SURVEY + GOOD_SURVEY + "q1,,,,,Japan,,Maybe,0.4\n", "line 3",
           id="survey unknown option"),
    _param("survey", "survey.csv", SURVEY + GOOD_SURVEY + "q1,,,,,Japan,,No,lots\n", "line 3",
           id="survey share not a number"),
    _param("survey", "survey.csv", "question_id,country,option,share\n" "q1,Japan,Yes,1\n", "survey.csv",
           id="survey missing column"),
    _param("survey", "survey.csv", SURVEY.encode() + b"q1,\xff\xfe,single\n", "UTF-8", id="survey not UTF-8"),
    _param("survey", "survey.json", b"", "empty", id="survey empty"),
    _param("survey", "survey.csv", SURVEY + 'q1,"Is divorce acceptable?,single,Yes | No,TDI,Japan,,Yes,0.6\n'
           + GOOD_SURVEY, "line 2", "never closes", id="survey unclosed quote"),
    _param("survey", "survey.csv", SURVEY + GOOD_SURVEY + "q1,,,,,Japan,,No\n", "line 3", "fewer fields",
           id="survey short row"),
    _param("survey", "survey.csv", SURVEY + GOOD_SURVEY + "q1,,,,,Japan,,No,0.4,x\n", "line 3", "more fields",
           id="survey long row"),
    _param("survey", "survey.csv", SURVEY + GOOD_SURVEY.replace("Japan", "Ja\x00pan"), "line 2", "NUL",
           id="survey NUL byte"),
    _param("survey", "pew_mcm.csv", "country,question,mcm_score,universal_mcm_score,pew_rating,pew_score\n"
           "Japan,gambling,0,0,\"{'Morally acceptable': 0.5}\n", "line 2", "never closes", id="pew unclosed quote"),
    _param("survey", "survey.json", '{"name": "s", "questions": [{"id": 1}]}', "survey.json", id="survey wrong type"),
    # labels
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "summary,j2::u0,appropriate,yes,ana,first,1,\n",
           "line 3", "unknown task", id="labels unknown task"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,nope::u0,appropriate,yes,ana,first,1,\n",
           "line 3", "document 'nope'", id="labels unknown document"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u9,appropriate,yes,ana,first,1,\n",
           "line 3", "code 'u9'", id="labels unknown code"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "code_quality,u1,redundant_with,u7,ana,first,1,\n",
           "line 3", "code 'u7'", id="labels unknown code named as the label"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "proposals,99,decision,approve,ana,first,,\n",
           "line 3", "not a proposal", id="labels unknown proposal"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,first,999,\n",
           "line 3", "codebook version 999", id="labels unknown codebook version"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,first,,\n",
           "line 3", "codebook_version is empty", id="labels no codebook version"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,  ,first,1,\n",
           "line 3", "annotator is empty", id="labels empty annotator"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,auto,first,1,\n",
           "line 3", "reserved", id="labels reserved annotator"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,perhaps,ana,first,1,\n",
           "line 3", "use one of", id="labels value outside the protocol"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "code_quality,u0,meaningful,2,ana,first,1,\n",
           "line 3", "use one of", id="labels number outside the protocol"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,tidy,yes,ana,first,1,\n",
           "line 3", "tidy", id="labels unknown criterion"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,first,one,\n",
           "line 3", "whole number", id="labels version not a number"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,final,1,\n",
           "line 3", "unknown round", id="labels unknown round"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,consensus,1,\n",
           "line 3", "needs a note", id="labels consensus without a note"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana,first,1,,extra\n",
           "line 3", "more fields than the header", id="labels ragged row"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL * 2, "line 3", "repeats line 2", id="labels repeated row"),
    _param("labels", "labels.csv", LABELS + 'mapping,j1::u0,appropriate,yes,ana,first,1,"a note\n' + GOOD_LABEL,
           "line 2", "never closes", id="labels unclosed quote"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL + "mapping,j2::u0,appropriate,yes,ana\n", "line 3",
           "fewer fields", id="labels short row"),
    _param("labels", "labels.csv", LABELS + GOOD_LABEL.replace("ana", "a\x00na"), "line 2", "NUL",
           id="labels NUL byte"),
    _param("labels", "labels.jsonl", json.dumps({"task": "mapping", "item_id": "j1::u0", "criterion": "appropriate",
                                                 "label": "yes", "annotator": "ana", "codebook_version": 1}) + "\n"
           + json.dumps({"task": "mapping", "item_id": ["j2::u0"], "criterion": "appropriate", "label": "yes",
                         "annotator": "ana", "codebook_version": 1}) + "\n", "line 2", "must be text",
           id="labels wrong JSON type"),
    _param("labels", "labels.csv", "task,item_id,label\nmapping,j1::u0,yes\n", "line 1", "lacks column",
           id="labels missing column"),
    _param("labels", "labels.csv", LABELS.encode() + GOOD_LABEL.encode() + b"mapping,\xff,x\n", "line 3", "UTF-8",
           id="labels not UTF-8"),
    _param("labels", "labels.csv", b"  \n", "empty", id="labels empty"),
    _param("labels", "labels.csv", LABELS, "no rows", id="labels header only"),
    # validity CSVs
    _param("validate", "scores.csv", SCORES + "survey-KL,KR,gpt,0.3\nsurvey-KL,JP,gpt,high\n", "line 3",
           "not a number", id="validity score not a number"),
    _param("validate", "scores.csv", "method,group,value\nsurvey-KL,KR,0.3\n", "lacks column",
           id="validity missing column"),
    _param("validate", "scores.csv", SCORES.encode() + b"survey-KL,\xc0,gpt,1\n", "line 2", "UTF-8",
           id="validity not UTF-8"),
    _param("validate", "scores.csv", b"", "empty", id="validity empty"),
    _param("validate", "scores.csv", SCORES + 'survey-KL,"KR,gpt,0.3\nsurvey-KL,JP,gpt,0.2\n', "line 2",
           "never closes", id="validity unclosed quote"),
    _param("validate", "scores.csv", SCORES + "survey-KL,KR,gpt\n", "line 2", "fewer fields",
           id="validity short row"),
    _param("primed", "primed.tsv", "method\tpersona\tgroup\tsource\tvalue\ndove\t\tKR\t\t0.2\n", "line 2",
           "source is empty", id="validity primed empty source"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Documents j1, j2; codebook version 1 with codes u0, u1; proposal 1; one label."""
    path = tmp_path_factory.mktemp("bad_input") / "p.db"
    store = create_project(path)
    ingest_file(store, FIXTURES / "good" / "docs.jsonl", IngestOptions(group="G"))
    codes = [Code(i, f"u{i}", f"code {i}", "test", None, 1, np.ones(4)) for i in range(2)]
    version = store.save_codebook("t", 1, "init", None, codes, np.array([], int), np.array([], int), {}, "h", "e")
    store.save_proposals([{"thread_id": "t", "iteration": 1, "version": version, "kind": "merge", "code_uid": "u1",
                           "target_uid": "u0", "names": "[]", "names_source": "test", "evidence": "{}",
                           "status": "pending", "created": 0.0}])
    record(store, "mapping", "j1::u1", "appropriate", "no", "bob", version)
    store.close()
    return path


@pytest.fixture
def project(template, tmp_path):
    path = tmp_path / "p.db"
    path.write_bytes(template.read_bytes())
    return path


def _counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0] for t in tables}


def _argv(kind: str, project: str, file: str) -> list[str]:
    return {"documents": ["ingest", project, file, "--group", "G"],
            "survey": ["survey", "import", project, file],
            "labels": ["labels", project, "--import", file],
            "validate": ["validate", "--scores", file],  # without PROJECT: it would ask for DOVE's scores first
            "primed": ["validate", "--primed", file]}[kind]


def test_the_project_takes_good_files_of_each_kind(project, tmp_path):
    """The cases fail for what they break, not because the project cannot take the good rows."""
    (tmp_path / "labels.csv").write_text(LABELS + GOOD_LABEL + "proposals,1,decision,approve,ana,first,,\n"
                                         "code_quality,u1,redundant_with,u0,ana,first,1,\n")
    (tmp_path / "survey.csv").write_text(SURVEY + GOOD_SURVEY + "q1,,,,,Japan,,No,0.4\n")
    (tmp_path / "scores.csv").write_text(SCORES + "survey-KL,KR,gpt,0.3\n")
    for kind, name in (("labels", "labels.csv"), ("survey", "survey.csv")):
        result = CliRunner().invoke(main, _argv(kind, str(project), str(tmp_path / name)))
        assert result.exit_code == 0, result.output
    assert _counts(project)["labels"] == 4


@pytest.mark.parametrize("kind, name, content, says", CASES)
def test_bad_file_is_one_line_and_changes_nothing(project, tmp_path, kind, name, content, says):
    if content is None:
        path = BAD / name
    else:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _counts(project)

    result = CliRunner().invoke(main, _argv(kind, str(project), str(path)))

    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert path.name in lines[0] and all(s in lines[0] for s in says), lines[0]
    assert _counts(project) == before
