"""What a ``build`` will cost before it runs (``build --estimate``), as an upper bound.

A build first extracts the documents that have none yet (:func:`workbench.pipeline.extract.estimate_extract`),
then scores at most T + 1 codebooks (T refinements and C^T). Each scoring reconstructs
``min(em.doc_budget, training documents)`` documents through the decoder: 2·N1 code sets per
document, N2 samples of the App. G reconstruction prompt each (``distortion embedding``), or one
``/v1/completions`` scoring of the document each (``distortion logprob``, no output). A
reconstruction prompt holds M code names with their probabilities and the document's topic, not the
document: it is counted with names of ``ASSUMED_NAME`` and each training document's topic in turn.
The namer's calls are not counted: K is known only after the clustering. An offline role costs
nothing. The build may stop earlier (τ1, too little improvement, nothing proposed), so the figure
is a ceiling, and says so.
"""
from __future__ import annotations

import prompts

from ..llm.cost import Estimate, estimate_chats, estimate_completions, scaled
from ..pipeline.extract import estimate_extract
from ..pipeline.reconstruct import LOGPROB_CHARS
from ..store import Store
from ..vocabulary import HUMAN

ASSUMED_NAME = "family solidarity"  # a code name of typical length (App. G asks for 1-3 words)


def estimate_build(store: Store, iterations: int | None = None) -> Estimate:
    """The ceiling of a build's model calls and cost (see the module docstring); calls nothing."""
    config = store.config()
    em = config.em
    scorings = (iterations or em.iterations) + 1
    extract = estimate_extract(store)
    roles = list(extract.roles)
    decoder = config.role("decoder")
    training = store.training_documents(em.train_sources or [HUMAN])
    budget = min(em.doc_budget, len(training))
    notes = [f"a ceiling: {scorings} scorings of {budget:,} documents (T = {scorings - 1} refinements and C^T), "
             "naming not counted (K is known after clustering)"]
    if decoder.provider == "openai" and budget:
        sets = 2 * em.n1
        values = "\n".join(f"- {ASSUMED_NAME} [{1 / em.m:.2f}]" for _ in range(em.m))
        # the budget's documents are drawn afresh each iteration: the mean over every training
        # document stands for the drawn ones
        if decoder.distortion == "logprob":
            texts = [prompts.render_prefix("document_likelihood", values=values, topic=topic or "(no topic)")
                     + text[:LOGPROB_CHARS] for topic, text in training]
            roles.append(scaled(estimate_completions(config, "decoder", texts), scorings * budget * sets))
        else:
            requests = [[("user", prompts.render("document_reconstruction", values=values,
                                                 topic=topic or "(no topic)"))] for topic, _ in training]
            roles.append(scaled(estimate_chats(config, "decoder", "document_reconstruction", requests),
                                scorings * budget * sets * em.n2))
    if extract.note and not extract.roles:
        notes.append(extract.note)
    return Estimate("build", roles, note="; ".join(notes))
