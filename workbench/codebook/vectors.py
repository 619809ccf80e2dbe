"""L2-normalisation of embedding rows, shared by the codebook modules (cosine = dot product of unit rows)."""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def unit_rows(x: np.ndarray, name: str = "array", allow_zero: bool = True) -> np.ndarray:
    """Return x (float64) with each row (last axis) scaled to unit L2 norm.

    Zero rows stay zero when allow_zero, else raise ValueError naming `name`:
    a zero vector has no direction, so its cosine with anything is undefined.
    """
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    zero = norms < _EPS
    if np.any(zero) and not allow_zero:
        raise ValueError(f"{name} has a zero-norm row; drop empty codes or empty texts first")
    return x / np.where(zero, 1.0, norms)
