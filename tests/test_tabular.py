"""Reading a user's file (workbench/tabular.py): no reading merges, splits or pads rows. Damage is
one error naming the file, the line the user must fix and the fix; what CSV allows (quoted line
breaks, separators and doubled quotes, a quote inside an unquoted field) reads as written."""
from __future__ import annotations

import json

import pytest

from workbench.errors import WorkbenchError
from workbench.tabular import open_tabular

HEAD = "id,text,topic\n"

DAMAGED = [
    # (file name, content, the line to fix, words the error must say)
    ("unclosed.csv", HEAD + '1,"unterminated quote,x\n2,ok,y\n', "line 2", "never closes"),
    ("unclosed_last.csv", HEAD + '1,ok,x\n2,"no end', "line 3", "never closes"),
    ("stray_quote_later_closed.csv", HEAD + '1,"stray,x\n2,ok,y\n3,"more",z\n', "line 2", "closes on line 4"),
    ("text_after_quote.csv", HEAD + '1,"quoted" then more,x\n', "line 2", "on the same line"),
    ("after_a_multiline_row.csv", HEAD + '1,"two\nlines",x\n2,"open,y\n3,ok,z\n', "line 4", "never closes"),
    ("quote_in_header.csv", 'id,"text,topic\n1,a,b\n', "line 1", "never closes"),
    ("more_fields.csv", HEAD + "1,ok,x\n2,a, b,y\n", "line 3", "more fields than the header"),
    ("fewer_fields.csv", HEAD + "1,ok,x\n2,only\n", "line 3", "fewer fields than the header"),
    ("line_break_unquoted.csv", HEAD + "1,first half\nsecond half,x\n", "line 2", "line break outside quotes"),
    ("twice_named.csv", "id,text,text\n1,a,b\n", "line 1", "column 'text' twice"),
    ("nul.csv", HEAD + "1,ok,x\n2,a\x00b,y\n", "line 3", "NUL byte"),
    ("utf16.csv", (HEAD + "1,ok,x\n").encode("utf-16-le"), "line 1", "NUL byte"),
    ("fewer_fields.tsv", "id\ttext\ttopic\n1\tok\tx\n2\tonly\n", "line 3", "fewer fields"),
    ("more_fields.tsv", "id\ttext\ttopic\n1\tok\tx\ty\n", "line 2", "more fields"),
    ("csv_quoting.tsv", 'id\ttext\ttopic\n1\t"say ""hi"""\tx\n', "line 2", "quoted the CSV way"),
    ("quoted_line_break.tsv", 'id\ttext\ttopic\n1\t"two\nlines"\tx\n', "line 2", "fewer fields"),
    ("broken.jsonl", '{"id": "1", "text": "a"}\n{"id": "2", "text": "b\n"}\n', "line 2", "invalid JSON"),
    ("pretty.jsonl", '{"id": "1", "text": "a"}\n{\n "id": "2", "text": "b"}\n', "line 2", "invalid JSON"),
    ("stray_quote.json", '[{"id": "1", "text": "a"},\n {"id": "2", "text": "b"c"}]\n', "line 2", "invalid JSON"),
    ("escaped_nul.jsonl", '{"id": "1", "text": "a"}\n{"id": "2", "text": "a\\u0000b"}\n', "line 2", "NUL"),
]


@pytest.mark.parametrize("name, content, line, words", DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damage_is_one_line_naming_the_file_the_line_and_the_fix(tmp_path, name, content, line, words):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(WorkbenchError) as err:
        open_tabular(path).rows()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, {line}: ") and words in message, message
    assert message.count(": ") >= 2  # the problem, then the fix


def test_the_issue_file_names_the_line_the_quote_opens_and_how_to_close_it(tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text('id,text,topic\n1,"unterminated quote,x\n2,ok,y\n')
    with pytest.raises(WorkbenchError, match=r'docs\.csv, line 2: a quoted field opens here and never closes \(it '
                                             r'would swallow the 1 line after it.*double every quote inside it'):
        open_tabular(path).rows()


def test_what_csv_allows_reads_as_written_with_the_line_each_row_starts_on(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(HEAD + '1,"Dear sir,\nI think, therefore, I am\n2,no,z",x\n'  # a row-like line inside text
                    "\n"  # a blank line is skipped
                    '2,"He said ""hi""",y\n'
                    '3,a 5" screen,z\n'
                    '4,"",\n', newline="")
    rows = open_tabular(path).rows()
    assert [line for line, _ in rows] == [2, 6, 7, 8]
    assert [r["text"] for _, r in rows] == ["Dear sir,\nI think, therefore, I am\n2,no,z", 'He said "hi"',
                                           'a 5" screen', ""]
    assert rows[3][1]["topic"] == ""


def test_crlf_multiline_fields_keep_their_lines(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'id,text\r\n1,"a\r\nb"\r\n2,c\r\n')
    assert [(line, r["id"]) for line, r in open_tabular(path).rows()] == [(2, "1"), (4, "2")]


def test_tsv_takes_quotes_as_characters(tmp_path):
    """ValueEval's arguments-validation.tsv has the conclusion '"Bullet for Bullet" is a right policy':
    read as CSV quoting (as before), the quotes vanished."""
    path = tmp_path / "args.tsv"
    path.write_text('id\ttext\ttopic\nD1\tok\t"Bullet for Bullet" is a right policy\nD2\t5" screen\t"quoted"\n')
    rows = open_tabular(path).rows()
    assert [r["topic"] for _, r in rows] == ['"Bullet for Bullet" is a right policy', '"quoted"']


def test_json_lines_lines_count_only_newlines(tmp_path):
    """A U+2028 inside a JSON string is not a line break for JSON lines (nor for the error's line)."""
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "a\u2028b"}, ensure_ascii=False) + "\n\n"
                    + json.dumps({"id": "2", "text": "c"}) + "\n")
    assert [(line, r["id"]) for line, r in open_tabular(path).rows()] == [(1, "1"), (3, "2")]


def test_a_sniffed_file_keeps_the_quote_checks(tmp_path):
    path = tmp_path / "s.txt"  # no known extension: the dialect is sniffed (';' here)
    path.write_text('id;text\nd1;"a" b\n', "utf-8")
    with pytest.raises(WorkbenchError, match="line 2"):  # was read as 'a b', the quotes dropped
        open_tabular(path).rows()
