"""Label files: every label exported to CSV, and labels imported from CSV/TSV/JSON, checked whole."""
from __future__ import annotations

import calendar
import csv
import io
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import WorkbenchError
from ..store import Store
from ..store.annotations import LABEL_COLUMNS
from ..tabular import read_rows
from .labels import closed_round_error, label_row
from .roles import IMPORT, SEE_LABELS, may, member, require_lead
from .tasks import FIRST, MODEL, PAIR, TASKS


def export_scope(store: Store, by: str | None) -> str | None:
    """Whose labels ``by`` may export: None for every label (a lead; anyone in a project without
    annotators), else ``by``'s own name as registered (an annotator or reviewer: their own labels)."""
    if by is None:
        if store.has_annotators():
            raise WorkbenchError("say who is exporting labels: --by NAME (a lead exports every label, anyone else "
                                 "their own)")
        return None
    name, role = member(store, by)
    return None if may(role, SEE_LABELS) else name


def export_labels(store: Store, path: str | Path, by: str | None = None) -> int:
    """Write every label ever recorded to a CSV file (one row per label row); returns the count.
    Once the project has annotators, ``by`` says who exports: a lead writes every label, anyone
    else only their own (:func:`export_scope`).

    ``created`` is the time as stored (seconds since 1970, written as Python's shortest exact
    repr, so it reads back to the same float); ``created_utc`` is the same time to the second for
    people; ``id`` is the row's number in this project (an import numbers rows anew)."""
    path = Path(path)
    only = export_scope(store, by)
    if not path.parent.exists():
        raise WorkbenchError(f"folder {path.parent} does not exist: create it first")
    n = 0
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow([*LABEL_COLUMNS, "created_utc"])
    for row in store.export_label_rows(annotator=only):
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created"])) if row["created"] else ""
        writer.writerow([*(row[c] for c in LABEL_COLUMNS), created])
        n += 1
    try:
        path.write_text(handle.getvalue(), encoding="utf-8", newline="")
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot write the labels ({exc.strerror}): give a file in a folder you may "
                             "write to") from None
    return n


IMPORT_COLUMNS = ("task", "item_id", "criterion", "label", "annotator")  # round, codebook_version, note,
# protocol_version, created and created_utc are read when present (an export of this workbench has them all)


@dataclass
class LabelImport:
    imported: int
    already_present: int
    recognizer_rows: int  # round "model": the recognizer's own labels, recomputed here, not imported


def import_labels(store: Store, path: str | Path, by: str | None = None) -> LabelImport:
    """Append the labels of a CSV/TSV/JSON file (the columns ``workbench labels --export`` writes):
    a lead's act once the project has annotators (``by``), as it writes labels in others' names.

    The whole file is checked first — task, criterion and label against the protocols, the item
    (document, code or proposal) and codebook version against the project, annotator names,
    rounds, times, types — and then written in one transaction; a bad row raises an error naming
    the file, the line and the fix, and nothing is written.

    A label row is an event: an annotator who presses ``y`` twice within a second made two rows,
    alike but for their time, and two rows written in one batch can be alike to the bit. So rows
    that repeat each other are all imported, and what makes a row *already in the project* is
    counted: a row's identity is (task, item, criterion, label, annotator, round, version, note,
    time), the time as exact as the file gives it (``created``, exact to the bit; else
    ``created_utc``, to the second); if the file holds an identity k times and the project j times,
    k − j rows are added. Importing a file twice, or a project's own export into it, adds nothing;
    into another project, it adds every row with its time, so that project's export has the same
    labels. Only a row without any time that repeats another is refused, as a row pasted twice
    cannot be told from two labels then.
    """
    require_lead(store, by, IMPORT)
    rows_in = read_rows(path, IMPORT_COLUMNS, "labels")
    path = Path(path)
    uids, proposals = store.label_targets()
    documents = store.existing_document_ids({str(r.get("item_id") or "").rsplit(PAIR, 1)[0] for _, r in rows_in
                                             if str(r.get("task") or "").strip() == "mapping"})
    present = {precision: Counter(_identity(r[:8], r[8], precision) for r in store.label_identities())
               for precision in ("exact", "second", None)}
    rows, untimed, recognizer_rows, already = [], {}, 0, 0
    for line, raw in rows_in:
        try:
            row, precision = _imported_label(raw, uids, proposals, documents)
            if row is not None:  # in a project with annotators, only theirs (as registered)
                row["annotator"] = member(store, row["annotator"])[0]
        except WorkbenchError as exc:
            raise WorkbenchError(f"{path}, line {line}: {exc}") from None
        if row is None:
            recognizer_rows += 1
            continue
        identity = _identity([row[c] for c in _IDENTITY], row["created"], precision)
        if precision is None:
            if identity in untimed:
                raise WorkbenchError(f"{path}, line {line}: repeats line {untimed[identity]} and neither gives a time: "
                                     "remove one of them, or give each its created_utc if both are real labels")
            untimed[identity] = line
        if present[precision][identity] > 0:  # one of the rows the project has; the next repeat is new
            present[precision][identity] -= 1
            already += 1
            continue
        row["created"] = row["created"] or time.time()
        closed = store.closed_round(row["task"], row["codebook_version"]) if row["round"] == FIRST else None
        if closed and row["created"] >= closed["closed"]:  # labels made before the closing still fit; adjudication
            # (re-annotation, consensus) goes on after it, as in ``record``
            raise WorkbenchError(f"{path}, line {line}: {closed_round_error(closed)}; nothing was imported")
        rows.append(row)
    store.record_labels(rows)
    return LabelImport(len(rows), already, recognizer_rows)


