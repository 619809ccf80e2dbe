"""Prompt templates as files, loaded by name (App. G of the DOVE paper and the survey prompt).

Each ``NAME.txt`` beside this module is a ``str.format`` template with named placeholders
(literal braces are doubled). Lines starting with ``#`` at the top of a file are its header (where
it comes from) and are not part of the prompt. ``render`` refuses missing or unexpected placeholders so that a
renamed variable cannot silently send a half-filled prompt to a model.
"""
from __future__ import annotations

import hashlib
import string
from functools import lru_cache
from importlib import resources


# The unprimed text-generation templates: the paper's (App. G, "Write a piece of writing on {topic}")
# first, then our two paraphrases of it, for the template-invariance run of ``workbench reliability``.
GENERATION_TEMPLATES = ("topic_writing", "topic_writing_paraphrase1", "topic_writing_paraphrase2")


class PromptError(ValueError):
    """A prompt file is missing or was rendered with the wrong placeholders."""


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """Return the template text of ``prompts/NAME.txt`` (without its ``#`` header lines)."""
    path = resources.files(__name__).joinpath(f"{name}.txt")
    if not path.is_file():
        available = ", ".join(available_prompts())
        raise PromptError(f"no prompt named {name!r} in prompts/ (available: {available})")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def available_prompts() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files(__name__).iterdir() if p.name.endswith(".txt"))


def placeholders(name: str) -> set[str]:
    """The named placeholders a template expects."""
    return {field for _, field, _, _ in string.Formatter().parse(load(name)) if field}


def version(name: str) -> str:
    """A short content hash, stored with every output so a changed prompt is visible."""
    return hashlib.sha256(load(name).encode("utf-8")).hexdigest()[:12]


def render(name: str, **variables: object) -> str:
    """Fill a template; every placeholder must be given and nothing else."""
    expected = placeholders(name)
    missing = expected - variables.keys()
    extra = variables.keys() - expected
    if missing or extra:
        raise PromptError(
            f"prompt {name!r} expects {sorted(expected)}; missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    return load(name).format(**variables)


def render_prefix(name: str, **variables: object) -> str:
    """The rendered prompt as the start of a text that follows it on the next line (trailing
    whitespace cut, one newline): how a document is scored after a prompt (footnote 3)."""
    return render(name, **variables).rstrip() + "\n"
