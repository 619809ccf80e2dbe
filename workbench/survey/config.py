"""The DEF switches and the generation-configuration sampling.

Liu et al. (2025) diversify responses three ways: a random city in the prompt (``persona``),
randomly sampled generation parameters (``sample_generation_config``) and the memory simulation
(``memory``, ``max_memory`` = 15). Their configuration modification varied Hugging Face
``num_beams`` (``max_beam`` = 5) and ``do_sample`` with temperature = 1 and top_p = 1.

Beam search is not available through OpenAI-compatible chat-completions APIs (there is no
``num_beams`` parameter; ``n`` returns independent samples, not beams), and the workbench reaches
models through such an API. So the configuration diversity here samples what those APIs do accept:
``temperature`` and ``top_p`` uniformly from configurable ranges and a fresh integer ``seed`` per
request. With sampling off, every request uses the paper's temperature 1 and top_p 1 and the run's
seed. The ranges are this project's choice, not the paper's.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_TEMPERATURE = 1.0  # paper: generation temperature = 1
DEFAULT_TOP_P = 1.0  # paper: top_p = 1
_SEED_BOUND = 2**31 - 1  # request seeds stay within a signed 32-bit int, which every API accepts


class DefConfig(BaseModel):
    """Which DEF modifications are on, with their parameters (validated once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    persona: bool = True
    sample_generation_config: bool = True
    memory: bool = True
    max_memory: int = Field(15, ge=0)
    temperature_range: tuple[float, float] = (0.5, 1.5)
    top_p_range: tuple[float, float] = (0.7, 1.0)
    seed: int = Field(0, ge=0, le=_SEED_BOUND)

    @model_validator(mode="after")
    def _ranges(self) -> DefConfig:
        lo, hi = self.temperature_range
        if not 0.0 <= lo <= hi <= 2.0:
            raise ValueError(f"temperature_range must satisfy 0 <= low <= high <= 2, got {lo}, {hi}")
        lo, hi = self.top_p_range
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"top_p_range must satisfy 0 < low <= high <= 1, got {lo}, {hi}")
        return self

    @classmethod
    def baseline(cls, seed: int = 0) -> DefConfig:
        """All three modifications off: one fixed prompt, configuration and no history."""
        return cls(persona=False, sample_generation_config=False, memory=False, seed=seed)

    def rng(self) -> np.random.Generator:
        """The run's generator; draw personas, generation parameters and memory from it."""
        return np.random.default_rng(self.seed)


def sample_generation_params(cfg: DefConfig, rng: np.random.Generator) -> dict[str, float | int]:
    """``{"temperature", "top_p", "seed"}`` for one request.

    With ``cfg.sample_generation_config`` off this is the fixed ``{1.0, 1.0, cfg.seed}`` and ``rng``
    is not drawn from.
    """
    if not cfg.sample_generation_config:
        return {"temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P, "seed": cfg.seed}
    return {
        "temperature": float(rng.uniform(*cfg.temperature_range)),
        "top_p": float(rng.uniform(*cfg.top_p_range)),
        "seed": int(rng.integers(0, _SEED_BOUND)),
    }
