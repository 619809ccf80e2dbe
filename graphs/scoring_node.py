"""The build graph's final scoring node: the alignment table of the final codebook (Sec. 3.3).

Wired after ``finalize``: ``finalize → score_alignment → END``. It calls the same library function
as ``workbench score`` with the project's ``alignment`` settings and stores the rows for the final
version; re-running it (after a crash) replaces those rows with the same values.
"""
from __future__ import annotations

from langgraph.runtime import Runtime

from workbench.scoring import score_project

from .context import BuildContext
from .state import BuildState


def score_alignment(state: BuildState, runtime: Runtime[BuildContext]) -> dict:
    """Score every human group against every source on the final codebook version and store it
    (every document is mapped, not only the training sources')."""
    ctx = runtime.context
    result = score_project(ctx.store, state.get("version"), ctx.config.alignment, show_progress=ctx.show_progress,
                           corpus=ctx.all_documents())
    return {"alignment": {"version": result.version, "K": result.K, "n_rows": len(result.rows),
                          "rows": [{"group": r.group, "source": r.source, "r": r.r, "D": r.D,
                                    "ci": [r.ci_low, r.ci_high]} for r in result.rows],
                          "notes": result.notes}}
