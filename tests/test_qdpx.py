"""REFI-QDA project export (.qdpx): a project.qde that validates against the REFI-QDA Project schema
(vendored in fixtures/refi_qda, checked with xmlschema), read back from the zip with the counts of
the project, the .qdc's code GUIDs, spans that point at the expressions, and atomic, stable writes.

The project is built by hand (no UMAP): four documents, two extractor strategies, two codebook
versions, and mapping labels with a re-annotation, a carried label and the recognizer's own rows."""
from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import xmlschema
from click.testing import CliRunner

from conftest import FIXTURES, centroid_width
from workbench.annotate.labels import record
from workbench.annotate.tasks import MODEL, RECOGNIZER, pair_id
from workbench.cli import main
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.models import Code
from workbench.refi_qda import reader
from workbench.report import qdpx
from workbench.report.export import QDA_CODEBOOK_NS, export_codebook
from workbench.report.qdpx import QDA_PROJECT_NS, expression_span, export_project
from workbench.store import Store, create_project

Q = f"{{{QDA_PROJECT_NS}}}"
DOCS = {
    "d1": "I value my family above everything. Honesty matters to me, and my family knows it.",
    "d2": "Freedom of speech is\n  essential for a fair society.",
    "d3": "We should protect nature for our children.",
    "d4": "Nothing here holds a value.",
}
# (document, strategy, [(expression text, code key in version 2 or None)])
EXTRACTIONS = [
    ("d1", "llm-fake", [("my family", "family"), ("honesty matters to me", "honesty"),  # loose: case
                        ("my family", "family"),  # the second occurrence, after the first
                        ("the author cares deeply about kin", "family")]),  # a paraphrase: not verbatim
    ("d2", "llm-fake", [("Freedom of speech is essential", "freedom")]),  # loose: whitespace
    ("d3", "offline-prototypes", [("protect nature", "nature"), ("for our children", None)]),  # unassigned
]


def uid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{key}"))


def save_version(store: Store, parent: int | None, keys: list[str], iteration: int) -> int:
    codes = [Code(i, uid(k), k, "test", f"the value {k}", 1, np.ones(centroid_width(store), np.float32)) for i, k in enumerate(keys)]
    rows = store.db.execute("select id, document_id, position from expressions order by id").fetchall()
    wanted = {(d, i): key for d, _, exprs in EXTRACTIONS for i, (_, key) in enumerate(exprs)}
    members = [(e, keys.index(wanted[(d, p)])) for e, d, p in rows if wanted[(d, p)] in keys]
    return store.save_codebook("t", iteration, "init" if parent is None else "apply", parent, codes,
                               np.array([m[0] for m in members]), np.array([m[1] for m in members]), {}, "h", "e")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The project, its two versions, and the mapping labels (documents, annotators)."""
    folder = tmp_path_factory.mktemp("qdpx")
    docs = folder / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in DOCS.items()), "utf-8")
    store = create_project(folder / "values.db")
    ingest_file(store, docs, IngestOptions(group="G"))
    for document, strategy, expressions in EXTRACTIONS:
        store.save_extraction(document, strategy, "v1", [(text, "x", None) for text, _ in expressions])
    v1 = save_version(store, None, ["family", "honesty", "freedom"], 0)
    v2 = save_version(store, v1, ["family", "honesty", "freedom", "nature"], 1)
    # On v1 (carried to v2, which keeps every v1 code): ana accepts d1·family, bob accepts it too.
    record(store, "mapping", pair_id("d1", uid("family")), "appropriate", "yes", "ana", v1)
    record(store, "mapping", pair_id("d1", uid("family")), "appropriate", "yes", "bob", v1)
    # On v2: ana accepts d2·freedom, then re-annotates it to no (the re-annotation counts);
    # bob rejects d3·nature; ana accepts d3·nature.
    record(store, "mapping", pair_id("d2", uid("freedom")), "appropriate", "yes", "ana", v2)
    record(store, "mapping", pair_id("d2", uid("freedom")), "appropriate", "no", "ana", v2, round="reannotation")
    record(store, "mapping", pair_id("d3", uid("nature")), "appropriate", "no", "bob", v2)
    record(store, "mapping", pair_id("d3", uid("nature")), "appropriate", "yes", "ana", v2)
    # The recognizer's own Yes is one more rater for agreement, not an annotator's coding.
    store.record_labels([{"task": "mapping", "item_id": pair_id("d4", uid("family")), "criterion": "appropriate",
                          "label": "yes", "annotator": RECOGNIZER, "round": MODEL, "codebook_version": v2,
                          "protocol_id": "mapping", "protocol_version": "1.0.0"}])
    store.close()
    return folder / "values.db", v1, v2


@pytest.fixture
def store(built):
    s = Store(built[0])
    yield s
    s.close()


@pytest.fixture(scope="module")
def project_schema():
    return xmlschema.XMLSchema10(reader.PROJECT_SCHEMA)


def read_back(path):
    """(project.qde root, {zip member: text}) of a .qdpx."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        members = {n: archive.read(n) for n in archive.namelist()}
    return ET.fromstring(members.pop("project.qde")), {n: b.decode("utf-8") for n, b in members.items()}


