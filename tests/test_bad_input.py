"""Every importer, through the CLI, on bad files: documents, surveys, labels and validity CSVs.
Each bad file gives exactly one line naming the file (and the line, where there is one) with a
fix, no traceback, a failing exit code, and the project unchanged, table by table."""
from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from workbench.cli import main

LABEL_HEADER = "task,item_id,criterion,label,annotator,round,codebook_version,note\n"
SURVEY_HEADER = "question_id,question_text,question_type,options,dimension,country,group,option,share\n"

CASES = {
    # name: (command, file name, file bytes or a fixture, what the line must say)
    "documents not UTF-8": (["ingest", "--group", "G"], FIXTURES / "bad_input" / "not_utf8.csv", "line 2"),
    "documents empty": (["ingest", "--group", "G"], FIXTURES / "bad_input" / "empty.csv", "empty"),
    "documents duplicate id": (["ingest", "--group", "G"], FIXTURES / "bad_input" / "duplicate_id.csv", "line 4"),
    "documents wrong types": (["ingest", "--group", "G"], FIXTURES / "bad_input" / "wrong_types.jsonl", "line 2"),
    "survey unknown option": (["survey", "import"], ("survey.csv", SURVEY_HEADER
                              + "q1,Is divorce acceptable?,single,Yes | No,TDI,Japan,,Yes,0.6\n"
                              + "q1,,,,,Japan,,Maybe,0.4\n"), "line 3"),
    "survey not UTF-8": (["survey", "import"], ("survey.csv", SURVEY_HEADER.encode() + b"q1,\xff\xfe,single\n"),
                         "UTF-8"),
    "survey empty": (["survey", "import"], ("survey.json", b""), "empty"),
    "labels unknown task": (["labels", "--import"], ("labels.csv", LABEL_HEADER + "mapping,d1::u1,appropriate,yes,ana,"
                            "first,1,\nsummary,d2,appropriate,yes,ana,first,1,\n"), "line 3"),
    "labels value outside the protocol": (["labels", "--import"], ("labels.csv", LABEL_HEADER
                                          + "mapping,d1::u1,appropriate,perhaps,ana,first,1,\n"), "line 2"),
    "labels reserved annotator": (["labels", "--import"], ("labels.csv", LABEL_HEADER
                                  + "mapping,d1::u1,appropriate,yes,auto,first,1,\n"), "line 2"),
    "labels unknown version": (["labels", "--import"], ("labels.csv", LABEL_HEADER
                               + "mapping,d1::u1,appropriate,yes,ana,first,999,\n"), "line 2"),
    "labels repeated row": (["labels", "--import"], ("labels.csv", LABEL_HEADER
                            + "mapping,d1::u1,appropriate,yes,ana,first,1,\n" * 2), "line 3"),
    "labels missing column": (["labels", "--import"], ("labels.csv", "task,item_id,label\nmapping,d1,yes\n"),
                              "lacks column"),
    "labels not UTF-8": (["labels", "--import"], ("labels.csv", LABEL_HEADER.encode() + b"mapping,\xff,x\n"),
                         "line 2"),
    "validity scores not a number": (["validate", "--scores"], ("scores.csv", "method,group,source,value\n"
                                     "survey-KL,KR,gpt,high\n"), "line 2"),
}


def _snapshot(path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {t: conn.execute(f"select count(*) from [{t}]").fetchone()[0] for t in tables}


def _argv(command: list[str], project: str, file: str) -> list[str]:
    if command[0] == "ingest":
        return ["ingest", project, file, *command[1:]]
    if command[0] == "survey":
        return ["survey", "import", project, file]
    if command[0] == "labels":
        return ["labels", project, "--import", file]
    return ["validate", project, "--scores", file]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_one_line_and_changes_nothing(built_project, tmp_path, case):
    command, source, says = CASES[case]
    if isinstance(source, tuple):
        name, content = source
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    else:
        path = source
    before = _snapshot(built_project.path)

    result = CliRunner().invoke(main, _argv(command, str(built_project.path), str(path)))

    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert path.name in lines[0] and says in lines[0], lines[0]
    assert _snapshot(built_project.path) == before
