"""One settings object per project: model endpoints per LLM role and the paper's hyper-parameters.

The configuration is stored in the project database (``meta.config``) and validated once here.
API keys are never part of it: a role names the *environment variable* that holds its key.
"""
from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .alignment.config import AlignmentConfig
from .errors import WorkbenchError

ROLES = ("extractor", "namer", "decoder", "generator", "embedder")
Role = Literal["extractor", "namer", "decoder", "generator", "embedder"]


class RoleConfig(BaseModel):
    """How one LLM role is served.

    ``provider="offline"`` uses the embedded non-LLM strategy for the role (see README, "Offline
    mode"); ``provider="openai"`` talks to any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama,
    llama.cpp server) through langchain-openai.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Literal["offline", "openai"] = "offline"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(1024, ge=1)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=256)
    validation_retries: int = Field(1, ge=0, le=5)

    @model_validator(mode="after")
    def _needs_model(self) -> "RoleConfig":
        if self.provider == "openai" and not self.model:
            raise ValueError("provider 'openai' needs a model name")
        return self

    def strategy_label(self, offline_label: str) -> str:
        """What produced an output of this role, as stored beside it."""
        return offline_label if self.provider == "offline" else f"llm:{self.model}"


class ExtractionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_expressions: int = Field(5, ge=1, le=50, description="M': expressions kept per document")
    max_sentence_chars: int = Field(400, ge=20)


class EMConfig(BaseModel):
    """Algorithm 1 and App. E.4 hyper-parameters, with the paper's defaults."""

    model_config = ConfigDict(extra="forbid")

    n1: int = Field(3, ge=1, description="N1: code sets kept per document")
    n2: int = Field(3, ge=1, description="N2: reconstructions per code set")
    m: int = Field(3, ge=1, description="M: codes per sampled set")
    iterations: int = Field(10, ge=1, description="T: maximum iterations")
    beta1: float = 0.3
    beta2: float = 0.08
    tau1: float = 1.0
    z_merge: float = -0.5
    z_split: float = 1.0
    min_cluster_size: int = Field(5, ge=2)
    umap_dims: int = Field(5, ge=2)
    min_code_p: float = 0.01
    doc_budget: int = Field(300, ge=1, description="documents reconstructed per iteration (stratified)")
    seed: int = 0


class WorkbenchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: dict[Role, RoleConfig] = Field(default_factory=lambda: {r: RoleConfig() for r in ROLES})
    extraction: ExtractionConfig = Field(default_factory=ExtractionConfig)
    em: EMConfig = Field(default_factory=EMConfig)
    # Sec. 3.3 / App. F.3 scoring settings (ε, τ, ε₂, bootstrap); defaults documented in AlignmentConfig.
    alignment: AlignmentConfig = Field(default_factory=AlignmentConfig)

    @model_validator(mode="after")
    def _all_roles(self) -> "WorkbenchConfig":
        for role in ROLES:
            self.roles.setdefault(role, RoleConfig())
        return self

    def role(self, name: Role) -> RoleConfig:
        return self.roles[name]

    def digest(self) -> str:
        """A short hash that tags everything a run produces."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def with_settings(self, settings: dict[str, str]) -> "WorkbenchConfig":
        """Return a copy with each ``a.b.c = value`` set (values parsed as JSON when they can be),
        validated once so that settings that only make sense together can be given together."""
        data = self.model_dump()
        for dotted, value in settings.items():
            try:
                parsed: object = json.loads(value)
            except json.JSONDecodeError:
                parsed = value
            node = data
            keys = dotted.split(".")
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict) or keys[-1] not in node:
                raise WorkbenchError(f"unknown setting {dotted!r}: run 'workbench config PROJECT' to list settings")
            node[keys[-1]] = parsed
        return parse_config(json.dumps(data), source="settings " + ", ".join(settings))


def parse_config(text: str, source: str = "project config") -> WorkbenchConfig:
    try:
        return WorkbenchConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkbenchError(f"{source}: {where}: {first['msg']}") from None
