"""What the report shows of a scored codebook version, computed when it is scored (issue 27): the
report reads it from the store (``Store.version_result(version, SCORE_FIGURES)``) and computes nothing.

:func:`score_figures` maps a :class:`~workbench.measures.score.ProjectPosteriors` to plain JSON
values: the code usage n_k (Eq. 16), each group's and source's value distribution
a = E_x[q(z|x, C)] (Sec. 3.3), the largest off-diagonal flows of the UOT plan (Eq. 21) of every
human group to every other group and source, and a few documents with the code of each value
expression (Fig. 6). Codes are given by their index in the version, so that a renamed code shows
its current name.
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from ..alignment.cost import cost_matrix
from ..alignment.scoring import Flow, mean_posterior, top_flows
from ..alignment.uot import uot_plan
from ..codebook.assignment import soft_assign
from ..config import AlignmentConfig
from ..errors import WorkbenchError
from ..vocabulary import HUMAN

if TYPE_CHECKING:  # score.py stores these figures when it scores: it imports this module
    from .score import ProjectPosteriors

MAX_DOCS = 6
N_FLOWS = 8  # flows kept per (group, source); the report shows the first ``n_flows`` of them
N_TOP_CODES = 5  # a document's top codes


def distributions(post: ProjectPosteriors) -> dict[str, list[float]]:
    """The histogram a of every human group, then of every model source, in that order (halves are
    not shown)."""
    labels = post.labels()
    groups = post.human_groups()
    order = groups + sorted({lab for lab in labels if lab not in groups})
    return {label: mean_posterior(post.q_docs[[i for i, lab in enumerate(labels) if lab == label]]).tolist()
            for label in order}


def pick_documents(post: ProjectPosteriors, max_docs: int = MAX_DOCS) -> list[int]:
    """A pair on a shared topic (a human and a model document if there is one, else two groups'
    human documents), then one document of every other group/source; at most ``max_docs``."""
    c = post.corpus
    labels = post.labels()
    by_topic: dict[str, dict[str, int]] = defaultdict(dict)
    for i, topic in enumerate(c.doc_topics):
        if topic:
            by_topic[topic].setdefault(labels[i], i)
    pair: list[int] = []
    for want_model in (True, False):
        for topic in sorted(by_topic):
            docs = by_topic[topic]
            humans = [i for lab, i in docs.items() if c.doc_sources[i] == HUMAN]
            others = [i for lab, i in docs.items() if c.doc_sources[i] != HUMAN]
            if want_model and humans and others:
                pair = [humans[0], others[0]]
            elif not want_model and len(humans) >= 2:
                pair = humans[:2]
            if pair:
                break
        if pair:
            break
    chosen = list(pair)
    seen = {labels[i] for i in chosen}
    for i, lab in enumerate(labels):
        if len(chosen) >= max_docs:
            break
        if lab not in seen:
            chosen.append(i)
            seen.add(lab)
    return chosen


def document_codes(post: ProjectPosteriors, docs: list[int]) -> list[dict]:
    """Each document's text, its expressions with the argmax code of q(z|expression, C) (Eq. 15)
    and that code's probability, and its ``N_TOP_CODES`` largest codes of q(z|x, C)."""
    c = post.corpus
    labels = post.labels()
    K = post.codebook.K
    out = []
    for d in docs:
        expr = np.flatnonzero(c.expr_doc == d)
        q_expr = soft_assign(c.expr_emb[expr], post.codebook.centroids, post.sigma) if expr.size else np.zeros((0, K))
        codes = q_expr.argmax(axis=1) if expr.size else np.array([], dtype=int)
        q = post.q_docs[d]
        out.append({"id": c.doc_ids[d], "label": labels[d], "topic": c.doc_topics[d], "text": c.doc_texts[d],
                    "expressions": [{"text": c.expr_texts[e], "code": int(k), "p": float(q_expr[n, k])}
                                    for n, (e, k) in enumerate(zip(expr, codes))],
                    "top_codes": [{"code": int(k), "p": float(q[k])}
                                  for k in np.argsort(-q, kind="stable")[:N_TOP_CODES]]})
    return out


def transport_flows(post: ProjectPosteriors, group: str, source: str, config: AlignmentConfig,
                    k: int = N_FLOWS) -> list[Flow]:
    """The ``k`` largest off-diagonal flows of the UOT plan (Eq. 21) from ``group``'s codes to
    ``source``'s, with the cost of ``measures.score`` (``config.cost_from``): which human values the
    source's mass is moved from, and to which of its values (Sec. 3.3)."""
    labels = np.array(post.labels(), dtype=object)
    group_rows, source_rows = np.flatnonzero(labels == group), np.flatnonzero(labels == source)
    if group not in post.human_groups() or not source_rows.size:
        raise WorkbenchError(f"no documents for group {group!r} or source {source!r}")
    human = (np.concatenate([np.flatnonzero(labels == g) for g in post.human_groups()])
             if config.cost_from == "pooled" else group_rows)
    D = cost_matrix(post.codebook.centroids, post.q_docs[human], config.eps2)
    a, b = mean_posterior(post.q_docs[group_rows]), mean_posterior(post.q_docs[source_rows])
    plan = uot_plan(a, b, D, config.eps, config.tau, max_iter=config.max_iter, tol=config.tol)
    return top_flows(plan, [c.name or f"code {c.idx}" for c in post.codebook.codes], k, include_diagonal=False)


def score_figures(post: ProjectPosteriors, config: AlignmentConfig, n_flows: int = N_FLOWS) -> dict:
    """The report's figures of a scored version, as JSON values (see the module docstring)."""
    dist = distributions(post)
    flows = [{"group": g, "source": s, "from": f.i, "to": f.j, "mass": float(f.mass)}
             for g in post.human_groups() for s in dist if s != g
             for f in transport_flows(post, g, s, config, k=n_flows)]
    return {"sigma": post.sigma, "embedder": post.embedder, "n_docs": len(post.corpus.doc_ids),
            "n_expr": len(post.corpus.expr_ids), "usage": post.q_docs.sum(axis=0).tolist(),
            "human_groups": post.human_groups(), "distributions": dist, "flows": flows,
            "documents": document_codes(post, pick_documents(post))}
