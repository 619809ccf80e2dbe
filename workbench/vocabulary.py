"""The names the whole workbench spells one way: the reserved source and persona, the methods
scores are stored under, and the fields of a score row.

A score row's fields are named as :class:`workbench.alignment.scoring.ScoreRow` names them, and
so are they printed by ``workbench score --csv/--json``, the report's ``scores.csv``/``scores.json``
and returned by the store. ``SCORE_COLUMNS`` maps each to the column of the ``scores`` table
that keeps it: the table's older names (``value``, ``raw``, ``n_group``, …), kept so that every
existing project reads as it is; only the store uses them. For a method other than DOVE, ``r``
is its score in its own measure and ``D`` its raw figure (an ablation's KL, say).
"""
from __future__ import annotations

HUMAN = "human"  # the source of a culture group's own documents (what a codebook is trained on by default)
CONTROL = "control"  # the persona of a model prompted without one
METHOD = "dove"  # DOVE's scores
SURVEY_METHODS = {"kl": "survey-KL", "js": "survey-JS"}  # the survey-simulation baseline's (the DEF paper)
STABILITY = "stability"  # the project meta key of the last ``workbench stability`` report (the report reads it)
# What a service stores on a codebook version for the report to read (``Store.version_result``):
SCORE_FIGURES = "score_figures"  # usage, distributions, transport flows and sample documents (``score``, the build)
RELIABILITY = "reliability"  # α and CV of the reliability runs (``workbench reliability``)
RELIABILITY_RUNS = f"{METHOD}:sampling:"  # the method prefix of the runs every ``workbench reliability`` stores


def ablation_method(name: str, ours: bool = False) -> str:
    """The method an ablation's scores are stored under: ``dove:NAME`` in the paper's measure,
    ``dove:NAME:ours`` in ours beside it."""
    return f"{METHOD}:{name}:ours" if ours else f"{METHOD}:{name}"


# The kinds of reliability run (Sec. 4.3); a run's scores are stored under ``dove:KIND:RUN``.
SAMPLING, BOOTSTRAP, RETEST, TEMPLATE = "sampling", "test-retest (bootstrap)", "test-retest", "template"
RELIABILITY_KINDS = (SAMPLING, BOOTSTRAP, RETEST, TEMPLATE)
RELIABILITY_PREFIX = f"{METHOD}:"


# Each stored field of a score row -> its column in the scores table, in the order files print them.
SCORE_COLUMNS: dict[str, str] = {
    "group": "group_name", "source": "source", "D": "raw", "D_bias": "raw_bias", "r": "value",
    "r_corrected": "value_corrected", "ci_low": "ci_low", "ci_high": "ci_high", "ci_method": "ci_method",
    "ceiling": "ceiling", "ceiling_n": "ceiling_n", "r_over_ceiling": "value_over_ceiling",
    "n_group_docs": "n_group", "n_source_docs": "n_source",
}
# The header of every score CSV (``score --csv``, the report's scores.csv). ``ScoreRow.ci_power``
# and ``ci_mc_error`` are not stored, so they are in ``score --json`` only.
SCORE_HEADER = ("method", "codebook_version", *SCORE_COLUMNS)
