"""REFI-QDA project import (``ingest FILE.qdpx``): sources → documents, users → annotators, codes →
an ``imported`` codebook version, codings → mapping labels; the traps reported on QDA tools'
trackers, each built by hand; a file that is not a valid project imports nothing; and the round
trip export → ingest → export keeps sources, codes and codings."""
from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import centroid_width
from workbench.annotate.adjudication import adjudication_items
from workbench.annotate.agreement import ratings
from workbench.annotate.labels import record
from workbench.annotate.tasks import pair_id
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.ingest.qdpx import annotator_names, ingest_qdpx
from workbench.refi_qda.reader import guid_key, normalise_colour, selection_misfit
from workbench.models import Code
from workbench.report.export import codebook_records
from workbench.report.qdpx import QDA_PROJECT_NS, export_project
from workbench.store import create_project

Q = f"{{{QDA_PROJECT_NS}}}"


class FakeGateway:
    """The embedder's place in an import: a fixed vector per text, no model loaded."""

    embedder_id = "fake"

    def embed(self, texts):
        return np.stack([np.random.default_rng(len(t)).normal(size=8).astype(np.float32) for t in texts])


def g(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"refi:{key}")).upper()


def project_xml(*, users=(("ana", "Ana"),), codes="", sources="", extra="", root_attrs="",
                prefix: str | None = None) -> str:
    users_xml = "".join(f'<User guid="{g(k)}" name="{n}"/>' for k, n in users)
    body = (f'<Users>{users_xml}</Users>' if users else "") + (f"<CodeBook><Codes>{codes}</Codes></CodeBook>"
                                                                 if codes else "") + sources + extra
    text = f'<Project xmlns="{QDA_PROJECT_NS}" name="lab" {root_attrs}>{body}</Project>'
    if prefix:  # the same document with a namespace prefix instead of the default namespace
        text = re.sub(r"<(/?)(\w)", rf"<\1{prefix}:\2", text).replace(f'xmlns="{QDA_PROJECT_NS}"',
                                                                      f'xmlns:{prefix}="{QDA_PROJECT_NS}"')
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text


def code(key, name, *, color=None, codable=True, children="", description=None):
    attrs = f' color="{color}"' if color else ""
    desc = f"<Description>{description}</Description>" if description else ""
    return (f'<Code guid="{g(key)}" name="{name}" isCodable="{"true" if codable else "false"}"{attrs}>'
            f"{desc}{children}</Code>")


def coding(key, code_key, user="ana"):
    return f'<Coding guid="{g(key)}" creatingUser="{g(user)}"><CodeRef targetGUID="{g(code_key)}"/></Coding>'


def text_source(key, name, *, path=None, content=None, selections="", codings=""):
    attrs = f' plainTextPath="{path}"' if path else ""
    inner = f"<PlainTextContent>{content}</PlainTextContent>" if content is not None else ""
    return f'<TextSource guid="{g(key)}" name="{name}"{attrs}>{inner}{selections}{codings}</TextSource>'


def selection(key, start, end, code_key, user="ana", name=None):
    named = f' name="{name}"' if name is not None else ""
    return (f'<PlainTextSelection guid="{g(key)}" startPosition="{start}" endPosition="{end}"'
            f' creatingUser="{g(user)}"{named}>{coding(key + "c", code_key, user)}</PlainTextSelection>')


