"""The DEF switches, the generation-configuration sampling and the KL smoothing constant.

Liu et al. (2025) diversify responses three ways: a random city in the prompt (``persona``),
randomly sampled generation parameters (``sample_generation_config``) and the memory simulation
(``memory``, ``max_memory`` = 15). Their configuration modification varied Hugging Face
``num_beams`` (``max_beam`` = 5) and ``do_sample``; their implementation details fix "generation
temperature = 1, top_p = 1 (if effective)" for every dataset and baseline.

Beam search is not available through OpenAI-compatible chat-completions APIs (there is no
``num_beams`` parameter; ``n`` returns independent samples, not beams), and the workbench reaches
models through such an API. So the configuration diversity here samples what those APIs do accept:
``temperature`` and ``top_p``, uniformly from ranges that never exceed the paper's 1.0. A hotter
sampler (temperature > 1) flattens every answer distribution towards uniform, which lowers KL
against humans mechanically rather than by alignment, so the ranges are validated to stay at or
below the paper's values. With sampling off, every request uses the paper's temperature 1 and
top_p 1. The lower ends of the ranges are this project's choice, not the paper's.

Seeds: no request carries a ``seed`` unless the user gives one. A fixed seed on every request
would make a seed-honouring server return one answer to every respondent of a no-DEF run
(diversity 0). With a user seed, each respondent sends its own seed, derived from (seed, country,
respondent), on each of its requests, so a run is reproducible and respondents still differ.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_TEMPERATURE = 1.0  # paper: generation temperature = 1
DEFAULT_TOP_P = 1.0  # paper: top_p = 1
MAX_TEMPERATURE = 1.0  # the paper's temperature; sampled temperatures stay at or below it
SEED_BOUND = 2**31 - 1  # request seeds stay within a signed 32-bit int, which every API accepts
#: Additive smoothing of the model distribution before KL(human || model), see
#: :func:`workbench.survey.metrics.smooth`; named in every printed and stored KL label.
KL_EPSILON = 1e-6


class DefConfig(BaseModel):
    """Which DEF modifications are on, with their parameters (validated once).

    ``seed`` is the user's seed or ``None``. The persona, configuration and memory draws of each
    respondent are seeded by it (0 when unset) so a resumed run replays the same conversations;
    requests carry a per-respondent ``seed`` only when it is set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    persona: bool = True
    sample_generation_config: bool = True
    memory: bool = True
    max_memory: int = Field(15, ge=0)
    temperature_range: tuple[float, float] = (0.5, MAX_TEMPERATURE)
    top_p_range: tuple[float, float] = (0.7, DEFAULT_TOP_P)
    seed: int | None = Field(None, ge=0, le=SEED_BOUND)

    @model_validator(mode="after")
    def _ranges(self) -> DefConfig:
        lo, hi = self.temperature_range
        if not 0.0 <= lo <= hi <= MAX_TEMPERATURE:
            raise ValueError(f"temperature_range must satisfy 0 <= low <= high <= {MAX_TEMPERATURE} "
                             f"(the DEF paper's temperature), got {lo}, {hi}")
        lo, hi = self.top_p_range
        if not 0.0 < lo <= hi <= DEFAULT_TOP_P:
            raise ValueError(f"top_p_range must satisfy 0 < low <= high <= 1, got {lo}, {hi}")
        return self

    @classmethod
    def baseline(cls, seed: int | None = None) -> DefConfig:
        """All three modifications off: one fixed prompt, configuration and no history."""
        return cls(persona=False, sample_generation_config=False, memory=False, seed=seed)


def sample_generation_params(cfg: DefConfig, rng: np.random.Generator) -> dict[str, float]:
    """``{"temperature", "top_p"}`` for one request, within ``cfg``'s ranges.

    With ``cfg.sample_generation_config`` off this is the paper's fixed ``{1.0, 1.0}`` and ``rng``
    is not drawn from.
    """
    if not cfg.sample_generation_config:
        return {"temperature": DEFAULT_TEMPERATURE, "top_p": DEFAULT_TOP_P}
    return {"temperature": float(rng.uniform(*cfg.temperature_range)), "top_p": float(rng.uniform(*cfg.top_p_range))}
