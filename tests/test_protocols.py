"""Annotation protocol files load, carry what App. C needs, and fail clearly when broken."""

import tomllib
from importlib.resources import files

import pytest

from workbench.errors import WorkbenchError

from annotations.protocols import (
    AnnotationProtocol,
    ProtocolError,
    available_protocols,
    load_protocol,
    load_protocol_file,
    parse_protocol,
)

SHIPPED = ["code_quality", "mapping", "proposals"]


def shipped_text(protocol_id: str) -> str:
    return (files("annotations") / "protocols" / f"{protocol_id}.toml").read_text("utf-8")


def test_available_protocols_lists_the_shipped_files():
    assert available_protocols() == SHIPPED


@pytest.mark.parametrize("protocol_id", SHIPPED)
def test_protocol_loads_with_the_required_fields(protocol_id):
    protocol = load_protocol(protocol_id)
    assert isinstance(protocol, AnnotationProtocol)
    assert protocol.id == protocol_id
    assert protocol.version.count(".") == 2
    assert protocol.title
    assert protocol.annotators == 4
    assert protocol.agreement == "mean_pairwise_cohen_kappa"
    # App. G's definition of a value is in front of every annotator.
    assert "worthwhile" in protocol.value_definition
    assert "belief" in protocol.value_definition.lower()
    # The re-annotation instruction is a different, more detailed text (App. C).
    assert protocol.instructions and protocol.detailed_instructions
    assert protocol.detailed_instructions != protocol.instructions
    assert len(protocol.detailed_instructions) > len(protocol.instructions)
    assert protocol.resolution.reannotate == "disagreements"
    assert protocol.resolution.discuss == "even_splits"
    for criterion in protocol.criteria:
        assert len(criterion.values) >= 2
        assert criterion.question


def test_mapping_protocol():
    protocol = load_protocol("mapping")
    assert protocol.sample.unit == "document"
    assert protocol.sample.size == 50
    assert protocol.sample.stratify_by == ["group", "source"]
    assert [c.id for c in protocol.criteria] == ["appropriate"]
    assert protocol.criterion("appropriate").values == ["yes", "no"]


def test_code_quality_protocol():
    protocol = load_protocol("code_quality")
    assert protocol.sample.unit == "code"
    assert protocol.sample.size == 100
    assert [c.id for c in protocol.criteria] == ["meaningful", "redundant", "name_fit"]
    for criterion in protocol.criteria:
        assert sorted(criterion.values) == [0, 1]
    # App. C: within an overlapping group exactly one code is kept as non-redundant.
    assert "exactly one" in protocol.instructions


def test_proposals_protocol():
    protocol = load_protocol("proposals")
    assert protocol.sample.size is None  # every pending proposal is reviewed
    assert protocol.sample.stratify_by == ["kind"]
    assert protocol.criterion("decision").values == ["approve", "reject"]
    for kind in ("Split", "Merge", "Rename"):
        assert kind in protocol.detailed_instructions


def test_unknown_criterion_names_the_known_ones():
    with pytest.raises(KeyError, match="appropriate"):
        load_protocol("mapping").criterion("nope")


def test_unknown_protocol_lists_available_ones():
    with pytest.raises(ProtocolError, match="no protocol named 'nope'; available: code_quality"):
        load_protocol("nope")


# ----------------------------------------------------------------- malformed protocols


def without_line(text: str, startswith: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(startswith))


def test_missing_field_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text(without_line(shipped_text("mapping"), "annotators ="), "utf-8")
    with pytest.raises(ProtocolError) as error:
        load_protocol_file(path)
    assert isinstance(error.value, WorkbenchError)  # the CLI prints it as one line
    message = str(error.value)
    assert message.startswith(str(path))
    assert "field 'annotators'" in message and "Field required" in message


def test_nested_field_error_names_the_path():
    text = shipped_text("mapping").replace("size = 50", "size = 0")
    with pytest.raises(ProtocolError, match=r"draft\.toml: field 'sample\.size': .*greater than 0"):
        parse_protocol(text, "draft.toml")


def test_label_set_with_duplicate_values_is_refused():
    text = shipped_text("mapping").replace('value = "no"', 'value = "yes"')
    with pytest.raises(ProtocolError, match=r"field 'criteria\[0\]\.labels'.*distinct"):
        parse_protocol(text, "draft.toml")


def test_misspelt_key_is_refused_not_ignored():
    text = shipped_text("mapping").replace("annotators = 4", "annotators = 4\nannotator = 4")
    with pytest.raises(ProtocolError, match="field 'annotator': Extra inputs are not permitted"):
        parse_protocol(text, "draft.toml")


def test_bool_is_not_a_label_value():
    text = shipped_text("code_quality").replace("value = 1", "value = true", 1)
    with pytest.raises(ProtocolError, match=r"criteria\[0\]\.labels\[0\]\.value"):
        parse_protocol(text, "draft.toml")


def test_invalid_toml_names_the_file():
    with pytest.raises(ProtocolError, match=r"^draft\.toml: not valid TOML"):
        parse_protocol('id = "mapping\n', "draft.toml")


def test_id_must_match_the_file_name(tmp_path):
    path = tmp_path / "mapping_v2.toml"
    path.write_text(shipped_text("mapping"), "utf-8")
    with pytest.raises(ProtocolError, match="field 'id': is 'mapping' but the file is named 'mapping_v2'"):
        load_protocol_file(path)


def test_unreadable_file_is_a_protocol_error(tmp_path):
    with pytest.raises(ProtocolError, match="cannot read protocol file"):
        load_protocol_file(tmp_path / "absent.toml")


def test_shipped_files_are_plain_toml():
    for protocol_id in SHIPPED:
        data = tomllib.loads(shipped_text(protocol_id))
        assert data["id"] == protocol_id