def write_qdpx(path, qde: str, files: dict[str, str] | None = None, qde_name: str = "project.qde"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(qde_name, qde.encode("utf-8"))
        for name, text in (files or {}).items():
            archive.writestr(name, text.encode("utf-8"))
    return path


@pytest.fixture
def store(project):
    return project  # conftest's fresh project


def ingest(store, path, **options):
    return ingest_qdpx(store, path, IngestOptions(group=options.pop("group", "G"), **options), FakeGateway())


TEXT_A = "Family first. Honesty always."
TEXT_B = "We protect nature."
BASIC_CODES = code("fam", "family", color="#FF0000") + code("hon", "honesty") + code("nat", "nature")
BASIC_SOURCES = "<Sources>" + text_source(
    "a", "doc-a", path="internal://a.txt",
    selections=selection("s1", 0, 12, "fam", name="Family first") + selection("s2", 14, 29, "hon", "bob")) + \
    text_source("b", "doc-b", content=TEXT_B, codings=coding("w1", "nat")) + "</Sources>"


def basic(tmp_path, **kwargs):
    qde = project_xml(users=(("ana", "Ana"), ("bob", "Bob")), codes=BASIC_CODES, sources=BASIC_SOURCES, **kwargs)
    return write_qdpx(tmp_path / "lab.qdpx", qde, {"sources/a.txt": TEXT_A})


def test_sources_codes_users_and_codings_become_documents_a_version_annotators_and_labels(store, tmp_path):
    result = ingest(store, basic(tmp_path), topic="interviews")
    assert result.documents == 2 and result.codes == 3
    assert dict(store.document_texts()) == {"doc-a": TEXT_A, "doc-b": TEXT_B}
    book = store.load_codebook()
    assert book.version == result.codebook_version
    assert [(c.uid, c.name, c.name_source) for c in book.codes] == [
        (guid_key(g("fam")), "family", "imported"), (guid_key(g("hon")), "honesty", "imported"),
        (guid_key(g("nat")), "nature", "imported")]
    assert store.versions()[-1]["reason"] == "imported"
    # Ana coded family in doc-a and nature in doc-b; Bob coded honesty in doc-a. In a document a
    # user coded, the codes they did not apply are 'no'; doc-b has no label from Bob.
    got = ratings(store, "mapping", "appropriate", book.version)
    fam, hon, nat = (guid_key(g(k)) for k in ("fam", "hon", "nat"))
    assert got == {pair_id("doc-a", fam): {"Ana": "yes", "Bob": "no"},
                   pair_id("doc-a", hon): {"Ana": "no", "Bob": "yes"},
                   pair_id("doc-a", nat): {"Ana": "no", "Bob": "no"},
                   pair_id("doc-b", fam): {"Ana": "no"}, pair_id("doc-b", hon): {"Ana": "no"},
                   pair_id("doc-b", nat): {"Ana": "yes"}}
    assert result.labels == {"yes": 3, "no": 6}
    # the two disagreements wait for adjudication, the lab's coding as it is
    waiting = adjudication_items(store, "mapping", None, book.version)
    assert sorted(i.item_id for i in waiting) == sorted([pair_id("doc-a", fam), pair_id("doc-a", hon)])
    assert {i.status for i in waiting} == {"waiting"}
    assert {a["name"]: a["token_hash"] for a in store.annotator_rows()} == {"Ana": None, "Bob": None}
    docs = store.documents_by_id(["doc-a"])
    assert docs["doc-a"]["group_name"] == "G"


def test_an_imported_annotator_can_be_given_a_link_afterwards(store, tmp_path):
    from workbench.annotate.annotators import add_annotator, authenticate

    ingest(store, basic(tmp_path))
    assert authenticate(store, "any-token").name is None  # no link, so no token opens it
    url = add_annotator(store, "Ana", "http://x")
    assert authenticate(store, url.rsplit("/", 1)[1]).name == "Ana"


def test_a_qde_not_named_project_qde_is_read(store, tmp_path):
    qde = project_xml(codes=BASIC_CODES, sources="<Sources>" + text_source(
        "b", "doc-b", content=TEXT_B, codings=coding("w1", "nat")) + "</Sources>")
    path = write_qdpx(tmp_path / "atlas.qdpx", qde, qde_name="My Study.qde")  # ATLAS.ti's naming
    result = ingest(store, path)
    assert result.documents == 1 and "'My Study.qde'" in " ".join(result.project.notes)


def test_plain_text_path_with_and_without_internal(store, tmp_path):
    sources = "<Sources>" + text_source("a", "with", path="internal://a.txt") + \
        text_source("b", "without", path="b.txt", codings=coding("w", "fam")) + "</Sources>"
    path = write_qdpx(tmp_path / "x.qdpx", project_xml(codes=BASIC_CODES, sources=sources),
                      {"sources/a.txt": "text a", "sources/b.txt": "text b"})
    ingest(store, path)
    assert dict(store.document_texts()) == {"with": "text a", "without": "text b"}


def test_non_ascii_code_source_and_user_names(store, tmp_path):
    codes = code("fam", "가족 (Familie)") + code("parent", "Werte", codable=False,
                                                 children=code("ehr", "Ehrlichkeit – Ünd"))
    sources = "<Sources>" + text_source("a", "인터뷰 1 – José", content="우리는 가족을 소중히 여긴다.",
                                        codings=coding("c1", "fam", "jo") + coding("c2", "ehr", "jo")) + "</Sources>"
    path = write_qdpx(tmp_path / "x.qdpx", project_xml(users=(("jo", "José María Ñúñez"),), codes=codes,
                                                       sources=sources))
    result = ingest(store, path)
    assert [c.name for c in store.load_codebook().codes] == ["가족 (Familie)", "Werte / Ehrlichkeit – Ünd"]
    assert result.project.unmapped["codes not codable (categories; their children keep the path)"] == 1
    assert dict(store.document_texts()) == {"인터뷰 1 – José": "우리는 가족을 소중히 여긴다."}
    assert result.annotators == {"José_María_Ñúñez": "José María Ñúñez"}  # letters kept, spaces made '_'
    label = store.labels("mapping", viewer=None)[0]
    assert label["annotator"] == "José_María_Ñúñez" and "'José María Ñúñez'" in label["note"]


def test_annotator_names_follow_the_rule_and_never_clash():
    users = {"1": "Ana B.", "2": "ana/b.", "3": "unknown", "4": "!!!", "5": "Ana_B."}
    names = annotator_names(users, used={"Ana_B."})
    assert all(re.fullmatch(r"[\w.-]+", n) for n in names.values())
    assert len(set(names.values())) == len(names)
    assert names["3"] == "unknown-refi" and names["4"].startswith("user-")
    assert names["1"] != "Ana_B." and names[None] == "refi-unattributed"


@pytest.mark.parametrize("given, kept, change", [("#A1B2C3", "#a1b2c3", None), ("#abc", "#aabbcc", None),
                                                 ("#A1B2C3FF", "#a1b2c3", "alpha dropped"),
                                                 ("red", None, "not a colour")])
def test_colours(given, kept, change):
    assert normalise_colour(given) == (kept, change)


def test_colours_plain_with_alpha_or_missing_are_imported_and_exported(store, tmp_path):
    codes = code("fam", "family", color="#FF0000") + code("hon", "honesty", color="#00FF0080") + code("nat", "nature")
    sources = "<Sources>" + text_source("b", "doc-b", content=TEXT_B, codings=coding("w1", "nat")) + "</Sources>"
    result = ingest(store, write_qdpx(tmp_path / "x.qdpx", project_xml(codes=codes, sources=sources)))
    assert "1 colours: alpha dropped" in " ".join(result.project.notes)
    colours = {c["name"]: c.get("color") for c in codebook_records(store)["codes"]}
    assert colours == {"family": "#ff0000", "honesty": "#00ff00", "nature": None}
    root = ET.fromstring(zipfile.ZipFile(export_project(store, tmp_path / "out.qdpx").path).read("project.qde"))
    assert {c.get("name"): c.get("color") for c in root.iter(Q + "Code")} == colours


def test_selection_offsets_are_code_points_and_a_misfit_is_said():
    text = "😀 Family first"  # one code point, two UTF-16 units
    assert selection_misfit(text, 2, 8, "Family") is None
    assert selection_misfit(text, 3, 9, "Family") == "offsets counted in UTF-16 units, not Unicode code points"
    assert selection_misfit(text, 2, 99, None) == "offsets beyond the end of the text"
    assert selection_misfit(text, 2, 8, "a name, not the text") is None


def test_misfitting_selections_are_counted_in_the_import(store, tmp_path):
    text = "😀 Family first"
    sources = "<Sources>" + text_source("a", "doc", content=text, selections=selection(
        "s1", 3, 9, "fam", name="Family") + selection("s2", 0, 40, "hon")) + "</Sources>"
    result = ingest(store, write_qdpx(tmp_path / "x.qdpx", project_xml(codes=BASIC_CODES, sources=sources)))
    unmapped = result.project.unmapped
    assert unmapped["selections with offsets counted in UTF-16 units, not Unicode code points (coded all the same)"] == 1
    assert unmapped["selections with offsets beyond the end of the text (coded all the same)"] == 1
    assert result.labels == {"yes": 2, "no": 1}


def test_a_namespace_prefix_and_a_schema_location_are_read_alike(store, tmp_path):
    location = ('xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xsi:schemaLocation="{QDA_PROJECT_NS} http://127.0.0.1:9/nowhere/Project-mrt2019.xsd"')
    qde = project_xml(users=(("ana", "Ana"), ("bob", "Bob")), codes=BASIC_CODES, sources=BASIC_SOURCES,
                      root_attrs=location, prefix="qda")
    assert "<qda:Project" in qde and "<qda:TextSource" in qde
    result = ingest(store, write_qdpx(tmp_path / "x.qdpx", qde, {"sources/a.txt": TEXT_A}))
    assert result.documents == 2 and result.labels == {"yes": 3, "no": 6}


def test_other_sources_and_unmappable_parts_are_listed_by_count(store, tmp_path):
    sources = ("<Sources>" + text_source("b", "doc-b", content=TEXT_B, codings=coding("w1", "nat")) +
               f'<PictureSource guid="{g("pic")}" name="photo" path="internal://p.png"><PictureSelection '
               f'guid="{g("ps")}" firstX="0" firstY="0" secondX="1" secondY="1">{coding("pc", "fam")}'
               "</PictureSelection></PictureSource>" +
               text_source("r", "rich only") + "</Sources>")
    notes = f'<Notes><Note guid="{g("n1")}" name="memo"><PlainTextContent>m</PlainTextContent></Note></Notes>'
    extra = notes + f'<Sets><Set guid="{g("set")}" name="s"/></Sets>'
    result = ingest(store, write_qdpx(tmp_path / "x.qdpx", project_xml(codes=BASIC_CODES, sources=sources,
                                                                       extra=extra)))
    assert result.documents == 1
    assert result.project.skipped == [
        "skipped a picture source 'photo': only plain text becomes a document",
        "skipped text source 'rich only': it has neither PlainTextContent nor a plainTextPath (rich text only)"]
    assert result.project.unmapped == {"codings on non-text selections": 1, "memos (notes)": 1, "sets": 1}


@pytest.mark.parametrize("mutate, message", [
    (lambda x: x.replace('isCodable="true"', 'isCodable="perhaps"', 1), "isCodable"),
    (lambda x: x.replace("<CodeRef ", "<CodeReference ", 1), "CodeReference"),
    (lambda x: x.replace(QDA_PROJECT_NS, "urn:something:else"), "expected Project in namespace"),
])
def test_an_invalid_project_names_the_first_schema_error_and_imports_nothing(store, tmp_path, mutate, message):
    qde = mutate(project_xml(users=(("ana", "Ana"), ("bob", "Bob")), codes=BASIC_CODES, sources=BASIC_SOURCES))
    path = write_qdpx(tmp_path / "bad.qdpx", qde, {"sources/a.txt": TEXT_A})
    with pytest.raises(WorkbenchError) as error:
        ingest(store, path)
    text = str(error.value)
    assert "\n" not in text and str(path) in text and message in text and "nothing was imported" in text
    assert store.count("documents") == 0 and store.latest_version() is None and store.annotator_rows() == []


def test_not_a_zip_and_a_clash_import_nothing(store, tmp_path):
    bad = tmp_path / "x.qdpx"
    bad.write_text("hello")
    with pytest.raises(WorkbenchError, match="not a zip archive"):
        ingest(store, bad)
    path = basic(tmp_path)
    ingest(store, path)
    before = (store.count("documents"), store.latest_version(), store.count("labels"))
    with pytest.raises(WorkbenchError, match="already a document of the project"):
        ingest(store, path)
    assert (store.count("documents"), store.latest_version(), store.count("labels")) == before


def test_cli_prints_the_summary_and_one_line_errors(tmp_path):
    project = tmp_path / "p.db"
    create_project(project).close()
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(project), str(basic(tmp_path)), "--group", "lab"])
    assert result.exit_code == 0, result.output
    assert "imported 2 documents" in result.output and "(imported): 3 codes" in result.output
    assert "mapping labels 9 (3 yes, 6 no)" in result.output
    status = runner.invoke(main, ["status", str(project)])
    assert re.search(r"codebook version 1: 3 codes imported from \S*lab\.qdpx", " ".join(status.output.split()))
    listed = runner.invoke(main, ["annotators", str(project), "list"]).output
    assert "Ana" in listed and "no link yet" in listed and "active" not in listed
    bad = write_qdpx(tmp_path / "bad.qdpx", "<Project/>")
    failed = runner.invoke(main, ["ingest", str(project), str(bad), "--group", "lab"])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert len(failed.output.strip().splitlines()) == 1 and "expected Project in namespace" in failed.output