_IDENTITY = ("task", "item_id", "criterion", "label", "annotator", "round", "codebook_version", "note")


def _identity(values, created: float | None, precision: str | None) -> tuple:
    """A label row as an import compares it: its identity columns and its time to ``precision``."""
    *head, note = values
    when = None if precision is None else created if precision == "exact" else math.floor(created)
    return (*(str(v) if v is not None else None for v in head), note or "", when)


def _imported_label(raw: dict, uids: dict[int, set[str]], proposals: dict[int, int],
                    documents: set[str]) -> tuple[dict[str, Any] | None, str | None]:
    """One file row as a label row (``None`` for the recognizer's own rows) and the precision of its
    time ("exact", "second" or None when it gives none); raises the error."""
    cells = {c: _cell(raw.get(c), c) for c in (*IMPORT_COLUMNS, "round", "codebook_version", "note",
                                                "protocol_version", "created", "created_utc")}
    if cells["round"] == MODEL:
        return None, None
    task, item = cells["task"], cells["item_id"]
    if not task:
        raise WorkbenchError(f"task is empty: use one of {', '.join(TASKS)}")
    if not item:
        raise WorkbenchError("item_id is empty: fill it in")
    if not cells["annotator"]:
        raise WorkbenchError("annotator is empty: fill in the name of who gave the label")
    version = _optional_int(cells["codebook_version"], "codebook_version")
    if version is not None and version not in uids:
        raise WorkbenchError(f"codebook version {version} is not in this project (it has "
                             f"{', '.join(map(str, sorted(uids))) or 'none'}): fix codebook_version")
    row = label_row(task, item, cells["criterion"], cells["label"], cells["annotator"], version,
                    cells["round"] or FIRST, cells["note"] or None)
    if task == "proposals":
        proposal = int(item) if item.isdigit() else None
        if proposal not in proposals:
            raise WorkbenchError(f"item {item!r} is not a proposal of this project: give a proposal id "
                                 "('workbench status PROJECT' lists them)")
        if version is not None and version != proposals[proposal]:
            raise WorkbenchError(f"proposal {item} was made on codebook version {proposals[proposal]}, not {version}: "
                                 "fix codebook_version or leave it empty")
        row["codebook_version"] = proposals[proposal]
    else:
        if version is None:
            raise WorkbenchError(f"codebook_version is empty: a {task} label belongs to a codebook version, fill it in")
        document, uid = item.rsplit(PAIR, 1) if task == "mapping" and PAIR in item else (None, item)
        if task == "mapping" and document is None:
            raise WorkbenchError(f"item {item!r} is not a document{PAIR}code pair: write DOCUMENT_ID{PAIR}CODE_UID")
        if document is not None and document not in documents:
            raise WorkbenchError(f"document {document!r} is not in this project: fix item_id or ingest the document")
        for code in [uid] + ([row["label"]] if row["criterion"] == "redundant_with" else []):
            if code not in uids[version]:
                raise WorkbenchError(f"code {code!r} is not in codebook version {version}: give a code uid of that "
                                     "version ('workbench codebook PROJECT --version V' lists them)")
    row["protocol_version"] = cells["protocol_version"] or row["protocol_version"]
    if cells["created"]:
        row["created"] = _seconds(cells["created"])
        return row, "exact"
    row["created"] = _utc(cells["created_utc"])
    return row, "second" if row["created"] is not None else None


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise WorkbenchError(f"column {column!r} must be text or a number, got {type(value).__name__} "
                             f"{json.dumps(value)[:40]}: write it as text")
    return str(value).strip()


def _optional_int(text: str, column: str) -> int | None:
    if not text:
        return None
    try:
        return int(float(text)) if float(text).is_integer() else int(text)
    except ValueError:
        raise WorkbenchError(f"{column} {text!r} is not a whole number: write e.g. 3, or leave it empty") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value < 253402300800:  # before year 10000, as the export writes
        raise WorkbenchError(f"created {text!r} is not a time in seconds since 1970 (as the export writes it): fix "
                             "it, or leave it empty and give created_utc")
    return value


_UTC = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?Z")


def _utc(text: str) -> float | None:
    if not text:
        return None
    match = _UTC.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return calendar.timegm(time.strptime(match[1], "%Y-%m-%dT%H:%M:%S")) + float(match[2] or 0)
    except ValueError:
        raise WorkbenchError(f"created_utc {text!r} is not a UTC time like 2026-11-23T14:05:00Z: fix it or leave "
                             "it empty (then the import time is used)") from None
