"""Reading a user's tabular file (CSV, TSV, JSON, JSON lines) whole, with errors a user can act on.

sqlite-utils' ``rows_from_file`` reads the rows; this adds what every importer (documents,
labels, surveys, validity CSVs) needs around it: the file must be readable, not empty and UTF-8
(a BOM is fine), hold no NUL byte, and each row comes with the line it starts on, so that an
error can name the line. No reading merges, splits or pads rows silently:

- **CSV** is RFC 4180: a field in quotes may hold separators, doubled quotes (``""``) and line
  breaks, and a quote inside an unquoted field is a character (``5" screen``). A quote that opens
  a field must close it right before the separator or the line end: a quote that never closes
  (the field would run to the end of the file) or that closes followed by anything else (``"a" b``;
  or, for a stray quote, the first later quote, some rows further down) is an error naming the
  line where that quoted field opens. That is how a stray quote shows, because Python's csv
  module, without ``strict``, takes every row after it into the field and drops the quotes.
  What remains is valid CSV and is read as written: a stray quote that a second stray quote at the
  end of an unquoted field closes (``1,"a`` … ``3,b",c``) yields one well-formed row whose field
  holds the lines between, as the same text written on purpose would; no rule can tell those
  apart without refusing legitimate multi-line text with separators in it.
- **TSV** is the IANA format (what ValueEval and most tools that say "TSV" write): a tab separates,
  a line is a row, a quote is a character. A field written with CSV quoting (starting and ending
  with a quote, with doubled quotes inside) is refused rather than kept with its quotes.
- **every row of CSV/TSV** has exactly as many fields as the header (a line break outside quotes
  splits a row into two short ones; a separator outside quotes adds a field); the header names
  each column once.
- **JSON / JSON lines** errors name the line (JSON's own syntax rules out line breaks and stray
  quotes inside strings); a NUL written as ``\\u0000`` in a value is refused like a NUL byte.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils.utils import Format, maximize_csv_field_size_limit, rows_from_file

from .errors import WorkbenchError

_EXTRAS = "\x00extras"  # the key rows_from_file puts a CSV row's surplus fields under
FORMATS = {".csv": Format.CSV, ".tsv": Format.TSV, ".json": Format.JSON, ".jsonl": Format.NL, ".ndjson": Format.NL}
_QUOTE_FIX = 'end the quoted field with a quote right before the separator, and double every quote inside it ("")'


class _CSV(csv.excel):
    strict = True  # a closing quote followed by anything but the separator or a line end is an error


class _TSV(csv.excel_tab):
    quoting = csv.QUOTE_NONE


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

    def _dialect(self) -> type[csv.Dialect] | None:
        """The CSV dialect to read with, or None for JSON (detected as ``rows_from_file`` does)."""
        fmt = self.format
        if fmt is None and self.text.lstrip().startswith(("[", "{")):
            return None
        if fmt is None:
            try:
                sniffed = csv.Sniffer().sniff(self.text[:2048])
            except csv.Error:
                sniffed = csv.excel
            return _TSV if sniffed.delimiter == "\t" else type("_Sniffed", (sniffed,), {"strict": True, "doublequote": True})
        return {Format.CSV: _CSV, Format.TSV: _TSV}.get(fmt)

    def header(self) -> list[str]:
        """The column names of a CSV/TSV file (its first record); [] for JSON."""
        dialect = self._dialect()
        if dialect is None:
            return []
        try:
            return next(csv.reader(io.StringIO(self.text, newline=""), dialect), [])
        except csv.Error as exc:
            raise self._quote_error(dialect, exc) from None

    def rows(self) -> list[tuple[int, dict]]:
        """(line the row starts on, row) for every row; CSV's header is line 1."""
        # Python's csv module stops at 131,072 characters a field; documents have their own limit.
        maximize_csv_field_size_limit()
        dialect = self._dialect()
        rows = self._json_rows() if dialect is None else self._csv_rows(dialect)
        for line, row in rows:
            if isinstance(row, dict) and any(isinstance(v, str) and "\x00" in v for v in row.values()):
                raise WorkbenchError(f"{self.where(line)}: a value holds a NUL character (\\u0000): remove it")
        return rows

    def _json_rows(self) -> list[tuple[int, dict]]:
        nl = self.format is Format.NL
        try:
            rows, _ = rows_from_file(io.BytesIO(self.text.encode("utf-8")), format=Format.NL if nl else Format.JSON)
            rows = list(rows)
        except json.JSONDecodeError as exc:
            line = exc.lineno
            if nl:  # rows_from_file parses line by line: find which line failed
                line = next((i for i, text in enumerate(self.text.split("\n"), 1) if _bad_json(text)), line)
            raise WorkbenchError(f"{self.path}, line {line}: invalid JSON ({exc.msg}): fix the syntax there"
                                 + ("; JSON lines holds one whole object per line" if nl else "")) from None
        except Exception as exc:  # a JSON scalar at the top level
            raise WorkbenchError(f"{self.path}: cannot read the {self.what} as JSON ({exc}): give a list of "
                                 "objects, or one object per line in a .jsonl file") from None
        if nl:  # the lines rows_from_file reads: split at \n only, blank ones skipped
            return list(zip([i for i, text in enumerate(self.text.encode("utf-8").split(b"\n"), 1) if text.strip()],
                            rows))
        return [(i + 1, row) for i, row in enumerate(rows)]

    def _csv_rows(self, dialect: type[csv.Dialect]) -> list[tuple[int, dict]]:
        header = self.header()
        seen: dict[str, int] = {}
        for i, name in enumerate(header, 1):
            if name in seen:
                raise WorkbenchError(f"{self.path}, line 1: the header names column {name!r} twice (columns "
                                     f"{seen[name]} and {i}): rename one of them")
            seen[name] = i
        try:
            rows, _ = rows_from_file(io.BytesIO(self.text.encode("utf-8")), format=Format.CSV, dialect=dialect,
                                     extras_key=_EXTRAS)
            rows = list(rows)
        except csv.Error as exc:
            raise self._quote_error(dialect, exc) from None
        lines = self.text.split("\n")
        out, line = [], 2 + sum(h.count("\n") for h in header)
        for row in rows:
            while line <= len(lines) and lines[line - 1] in ("", "\r"):  # DictReader skips empty lines
                line += 1
            self._check_width(line, row, len(header), dialect)
            out.append((line, row))
            line += 1 + sum(str(v).count("\n") for v in row.values())
        return out

    def _check_width(self, line: int, row: dict, width: int, dialect: type[csv.Dialect]) -> None:
        if _EXTRAS in row:
            raise WorkbenchError(f"{self.where(line)}: the row has more fields than the header ({width + len(row[_EXTRAS])}"
                                 f" and {width}): quote values that contain the separator, or add the missing column "
                                 "names")
        given = sum(v is not None for v in row.values())
        if given < width:
            raise WorkbenchError(
                f"{self.where(line)}: the row has fewer fields than the header ({given} and {width}): a line break "
                "outside quotes splits a row (quote a field that holds one), or the row lacks separators for its empty "
                "fields (write them, e.g. a,,c)")
        if dialect is _TSV:
            quoted = next((k for k, v in row.items() if _CSV_QUOTED.fullmatch(v)), None)
            if quoted is not None:
                raise WorkbenchError(
                    f"{self.where(line)}: column {quoted!r} is quoted the CSV way (in quotes, with doubled quotes "
                    "inside), but a TSV file takes quotes as characters: save the file as .csv, or write the value "
                    "without the outer quotes and with single ones inside")

    def _quote_error(self, dialect: type[csv.Dialect], exc: csv.Error) -> WorkbenchError:
        """The error for a CSV the strict reader refused, naming the line its bad quoted field opens on.

        Python's csv module names only where it stopped (the end of the file, for a quote that never
        closes); the line a user must fix is where the quote opens. This walks the fields as the
        reader does (a field opens with a quote only at its start) up to the first bad one."""
        q, sep, text = dialect.quotechar, dialect.delimiter, self.text
        closing = re.compile(f"(?:[^{re.escape(q)}]|{re.escape(q * 2)})*{re.escape(q)}")
        unquoted = re.compile(f"[^{re.escape(sep)}\r\n]*")
        pos = 0
        while pos < len(text):
            while dialect.skipinitialspace and text.startswith(" ", pos):
                pos += 1
            if text.startswith(q, pos):
                opens = text.count("\n", 0, pos) + 1
                match = closing.match(text, pos + 1)
                if match is None:
                    after = text.count("\n", pos) - text.endswith("\n")
                    return WorkbenchError(
                        f"{self.path}, line {opens}: a quoted field opens here and never closes (it would swallow the "
                        f"{after} line{'s' * (after != 1)} after it, to the end of the file): {_QUOTE_FIX}")
                pos = match.end()
                if pos < len(text) and text[pos] not in (sep, "\r", "\n"):
                    closes = text.count("\n", 0, pos) + 1
                    after = text[pos:].split("\n", 1)[0][:20]
                    on = "on the same line" if closes == opens else f"on line {closes}"
                    return WorkbenchError(
                        f"{self.path}, line {opens}: the quoted field that opens here closes {on}, followed by "
                        f"{after!r} instead of the separator: {_QUOTE_FIX}")
            else:
                pos = unquoted.match(text, pos).end()
            pos += 1  # the separator or the line end
        return WorkbenchError(f"{self.path}: cannot read the {self.what} as CSV ({exc}): check the quotes")


_CSV_QUOTED = re.compile(r'"(?:[^"]|"")*""(?:[^"]|"")*"', re.S)


def _bad_json(text: str) -> bool:
    if not text.strip():
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return True
    return False


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
    if "\x00" in text:  # UTF-16 without a BOM decodes as "UTF-8" with a NUL after every ASCII letter
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise WorkbenchError(
            f"{path}, line {line}: the {what} holds a NUL byte (0x00), so it is binary or UTF-16, not UTF-8 text: "
            f"re-save it as UTF-8, e.g. iconv -f utf-16 -t utf-8 {path.name} > fixed.{path.suffix.lstrip('.')}")
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
