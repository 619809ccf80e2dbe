"""Reading structured output out of model replies (App. G formats), validated with pydantic.

Models wrap their output in prose and code fences, write Python literals instead of JSON, or stop
mid-way. These parsers find the structure, read it with ``json`` or ``ast.literal_eval`` (never
``eval``), validate it, and raise :class:`OutputError` with a message the model can act on.
"""
from __future__ import annotations

import ast
import json
import re

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from .gateway import OutputError


class ValueCode(BaseModel):
    """One coded value from the App. G value-identifier prompt."""

    code_name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=1000)

    @field_validator("code_name", "description")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value


class CodeName(BaseModel):
    code_name: str = Field(min_length=1, max_length=80)


_VALUE_LIST = TypeAdapter(list[ValueCode])
_FENCE = re.compile(r"```(?:python|json|py)?\s*(.*?)```", re.S)


def _literal(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise OutputError(f"the output is not a valid Python/JSON literal ({type(exc).__name__})") from None


def _span(text: str, open_ch: str, close_ch: str) -> str:
    fenced = [m.group(1) for m in _FENCE.finditer(text) if open_ch in m.group(1)]
    candidate = fenced[-1] if fenced else text
    start, end = candidate.find(open_ch), candidate.rfind(close_ch)
    if start < 0 or end <= start:
        raise OutputError(f"no {open_ch}...{close_ch} structure found in the output")
    return candidate[start:end + 1]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def parse_value_codes(text: str) -> list[ValueCode]:
    """Parse the value identifier's list of ``{"code_name", "description"}`` dictionaries."""
    data = _literal(_span(text, "[", "]"))
    try:
        return _VALUE_LIST.validate_python(data)
    except ValidationError as exc:
        raise OutputError(f"the list does not match the schema ({_first_error(exc)})") from None


def parse_code_name(text: str) -> str:
    """Parse the naming prompt's ``{"code_name": ...}``."""
    data = _literal(_span(text, "{", "}"))
    try:
        return CodeName.model_validate(data).code_name.strip()
    except ValidationError as exc:
        raise OutputError(f"the object does not match the schema ({_first_error(exc)})") from None


def parse_free_text(text: str) -> str:
    """A generated document: any non-empty text."""
    if not text or not text.strip():
        raise OutputError("the reply is empty")
    return text.strip()