def test_expression_span_exact_after_start_loose_and_missing():
    text = "My family. Then: my family, and MY   Family!"
    assert expression_span(text, "my family") == (17, 26, "exact")
    assert expression_span(text, "my family", 26) == (17, 26, "exact")  # none after 26: the first anywhere
    assert expression_span(text, "family", 5) == (20, 26, "exact")
    assert expression_span(text, "MY family") == (0, 9, "loose")  # no exact occurrence: case ignored
    assert expression_span(text, "my  FAMILY!", 5) == (32, 44, "loose")  # and runs of whitespace
    assert expression_span(text, "kin and kith") is None and expression_span(text, "") is None


def test_qdpx_validates_and_its_counts_match_the_project(store, built, tmp_path, project_schema):
    _, v1, v2 = built
    summary = export_project(store, tmp_path / "out.qdpx")
    assert summary.path == tmp_path / "out.qdpx" and summary.codebook_version == v2  # the latest by default
    root, files = read_back(summary.path)
    project_schema.validate(root)  # raises on any violation of the official schema
    assert root.tag == Q + "Project" and root.get("name") == "values"

    sources = root.findall(f"{Q}Sources/{Q}TextSource")
    assert len(sources) == len(DOCS) == summary.sources
    codes = root.findall(f"{Q}CodeBook/{Q}Codes/{Q}Code")
    assert len(codes) == len(store.load_codebook(v2).codes) == summary.codes == 4
    # Codings: every expression v2 assigns to a code, plus every accepted mapping label that counts.
    assigned = store.count("code_members", "version = ?", [v2])
    accepted = 3  # d1·family by ana and bob (carried from v1), d3·nature by ana; ana's d2 yes was re-annotated no
    codings = root.findall(f".//{Q}Coding")
    assert assigned == 6 and len(codings) == assigned + accepted == summary.n_codings
    assert summary.unassigned == 1 and summary.segments == {"exact": 3, "loose": 2, "whole document": 1}

    users = {u.get("guid"): u.get("name") for u in root.findall(f"{Q}Users/{Q}User")}
    assert sorted(users.values()) == ["ana", "bob", "llm-fake", "offline-prototypes"]  # no recognizer
    per_user = {name: sum(c.get("creatingUser") == guid for c in codings) for guid, name in users.items()}
    assert per_user == {"llm-fake": 5, "offline-prototypes": 1, "ana": 2, "bob": 1}
    assert summary.codings == {"extractor llm-fake": 5, "extractor offline-prototypes": 1, "annotator ana": 2,
                               "annotator bob": 1}
    code_of = {c.get("guid"): c.get("name") for c in codes}
    for coding in codings:
        assert coding.find(f"{Q}CodeRef").get("targetGUID") in code_of


