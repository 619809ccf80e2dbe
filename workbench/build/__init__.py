"""The build: Algorithm 1 run as the LangGraph of ``graphs/`` (this package is its only importer).

``run`` runs, resumes and reports a build; ``steps`` holds the codebook logic each graph node calls
with the run's ``context``; ``decisions`` the rules of a decision; ``review`` the decisions on a
paused build's proposals and on ``review_proposals`` (codes the annotators do not agree on);
``seed`` reads a seed codebook for C⁰; ``estimate`` the ceiling of a build's cost (``--estimate``).
"""
from .review import Decided, ProposalView, decide, quorum_outcomes, resume_payload, resume_review, review_queue
from .run import THREAD_KEY, BuildStatus, build_status, holder_alive, run_build

__all__ = ["THREAD_KEY", "BuildStatus", "Decided", "ProposalView", "build_status", "decide", "holder_alive",
           "quorum_outcomes", "resume_payload", "resume_review", "review_queue", "run_build"]
