"""The reconstruction step of Algorithm 1 (lines 3–5): sample code sets, decode, measure distortion.

For each document in the iteration's budget, ``2·N1`` candidate sets of M codes are drawn from
q(z|x) without replacement (codes with p < 0.01 skipped, App. E.4), each is decoded, and the N1
sets with the lowest distortion are kept (Algorithm 1 line 5 keeps the best N1 of the sampled sets;
the paper does not say how many are sampled, so twice N1 is our choice).

Decoders (``decoder`` role):

- **LLM generation** — the App. G reconstruction prompt (topic + code names weighted by
  probability), N2 samples at the decoder's temperature; d = −(1/N2) Σ cos(e_x, e_x̂).
- **log-probability decoder** (``roles.decoder.distortion = logprob``) — d = −log p(x | prompt with
  the code set) from an OpenAI-compatible ``/v1/completions`` endpoint that echoes prompt
  log-probabilities (footnote 3): exact, no sampling, no embedding. Per token (the mean, default) or
  for the document (the sum, footnote 3's), as ``roles.decoder.logprob_reduce`` says.
- **offline latent decoder** (``roles.decoder.offline_decoder = latent``) — x̂ = normalised
  Σ_{k∈s} q_k e_{c_k}; d = −cos(e_x, x̂). No text is generated; it measures how much of the
  document's embedding the chosen codes span.
- **offline LM decoder** (``roles.decoder.offline_decoder = lm``) — the log-probability decoder's
  d, prompt, document cut, reduction and cache, with Gemma 3 270M run in process
  (``workbench.llm.local_lm``, called through ``Gateway.local_logprobs``).

The LLM and offline-LM decoders are bounded by a per-iteration budget of documents, sampled
stratified by (group, source); the latent decoder is cheap and reconstructs every document.

With ``em.objective reconstruction`` (the default) a share ``em.holdout_share`` of those documents
is held out: the same documents every iteration (seeded by ``em.seed`` alone, stratified), never
used to propose a change (the per-code d(c_k) the split rule reads comes from the others), and
their mean distortion judges whether the last change is kept (``build.steps.score_codebook``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import prompts

from ..codebook.decoders import code_distortion, embedding_distortion, latent_distortions, logprob_distortion
from ..codebook.objective import expected_distortion
from ..codebook.sampling import sample_code_sets
from ..config import EMConfig
from ..llm.gateway import Gateway
from ..llm.local_lm import LM_DECODER
from ..llm.parsing import parse_free_text
from ..models import Codebook, Corpus
from ..progress import progress_bar

LATENT_DECODER = "offline-latent-v1"
LOGPROB_CHARS = 4000  # document characters scored by a log-probability decoder (a small model's context)


@dataclass
class Reconstruction:
    """Per-document expected distortion (NaN where not reconstructed) and per-code d(c_k)."""

    decoder: str
    distortion_per_doc: np.ndarray  # (N,)
    code_distortion: np.ndarray  # (K,)
    reconstructed: np.ndarray  # (N,) bool
    failed_calls: int = 0
    held_out: np.ndarray | None = None  # (N,) bool: documents that judge a change, not used to propose one


def stratified_budget(groups: list[str], sources: list[str], eligible: np.ndarray, budget: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``budget`` eligible documents, allocated to (group, source) strata in
    proportion to their size (at least one per stratum), sampled without replacement."""
    eligible_idx = np.flatnonzero(eligible)
    if budget >= eligible_idx.size:
        return eligible_idx
    strata: dict[tuple[str, str], list[int]] = {}
    for i in eligible_idx:
        strata.setdefault((groups[i], sources[i]), []).append(int(i))
    total = eligible_idx.size
    chosen: list[int] = []
    for key in sorted(strata):
        members = strata[key]
        take = min(len(members), max(1, round(budget * len(members) / total)))
        chosen.extend(rng.choice(members, size=take, replace=False).tolist())
    return np.sort(np.array(chosen[: max(budget, len(strata))], dtype=np.int64))


