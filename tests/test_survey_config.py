"""DEF switches and generation-parameter sampling."""

import numpy as np
import pytest
from pydantic import ValidationError

from workbench.survey.config import DefConfig, sample_generation_params


def test_paper_defaults():
    cfg = DefConfig()
    assert (cfg.persona, cfg.sample_generation_config, cfg.memory) == (True, True, True)
    assert cfg.max_memory == 15  # the paper's max_memory


def test_sampling_on_stays_in_range_varies_and_is_seeded():
    cfg = DefConfig(temperature_range=(0.6, 1.2), top_p_range=(0.8, 0.95), seed=11)
    rng = cfg.rng()
    draws = [sample_generation_params(cfg, rng) for _ in range(50)]
    assert all(0.6 <= d["temperature"] <= 1.2 and 0.8 <= d["top_p"] <= 0.95 for d in draws)
    assert all(isinstance(d["seed"], int) and 0 <= d["seed"] < 2**31 for d in draws)
    assert len({d["temperature"] for d in draws}) == 50
    assert len({d["seed"] for d in draws}) > 1
    again = cfg.rng()
    assert [sample_generation_params(cfg, again) for _ in range(50)] == draws


def test_sampling_off_gives_fixed_defaults_and_leaves_rng_alone():
    cfg = DefConfig.baseline(seed=5)
    assert (cfg.persona, cfg.sample_generation_config, cfg.memory) == (False, False, False)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert sample_generation_params(cfg, rng) == {"temperature": 1.0, "top_p": 1.0, "seed": 5}
    assert rng.bit_generator.state == state


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature_range": (1.5, 0.5)}, "temperature_range"),
    ({"temperature_range": (0.5, 2.5)}, "temperature_range"),
    ({"top_p_range": (0.0, 1.0)}, "top_p_range"),
    ({"top_p_range": (0.5, 1.1)}, "top_p_range"),
    ({"max_memory": -1}, "max_memory"),
    ({"beams": 5}, "beams"),
])
def test_invalid_config_is_rejected(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DefConfig(**kwargs)
