"""docs/deviations.md names the settings that restore the paper's reading: each backticked
`section.key` (optionally `section.key value` or `section.key = value`) must be a setting of the
project and accept the value named, so a renamed key or a dropped choice fails here."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench.config import WorkbenchConfig
from workbench.errors import WorkbenchError

DOC = Path(__file__).resolve().parents[1] / "docs" / "deviations.md"
SECTIONS = "|".join(WorkbenchConfig.model_fields)  # roles, extraction, em, alignment, annotation
MENTION = re.compile(rf"`((?:{SECTIONS})(?:\.\w+)+)(?:\s*=\s*|\s+)?([^`]*)`")


def mentions(text: str) -> list[tuple[str, str]]:
    return [(key, value.strip()) for key, value in MENTION.findall(text)]


def test_the_convention_is_read_as_written():
    assert mentions("`em.sigma_mode per-version`, `em.m`, `em.train_sources = [\"human\"]`, `bench/x.py`") == [
        ("em.sigma_mode", "per-version"), ("em.m", ""), ("em.train_sources", '["human"]')]


def test_unknown_keys_and_refused_values_are_caught():
    config = WorkbenchConfig()
    with pytest.raises(WorkbenchError, match="unknown setting"):
        config.with_settings({"em.sigma": "initial"})
    with pytest.raises(WorkbenchError):
        config.with_settings({"em.sigma_mode": "per-iteration"})


def test_every_setting_the_doc_names_exists_and_takes_its_value():
    found = mentions(DOC.read_text("utf-8"))
    assert len(found) >= 15, found  # the doc names about twenty; a change of convention must show here
    config = WorkbenchConfig()
    for key, value in found:
        if not value:  # the key alone: it must exist; set it to its own value
            node = config.model_dump()
            for part in key.split("."):
                assert isinstance(node, dict) and part in node, f"docs/deviations.md names `{key}`: no such setting"
                node = node[part]
            value = node if isinstance(node, str) else json.dumps(node)
        try:
            config.with_settings({key: value})
        except WorkbenchError as exc:
            pytest.fail(f"docs/deviations.md: `{key} {value}`: {exc}")
