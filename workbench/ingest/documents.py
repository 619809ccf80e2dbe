"""Importing documents from CSV, TSV, JSON and JSON lines (read by sqlite-utils' ``rows_from_file``).

A file is validated completely before anything is written, then inserted in one transaction:
a bad file names the file, the line and the fix, and imports nothing.

Limits (documented in the README): a document may hold at most ``MAX_DOCUMENT_CHARS`` characters;
longer ones are rejected unless ``truncate=True`` cuts them (and marks them ``truncated``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WorkbenchError
from ..language import detect_language
from ..store import MAX_DOCUMENT_CHARS, DocumentRow, Store
from ..tabular import TabularFile, open_tabular
from ..vocabulary import HUMAN



@dataclass
class IngestOptions:
    group: str | None = None
    source: str = HUMAN
    topic: str | None = None  # one topic for every document of a .qdpx (tabular files: --topic-col)
    text_cols: tuple[str, ...] = ("text",)
    topic_col: str | None = None
    id_col: str = "id"
    language: str | None = None
    preset: str | None = None
    truncate: bool = False


@dataclass
class IngestResult:
    file: str
    documents: int
    gold_labels: int
    by_group: dict[str, int] = field(default_factory=dict)
    truncated: int = 0


def _as_text(value: object, column: str, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and column != "text":
        return str(value)
    raise WorkbenchError(f"{where}: column {column!r} must be a string, got {type(value).__name__} "
                         f"{json.dumps(value)[:40]}: quote the value in the file")


def _check_group(group: str | None, where: str) -> str:
    if group is None or not group.strip():
        raise WorkbenchError(f"{where}: the group name is empty: pass --group NAME (e.g. --group KR)")
    return group.strip()


def ingest_file(store: Store, path: str | Path, options: IngestOptions) -> IngestResult:
    """Validate a whole file and import its documents (and gold labels) atomically."""
    path = Path(path)
    if options.preset not in (None, "valueeval"):
        raise WorkbenchError(f"unknown preset {options.preset!r}: the presets are: valueeval")
    if options.group is not None:
        _check_group(options.group, str(path))
    if not options.source or not options.source.strip():
        raise WorkbenchError(f"{path}: --source is empty: use '{HUMAN}' or the model's name")
    reader = open_tabular(path, empty_fix="give a file with a header row and at least one document")
    rows = reader.rows()
    if not rows:
        raise WorkbenchError(f"{path}: the file has no rows: give a header row and at least one document")
    if options.preset == "valueeval":
        docs = [_valueeval_row(reader, line, row, options) for line, row in rows]
    else:
        docs = [_generic_row(reader, line, row, options) for line, row in rows]
    _check_duplicates(store, reader, rows, docs)
    gold = _valueeval_gold(path, {d.id for d in docs}) if options.preset == "valueeval" else []
    store.import_documents(str(path), reader.sha256, options.__dict__ | {"text_cols": list(options.text_cols)},
                           docs, gold)
    by_group: dict[str, int] = {}
    for d in docs:
        by_group[d.group_name] = by_group.get(d.group_name, 0) + 1
    return IngestResult(str(path), len(docs), len(gold), by_group, sum(d.truncated for d in docs))


def _require(row: dict, column: str, where: str, flag: str) -> object:
    if column not in row:
        have = ", ".join(list(row)[:8])
        raise WorkbenchError(f"{where}: column {column!r} is missing (columns: {have}): "
                             f"name the right column with {flag}")
    return row[column]


def _finish_text(text: str, where: str, options: IngestOptions) -> tuple[str, bool]:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise WorkbenchError(f"{where}: the document text is empty: remove the row or fill in its text")
    if len(text) > MAX_DOCUMENT_CHARS:
        if not options.truncate:
            raise WorkbenchError(
                f"{where}: the document has {len(text):,} characters, over the limit of {MAX_DOCUMENT_CHARS:,}: "
                "split it into several documents, or pass --truncate to cut it at the limit")
        return text[:MAX_DOCUMENT_CHARS], True
    return text, False


def _generic_row(reader: TabularFile, line: int, row: dict, options: IngestOptions) -> DocumentRow:
    where = reader.where(line)
    if not isinstance(row, dict):
        raise WorkbenchError(f"{where}: expected an object with columns, got {type(row).__name__}: "
                             "give one JSON object per document")
    doc_id = _as_text(_require(row, options.id_col, where, "--id-col"), options.id_col, where).strip()
    if not doc_id:
        raise WorkbenchError(f"{where}: the id in column {options.id_col!r} is empty: give every document an id")
    parts = [_as_text(_require(row, col, where, "--text-col"), "text", where) for col in options.text_cols]
    text, truncated = _finish_text("\n".join(p.strip() for p in parts if p and p.strip()), where, options)
    topic = None
    if options.topic_col is not None:
        topic = _as_text(_require(row, options.topic_col, where, "--topic-col"), options.topic_col, where).strip()
    elif "topic" in row:
        topic = _as_text(row["topic"], "topic", where).strip()
    group = _check_group(options.group, where)
    return DocumentRow(doc_id, group, topic or None, options.source.strip(),
                       options.language or detect_language(text), text, truncated)


VALUEEVAL_COLUMNS = ("Argument ID", "Conclusion", "Stance", "Premise")


def valueeval_documents(path: str | Path) -> list[DocumentRow]:
    """The documents of a Touché23-ValueEval ``arguments-*.tsv`` as ``--preset valueeval`` makes
    them, without importing them (the value lens is fitted on these texts)."""
    reader = open_tabular(path, empty_fix="give a ValueEval arguments-*.tsv file")
    options = IngestOptions(preset="valueeval")
    return [_valueeval_row(reader, line, row, options) for line, row in reader.rows()]


def _valueeval_row(reader: TabularFile, line: int, row: dict, options: IngestOptions) -> DocumentRow:
    """Touché23-ValueEval: topic = Conclusion, text = "(Stance) Premise", group = first letter of
    the Argument ID (A = IBM-ArgQ/USA, D = Group Discussion Ideas/India, E = Conference on the
    Future of Europe) unless ``--group`` is given. The conclusion is the question every author of
    the topic answers, not the author's own words: kept in the text it would be what the offline
    recognizer finds most value-laden, and codes would follow topics."""
    where = reader.where(line)
    values = {c: _as_text(_require(row, c, where, "--preset valueeval (a Touché23-ValueEval arguments-*.tsv)"),
                          c, where).strip() for c in VALUEEVAL_COLUMNS}
    doc_id = values["Argument ID"]
    if not doc_id:
        raise WorkbenchError(f"{where}: the Argument ID is empty: every argument needs an id")
    text, truncated = _finish_text(f"({values['Stance']}) {values['Premise']}", where, options)
    group = _check_group(options.group if options.group is not None else doc_id[0], where)
    return DocumentRow(doc_id, group, values["Conclusion"] or None, options.source.strip(),
                       options.language or "en", text, truncated)


def _valueeval_gold(arguments: Path, ids: set[str]) -> list[tuple[str, str, int]]:
    """Gold value labels from the ``labels-*.tsv`` beside ``arguments-*.tsv`` (absent: none)."""
    labels = arguments.with_name(arguments.name.replace("arguments-", "labels-", 1))
    if labels == arguments or not labels.exists():
        return []
    reader = open_tabular(labels)
    gold = []
    for line, row in reader.rows():
        doc_id = str(row.get("Argument ID", "")).strip()
        if doc_id not in ids:
            continue
        for category, value in row.items():
            if category == "Argument ID":
                continue
            if str(value).strip() not in ("0", "1"):
                raise WorkbenchError(f"{reader.where(line)}: label {category!r} is {value!r}, expected 0 or 1: "
                                     "fix the labels file or remove it")
            gold.append((doc_id, category, int(value)))
    return gold


def _check_duplicates(store: Store, reader: TabularFile, rows: list[tuple[int, dict]], docs: list[DocumentRow]) -> None:
    seen: dict[str, int] = {}
    for (line, _), doc in zip(rows, docs):
        if doc.id in seen:
            raise WorkbenchError(f"{reader.where(line)}: duplicate id {doc.id!r} (first at line "
                                 f"{seen[doc.id]}): give each document a unique id")
        seen[doc.id] = line
    clash = store.existing_document_ids(seen)
    if clash:
        first = min(clash, key=lambda i: seen[i])
        raise WorkbenchError(
            f"{reader.where(seen[first])}: id {first!r} is already in the project "
            f"({len(clash)} ids clash): this file may have been imported already; rename the ids to import it again")
