"""Exporting a project as a REFI-QDA project (``.qdpx``) that NVivo, ATLAS.ti, MAXQDA and QualCoder
open: the documents with the value expressions coded in them, and the annotators' mapping labels.

A ``.qdpx`` is a zip holding ``project.qde`` (XML, namespace ``urn:QDA-XML:project:1.0``, the
REFI-QDA Project schema) and ``sources/<guid>.txt``, one plain-text file per document, referenced
from its ``TextSource`` as ``plainTextPath="internal://<guid>.txt"``. The project carries

- ``Users``: one per extractor strategy (the recognizer that found the expressions) and one per
  annotator with a mapping label on the exported codebook version;
- ``CodeBook``: the version's codes, with the same GUIDs, names and descriptions as the ``.qdc``;
- ``Sources``: one ``TextSource`` per document. Each expression the version assigns to a code is a
  ``PlainTextSelection`` (its character span in the document, end exclusive) with one ``Coding`` of
  that code by the extractor's user. Each annotator's accepted mapping label (``yes`` on "does this
  code apply to this document", the label that counts after re-annotation, carried labels
  included) is a ``Coding`` of the whole document by that annotator's user;
- ``Notes``: one ``Note`` per proposal (a build's split or merge, a review proposal) with a
  decision, holding every decision on it (the votes, under ``review.quorum``): who, what, when (UTC).

Expressions are stored without their span, so the span is found in the document: the first exact
occurrence after the previous expression's, else anywhere, else a match ignoring case and runs of
whitespace. An expression found nowhere (an LLM extractor's paraphrase) is exported as a selection
of the whole document whose description says so; the summary counts them.

GUIDs are UUID5 of stable ids (document id, expression position and text, code uid, annotator), so
exporting again writes the same bytes except the export's date.
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..annotate.agreement import ratings
from ..annotate.tasks import split_pair, task_protocol
from ..build.decisions import votes_text
from ..store import Store
from .export import add_codes, codebook_records, output_path, xml_document, xml_text

QDA_PROJECT_NS = "urn:QDA-XML:project:1.0"
SOURCES = "sources"
ACCEPTED = "yes"  # the mapping protocol's label for "this code reflects a value of the document"
_GUIDS = uuid.UUID("5d0f2b43-6a0e-5b7e-9a53-2f1c7c1e9d11")  # namespace of every GUID this export derives


def stable_guid(kind: str, *parts: object) -> str:
    """A GUID derived from ``kind`` and stable ids: the same ids give the same GUID in every export."""
    return str(uuid.uuid5(_GUIDS, "\x1f".join([kind, *map(str, parts)]))).upper()


def expression_span(text: str, expression: str, start: int = 0) -> tuple[int, int, str] | None:
    """(start, end, how) of ``expression`` in ``text``, end exclusive, in characters: the first
    exact occurrence at or after ``start``, else the first anywhere (how ``"exact"``); else the
    first match ignoring case and treating any run of whitespace as one (``"loose"``); None when
    the document does not contain it."""
    if expression:
        for origin in (start, 0):
            at = text.find(expression, origin)
            if at >= 0:
                return at, at + len(expression), "exact"
    words = expression.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
    found = pattern.search(text, start) or pattern.search(text)
    return (found.start(), found.end(), "loose") if found else None


@dataclass
class QdpxSummary:
    """What an export wrote: counts per kind and the codings per user."""

    path: Path
    codebook_version: int
    sources: int = 0
    codes: int = 0
    segments: dict[str, int] = field(default_factory=lambda: {"exact": 0, "loose": 0, "whole document": 0})
    unassigned: int = 0  # expressions the version assigns to no code: not exported
    codings: dict[str, int] = field(default_factory=dict)  # "extractor NAME" / "annotator NAME" -> codings

    @property
    def n_segments(self) -> int:
        return sum(self.segments.values())

    @property
    def n_codings(self) -> int:
        return sum(self.codings.values())


def mapping_labels(store: Store, version: int) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """(annotators with a mapping label that counts on ``version``, whatever the label;
    {document id: [(annotator, code uid), ...] labelled ``yes``}). The labels that count are the
    final round's (a re-annotation replaces the first label), carried ones included."""
    annotators: set[str] = set()
    accepted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for criterion in task_protocol("mapping").criteria:
        for item, by_annotator in ratings(store, "mapping", criterion.id, version).items():
            document_id, uid = split_pair(str(item))
            annotators.update(map(str, by_annotator))
            accepted[document_id].update((str(a), uid) for a, label in by_annotator.items() if label == ACCEPTED)
    return sorted(annotators), {d: sorted(pairs) for d, pairs in accepted.items()}


def _coding(parent: ET.Element, guid: str, user: str, code_guid: str) -> None:
    q = f"{{{QDA_PROJECT_NS}}}"
    coding = ET.SubElement(parent, q + "Coding", {"guid": guid, "creatingUser": user})
    ET.SubElement(coding, q + "CodeRef", {"targetGUID": code_guid})