def holdout_documents(groups: list[str], sources: list[str], eligible: np.ndarray, budget: int, share: float,
                      seed: int) -> np.ndarray:
    """(N,) bool: the held-out documents of a build, ``share`` of a per-iteration budget of ``budget``
    documents (at most the eligible ones), stratified by (group, source) as `stratified_budget`.
    Seeded by ``seed`` alone, so every iteration and every version is judged on the same documents."""
    n = min(budget, int(np.count_nonzero(eligible)))
    chosen = stratified_budget(groups, sources, eligible, max(1, round(share * n)),
                               np.random.default_rng([seed, 0x401D]))  # a stream no iteration's draws use
    mask = np.zeros(len(groups), dtype=bool)
    mask[chosen] = True
    return mask


def _values_list(names: list[str], probs: np.ndarray) -> str:
    return "\n".join(f"- {name} [{p:.2f}]" for name, p in zip(names, probs))


def reconstruct(corpus: Corpus, codebook: Codebook, q_docs: np.ndarray, cfg: EMConfig, gateway: Gateway,
                iteration: int, show_progress: bool = True) -> Reconstruction:
    """Run Algorithm 1 lines 3–5 for one iteration."""
    N, K = q_docs.shape
    eligible = q_docs.sum(axis=1) > 0
    offline = gateway.is_offline("decoder")
    latent = offline and gateway.role("decoder").offline_decoder == "latent"
    rng = np.random.default_rng([cfg.seed, iteration])
    budget = int(np.count_nonzero(eligible)) if latent else cfg.doc_budget
    held = np.zeros(N, dtype=bool)
    if cfg.objective == "reconstruction":
        held = holdout_documents(corpus.doc_groups, corpus.doc_sources, eligible, budget, cfg.holdout_share, cfg.seed)
    rest = stratified_budget(corpus.doc_groups, corpus.doc_sources, eligible & ~held,
                             max(1, budget - int(held.sum())), rng)
    docs = np.union1d(np.flatnonzero(held), rest)
    # A held-out document draws its code sets with the same seed every iteration: two versions'
    # held-out −d̄ then differ by the codebook, not by the draws.
    candidates = {int(i): sample_code_sets(q_docs[i], cfg.m, 2 * cfg.n1,
                                           np.random.default_rng([cfg.seed, 0 if held[i] else iteration, int(i)]),
                                           cfg.min_code_p) for i in docs}
    centroids = codebook.centroids
    failed = 0
    if latent:
        decoder = LATENT_DECODER
        dists = {i: latent_distortions(corpus.doc_emb[i], centroids, np.stack(sets), q_docs[i]) if sets else np.zeros(0)
                 for i, sets in candidates.items()}
    elif offline:
        decoder = LM_DECODER
        dists = _offline_lm_distortions(corpus, codebook, q_docs, candidates, gateway, show_progress)
    elif gateway.role("decoder").distortion == "logprob":
        decoder = f"logprob:{gateway.role('decoder').model}"
        dists, failed = gateway.run(_logprob_distortions(corpus, codebook, q_docs, candidates, gateway, show_progress))
    else:
        decoder = f"llm:{gateway.role('decoder').model}"
        dists, failed = gateway.run(_llm_distortions(corpus, codebook, q_docs, candidates, cfg, gateway, show_progress))
    distortion = np.full(N, np.nan)
    kept_sets, kept_d = [], []
    for i, sets in candidates.items():
        d = dists[i]
        ok = np.isfinite(d)
        if not ok.any():
            continue
        order = [j for j in np.argsort(d, kind="stable") if ok[j]][: cfg.n1]
        sets_i, d_i = [sets[j] for j in order], d[order]
        distortion[i] = expected_distortion(q_docs[i], sets_i, d_i)
        if not held[i]:  # d(c_k) proposes changes: held-out documents only judge them
            kept_sets.append(sets_i)
            kept_d.append(d_i)
    return Reconstruction(decoder, distortion, code_distortion(kept_sets, kept_d, K), np.isfinite(distortion), failed,
                          held & np.isfinite(distortion))


def _likelihood_variables(corpus: Corpus, names: list[str], q_row: np.ndarray, i: int, s: np.ndarray) -> dict:
    """The ``document_likelihood`` prompt's variables for document ``i`` and code set ``s``."""
    return {"values": _values_list([names[k] for k in s], q_row[s]), "topic": corpus.doc_topics[i] or "(none)"}


