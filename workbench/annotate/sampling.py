"""The samples annotators label (App. C): the mapping task's documents with the recognizer's
codes, and the code-quality task's codes; drawn once per version and stored."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..pipeline.code_view import working_version
from ..pipeline.corpus import load_corpus
from ..pipeline.posteriors import build_sigma, code_posteriors
from ..store import Store
from .labels import recognizer_rows
from .tasks import MODEL, RECOGNIZER, pair_id, split_pair, task_protocol


def stratified_sample(strata: Mapping[Hashable, Sequence[str]], size: int, seed: int) -> list[str]:
    """Draw ``size`` items with equal allocation across strata, seeded.

    Each stratum is shuffled with one generator (strata visited in sorted key order), then items are
    taken round-robin, one per stratum per turn, until ``size`` is reached or every stratum is used
    up. Equal rather than proportional allocation keeps small strata (an LLM source, a minority
    culture) represented, as App. C's 15/15 human plus 20 LLM documents were. The round-robin order
    is also the presentation order, so strata are interleaved for the annotator.
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    rng = np.random.default_rng(seed)
    queues = []
    for key in sorted(strata, key=str):
        items = list(strata[key])
        queues.append([items[i] for i in rng.permutation(len(items))])
    chosen: list[str] = []
    turn = 0
    while len(chosen) < size and any(turn < len(q) for q in queues):
        for queue in queues:
            if turn < len(queue) and len(chosen) < size:
                chosen.append(queue[turn])
        turn += 1
    return chosen


def assigned_codes(q_row: np.ndarray, m: int, floor: float) -> list[tuple[int, float]]:
    """The codes the recognizer assigns to one document: the top ``m`` of q(z|x, C) (Eq. 15), most
    probable first, without those under ``floor``.

    ``m`` is ``em.m``, the size of the code sets Algorithm 1 samples, and ``floor`` is
    ``em.min_code_p``, App. E.4's sampling floor: a document is shown exactly the codes the loop
    could have used to reconstruct it.
    """
    order = np.argsort(-np.asarray(q_row), kind="stable")[:m]
    return [(int(k), float(q_row[k])) for k in order if q_row[k] >= floor]


def recognizer_label(q: float, m: int) -> str:
    """The recognizer's own Yes/No on a shown pair: "yes" when q ≥ 1/M, i.e. the code holds at
    least an even share of an M-code set. (Every shown code is in the top M, so "yes" for all
    would make the human-vs-recognizer κ 0 by construction; the share rule lets it disagree.)"""
    return "yes" if q >= 1.0 / m else "no"


def mapping_sample(store: Store, version: int | None = None, size: int | None = None,
                   seed: int | None = None) -> list[str]:
    """The stratified document sample of the mapping task for a codebook version (default: the
    protocol's 50, by group and source), drawn once and stored with the recognizer's assigned
    codes; later calls, from any process, return the stored sample.

    A version whose ancestor has a mapping sample reuses it: the ancestor's documents come first
    (the rest of the size is drawn as usual), and each of them also shows the ancestor's pairs on
    codes this version keeps, after its own top-M codes, so labels carried from the ancestor
    (:func:`workbench.annotate.labels.version_labels`) count as done."""
    version = working_version(store, version)
    existing = store.sample_items("mapping", version)
    if existing and recognizer_rows(store, version):
        return existing
    protocol = task_protocol("mapping")
    docs, _ = store.corpus_rows()
    if not docs:
        raise WorkbenchError(f"{store.path} has no documents with value expressions: run 'workbench extract' first")
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc_id, group, source, _topic, _text in docs:
        strata[(group, source)].append(doc_id)
    size = size or protocol.sample.size or len(docs)
    carried_from, carried = _carried_pairs(store, version)
    drawn = list(carried)[:size]
    reused = set(drawn)
    drawn += [d for d in stratified_sample(strata, size, protocol.sample.seed if seed is None else seed)
              if d not in reused][:size - len(drawn)]
    q_by_doc = _posteriors_by_document(store, version)
    em = store.config().em
    codes = store.load_codebook(version).codes
    by_idx, by_uid = {c.idx: c for c in codes}, {c.uid: c for c in codes}
    rule = f"top M={em.m} of q(z|x) with q >= {em.min_code_p}; yes iff q >= 1/M"
    with store.transaction():
        ids = store.create_sample("mapping", version, protocol.version, drawn)
        if not recognizer_rows(store, version):
            rows = []
            for doc_id in (d for d in ids if d in q_by_doc):
                shown = [(k, q, {}) for k, q in assigned_codes(q_by_doc[doc_id], em.m, em.min_code_p)]
                shown += [(by_uid[uid].idx, float(q_by_doc[doc_id][by_uid[uid].idx]), {"carried_from": carried_from})
                          for uid in carried.get(doc_id, []) if by_uid[uid].idx not in {k for k, _, _ in shown}]
                for rank, (k, q, extra) in enumerate(shown, start=1):
                    rows.append({"task": "mapping", "item_id": pair_id(doc_id, by_idx[k].uid),
                                 "criterion": protocol.criteria[0].id, "label": recognizer_label(q, em.m),
                                 "annotator": RECOGNIZER, "round": MODEL, "codebook_version": version,
                                 "protocol_id": protocol.id, "protocol_version": protocol.version,
                                 "note": json.dumps({"q": round(q, 6), "rank": rank, "code_idx": k, "rule": rule,
                                                     **extra})})
            store.record_labels(rows)
    return ids


def _carried_pairs(store: Store, version: int) -> tuple[int | None, dict[str, list[str]]]:
    """(the nearest ancestor with a mapping sample, {its document: uids of its shown pairs that
    ``version`` keeps}, in its sample order); (None, {}) when no ancestor has one."""
    kept = store.code_uids(version)
    for ancestor in store.version_lineage(version)[1:]:
        sample = store.sample_items("mapping", ancestor)
        if sample:
            pairs: dict[str, list[str]] = {doc: [] for doc in sample}
            for row in recognizer_rows(store, ancestor):
                doc_id, uid = split_pair(row["item_id"])
                if doc_id in pairs and uid in kept:
                    pairs[doc_id].append(uid)
            return ancestor, pairs
    return None, {}


def _posteriors_by_document(store: Store, version: int) -> dict[str, np.ndarray]:
    """q(z|x, C) of every extracted document (any source: models' documents are mapped onto the
    codebook too), with the build's σ (workbench.posteriors; cached embeddings)."""
    config = store.config()
    corpus = load_corpus(store, Gateway(store, config), show_progress=False)
    codebook = store.load_codebook(version)
    q_docs, _ = code_posteriors(corpus, codebook, build_sigma(store, corpus, codebook, config.em.sigma_mode))
    return dict(zip(corpus.doc_ids, q_docs))


def code_quality_sample(store: Store, version: int | None = None, size: int | None = None,
                        seed: int | None = None) -> list[str]:
    """Code uids of the code-quality sample (default 100, uniformly at random as App. C), shown to
    every annotator in the same order (by code index); all codes when the codebook is smaller."""
    version = working_version(store, version)
    existing = store.sample_items("code_quality", version)
    if existing:
        return existing
    protocol = task_protocol("code_quality")
    codes = store.codes_of(version)
    size = size or protocol.sample.size or len(codes)
    if len(codes) <= size:
        chosen = codes
    else:
        rng = np.random.default_rng(protocol.sample.seed if seed is None else seed)
        picked = sorted(rng.choice(len(codes), size=size, replace=False).tolist())
        chosen = [codes[i] for i in picked]
    return store.create_sample("code_quality", version, protocol.version, [c.uid for c in chosen])
