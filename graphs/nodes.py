"""The build graph's nodes ``(state, runtime) -> update``: each calls its step in
:mod:`workbench.build_steps` with the run's context. Only ``review`` does more: its interrupt comes
first, because the node re-runs from its top on resume."""
from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from workbench import build_steps as steps
from workbench.build_context import BuildContext
from workbench.decisions import resume_decisions

from .state import BuildState


def extract(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.extract(runtime.context, state)


def embed(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.embed(runtime.context, state)


def init_codebook(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.init_codebook(runtime.context, state)


def name_codes(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.name_codes(runtime.context, state)


def recognize(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.recognize(runtime.context, state)


def reconstruct(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.reconstruct(runtime.context, state)


def score_codebook(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.score_codebook(runtime.context, state)


def propose(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.propose(runtime.context, state)


def review(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    """Human review (App. C): pauses with the proposals unless the build auto-approves."""
    ctx = runtime.context
    if ctx.auto_approve:
        decisions = resume_decisions(ctx.store, state["proposal_ids"], auto_approve=True)
    else:
        decisions = interrupt({"proposal_ids": state["proposal_ids"], "iteration": state["iteration"],
                               "version": state["version"]})
    return steps.record_review(ctx, state, decisions)


def apply(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.apply(runtime.context, state)


def finalize(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.finalize(runtime.context, state)


def score_alignment(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    return steps.score_alignment(runtime.context, state)