def test_segments_point_at_the_expressions_in_the_source_files(store, tmp_path):
    root, files = read_back(export_project(store, tmp_path / "out.qdpx").path)
    assert sorted(files) == sorted(f"sources/{s.get('guid')}.txt" for s in root.iter(Q + "TextSource"))
    seen = []
    for source in root.iter(Q + "TextSource"):
        text = files["sources/" + source.get("plainTextPath").removeprefix("internal://")]
        assert text == DOCS[source.get("name")]
        for sel in source.findall(Q + "PlainTextSelection"):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            described = sel.find(Q + "Description")
            seen.append((source.get("name"), text[start:end], described is not None))
    assert seen == [
        ("d1", "my family", False),
        ("d1", "Honesty matters to me", False),
        ("d1", "my family", False),
        ("d1", DOCS["d1"], True),  # the paraphrase spans the whole document, and says so
        ("d2", "Freedom of speech is\n  essential", False),
        ("d3", "protect nature", False),
    ]
    d1 = DOCS["d1"]
    spans = [(int(s.get("startPosition")), int(s.get("endPosition")))
             for s in root.iter(Q + "PlainTextSelection") if s.get("name") == "my family"]
    assert spans == [(d1.index("my family"), d1.index("my family") + 9),
                     (d1.rindex("my family"), d1.rindex("my family") + 9)]  # two occurrences, in order
    whole = next(s for s in root.iter(Q + "PlainTextSelection") if s.find(Q + "Description") is not None)
    assert "not found verbatim" in whole.find(Q + "Description").text.lower()
    # The annotators' codings are on the whole document, not on a selection.
    d1_source = next(s for s in root.iter(Q + "TextSource") if s.get("name") == "d1")
    assert len(d1_source.findall(Q + "Coding")) == 2


def test_code_guids_equal_the_qdc_and_an_older_version_exports_its_own(store, built, tmp_path, project_schema):
    _, v1, v2 = built
    qdc_path = export_codebook(store, "qdc", tmp_path / "c.qdc")
    xmlschema.XMLSchema10(FIXTURES / "refi_qda" / "Codebook.xsd").validate(str(qdc_path))
    qdc = ET.parse(qdc_path).getroot()
    qdc_codes = [(c.get("guid"), c.get("name")) for c in qdc.iter(f"{{{QDA_CODEBOOK_NS}}}Code")]
    root, _ = read_back(export_project(store, tmp_path / "p.qdpx").path)
    assert [(c.get("guid"), c.get("name")) for c in root.iter(Q + "Code")] == qdc_codes
    assert [g for g, _ in qdc_codes] == [uid(k).upper() for k in ("family", "honesty", "freedom", "nature")]

    older = export_project(store, tmp_path / "v1.qdpx", version=v1)
    root, _ = read_back(older.path)
    project_schema.validate(root)
    assert older.codebook_version == v1 and len(root.findall(f"{Q}CodeBook/{Q}Codes/{Q}Code")) == 3
    # v1 has no 'nature': protect nature is unassigned there, and ana's d3·nature label belongs to v2.
    assert older.unassigned == 2 and older.codings == {"extractor llm-fake": 5, "annotator ana": 1,
                                                       "annotator bob": 1}


def test_reexport_is_byte_stable_except_the_dates(store, tmp_path):
    def members(path):
        with zipfile.ZipFile(path) as archive:
            return {n: archive.read(n) for n in archive.namelist()}

    first = members(export_project(store, tmp_path / "a.qdpx").path)
    second = members(export_project(store, tmp_path / "b.qdpx").path)
    undated = re.compile(rb' creationDateTime="[^"]*"')
    assert set(first) == set(second)
    assert all(undated.sub(b"", first[n]) == undated.sub(b"", second[n]) for n in first)
    assert first["project.qde"].count(b"creationDateTime=") == 1


def test_a_failed_write_leaves_the_previous_file_whole(store, tmp_path, monkeypatch):
    target = tmp_path / "keep.qdpx"
    export_project(store, target)
    before = target.read_bytes()
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(OSError, match="disk full"):
        export_project(store, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["keep.qdpx"]


def test_cli_default_path_prints_the_counts_and_refuses_a_missing_folder(built):
    path, _, v2 = built
    result = CliRunner().invoke(main, ["export", str(path), "--format", "qdpx"])
    assert result.exit_code == 0, result.output
    out = path.with_name(f"values-v{v2}.qdpx")
    assert out.is_file() and f"wrote {out}" in result.output
    assert re.search(r"sources\s+4\b", result.output) and re.search(r"codes\s+4\b", result.output)
    assert re.search(r"segments\s+6 \(3 exact, 2 loose, 1 whole document\)", result.output)
    assert "1 expressions not found verbatim" in result.output and re.search(r"codings\s+9\b", result.output)
    assert re.search(r"annotator ana\s+2\b", result.output)
    bad = CliRunner().invoke(main, ["export", str(path), "--format", "qdpx", "--out", "/nonexistent/x.qdpx"])
    assert bad.exit_code == 1 and "does not exist" in bad.output and "Traceback" not in bad.output


def test_build_project_refuses_an_unknown_version(store):
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="no codebook version 99"):
        qdpx.build_project(store, 99)
