"""Importing a REFI-QDA project (``.qdpx``) that NVivo, ATLAS.ti, MAXQDA or QualCoder exported:
its text sources become documents, its users annotators, its codes a codebook version marked
``imported``, and its codings each user's mapping labels on document × code.

A ``.qdpx`` is a zip with one ``.qde`` (XML of the REFI-QDA Project schema, 18 March 2019, shipped
in ``refi_qda/Project.xsd``) and the sources' files under ``sources/``. The whole file is read and
validated before anything is written; a file that is not a valid REFI project is refused with the
first schema error and nothing is imported.

What is mapped:

- a ``TextSource`` with its text (``PlainTextContent``, or ``plainTextPath`` as ``internal://x.txt``
  or a bare name, both in the zip's ``sources/``, or an external file in the .qdpx's folder) is a document,
  its name the document id; other sources (pictures, PDFs, audio, video) are skipped, one line each;
- every codable ``Code``, nested ones flattened with their path in the name (``Parent / Child``),
  is a code of the imported version, its GUID the code's uid (so exporting again keeps it), its
  colour kept (``#RRGGBB``; ``#RGB`` widened, an alpha channel ``#RRGGBBAA`` dropped: the 2019
  schema has no alpha) and its centroid the embedding of ``name: description``;
- a ``Coding`` (of a selection or of the whole source) says that its user applied the code to the
  document: a mapping label ``yes`` by that user on document × code. In a document a user coded at
  all, every imported code the user did not apply gets ``no``, so κ/α and per-code α see the
  user's decisions; documents a user coded nothing in get no label from them.

What is not (memos, variables, cases, sets, links, graphs, codings on non-text selections, codings
of non-codable codes) is counted in the summary. Selection offsets are Unicode code points; a
selection that does not fit its source's text is counted and named, and so is one whose offsets fit
only when read as UTF-16 units (a known slip of some tools).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..annotate.labels import label_row
from ..annotate.tasks import RESERVED_NAMES, pair_id, task_protocol
from ..errors import WorkbenchError
from ..language import detect_language
from ..llm.gateway import Gateway
from ..models import Code
from ..refi_qda.reader import RefiProject, RefiSource, read_qdpx
from ..store import MAX_DOCUMENT_CHARS, DocumentRow, Store
from ..vocabulary import HUMAN
from .documents import IngestOptions

IMPORTED = "imported"  # the codebook version's reason, and the codes' name source
TASK = "mapping"
YES, NO = "yes", "no"
UNATTRIBUTED = "refi-unattributed"  # the annotator of codings that name no user
_NOT_NAME = re.compile(r"[^\w.-]+")  # the annotator name rule: letters, digits, '-', '_', '.'


@dataclass
class QdpxImport:
    """What ``ingest_qdpx`` wrote."""

    file: str
    documents: int
    codebook_version: int
    codes: int
    annotators: dict[str, str]  # stored name -> the REFI user name
    labels: Counter  # label -> count
    by_group: dict[str, int]
    project: RefiProject


def annotator_names(users: dict[str, str], used: set[str]) -> dict[str | None, str]:
    """{user GUID (None: codings naming no user): annotator name}: the REFI name with every run of
    characters outside letters, digits, '-', '_', '.' made '_', reserved names suffixed ``-refi``,
    and clashes numbered."""
    names: dict[str | None, str] = {}
    taken = {n.casefold() for n in used}  # names are one whatever their case
    for guid, original in [*sorted(users.items(), key=lambda u: (u[1], u[0])), (None, UNATTRIBUTED)]:
        name = _NOT_NAME.sub("_", original).strip("_.-") or f"user-{(guid or 'none')[:8]}"
        if name.lower() in RESERVED_NAMES:
            name += "-refi"
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate.casefold())
        names[guid] = candidate
    return names


def _documents(project: RefiProject, options: IngestOptions,
               where: str) -> tuple[list[tuple[DocumentRow, RefiSource]], list[str]]:
    """(document, its source) with unique ids, and the lines of the sources left out."""
    docs, lines, seen = [], [], Counter()
    group = (options.group or "").strip()
    if not group:
        raise WorkbenchError(f"{where}: the group name is empty: pass --group NAME (e.g. --group KR)")
    for source in project.sources:
        text = source.text
        if not text.strip():
            lines.append(f"skipped text source {source.name!r}: its text is empty")
            project.unmapped["codings of skipped sources"] += len(source.codings)
            continue
        truncated = len(text) > MAX_DOCUMENT_CHARS
        if truncated and not options.truncate:
            raise WorkbenchError(
                f"{where}: source {source.name!r} has {len(text):,} characters, over the limit of "
                f"{MAX_DOCUMENT_CHARS:,}: pass --truncate to cut it at the limit")
        seen[source.name] += 1
        doc_id = source.name if seen[source.name] == 1 else f"{source.name} ({seen[source.name]})"
        text = text[:MAX_DOCUMENT_CHARS]
        docs.append((DocumentRow(doc_id, group, options.topic, options.source.strip() or HUMAN,
                                 options.language or detect_language(text), text, truncated), source))
    return docs, lines


def _labels(project: RefiProject, docs: list[tuple[DocumentRow, RefiSource]], names: dict[str | None, str],
            version: int, file: str) -> tuple[list[dict], Counter]:
    """Mapping label rows: per user, per document they coded, ``yes`` on the codes applied and ``no``
    on the others; codings of unknown codes counted in ``project.unmapped``."""
    uids = [c.guid for c in project.codes]
    known = set(uids)
    applied: dict[str | None, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for document, source in docs:
        for user, code in source.codings:
            if code in known:
                applied[user if user in project.users else None][document.id].add(code)
            else:
                project.unmapped["codings of a code that is not codable or not in the codebook"] += 1
    criterion = task_protocol(TASK).criteria[0].id
    rows, counts = [], Counter()
    for user, documents in applied.items():
        original = project.users.get(user, "(no user named)") if user else "(no user named)"
        note = f"imported from {file} (REFI-QDA user {original!r})"
        for document in sorted(documents):
            for uid in uids:
                label = YES if uid in documents[document] else NO
                rows.append(label_row(TASK, pair_id(document, uid), criterion, label, names[user], version,
                                      note=note))
                counts[label] += 1
    return rows, counts


def ingest_qdpx(store: Store, path: str | Path, options: IngestOptions, gateway: Gateway | None = None) -> QdpxImport:
    """Read, validate and import a ``.qdpx`` (see the module docstring), atomically: documents, the
    imported codebook version, its annotators and their labels in one transaction."""
    path = Path(path)
    where = str(path)
    project = read_qdpx(path)
    if not project.sources:
        raise WorkbenchError(f"{where}: the project has no text source with its text: nothing to import")
    if not project.codes:
        raise WorkbenchError(f"{where}: the project has no codable code: nothing to map its codings to")
    docs, lines = _documents(project, options, where)
    project.skipped += lines
    clash = store.existing_document_ids(d.id for d, _ in docs)
    if clash:
        raise WorkbenchError(f"{where}: source {sorted(clash)[0]!r} is already a document of the project "
                             f"({len(clash)} names clash): this file may have been imported already")
    gateway = gateway or Gateway(store, store.config())
    centroids = gateway.embed([f"{c.name}: {c.description}" if c.description else c.name for c in project.codes])
    codes = [Code(i, c.guid, c.name, IMPORTED, c.description or None, 0, centroids[i])
             for i, c in enumerate(project.codes)]
    info = {IMPORTED: {"file": where, "sha256": project.sha256, "format": "REFI-QDA project",
                       "project": project.name, "centroids": "embedded name: description"},
            "colours": {c.guid: c.colour for c in project.codes if c.colour}}
    used = {a["name"] for a in store.annotator_rows()}
    names = annotator_names(project.users, used)
    with store.transaction():
        store.import_documents(where, project.sha256, {"format": "qdpx", "group": options.group,
                                                       "topic": options.topic, "source": options.source},
                               [d for d, _ in docs])
        version = store.save_codebook(f"import:{project.sha256[:16]}", 0, IMPORTED, None, codes,
                                      np.zeros(0, np.int64), np.zeros(0, np.int64), info, "", gateway.embedder_id)
        rows, counts = _labels(project, docs, names, version, where)
        coders = sorted({r["annotator"] for r in rows})
        originals = {n: project.users.get(g, "(no user named)") if g else "(no user named)" for g, n in names.items()}
        store.register_annotators({n: f"imported from {where} as REFI-QDA user {originals[n]!r}" for n in coders})
        store.record_labels(rows)
    project.unmapped += Counter()
    return QdpxImport(where, len(docs), version, len(codes), {n: originals[n] for n in coders}, counts,
                      dict(Counter(d.group_name for d, _ in docs)), project)


def summary_lines(result: QdpxImport) -> list[str]:
    """What an import wrote, skipped and could not map, as the CLI prints it."""
    groups = ", ".join(f"{g}: {n:,}" for g, n in sorted(result.by_group.items()))
    labels = ", ".join(f"{n:,} {label}" for label, n in sorted(result.labels.items(), reverse=True))
    lines = [f"imported {result.documents:,} documents from {result.file} ({groups})",
             f"  codebook version {result.codebook_version} ({IMPORTED}): {result.codes:,} codes",
             f"  annotators {len(result.annotators):,}: " + ", ".join(
                 n if o == n else f"{n} (REFI user {o!r})" for n, o in sorted(result.annotators.items())),
             f"  mapping labels {sum(result.labels.values()):,} ({labels or 'none'})"]
    project = result.project
    lines += [f"  {line}" for line in project.skipped + project.notes]
    if project.unmapped:
        lines.append("  not mapped (the mapping task holds documents × codes only):")
        lines += [f"    {what:<60} {n:,}" for what, n in sorted(project.unmapped.items())]
    return lines
