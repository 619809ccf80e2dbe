"""Reading a user's tabular file (CSV, TSV, JSON, JSON lines) whole, with errors a user can act on.

sqlite-utils' ``rows_from_file`` reads the rows; this adds what every importer (documents,
labels, validity CSVs) needs around it: the file must be readable, not empty and UTF-8 (a BOM is
fine), and each row comes with the line it starts on, so that an error can name the line.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils.utils import Format, maximize_csv_field_size_limit, rows_from_file

from .errors import WorkbenchError

_EXTRAS = "\x00extras"  # the key rows_from_file puts a CSV row's surplus fields under
FORMATS = {".csv": Format.CSV, ".tsv": Format.TSV, ".json": Format.JSON, ".jsonl": Format.NL, ".ndjson": Format.NL}


@dataclass
class TabularFile:
    path: Path
    raw: bytes
    text: str
    what: str  # "file", "labels file", … as the errors call it

    @property
    def format(self) -> Format | None:
        """The format the extension names; None lets ``rows_from_file`` detect it."""
        return FORMATS.get(self.path.suffix.lower())

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def is_json_array(self) -> bool:
        return self.format is Format.JSON or (self.format is None and self.text.lstrip().startswith("["))

    def where(self, line: int) -> str:
        """"FILE, line N" (or "item N" in a JSON array, which has no useful line numbers)."""
        return f"{self.path}, {'item' if self.is_json_array else 'line'} {line}"

    def rows(self) -> list[tuple[int, dict]]:
        """(line the row starts on, row) for every row; CSV's header is line 1."""
        # Python's csv module stops at 131,072 characters a field; documents have their own limit.
        maximize_csv_field_size_limit()
        try:
            rows, fmt = rows_from_file(io.BytesIO(self.text.encode("utf-8")), format=self.format,
                                       extras_key=_EXTRAS)  # reported below with their line
            rows = list(rows)
        except Exception as exc:  # rows_from_file raises several types for malformed input
            name = self.format.name if self.format else "CSV/TSV/JSON"
            raise WorkbenchError(f"{self.path}: cannot parse the {self.what} as {name} ({exc}): check the "
                                 "file's format or its extension (.csv, .tsv, .json, .jsonl)") from None
        if fmt in (Format.CSV, Format.TSV):
            lines, line = [], 2
            for row in rows:  # quoted fields may span lines
                if _EXTRAS in row:
                    raise WorkbenchError(f"{self.where(line)}: the row has more fields than the header row: quote "
                                         "values that contain the separator, or add the missing column names")
                lines.append(line)
                line += 1 + sum(str(v).count("\n") for v in row.values() if v is not None)
            return list(zip(lines, rows))
        if fmt is Format.NL:
            return list(zip([i + 1 for i, text in enumerate(self.text.splitlines()) if text.strip()], rows))
        return [(i + 1, row) for i, row in enumerate(rows)]


def open_tabular(path: str | Path, what: str = "file",
                 empty_fix: str = "give a file with a header row and at least one row") -> TabularFile:
    """Read and decode ``path``; raises WorkbenchError naming the file (and line) and the fix."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WorkbenchError(f"{path.resolve()}: cannot read the {what} ({exc.strerror})") from None
    if not raw.strip():
        raise WorkbenchError(f"{path}: the {what} is empty: {empty_fix}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise WorkbenchError(
            f"{path}, line {line}: the {what} is not UTF-8 (byte 0x{raw[exc.start]:02x}): "
            f"re-save it as UTF-8, e.g. iconv -f cp949 -t utf-8 {path.name} > fixed.{path.suffix.lstrip('.')}"
        ) from None
    return TabularFile(path, raw, text, what)


def read_rows(path: str | Path, columns: tuple[str, ...], what: str) -> list[tuple[int, dict]]:
    """(line, row) of every row of a file that must have ``columns``: the whole-file checks."""
    table = open_tabular(path, f"{what} file", f"give a header row ({', '.join(columns)}) and rows")
    rows = table.rows()
    if not rows:
        raise WorkbenchError(f"{table.path}: the {what} file has no rows: give a header row "
                             f"({', '.join(columns)}) and rows")
    for line, row in rows:
        if not isinstance(row, dict):
            raise WorkbenchError(f"{table.where(line)}: expected an object with columns, got {type(row).__name__}: "
                                 "give one JSON object per row")
    missing = [c for c in columns if c not in rows[0][1]]
    if missing:
        raise WorkbenchError(f"{table.where(1)}: the {what} file lacks column(s) {missing} (it has "
                             f"{[c for c in rows[0][1] if c is not None]}): the columns are {', '.join(columns)}")
    return rows