# -- round trip -------------------------------------------------------------------------------------------

def exported(path):
    """(sources {name: text}, codes {guid: (name, description)}, codings {(source, code name, user)})."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
        texts = {s.get("name"): archive.read("sources/" + s.get("plainTextPath").removeprefix("internal://"))
                 .decode("utf-8") for s in root.iter(Q + "TextSource")}
    users = {u.get("guid"): u.get("name") for u in root.iter(Q + "User")}
    codes = {c.get("guid"): (c.get("name"), c.find(Q + "Description").text) for c in root.iter(Q + "Code")}
    codings = {(s.get("name"), codes[c.find(Q + "CodeRef").get("targetGUID")][0], users[c.get("creatingUser")])
               for s in root.iter(Q + "TextSource") for c in s.iter(Q + "Coding")}
    return texts, codes, codings


def first_summary_codings(path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(1 for _ in ET.fromstring(archive.read("project.qde")).iter(Q + "Coding"))


def test_round_trip_export_ingest_export(tmp_path):
    docs = {"d1": "I value my family above everything.", "d2": "Freedom of speech — essential.", "d3": "Nature."}
    source = create_project(tmp_path / "a.db")
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items()))
    ingest_file(source, tmp_path / "docs.jsonl", IngestOptions(group="G"))
    uids = {k: str(uuid.uuid5(uuid.NAMESPACE_URL, k)) for k in ("family", "freedom", "nature")}
    codes = [Code(i, uids[k], k, "test", f"the value {k}", 0, np.ones(centroid_width(source), np.float32)) for i, k in enumerate(uids)]
    # The recognizer's expressions: two of 'family' in d1 (one selection each in the export), one of 'nature'.
    source.save_extraction("d1", "llm-x", "v1", [("my family", "x", None), ("value my family", "x", None)])
    source.save_extraction("d3", "llm-x", "v1", [("Nature", "x", None)])
    expression_ids = [r[0] for r in source.db.execute("select id from expressions order by id").fetchall()]
    version = source.save_codebook("t", 0, "init", None, codes, np.array(expression_ids), np.array([0, 0, 2]),
                                   {}, "h", "e")
    for doc, key, annotator, label in [("d1", "family", "ana", "yes"), ("d1", "family", "bob", "yes"),
                                       ("d2", "freedom", "ana", "yes"), ("d2", "nature", "bob", "no"),
                                       ("d3", "nature", "bob", "yes")]:
        record(source, "mapping", pair_id(doc, uids[key]), "appropriate", label, annotator, version)
    first = export_project(source, tmp_path / "first.qdpx").path
    assert first_summary_codings(first) == 7  # 3 extractor selections + 4 accepted labels

    target = create_project(tmp_path / "b.db")
    ingest(target, first)
    second = export_project(target, tmp_path / "second.qdpx").path
    assert exported(second) == exported(first)
    texts, codes_seen, codings = exported(second)
    assert texts == docs and len(codes_seen) == 3
    assert codings == {("d1", "family", "ana"), ("d1", "family", "bob"), ("d2", "freedom", "ana"),
                       ("d3", "nature", "bob"), ("d1", "family", "llm-x"), ("d3", "nature", "llm-x")}
    # the recognizer's two selections of 'family' in d1 are one document × code label after the import
    assert first_summary_codings(second) == 6
    # and once more: the imported project's export imports to the same again
    third_store = create_project(tmp_path / "c.db")
    ingest(third_store, second)
    assert exported(export_project(third_store, tmp_path / "third.qdpx").path) == exported(first)


def test_a_project_shaped_like_a_maxqda_24_export(store, tmp_path):
    """The shape of a real MAXQDA 24 export (a public project.qde read for this test, not copied):
    schemaLocation on the root, dated attributes, codable parent categories, Sets of sources, a
    user who coded nothing."""
    user = g("johnb")
    dated = f'creatingUser="{user}" modifyingUser="{user}" creationDateTime="2024-10-18T23:23:46Z"'
    codes = code("parent", "Assessments", color="#32bd59", description="a parent category",
                  children=code("sum", "ASSMNT - Summative Assessment", color="#32bd59"))
    sources = ("<Sources>" + f'<TextSource {dated} guid="{g("s1")}" name="ICLS 2024 3-10" '
               f'plainTextPath="internal://{g("s1")}.txt"/>' + "</Sources>")
    sets = (f'<Sets><Set guid="{g("set")}" name="ICLS 2024"><MemberSource targetGUID="{g("s1")}"/></Set></Sets>')
    qde = project_xml(users=(("johnb", "johnb"),), codes=codes, sources=sources, extra=sets, root_attrs=(
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:QDA-XML:project:1.0 '
        'http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd" origin="MAXQDA 24 (Release 24.7.0)"'))
    path = write_qdpx(tmp_path / "maxqda.qdpx", qde, {f"sources/{g('s1')}.txt": "Paper text."})
    result = ingest(store, path)
    assert result.documents == 1 and result.labels == {} and result.annotators == {}
    assert [c.name for c in store.load_codebook().codes] == ["Assessments", "Assessments / ASSMNT - Summative Assessment"]
    assert result.project.unmapped == {"sets": 1}


def test_a_source_outside_the_qdpx_is_read_and_said(store, tmp_path):
    (tmp_path / "outside.txt").write_text("Text kept beside the project.", "utf-8")
    sources = "<Sources>" + text_source("a", "beside", path="outside.txt", codings=coding("c", "fam")) + "</Sources>"
    result = ingest(store, write_qdpx(tmp_path / "x.qdpx", project_xml(codes=BASIC_CODES, sources=sources)))
    assert dict(store.document_texts()) == {"beside": "Text kept beside the project."}
    assert f"text source 'beside': read from {(tmp_path / 'outside.txt').resolve()}, outside the .qdpx" in result.project.notes


def test_a_source_outside_the_qdpx_folder_is_never_read(tmp_path):
    """A project file from elsewhere must not pull this machine's other files into the project:
    an absolute path, a file:// URL, a path climbing out, or a basePath elsewhere is skipped."""
    secret = tmp_path / "secret.txt"
    secret.write_text("private notes", "utf-8")
    folder = tmp_path / "received"
    folder.mkdir()
    kept = text_source("b", "kept", content="Kept text.")
    cases = [(path, "") for path in (str(secret), f"file://{secret}", "../secret.txt")]
    cases.append(("secret.txt", f'basePath="{tmp_path}"'))
    for i, (path, root_attrs) in enumerate(cases):
        sources = "<Sources>" + text_source("a", "far", path=path) + kept + "</Sources>"
        qdpx = write_qdpx(folder / f"x{i}.qdpx", project_xml(codes=BASIC_CODES, sources=sources, root_attrs=root_attrs))
        store = create_project(tmp_path / f"p{i}.db")
        result = ingest(store, qdpx)
        assert dict(store.document_texts()) == {"kept": "Kept text."}, path
        assert any(s.startswith("skipped text source 'far': its text file") and "outside" in s
                   and "copy it there" in s for s in result.project.skipped), result.project.skipped


def test_a_damaged_member_an_unknown_encoding_and_an_unreadable_path_are_one_line_each(store, tmp_path):
    damaged = basic(tmp_path)
    data = bytearray(damaged.read_bytes())
    at = data.index(TEXT_A.encode())  # stored uncompressed: flip a byte of sources/a.txt, its CRC no longer fits
    data[at] ^= 0x20
    damaged.write_bytes(bytes(data))
    with pytest.raises(WorkbenchError, match=r"cannot read sources/a.txt .*damaged or encrypted"):
        ingest(store, damaged)
    odd = write_qdpx(tmp_path / "enc.qdpx", project_xml(codes=BASIC_CODES).replace('encoding="utf-8"',
                                                                                    'encoding="foo"'))
    with pytest.raises(WorkbenchError, match="not well-formed XML"):
        ingest(store, odd)
    long = "<Sources>" + text_source("l", "doc-l", path="x" * 300 + ".txt") + "</Sources>"
    with pytest.raises(WorkbenchError, match="nothing to import"):  # was OSError: File name too long
        ingest(store, write_qdpx(tmp_path / "long.qdpx", project_xml(codes=BASIC_CODES, sources=long)))
    assert store.count("documents") == 0