def _offline_lm_distortions(corpus: Corpus, codebook: Codebook, q_docs: np.ndarray, candidates: dict,
                            gateway: Gateway, show: bool) -> dict[int, np.ndarray]:
    """The log-probability decoder's d(x|s) (footnote 3) with the in-process model: one document's
    candidate sets scored together, the document tokenised once, each (document, set) cached."""
    names = [c.name or f"code {c.idx}" for c in codebook.codes]
    reduce = gateway.role("decoder").logprob_reduce
    dists = {}
    with progress_bar(f"reconstruct ({LM_DECODER} log-probabilities)", len(candidates), show) as advance:
        for i, sets in candidates.items():
            results = gateway.local_logprobs("decoder", "document_likelihood",
                                             [_likelihood_variables(corpus, names, q_docs[i], i, s) for s in sets],
                                             corpus.doc_texts[i][:LOGPROB_CHARS])
            dists[i] = np.array([logprob_distortion(r.value, reduce) if r.value else np.nan for r in results])
            advance(1)
    return dists


async def _logprob_distortions(corpus: Corpus, codebook: Codebook, q_docs: np.ndarray, candidates: dict,
                               gateway: Gateway, show: bool) -> tuple[dict[int, np.ndarray], int]:
    """d(x|s) = −log p(x|s), the document's tokens given the code set (footnote 3), per token or
    summed (``logprob_reduce``), one request per (document, set); no sampling, no embedding.
    Documents are scored on their first ``LOGPROB_CHARS`` characters so that they fit a small
    model's context."""
    names = [c.name or f"code {c.idx}" for c in codebook.codes]
    jobs = [(i, j) for i, sets in candidates.items() for j in range(len(sets))]
    results: list = [None] * len(jobs)
    with progress_bar("reconstruct (decoder log-probabilities)", len(jobs), show) as advance:
        async def one(n: int) -> None:
            i, j = jobs[n]
            s = candidates[i][j]
            results[n] = await gateway.text_logprobs(
                "decoder", "document_likelihood", _likelihood_variables(corpus, names, q_docs[i], i, s),
                corpus.doc_texts[i][:LOGPROB_CHARS])
            advance(1)

        await gateway.in_order("decoder", len(jobs), one)
    dists = {i: np.full(len(sets), np.nan) for i, sets in candidates.items()}
    failed = 0
    for (i, j), result in zip(jobs, results):
        if result.value:
            dists[i][j] = logprob_distortion(np.array(result.value), gateway.role("decoder").logprob_reduce)
        else:
            failed += 1
    return dists, failed


async def _llm_distortions(corpus: Corpus, codebook: Codebook, q_docs: np.ndarray, candidates: dict,
                           cfg: EMConfig, gateway: Gateway, show: bool) -> tuple[dict[int, np.ndarray], int]:
    names = [c.name or f"code {c.idx}" for c in codebook.codes]
    jobs, params = [], []
    for i, sets in candidates.items():
        for j, s in enumerate(sets):
            for n in range(cfg.n2):
                jobs.append((i, j))
                params.append({"sample": n, "temperature": gateway.role("decoder").sampling_temperature("decoder")})
    items = [{"values": _values_list([names[k] for k in candidates[i][j]], q_docs[i][candidates[i][j]]),
              "topic": corpus.doc_topics[i] or "(no topic)"} for i, j in jobs]
    with progress_bar("reconstruct (LLM decoder)", len(items), show) as advance:
        results = await gateway.complete_many("decoder", "document_reconstruction", items, parse_free_text, params,
                                              on_done=lambda _i, _r: advance(1))
    texts = [r.value for r in results]
    ok = [t for t in texts if t]
    emb = dict(zip(ok, gateway.embed_documents(ok))) if ok else {}
    samples: dict[tuple[int, int], list[np.ndarray]] = {}
    for (i, j), text in zip(jobs, texts):
        if text:
            samples.setdefault((i, j), []).append(emb[text])
    dists = {i: np.array([embedding_distortion(corpus.doc_emb[i], np.stack(samples[(i, j)]))
                          if (i, j) in samples else np.nan for j in range(len(sets))])
             for i, sets in candidates.items()}
    return dists, sum(1 for t in texts if not t)
