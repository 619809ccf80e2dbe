"""Codebook exports: JSON and CSV structure, and a REFI-QDA codebook (.qdc) that validates against
the REFI-QDA Codebook schema (vendored in fixtures/refi_qda with its licence), with a name, a
description and a stable GUID on every code."""
from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from workbench.cli import main
from workbench.report.export import QDA_CODEBOOK_NS, code_guid, export_codebook

XSD = "{http://www.w3.org/2001/XMLSchema}"
SCHEMA = FIXTURES / "refi_qda" / "Codebook.xsd"


class SchemaSubset:
    """A validator for the XML Schema constructs Codebook.xsd uses — global elements, complex
    types with a sequence of elements (minOccurs/maxOccurs) and attributes (use="required"),
    simple types restricting xsd:token by a pattern, xsd:string and xsd:boolean — and nothing
    else: any other construct in the schema raises, so the check can never silently skip a rule.
    (xmlschema/lxml are not dependencies of the project.)"""

    BUILTIN = {"xsd:string": lambda v: True, "xsd:token": lambda v: True,
               "xsd:boolean": lambda v: v in ("true", "false", "1", "0")}

    def __init__(self, path):
        root = ET.parse(path).getroot()
        assert root.tag == XSD + "schema" and root.get("elementFormDefault") == "qualified"
        self.ns = root.get("targetNamespace")
        self.elements, self.complex, self.simple = {}, {}, {}
        for node in root:
            if not isinstance(node.tag, str):  # comments
                continue
            kind, name = node.tag.removeprefix(XSD), node.get("name")
            if kind == "element":
                self.elements[name] = node.get("type")
            elif kind == "complexType":
                self.complex[name] = self._complex(node)
            elif kind == "simpleType":
                (restriction,) = node
                assert restriction.tag == XSD + "restriction" and restriction.get("base") == "xsd:token"
                (pattern,) = restriction
                assert pattern.tag == XSD + "pattern"
                # XSD patterns are anchored; this one uses only classes, groups, {n}, | and \{ \}.
                self.simple[name] = re.compile(pattern.get("value"))
            else:
                raise NotImplementedError(kind)

    @staticmethod
    def _complex(node):
        sequence, attributes = [], {}
        for child in node:
            if not isinstance(child.tag, str):
                continue
            kind = child.tag.removeprefix(XSD)
            if kind == "sequence":
                for el in child:
                    assert el.tag == XSD + "element", el.tag
                    high = el.get("maxOccurs", "1")
                    sequence.append((el.get("name"), el.get("type"), int(el.get("minOccurs", "1")),
                                     None if high == "unbounded" else int(high)))
            elif kind == "attribute":
                attributes[child.get("name")] = (child.get("type"), child.get("use") == "required")
            elif kind != "annotation":
                raise NotImplementedError(kind)
        return sequence, attributes

    def validate(self, root) -> list[str]:
        errors: list[str] = []
        name = self._local(root, errors)
        if name not in self.elements:
            return errors + [f"root element {root.tag} is not declared"]
        self._check(root, self.elements[name], name, errors)
        return errors

    def _local(self, el, errors):
        ns, _, local = el.tag[1:].partition("}") if el.tag.startswith("{") else ("", "", el.tag)
        if ns != self.ns:
            errors.append(f"{local}: namespace {ns!r}, expected {self.ns!r}")
        return local

    def _simple_ok(self, type_name, value):
        if type_name in self.BUILTIN:
            return self.BUILTIN[type_name](value)
        return self.simple[type_name].fullmatch(value.strip()) is not None

    def _check(self, el, type_name, path, errors):
        if type_name in self.BUILTIN or type_name in self.simple:
            if len(el):
                errors.append(f"{path}: simple content expected, has child elements")
            elif not self._simple_ok(type_name, el.text or ""):
                errors.append(f"{path}: {el.text!r} is not a valid {type_name}")
            return
        sequence, attributes = self.complex[type_name]
        for attr, value in el.attrib.items():
            if attr.startswith("{"):  # xsi:* and other namespaced attributes are not declared here
                errors.append(f"{path}: undeclared attribute {attr}")
            elif attr not in attributes:
                errors.append(f"{path}: undeclared attribute {attr}")
            elif not self._simple_ok(attributes[attr][0], value):
                errors.append(f"{path}/@{attr}: {value!r} is not a valid {attributes[attr][0]}")
        errors += [f"{path}: missing required attribute {a}" for a, (_, req) in attributes.items()
                   if req and a not in el.attrib]
        if (el.text or "").strip():
            errors.append(f"{path}: text in element-only content")
        children = list(el)
        i = 0
        for child_name, child_type, low, high in sequence:
            n = 0
            while i < len(children) and self._local(children[i], errors) == child_name and (high is None or n < high):
                self._check(children[i], child_type, f"{path}/{child_name}[{n}]", errors)
                i, n = i + 1, n + 1
            if n < low:
                errors.append(f"{path}: expected at least {low} {child_name}, found {n}")
        errors += [f"{path}: unexpected element {c.tag}" for c in children[i:]]


@pytest.fixture(scope="module")
def schema():
    return SchemaSubset(SCHEMA)


def test_schema_subset_catches_violations(schema):
    ns = f'xmlns="{QDA_CODEBOOK_NS}"'
    good = f'<CodeBook {ns} origin="x"><Codes><Code guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="a" ' \
           f'isCodable="true"><Description>d</Description></Code></Codes></CodeBook>'
    assert schema.validate(ET.fromstring(good)) == []
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
        assert schema.validate(ET.fromstring(text)), text


def test_qdc_validates_and_every_code_has_name_description_guid(built_project, tmp_path, schema):
    codebook = built_project.load_codebook()
    path = export_codebook(built_project, "qdc", tmp_path / "codebook.qdc")
    root = ET.parse(path).getroot()
    assert schema.validate(root) == []
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
