"""Reading a REFI-QDA project (``.qdpx``): a zip with one ``.qde`` (XML of the REFI-QDA Project
schema, 18 March 2019, shipped beside this module as ``Project.xsd``) and the sources' files under
``sources/``. ``read_qdpx`` reads and validates the whole file before anything uses it; what maps to
the workbench and what does not is :mod:`workbench.ingest.qdpx`'s (importing) and
:mod:`workbench.build.seed`'s (a seed codebook). Writing one is :mod:`workbench.report.qdpx`.
"""
from __future__ import annotations

import functools
import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import WorkbenchError

PROJECT_SCHEMA = Path(__file__).with_name("Project.xsd")
NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"
PATH_SEPARATOR = " / "
_COLOUR = re.compile(r"#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
# What the mapping task cannot hold, by the element that carries it.
UNMAPPED = {"Note": "memos (notes)", "Variable": "variables", "Case": "cases", "Set": "sets", "Link": "links",
            "Graph": "graphs"}
NON_TEXT = {"PictureSource": "a picture", "PDFSource": "a PDF", "AudioSource": "audio", "VideoSource": "video"}


@dataclass
class RefiCode:
    guid: str
    name: str  # the path, flattened
    description: str
    colour: str | None


@dataclass
class RefiSource:
    name: str
    text: str
    codings: list[tuple[str | None, str]]  # (user GUID or None, code GUID), one per Coding


@dataclass
class RefiProject:
    """A parsed and validated ``.qdpx``: what maps, and what does not (counted or said)."""

    name: str
    qde: str  # the .qde member's name
    sha256: str
    users: dict[str, str]  # GUID -> name as the file spells it
    codes: list[RefiCode]
    sources: list[RefiSource]
    skipped: list[str] = field(default_factory=list)  # one line per source not imported
    unmapped: Counter = field(default_factory=Counter)  # what the mapping task cannot hold -> count
    notes: list[str] = field(default_factory=list)  # what was read differently from the file, and why



def guid_key(guid: str) -> str:
    """A GUID as the workbench keeps a uid: lower case, no braces (the schema allows ``{…}``)."""
    return str(uuid.UUID(guid.strip().strip("{}"))).lower()


@functools.lru_cache(maxsize=1)
def project_schema():
    import xmlschema

    return xmlschema.XMLSchema10(str(PROJECT_SCHEMA))


def _qde_member(archive: zipfile.ZipFile, path: Path) -> str:
    """``project.qde``, else the one ``.qde`` in the zip (ATLAS.ti names it after the project)."""
    names = [n for n in archive.namelist() if n.lower().endswith(".qde") and not n.startswith("__MACOSX/")]
    if "project.qde" in names:
        return "project.qde"
    if len(names) == 1:
        return names[0]
    if not names:
        raise WorkbenchError(f"{path}: the .qdpx holds no .qde project file: export the project again as REFI-QDA "
                             "(.qdpx) from your QDA software")
    raise WorkbenchError(f"{path}: the .qdpx holds {len(names)} .qde files ({', '.join(sorted(names)[:4])}): "
                         "export one project per .qdpx")


def normalise_colour(value: str) -> tuple[str | None, str | None]:
    """(``#rrggbb`` or None, what was changed or None): ``#RGB`` widened, the alpha of ``#RRGGBBAA``
    dropped (the 2019 schema has no alpha channel), anything else dropped."""
    found = _COLOUR.fullmatch(value.strip())
    if not found:
        return None, "not a colour"
    digits = found.group(1).lower()
    if len(digits) == 3:
        return "#" + "".join(d * 2 for d in digits), None
    if len(digits) == 8:
        return "#" + digits[:6], "alpha dropped"
    return "#" + digits, None


def _normalise_colours(root: ET.Element, notes: list[str]) -> None:
    """Colours the schema would refuse but whose meaning is plain are rewritten before validation,
    and said."""
    changed: Counter = Counter()
    for element in root.iter():
        colour = element.get("color")
        if colour is None:
            continue
        fixed, how = normalise_colour(colour)
        if how:
            changed[how] += 1
            if fixed is None:
                del element.attrib["color"]
            else:
                element.set("color", fixed)
    for how, n in sorted(changed.items()):
        notes.append(f"{n:,} colours: {how} ({'#RRGGBBAA read as RGB + alpha' if how == 'alpha dropped' else 'left out'})")


def _first_schema_error(root: ET.Element) -> str | None:
    if root.tag != Q + "Project":
        found = root.tag.partition("}")
        namespace, tag = (found[0].lstrip("{"), found[2]) if found[1] else ("no namespace", root.tag)
        return f"the root element is {tag} ({namespace}), expected Project in namespace {NS}"
    for error in project_schema().iter_errors(root):
        return " ".join(f"{error.reason or error.message} (at {error.path})".split())
    return None


def _source_text(element: ET.Element, archive: zipfile.ZipFile, base: Path, folder: Path) -> tuple[str | None, str]:
    """(the text of a TextSource, or None and why not). A text file outside the archive is read
    only from ``folder`` (the one holding the .qdpx) or below: a project file someone sends must
    not pull other files of this machine into the project."""
    content = element.find(Q + "PlainTextContent")
    if content is not None:
        return content.text or "", ""
    reference = element.get("plainTextPath")
    if not reference:
        return None, "it has neither PlainTextContent nor a plainTextPath (rich text only)"
    bare = reference.removeprefix("internal://").lstrip("/")
    members = set(archive.namelist())
    for member in (f"sources/{bare}", bare):
        if member in members:
            return _member(archive, member).decode("utf-8-sig", errors="replace"), ""
    if not reference.startswith("internal://"):
        outside = Path(reference.removeprefix("file://"))
        outside = (outside if outside.is_absolute() else base / outside).resolve()
        if not outside.is_relative_to(folder):
            return None, (f"its text file {reference!r} lies outside {folder}, the .qdpx's folder: copy it there "
                          "(or into a folder below it) and ingest again")
        try:
            if outside.is_file():  # said in the summary: a file outside the .qdpx becomes a document
                return outside.read_text("utf-8-sig", errors="replace"), f"read from {outside}, outside the .qdpx"
        except OSError as exc:  # a name too long, a file it may not read
            return None, f"its text file {reference!r} cannot be read ({exc.strerror})"
    return None, f"its text file {reference!r} is neither in the .qdpx's sources/ nor on disk"


def selection_misfit(text: str, start: int, end: int, name: str | None) -> str | None:
    """None when a selection's offsets (Unicode code points) fit its source's text, else why not:
    beyond the text, or counted in UTF-16 units (they select the selection's name only so read).
    A name that differs from the selected text proves nothing by itself: tools name selections
    freely."""
    units = text.encode("utf-16-le")
    utf16 = (name is not None and 0 <= start <= end and 2 * end <= len(units)
             and units[2 * start:2 * end].decode("utf-16-le", errors="replace") == name)
    fits = 0 <= start <= end <= len(text)
    if utf16 and not (fits and text[start:end] == name):
        return "offsets counted in UTF-16 units, not Unicode code points"
    return None if fits else "offsets beyond the end of the text"


def flatten_codes(codes: ET.Element | None, namespace: str = NS) -> tuple[list[RefiCode], int]:
    """(every codable code under a ``Codes`` element, nested ones with their path in the name; how
    many were not codable). The project's and the codebook's (.qdc) schemas share this CodeType."""
    q = f"{{{namespace}}}"
    found: list[RefiCode] = []
    not_codable = 0

    def walk(element: ET.Element, path: list[str]) -> None:
        nonlocal not_codable
        for code in element.findall(q + "Code"):
            names = [*path, (code.get("name") or "").strip()]
            if code.get("isCodable", "true").strip() in ("true", "1"):
                description = code.find(q + "Description")
                colour = code.get("color")
                found.append(RefiCode(guid_key(code.get("guid")), PATH_SEPARATOR.join(names),
                                      (description.text or "").strip() if description is not None else "",
                                      normalise_colour(colour)[0] if colour else None))
            else:
                not_codable += 1
            walk(code, names)

    if codes is not None:
        walk(codes, [])
    return found, not_codable


def _coding_pairs(parent: ET.Element, user: str | None) -> list[tuple[str | None, str]]:
    pairs = []
    for coding in parent.findall(Q + "Coding"):
        who = coding.get("creatingUser") or user
        pairs.append((guid_key(who) if who else None, guid_key(coding.find(Q + "CodeRef").get("targetGUID"))))
    return pairs


def read_qdpx(path: str | Path) -> RefiProject:
    """Parse and validate a ``.qdpx`` without touching a project; a file that is not a valid REFI
    project raises one line naming the first problem."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file: give the path of a .qdpx exported from your QDA software")
    data = path.read_bytes()
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise WorkbenchError(f"{path}: not a zip archive, so not a .qdpx: export the project again as REFI-QDA "
                             "(.qdpx)") from None
    with archive:
        qde = _qde_member(archive, path)
        try:
            root = ET.fromstring(_member(archive, qde))
        except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError, ValueError: its declared encoding
            raise WorkbenchError(f"{path}: {qde} is not well-formed XML ({exc}): export the project again") from None
        notes: list[str] = []
        _normalise_colours(root, notes)
        error = _first_schema_error(root)
        if error:
            raise WorkbenchError(f"{path}: not a valid REFI-QDA project ({qde}): {error}; nothing was imported")
        project = RefiProject(root.get("name", ""), qde, hashlib.sha256(data).hexdigest(),
                              {guid_key(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
                               for u in root.iterfind(f"{Q}Users/{Q}User")}, [], [], notes=notes)
        if qde != "project.qde":
            notes.append(f"the project file is {qde!r}, not 'project.qde' (read all the same)")
        project.codes, not_codable = flatten_codes(root.find(f"{Q}CodeBook/{Q}Codes"))
        project.unmapped["codes not codable (categories; their children keep the path)"] += not_codable
        base = Path(root.get("basePath") or path.parent)
        for element in root.iterfind(f"{Q}Sources/*"):
            kind = element.tag.removeprefix(Q)
            name = (element.get("name") or element.get("guid")).strip()
            if kind in NON_TEXT:
                project.skipped.append(f"skipped {NON_TEXT[kind]} source {name!r}: only plain text becomes a document")
                project.unmapped["codings on non-text selections"] += sum(1 for _ in element.iter(Q + "Coding"))
                continue
            text, why = _source_text(element, archive, base, path.parent.resolve())
            if text is None:
                project.skipped.append(f"skipped text source {name!r}: {why}")
                project.unmapped["codings of skipped sources"] += sum(1 for _ in element.iter(Q + "Coding"))
                continue
            if why:
                notes.append(f"text source {name!r}: {why}")
            codings = _coding_pairs(element, element.get("creatingUser"))
            for selection in element.findall(Q + "PlainTextSelection"):
                misfit = selection_misfit(text, int(selection.get("startPosition")),
                                          int(selection.get("endPosition")), selection.get("name"))
                if misfit:
                    project.unmapped[f"selections with {misfit} (coded all the same)"] += 1
                codings += _coding_pairs(selection, selection.get("creatingUser"))
            project.sources.append(RefiSource(name, text, codings))
        for tag, what in UNMAPPED.items():
            n = sum(1 for _ in root.iter(Q + tag))
            project.unmapped[what] += n
        project.unmapped += Counter()  # drops the kinds counted zero times
        return project


def _member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, or one line naming what is wrong with the archive."""
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        raise WorkbenchError(f"{archive.filename}: cannot read {name} ({exc}): the .qdpx is damaged or encrypted; "
                             "export the project again") from None
