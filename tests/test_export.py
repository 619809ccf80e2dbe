"""Codebook exports: JSON and CSV structure, and a REFI-QDA codebook (.qdc) that validates against
the REFI-QDA Codebook schema (vendored in fixtures/refi_qda with its licence, checked with
xmlschema), with a name, a description and a stable GUID on every code."""
from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from click.testing import CliRunner

from conftest import FIXTURES
from workbench.cli import main
from workbench.report.export import QDA_CODEBOOK_NS, code_guid, export_codebook

SCHEMA = FIXTURES / "refi_qda" / "Codebook.xsd"


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema10(SCHEMA)


def test_schema_catches_violations(schema):
    ns = f'xmlns="{QDA_CODEBOOK_NS}"'
    good = f'<CodeBook {ns} origin="x"><Codes><Code guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="a" ' \
           f'isCodable="true"><Description>d</Description></Code></Codes></CodeBook>'
    assert schema.is_valid(good)
    bad = [
        good.replace('guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" ', ""),  # required guid missing
        good.replace("0D62985D-B147", "0D62985D-B14"),  # not a GUID
        good.replace('isCodable="true"', 'isCodable="yes"'),  # not a boolean
        good.replace("<Codes>", "<Codes><Description>x</Description>"),  # wrong element order
        good.replace("<Codes>", "").replace("</Codes>", ""),  # Codes missing
        good.replace(ns, 'xmlns="urn:QDA-XML:codebook:1:0"'),  # a tool's famous wrong namespace
        good.replace(' origin="x"', ' origin="x" colour="red"'),  # undeclared attribute
    ]
    for text in bad:
        assert not schema.is_valid(text), text


def test_qdc_validates_and_every_code_has_name_description_guid(built_project, tmp_path, schema):
    codebook = built_project.load_codebook()
    path = export_codebook(built_project, "qdc", tmp_path / "codebook.qdc")
    schema.validate(str(path))  # raises on any violation
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{QDA_CODEBOOK_NS}}}CodeBook" and root.get("origin").startswith("DOVE Workbench")
    codes = root.findall(f"{{{QDA_CODEBOOK_NS}}}Codes/{{{QDA_CODEBOOK_NS}}}Code")
    assert len(codes) == codebook.K
    for el, code in zip(codes, codebook.codes):
        assert el.get("guid") == code.uid.upper() == code_guid(code.uid)
        assert el.get("name").strip() and el.get("isCodable") == "true"
        assert el.find(f"{{{QDA_CODEBOOK_NS}}}Description").text.strip()
    assert len({el.get("guid") for el in codes}) == len(codes)
    assert len({el.get("name") for el in codes}) == len(codes)  # names made unique within the export


def test_guids_stable_across_exports_and_formats(built_project, tmp_path):
    first = ET.parse(export_codebook(built_project, "qdc", tmp_path / "a.qdc")).getroot()
    second = ET.parse(export_codebook(built_project, "qdc", tmp_path / "b.qdc")).getroot()
    guids = [el.get("guid") for el in first.iter(f"{{{QDA_CODEBOOK_NS}}}Code")]
    assert guids == [el.get("guid") for el in second.iter(f"{{{QDA_CODEBOOK_NS}}}Code")]
    data = json.loads(export_codebook(built_project, "json", tmp_path / "c.json").read_text("utf-8"))
    assert [c["guid"] for c in data["codes"]] == guids
    with open(export_codebook(built_project, "csv", tmp_path / "c.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["guid"] for r in rows] == guids
    # A code kept unchanged from an earlier version keeps its GUID there too.
    versions = [v["version"] for v in built_project.versions()]
    earlier = json.loads(export_codebook(built_project, "json", tmp_path / "v1.json", versions[0]).read_text("utf-8"))
    kept = {c.uid for c in built_project.load_codebook(versions[0]).codes} & \
        {c.uid for c in built_project.load_codebook().codes}
    assert kept and {c["guid"] for c in earlier["codes"] if c["uid"] in kept} <= set(guids)


def test_json_and_csv_structure(built_project, tmp_path):
    codebook = built_project.load_codebook()
    data = json.loads(export_codebook(built_project, "json", tmp_path / "c.json").read_text("utf-8"))
    assert data["codebook_version"] == codebook.version and data["K"] == codebook.K == len(data["codes"])
    for c in data["codes"]:
        assert set(c) >= {"guid", "uid", "idx", "name", "named_by", "description", "size", "usage", "examples"}
        assert c["name"] and c["description"] and 1 <= len(c["examples"]) <= 3
    with open(export_codebook(built_project, "csv", tmp_path / "c.csv"), newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["guid", "idx", "name", "named_by", "description", "size", "usage", "examples"]
        assert len(list(reader)) == codebook.K


def test_cli_export_default_path(built_project):
    result = CliRunner().invoke(main, ["export", str(built_project.path), "--format", "qdc"])
    assert result.exit_code == 0, result.output
    version = built_project.load_codebook().version
    path = built_project.path.with_name(f"codebook-v{version}.qdc")
    assert path.is_file() and f"wrote {path}" in result.output
    bad = CliRunner().invoke(main, ["export", str(built_project.path), "--format", "qdc", "--out", "/nonexistent/x.qdc"])
    assert bad.exit_code == 1 and "does not exist" in bad.output
