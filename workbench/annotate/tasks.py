"""The annotation tasks, their rounds and the checks every label passes: annotator names, the
task's protocol, the codebook version worked on, and mapping item ids."""
from __future__ import annotations

import re

from annotations.agreement import DEFAULT_MODEL_NAME
from annotations.protocols import AnnotationProtocol, available_protocols, load_protocol

from ..errors import WorkbenchError

TASKS = ("proposals", "code_quality", "mapping")
RECOGNIZER = DEFAULT_MODEL_NAME
FIRST, REANNOTATION, CONSENSUS, MODEL = "first", "reannotation", "consensus", "model"
ROUNDS = (FIRST, REANNOTATION, CONSENSUS, MODEL)
# Names that already mean something in the labels and decisions tables.
RESERVED_NAMES = {RECOGNIZER, "auto", "missing", "unknown", CONSENSUS}
PAIR = "::"  # mapping item id: "<document id>::<code uid>" (a uid never contains it)
# Free-text companions of the code-quality criteria; stored as labels, not part of agreement.
EXTRA_CRITERIA: dict[str, tuple[str, ...]] = {"code_quality": ("redundant_with", "better_name"),
                                              "mapping": (), "proposals": ()}
HUMAN_ROUNDS = (FIRST, REANNOTATION, CONSENSUS)
# Only mapping labels carry: "does this code apply to this document" judges the document against a
# code that keeps its uid (and meaning). A code-quality label judges the code's members and name,
# which every 'apply' re-clusters and a 'rename' changes, so it stays with its version.
CARRIED_TASKS = ("mapping",)
# One rule for annotator names: letters, digits, '-', '_', '.', starting with a letter or digit
# (no comma, space or '/': a name can be listed in --annotators a,b and written in a file name).
NAME = re.compile(r"[^\W_][\w.-]{0,63}")
NAME_RULE = "letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64"


def check_annotator(name: str | None) -> str:
    """An annotator name as stored with every label (:data:`NAME`); reserved and empty names are refused."""
    name = (name or "").strip()
    if not name:
        raise WorkbenchError(f"the annotator's name is empty: give one ({NAME_RULE})")
    if not NAME.fullmatch(name):
        raise WorkbenchError(f"{name!r} is not an annotator name: use {NAME_RULE}")
    if name.lower() in RESERVED_NAMES:
        raise WorkbenchError(f"{name!r} is reserved for the workbench's own rows: choose another annotator name")
    return name


def task_protocol(task: str) -> AnnotationProtocol:
    if task not in TASKS:
        raise WorkbenchError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    if task not in available_protocols():
        raise WorkbenchError(f"no protocol file for task {task!r} in annotations/protocols/")
    return load_protocol(task)


def pair_id(document_id: str, code_uid: str) -> str:
    return f"{document_id}{PAIR}{code_uid}"


def split_pair(item_id: str) -> tuple[str, str]:
    document_id, code_uid = item_id.rsplit(PAIR, 1)
    return document_id, code_uid
