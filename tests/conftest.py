"""Shared fixtures: a loopback fake OpenAI server, fresh projects, the shared real data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fake_openai import FakeOpenAI

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared real data is absent on this machine)")
    return path


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def project(tmp_path):
    from workbench.store import create_project

    store = create_project(tmp_path / "p.db")
    yield store
    store.close()


def use_llm(store, base_url: str, roles=("extractor", "namer", "decoder", "generator"), model="fake-model",
            **settings_extra) -> None:
    """Point LLM roles of a project at an endpoint."""
    settings = {}
    for role in roles:
        settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": model,
                     f"roles.{role}.base_url": base_url}
        settings |= {f"roles.{role}.{key}": str(value) for key, value in settings_extra.items()}
    cfg = store.config().with_settings(settings)
    store.save_config(cfg)
