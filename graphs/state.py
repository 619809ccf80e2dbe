"""The codebook graph's state: small, JSON-like, checkpointed after every node.

Large arrays (embeddings, posteriors) live in the project and the run context, never here.
"""
from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class BuildState(TypedDict, total=False):
    iteration: int  # t of Algorithm 1
    version: int  # current codebook version in the project
    history: Annotated[list[dict[str, Any]], operator.add]  # S(C), K per iteration
    distortion_history: dict[str, list[float]]  # code uid -> d(c_k) per iteration
    reconstruction: dict[str, Any]
    proposal_ids: list[int]
    held_back: list[str]  # changes the rules found but propose did not put forward, with why
    decisions: dict[str, dict[str, Any]]
    stop_reason: str | None
    sigma: float
    K: int
    named: int
    n_documents: int
    n_expressions: int
    extract_report: dict[str, Any]
    summary: dict[str, Any]
    alignment: dict[str, Any]  # final score table (score_alignment node)
