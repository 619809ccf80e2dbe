"""Exporting a codebook version: JSON, CSV, and a REFI-QDA codebook (``.qdc``) that NVivo,
ATLAS.ti, MAXQDA and QualCoder import.

The ``.qdc`` follows the REFI-QDA Codebook schema (``urn:QDA-XML:codebook:1.0``): a ``CodeBook``
root with one ``Codes`` element holding a flat list of ``Code`` elements, each with the required
``guid``, ``name`` and ``isCodable`` attributes and a ``Description``. The GUID is the code's uid
(a UUID5 derived from the build thread and the code's history), so a code keeps its GUID across
exports and across codebook versions in which it survives unchanged.
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

from ..errors import WorkbenchError
from ..pipeline.code_view import code_views, working_version
from ..store import Store

QDA_CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
FORMATS = ("json", "csv", "qdc")
EXAMPLES = 3
# Characters XML 1.0 cannot carry at all (documents sometimes hold them); dropped from the .qdc.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def workbench_version() -> str:
    try:
        return metadata.version("dove-workbench")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def code_guid(uid: str) -> str:
    """The schema's GUIDType: 8-4-4-4-12 hex digits; upper case, as QDA software writes them."""
    try:
        return str(uuid.UUID(uid)).upper()
    except ValueError:  # not a UUID (never produced by the build): derive a stable one from it
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dove-workbench:code:{uid}")).upper()


def codebook_records(store: Store, version: int | None = None, examples: int = EXAMPLES) -> dict:
    """A codebook version as plain data: per code its GUID, name (unique within the export),
    who named it, a description, size, usage n_k (when the build scored this version) and its
    most central expressions."""
    version = working_version(store, version)
    colours = store.initial_version_of(version)[1].get("colours", {})  # an imported codebook's, by uid
    seen: dict[str, int] = {}
    codes = []
    for code in code_views(store, version, n_central=examples):
        central = code.central
        base = (code.name or f"code {code.idx}").strip()
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base} ({seen[base]})"
        description = (code.description or (central[0] if central else "")).strip()
        if not description:
            description = f"value code {code.idx} of codebook version {version} ({code.size} expressions)"
        codes.append({"guid": code_guid(code.uid), "uid": code.uid, "idx": code.idx, "name": name,
                      "named_by": code.name_source, "description": description, "size": code.size,
                      "usage": code.usage, "examples": central, "color": colours.get(code.uid)})
    return {"codebook_version": version, "K": len(codes), "exported_by": f"DOVE Workbench {workbench_version()}",
            "project": str(store.path), "codes": codes}


def to_json(records: dict) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def to_csv(records: dict) -> str:
    out = io.StringIO()
    fields = ["guid", "idx", "name", "named_by", "description", "size", "usage", "examples"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for code in records["codes"]:
        writer.writerow({**{k: code[k] for k in fields[:-1]}, "examples": " | ".join(code["examples"])})
    return out.getvalue()


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def add_codes(parent: ET.Element, records: dict, namespace: str) -> None:
    """A ``Codes`` element with one ``Code`` per code under ``parent``: the same in the codebook
    (.qdc) and in the project (.qdpx), whose schemas declare the same CodeType."""
    q = f"{{{namespace}}}"
    codes_el = ET.SubElement(parent, q + "Codes")
    for code in records["codes"]:
        attributes = {"guid": code["guid"], "name": xml_text(code["name"]), "isCodable": "true"}
        el = ET.SubElement(codes_el, q + "Code", attributes | ({"color": code["color"]} if code.get("color") else {}))
        description = code["description"]
        if code["examples"]:
            description += "\n\nExamples:\n" + "\n".join(f"- {e}" for e in code["examples"])
        ET.SubElement(el, q + "Description").text = xml_text(description)


def xml_document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_qdc(records: dict) -> str:
    """REFI-QDA Codebook XML (see the module docstring)."""
    ET.register_namespace("", QDA_CODEBOOK_NS)
    root = ET.Element(f"{{{QDA_CODEBOOK_NS}}}CodeBook", {"origin": records["exported_by"]})
    add_codes(root, records, QDA_CODEBOOK_NS)
    return xml_document(root)


def output_path(store: Store, out: str | Path | None, default_name: str) -> Path:
    """``out`` (a file, or a folder to put ``default_name`` in), by default ``default_name`` beside
    the project; a one-line error when its folder does not exist."""
    path = Path(out) if out else store.path.with_name(default_name)
    if path.is_dir():
        path = path / default_name
    if not path.parent.exists():
        raise WorkbenchError(f"folder {path.parent} does not exist: create it first")
    return path


def export_codebook(store: Store, fmt: str, out: str | Path | None = None, version: int | None = None) -> Path:
    """Write a codebook version as ``fmt`` (json, csv, qdc); default file ``codebook-vN.FMT``
    beside the project. Returns the path written."""
    if fmt not in FORMATS:
        raise WorkbenchError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    records = codebook_records(store, version)
    text = {"json": to_json, "csv": to_csv, "qdc": to_qdc}[fmt](records)
    path = output_path(store, out, f"codebook-v{records['codebook_version']}.{fmt}")
    path.write_text(text, encoding="utf-8")
    return path
