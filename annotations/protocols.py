"""Annotation protocols: the instructions and label sets annotators work from.

Each protocol is a TOML file in ``annotations/protocols/`` (package data), named after
its ``id``. Following App. C of the DOVE paper, a protocol carries a plain instruction for
the first round, a more detailed instruction for re-annotating items the annotators
disagreed on, the label set of every criterion, the default sample and its strata, and the
number of annotators. Files are read with :mod:`tomllib` through :mod:`importlib.resources`
and validated once here; a broken file raises :class:`ProtocolError` naming the file and
the field.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from workbench.errors import WorkbenchError

_PACKAGE = __package__ or "annotations"
_FOLDER = "protocols"

NonEmptyStr = Annotated[str, Field(min_length=1)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


def _require_distinct(values: list, what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must be distinct, got {values}")


class ProtocolError(WorkbenchError, ValueError):
    """A protocol file is missing, is not TOML, or fails validation (one-line message)."""


class _Strict(BaseModel):
    # Unknown keys are typos in a hand-written file; reject them instead of ignoring them.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LabelOption(_Strict):
    """One allowed label and what it means to the annotator."""

    value: StrictStr | StrictInt
    meaning: NonEmptyStr


class Criterion(_Strict):
    """One question annotators answer per item, with its label set."""

    id: Identifier
    question: NonEmptyStr
    labels: list[LabelOption] = Field(min_length=2)

    @field_validator("labels")
    @classmethod
    def _distinct_values(cls, labels: list[LabelOption]) -> list[LabelOption]:
        _require_distinct([option.value for option in labels], "label values")
        return labels

    @property
    def values(self) -> list[str | int]:
        return [option.value for option in self.labels]


class Sample(_Strict):
    """What is sampled for annotation, how many, and the strata to draw within."""

    unit: NonEmptyStr
    size: PositiveInt | None = None  # None: every item is annotated
    stratify_by: list[str] = []
    seed: int = 0
    note: str = ""


class Resolution(_Strict):
    """App. C: re-annotate disagreements with the detailed instruction, discuss even splits."""

    reannotate: Literal["disagreements", "none"] = "disagreements"
    discuss: Literal["even_splits", "none"] = "even_splits"


class AnnotationProtocol(_Strict):
    """A validated annotation protocol (one TOML file)."""

    id: Identifier
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: NonEmptyStr
    rated_unit: NonEmptyStr
    annotators: int = Field(ge=2)
    agreement: Literal["mean_pairwise_cohen_kappa", "fleiss_kappa", "krippendorff_alpha"]
    value_definition: NonEmptyStr
    instructions: NonEmptyStr
    detailed_instructions: NonEmptyStr
    sample: Sample
    resolution: Resolution = Resolution()
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("criteria")
    @classmethod
    def _distinct_ids(cls, criteria: list[Criterion]) -> list[Criterion]:
        _require_distinct([c.id for c in criteria], "criterion ids")
        return criteria

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id (``KeyError`` naming the known ids if absent)."""
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        known = ", ".join(c.id for c in self.criteria)
        raise KeyError(f"protocol {self.id!r} has no criterion {criterion_id!r}; known: {known}")


def _field_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def parse_protocol(
    text: str | bytes, source: str, expected_id: str | None = None
) -> AnnotationProtocol:
    """Parse and validate protocol TOML; errors name ``source`` and the failing field.

    ``expected_id``, when given (the file's stem), must equal the protocol's ``id`` so
    that ``load_protocol(name)`` always returns the protocol called ``name``.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{source}: not valid TOML ({error}); fix the syntax there") from None
    try:
        protocol = AnnotationProtocol.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"field '{_field_path(e['loc'])}': {e['msg']}" for e in error.errors()
        )
        raise ProtocolError(f"{source}: {problems}") from None
    if expected_id is not None and protocol.id != expected_id:
        raise ProtocolError(
            f"{source}: field 'id': is {protocol.id!r} but the file is named {expected_id!r};"
            " make them match"
        )
    return protocol


def _protocol_dir():
    return files(_PACKAGE) / _FOLDER


def available_protocols() -> list[str]:
    """Ids of the protocols shipped in ``annotations/protocols/``, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _protocol_dir().iterdir()
        if entry.is_file() and entry.name.endswith(".toml")
    )


def load_protocol(protocol_id: str) -> AnnotationProtocol:
    """Load the shipped protocol ``protocol_id`` (e.g. ``"mapping"``)."""
    available = available_protocols()
    if protocol_id not in available:
        raise ProtocolError(
            f"no protocol named {protocol_id!r}; available: {', '.join(available) or 'none'}"
        )
    resource = _protocol_dir() / f"{protocol_id}.toml"
    return parse_protocol(
        resource.read_bytes(), f"{_PACKAGE}/{_FOLDER}/{protocol_id}.toml", protocol_id
    )


def load_protocol_file(path: str | Path) -> AnnotationProtocol:
    """Load a protocol from any TOML file (e.g. a draft before it is shipped)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProtocolError(f"{path}: cannot read protocol file ({error.strerror})") from None
    return parse_protocol(data, str(path), path.stem)
