"""DEF switches and generation-parameter sampling."""

import numpy as np
import pytest
from pydantic import ValidationError

from workbench.survey.config import DefConfig, sample_generation_params


def test_paper_defaults():
    cfg = DefConfig()
    assert (cfg.persona, cfg.sample_generation_config, cfg.memory) == (True, True, True)
    assert cfg.max_memory == 15  # the paper's max_memory
    assert cfg.temperature_range[1] <= 1.0 and cfg.top_p_range[1] <= 1.0  # the paper's temperature 1, top_p 1
    assert cfg.seed is None  # no seed is sent unless the user gives one


def test_sampling_on_stays_in_range_varies_and_is_seeded():
    cfg = DefConfig(temperature_range=(0.6, 0.9), top_p_range=(0.8, 0.95))
    draws = [sample_generation_params(cfg, np.random.default_rng(11)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(11)
    draws = [sample_generation_params(cfg, rng) for _ in range(50)]
    assert all(set(d) == {"temperature", "top_p"} for d in draws)  # no seed: that is per respondent, if any
    assert all(0.6 <= d["temperature"] <= 0.9 and 0.8 <= d["top_p"] <= 0.95 for d in draws)
    assert len({d["temperature"] for d in draws}) == 50


def test_sampling_off_gives_the_papers_values_and_leaves_rng_alone():
    cfg = DefConfig.baseline(seed=5)
    assert (cfg.persona, cfg.sample_generation_config, cfg.memory) == (False, False, False)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert sample_generation_params(cfg, rng) == {"temperature": 1.0, "top_p": 1.0}
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature_range": (1.0, 0.5)}, "temperature_range"),
    ({"temperature_range": (0.5, 1.5)}, "the DEF paper's temperature"),  # hotter flattens answers, lowers KL
    ({"top_p_range": (0.0, 1.0)}, "top_p_range"),
    ({"top_p_range": (0.5, 1.1)}, "top_p_range"),
    ({"max_memory": -1}, "max_memory"),
    ({"seed": -1}, "seed"),
    ({"beams": 5}, "beams"),
])
def test_invalid_config_is_rejected(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DefConfig(**kwargs)