def build_project(store: Store, version: int | None = None) -> tuple[str, dict[str, str], QdpxSummary]:
    """(project.qde text, {zip member: source text}, summary with ``path`` unset) of a codebook
    version (default: the latest); the export's time is the only date written."""
    records = codebook_records(store, version)
    version = records["codebook_version"]
    summary = QdpxSummary(Path(), version, codes=len(records["codes"]))
    code_guids = {c["uid"]: c["guid"] for c in records["codes"]}
    expressions: dict[str, list[dict]] = defaultdict(list)
    for row in store.coded_expressions(version):
        if row["uid"] in code_guids:
            expressions[row["document_id"]].append(row)
        else:
            summary.unassigned += 1
    annotators, accepted = mapping_labels(store, version)
    users = [("extractor", s) for s in sorted({r["strategy"] or "unknown" for rows in expressions.values()
                                               for r in rows})]
    users += [("annotator", a) for a in annotators]
    user_guid = {key: stable_guid("user", *key) for key in users}
    shown = {key: f"{key[0]} {key[1]}" for key in users}  # an annotator may share a strategy's name
    summary.codings = {name: 0 for name in shown.values()}

    ET.register_namespace("", QDA_PROJECT_NS)
    q = f"{{{QDA_PROJECT_NS}}}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    root = ET.Element(q + "Project", {"name": xml_text(store.path.stem), "origin": records["exported_by"],
                                      "creationDateTime": stamp})
    if users:
        users_el = ET.SubElement(root, q + "Users")
        for (kind, name), guid in user_guid.items():
            ET.SubElement(users_el, q + "User",
                          {"guid": guid, "name": xml_text(name), "id": f"{kind}:{xml_text(name)}"})
    if records["codes"]:  # the schema's Codes needs at least one Code
        add_codes(ET.SubElement(root, q + "CodeBook"), records, QDA_PROJECT_NS)
    files: dict[str, str] = {}
    documents = store.document_texts()
    if documents:
        sources_el = ET.SubElement(root, q + "Sources")
    for document_id, text in documents:
        source_guid = stable_guid("source", document_id)
        files[f"{SOURCES}/{source_guid}.txt"] = text
        source = ET.SubElement(sources_el, q + "TextSource", {
            "guid": source_guid, "name": xml_text(document_id), "plainTextPath": f"internal://{source_guid}.txt"})
        after = 0
        for row in expressions.get(document_id, []):
            span = expression_span(text, row["text"], after)
            start, end, how = span if span else (0, len(text), "whole document")
            after = end if span else after
            summary.segments[how] += 1
            user = ("extractor", row["strategy"] or "unknown")
            selection_guid = stable_guid("selection", document_id, row["position"], row["text"])
            selection = ET.SubElement(source, q + "PlainTextSelection", {
                "guid": selection_guid, "name": xml_text(row["text"]), "startPosition": str(start),
                "endPosition": str(end), "creatingUser": user_guid[user]})
            if not span:
                ET.SubElement(selection, q + "Description").text = xml_text(
                    "Not found verbatim in the document (an extractor's paraphrase): this segment spans the "
                    f"whole document. The expression: {row['text']}")
            _coding(selection, stable_guid("coding", selection_guid, row["uid"]), user_guid[user],
                    code_guids[row["uid"]])
            summary.codings[shown[user]] += 1
        for annotator, uid in accepted.get(document_id, []):
            if uid in code_guids:
                user = ("annotator", annotator)
                _coding(source, stable_guid("mapping", document_id, uid, annotator), user_guid[user], code_guids[uid])
                summary.codings[shown[user]] += 1
        summary.sources += 1
    decisions = store.decision_rows()
    if decisions:
        notes = ET.SubElement(root, q + "Notes")
        kinds = {p["id"]: p for p in store.proposals(sorted(decisions))}
        for pid, rows in decisions.items():
            proposal = kinds.get(pid, {"kind": "proposal", "evidence": "{}"})
            name = json.loads(proposal["evidence"] or "{}").get("name")
            note = ET.SubElement(notes, q + "Note", {"guid": stable_guid("decisions", pid),
                                                     "name": xml_text(f"decisions on {proposal['kind']} #{pid}"
                                                                      + (f" of '{name}'" if name else ""))})
            ET.SubElement(note, q + "PlainTextContent").text = xml_text(
                votes_text(rows, lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), every=True))
    ET.SubElement(root, q + "Description").text = (
        f"DOVE Workbench project {xml_text(store.path.name)}, codebook version {version}: value expressions "
        f"coded by their extractor, accepted mapping labels coded by their annotator.")
    return xml_document(root), files, summary


def export_project(store: Store, out: str | Path | None = None, version: int | None = None) -> QdpxSummary:
    """Write a codebook version's project as ``.qdpx`` (default ``<project>-vN.qdpx`` beside the
    project), atomically: a temporary file in the same folder renamed over the target, so a
    reader never sees half a zip. Returns what was written."""
    qde, files, summary = build_project(store, version)
    path = output_path(store, out, f"{store.path.stem}-v{summary.codebook_version}.qdpx")
    stamp = time.gmtime()[:6]
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in [("project.qde", qde), *sorted(files.items())]:
                member = zipfile.ZipInfo(name, stamp)
                member.external_attr = 0o644 << 16
                archive.writestr(member, text.encode("utf-8"), zipfile.ZIP_DEFLATED)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    summary.path = path
    return summary


def summary_lines(summary: QdpxSummary) -> list[str]:
    """The export's counts as the CLI prints them."""
    segments = ", ".join(f"{n:,} {how}" for how, n in summary.segments.items())
    lines = [f"wrote {summary.path} (codebook version {summary.codebook_version})",
             f"  sources   {summary.sources:,}",
             f"  codes     {summary.codes:,}",
             f"  segments  {summary.n_segments:,} ({segments})"]
    if summary.segments["whole document"]:
        lines.append(f"            {summary.segments['whole document']:,} expressions not found verbatim in their "
                     "document are coded on the whole document (see each segment's description)")
    if summary.unassigned:
        lines.append(f"            {summary.unassigned:,} expressions assigned to no code were left out")
    lines.append(f"  codings   {summary.n_codings:,}")
    lines += [f"    {name:<24} {n:,}" for name, n in summary.codings.items()]
    return lines
