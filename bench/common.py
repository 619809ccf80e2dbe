"""Shared helpers of the benchmark scripts: timing, peak memory, synthetic value data, summaries."""
from __future__ import annotations

import os
import resource
import time
from contextlib import contextmanager

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@contextmanager
def timed(results: dict, key: str):
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def synthetic_posteriors(n_docs: int, K: int, rng: np.random.Generator, concentration: float = 0.05) -> np.ndarray:
    """(n_docs, K) document posteriors: sparse Dirichlet rows around a population mixture."""
    base = rng.dirichlet(np.full(K, 0.5))
    return rng.dirichlet(base * K * concentration + 1e-3, size=n_docs)


def synthetic_embeddings(n: int, centres: np.ndarray, rng: np.random.Generator, noise: float = 0.06,
                         labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around ``centres`` (narrow-band cosines, like e5's)."""
    labels = rng.integers(0, len(centres), size=n) if labels is None else labels
    x = centres[labels] + rng.normal(scale=noise, size=(n, centres.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def summary(name: str, figures: dict[str, str], targets: dict[str, bool], verdict: str | None = None) -> None:
    """Print the figures and a one-line summary naming each target met or missed (or ``verdict``,
    a bench's own line)."""
    for key, value in figures.items():
        print(f"  {key}: {value}")
    verdict = verdict or ", ".join(f"{t}: {'met' if ok else 'MISSED'}" for t, ok in targets.items())
    print(f"{name}: {verdict or 'figures only, no target'}")
