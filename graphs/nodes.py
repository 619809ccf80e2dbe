"""The build graph's nodes ``(state, runtime) -> update``: each calls its step in
:mod:`workbench.build.steps` with the run's context. Only ``review`` does more: its interrupt comes
first, because the node re-runs from its top on resume."""
from __future__ import annotations

from collections.abc import Callable

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from workbench.build import steps
from workbench.build.context import BuildContext
from workbench.build.decisions import resume_decisions

from .state import BuildState


def _node(step: Callable[[BuildContext, BuildState], dict]) -> Callable[[BuildState, Runtime[BuildContext]], dict]:
    def node(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
        return step(runtime.context, state)

    node.__name__ = node.__qualname__ = step.__name__
    return node


def review(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    """Human review (App. C): pauses with the proposals unless the build auto-approves."""
    ctx = runtime.context
    if ctx.auto_approve:
        decisions = resume_decisions(ctx.store, state["proposal_ids"], auto_approve=True)
    else:
        decisions = interrupt({"proposal_ids": state["proposal_ids"], "iteration": state["iteration"],
                               "version": state["version"]})
    return steps.record_review(ctx, state, decisions)


# node name -> node, in the order of Algorithm 1 (Sec. 3.2), then the final scoring (Sec. 3.3)
NODES = {
    "extract": _node(steps.extract),
    "embed": _node(steps.embed),
    "init_codebook": _node(steps.init_codebook),
    "name_codes": _node(steps.name_codes),
    "recognize": _node(steps.recognize),
    "reconstruct": _node(steps.reconstruct),
    "score": _node(steps.score_codebook),
    "propose": _node(steps.propose),
    "review": review,
    "apply": _node(steps.apply),
    "finalize": _node(steps.finalize),
    "score_alignment": _node(steps.score_alignment),
}
