"""The steps of the codebook loop (Algorithm 1), one function ``(context, state) -> update`` per
node of ``graphs/codebook_graph.py``; the nodes only call these.

Every node that writes to the project is idempotent per (thread, iteration): a node that re-runs
after ``kill -9`` finds what it already wrote. Randomness is seeded by (seed, iteration).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..codebook.assignment import code_spread, nearest_codes
from ..codebook.changes import apply_changes
from ..codebook.clustering import centroids as code_centroids, unit_centroids
from ..codebook.clustering import code_members, configured_clusterer, initial_codes
from ..codebook.objective import (bootstrap_ci, change_kept, code_usage, per_doc_loss, score, stop_reason,
                                  usage_zscores)
from ..codebook.refine import (distinct_members, distinguishable, evidence_changes, held_out_separation,
                               propose_changes, split_members)
from ..errors import WorkbenchError
from ..measures.score import score_project
from ..models import Code
from ..pipeline.extract import extract as run_extract
from ..pipeline.name_codes import name_group_sets, name_groups
from ..pipeline.reconstruct import reconstruct as run_reconstruct
from .context import BuildContext
from .decisions import as_payload, decision_problem
from .seed import seed_centroids, seed_record

UID_NAMESPACE = uuid.UUID("8f6f1f3e-5a43-4a9e-9d2b-2f1b0c0d0e01")
SAMPLE_MEMBERS = 5
SEEDED = "seed"  # name source of a code that came from the seed codebook


def _uid(*parts: object) -> str:
    """Stable code ids: the same run makes the same ids, so resumed runs match uninterrupted ones."""
    return str(uuid.uuid5(UID_NAMESPACE, ":".join(map(str, parts))))


def extract(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    report = run_extract(ctx.store, show_progress=ctx.show_progress, parent_run=ctx.gateway.run_id)
    return {"extract_report": {"documents": report.documents, "expressions": report.expressions,
                               "failed": report.failed, "strategy": report.strategy}}


def embed(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    corpus = ctx.corpus()
    return {"n_documents": len(corpus.doc_ids), "n_expressions": len(corpus.expr_ids)}


def init_codebook(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """App. E.4 / F.1: the pair ``em.clusterer`` names (UMAP, 5-d, cosine → HDBSCAN) → noise
    handling → merge of near-identical codes, on the training sources' expressions only; or, for a
    seeded build, the seed's codes with the expressions of highest q(z|x) as members. Records σ of Eq. 15 for the whole build."""
    existing = ctx.store.version_for(ctx.thread_id, 0, "init")
    if existing is None:
        corpus, em = ctx.corpus(), ctx.config.em
        if ctx.seed is None:
            merge = {"merge_threshold": em.merge_cosine} if em.merge_threshold_mode == "paper" else {
                "merge_value": em.merge_cosine}
            labels, info = initial_codes(corpus.expr_emb, configured_clusterer(em), **merge)
            K = int(labels.max()) + 1
            cents = code_centroids(corpus.expr_emb, labels, K)
            sizes = np.bincount(labels, minlength=K)
            codes = [Code(k, _uid(ctx.thread_id, "init", k), None, None, None, int(sizes[k]), cents[k])
                     for k in range(K)]
            origin = {"init": {**info, "merge_threshold_mode": em.merge_threshold_mode, "clusterer": em.clusterer}}
        else:
            cents, made = seed_centroids(ctx.gateway, ctx.seed)
            labels = nearest_codes(corpus.expr_emb, cents)
            sizes = np.bincount(labels, minlength=len(cents))
            codes = [Code(k, c.uid, c.name, SEEDED, c.description or None, int(sizes[k]), cents[k])
                     for k, c in enumerate(ctx.seed.codes)]
            origin = {"init": {"seeded": True}, "seeded": seed_record(ctx.seed, made)}
        record = {**origin, "sigma": code_spread(corpus.expr_emb, labels, cents),
                  "train_sources": list(em.train_sources), "n_train_documents": len(corpus.doc_ids),
                  "objective": em.objective,
                  "document_input": ctx.gateway.document_input, "representation": ctx.gateway.representation,
                  "value_lens": ctx.gateway.lens_id}
        existing = ctx.store.save_codebook(ctx.thread_id, 0, "init", None, codes, corpus.expr_ids, labels,
                                           record, ctx.config.digest(), ctx.gateway.embedder_id)
    return {"version": existing, "iteration": 1, "distortion_history": {}}


def name_codes(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """Name every code of the current version that has no name yet (App. G naming prompt or offline)."""
    codebook = ctx.store.load_codebook(state["version"])
    wanted = [c.idx for c in codebook.codes if not c.name]
    if wanted:
        corpus = ctx.corpus()
        members = code_members(ctx.member_labels(codebook), codebook.K)
        groups = [([corpus.expr_texts[i] for i in members[c.idx]], corpus.expr_emb[members[c.idx]], c.centroid)
                  for c in codebook.codes]
        ctx.store.name_codes(codebook.version, name_groups(ctx.gateway, groups, wanted))
    return {"named": len(wanted)}


def recognize(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """q(z|x, C) by Eq. 15 for every training document; σ as App. F.1, fixed on C⁰ for the build."""
    codebook = ctx.store.load_codebook(state["version"])
    q_docs, sigma = ctx.posteriors(codebook)
    return {"sigma": float(sigma), "K": codebook.K}


def reconstruct(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """Algorithm 1 lines 3–5: sample code sets, decode, keep the N1 best per document."""
    codebook = ctx.store.load_codebook(state["version"])
    q_docs, _ = ctx.posteriors(codebook)
    result = run_reconstruct(ctx.corpus(), codebook, q_docs, ctx.config.em, ctx.gateway, state["iteration"],
                             ctx.show_progress)
    return {"reconstruction": {
        "decoder": result.decoder, "failed_calls": result.failed_calls,
        "docs": np.flatnonzero(result.reconstructed).tolist(),
        "distortion": result.distortion_per_doc[result.reconstructed].tolist(),
        "code_distortion": [None if not np.isfinite(v) else float(v) for v in result.code_distortion],
        "held_out": np.flatnonzero(result.held_out).tolist() if result.held_out is not None else [],
    }}


def score_codebook(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """S(C) = −L(C) (Eq. 13/14) with a bootstrap interval; n_k, z (Eq. 16) and d(c_k) per code.

    ``em.objective reconstruction``: also −d̄ on the held-out documents, and the verdict on the
    change that made this version (``_judge``)."""
    em = ctx.config.em
    codebook = ctx.store.load_codebook(state["version"])
    q_docs, _ = ctx.posteriors(codebook)
    rec = state["reconstruction"]
    distortion = np.full(q_docs.shape[0], np.nan)
    distortion[rec["docs"]] = rec["distortion"]
    parts = score(distortion, q_docs, em.m, em.beta1, em.beta2)
    mask = np.isfinite(distortion)
    corpus = ctx.corpus()
    strata = np.array([f"{corpus.doc_groups[i]}|{corpus.doc_sources[i]}" for i in np.flatnonzero(mask)])
    ci = bootstrap_ci(-per_doc_loss(distortion[mask], q_docs[mask], em.m, em.beta1),
                      fixed_term=-em.beta2 * em.m * parts.usage_entropy, n_boot=1000, seed=em.seed, strata=strata)
    n_k = code_usage(q_docs)
    z = usage_zscores(n_k)
    per_code = [{"uid": c.uid, "name": c.name, "n_k": float(n_k[c.idx]), "z": float(z[c.idx]),
                 "d": rec["code_distortion"][c.idx]} for c in codebook.codes]
    held = np.zeros(q_docs.shape[0], dtype=bool)
    held[rec.get("held_out", [])] = True
    judged = em.objective == "reconstruction" and held.any()
    record = {"thread_id": ctx.thread_id, "iteration": state["iteration"], "version": codebook.version,
              "K": codebook.K, "S": parts.score, "S_low": ci.low, "S_high": ci.high, "distortion": parts.distortion,
              "doc_entropy": parts.doc_entropy, "usage_entropy": parts.usage_entropy, "n_docs": int(q_docs.shape[0]),
              "n_reconstructed": parts.n_docs, "decoder": rec["decoder"], "per_code": json.dumps(per_code),
              "sigma": ctx.posteriors(codebook)[1], "beta1_term": parts.beta1_term, "beta2_term": parts.beta2_term,
              "heldout_distortion": float(distortion[held].mean()) if judged else None,
              "n_heldout": int(held.sum()) if judged else None, "kept": None}
    earlier = [h for h in state.get("history", []) if h["iteration"] < state["iteration"]]
    update = _judge(ctx, state, record, earlier) if judged else {}
    ctx.store.save_iteration(record)
    history = {uid: list(h) for uid, h in state.get("distortion_history", {}).items()}
    if record["kept"] != 0:  # a version that is not kept leaves no d(c_k) behind
        for code, d in zip(codebook.codes, rec["code_distortion"]):
            if d is not None:
                history.setdefault(code.uid, []).append(d)
    kept = [h for h in earlier if h.get("kept") != 0]
    scores = [h["S"] for h in earlier] + [parts.score]
    progress = ([-h["heldout_distortion"] for h in kept] + [-record["heldout_distortion"]], "−d̄ on held-out documents"
                ) if judged and all(h.get("heldout_distortion") is not None for h in kept) else ()
    summary = {k: record[k] for k in ("iteration", "version", "K", "S", "S_low", "S_high", "distortion",
                                      "beta1_term", "beta2_term", "heldout_distortion", "kept")}
    return {"history": [summary], "distortion_history": history,
            "stop_reason": stop_reason(scores, em.iterations, em.tau1, em.min_rel_improvement, em.patience, *progress),
            **update}


def _judge(ctx: BuildContext, state: Mapping[str, Any], record: dict, earlier: list[dict]) -> dict:
    """Whether the change that made this version is kept (``change_kept``: −d̄ on the held-out
    documents did not fall below the last kept version's); sets ``record["kept"]``. A change not
    kept is undone: the last kept version is stored again as a "revert" version, the build goes on
    from it, and the proposals that made the change are marked "reverted", so that propose holds
    them back while their evidence is the same (as a rejected change). Returns the state update."""
    kept = [h for h in earlier if h.get("kept") != 0]
    if not kept or kept[-1].get("heldout_distortion") is None:
        return {}
    before = kept[-1]["heldout_distortion"]
    record["kept"] = int(change_kept(-before, -record["heldout_distortion"]))
    if record["kept"]:
        return {}
    back = kept[-1]["version"]
    why = (f"iteration {state['iteration'] - 1}'s change lowered −d̄ on {record['n_heldout']} held-out documents "
           f"({-before:.4f} → {-record['heldout_distortion']:.4f}): not kept, back to version {back}")
    version = _revert(ctx, state["iteration"], record["version"], back, why)
    made = [p["id"] for p in ctx.store.proposals(status="applied")
            if p["thread_id"] == ctx.thread_id and p["iteration"] == state["iteration"] - 1]
    ctx.store.set_proposal_status(made, "reverted")
    return {"version": version}


def _revert(ctx: BuildContext, iteration: int, rejected: int, back: int, why: str) -> int:
    """Store version ``back`` again as the newest version (parent ``back``, reason "revert"), so that
    every command that takes the latest version finds the kept codebook; idempotent per iteration."""
    kept = ctx.store.load_codebook(back)
    return ctx.store.save_codebook(ctx.thread_id, iteration, "revert", back, kept.codes, kept.expression_ids,
                                   kept.labels, {"reverted": rejected, "why": why},
                                   ctx.config.digest(), ctx.gateway.embedder_id)


def propose(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """App. E.4: split over-used codes whose distortion is high and not falling (K-means k = 2,
    two named codes); merge under-used codes into their nearest neighbour. Each proposal carries
    its evidence. Caps: at most max(1, K // 10) splits and as many merges per iteration.

    Held back, with the reason in ``held_back`` (the next candidates take their places): a split of
    a code whose members are all one sentence, and a change the annotators rejected in this build
    for the same codes while its evidence has not changed (a re-proposal says what changed). With
    ``em.objective reconstruction`` also a split whose halves, and a merge whose two codes, fail
    ``distinguishable`` / pass it (``held_out_separation`` ≥ ``em.min_separation``), measured on the
    members of documents that are not held out (those judge the change afterwards)."""
    em = ctx.config.em
    codebook = ctx.store.load_codebook(state["version"])
    q_docs, _ = ctx.posteriors(codebook)
    history = state.get("distortion_history", {})
    corpus = ctx.corpus()
    members = code_members(ctx.member_labels(codebook), codebook.K)
    held = np.zeros(len(corpus.doc_ids), dtype=bool)
    held[(state.get("reconstruction") or {}).get("held_out", [])] = True
    proposing = [mine[~held[corpus.expr_doc[mine]]] for mine in members]
    rejected = {}
    for p in sorted(ctx.store.proposals(status="rejected") + ctx.store.proposals(status="reverted"),
                    key=lambda p: p["id"]):
        if p["thread_id"] == ctx.thread_id:
            rejected[(p["kind"], p["code_uid"], p["target_uid"])] = p  # ordered by id: the latest wins
    excluded: set[tuple[int, int | None]] = set()
    held_back: list[str] = []
    while True:
        found = propose_changes(code_usage(q_docs), [history.get(c.uid, []) for c in codebook.codes],
                                codebook.centroids, em.z_split, em.z_merge, rel_tolerance=em.split_tolerance,
                                excluded=excluded)
        evidence = {(p.code, p.target): _evidence(p, codebook, members) for p in found}
        if em.objective == "reconstruction":
            for key, ev in evidence.items():
                r = _separation(key, corpus.expr_emb, proposing, em.seed)
                ev["separation"] = r if np.isfinite(r) else None  # None: too few members to measure
        reasons = {key: _held_back(key, codebook, ev, corpus.expr_emb[members[key[0]]], rejected,
                                   em.min_separation if em.objective == "reconstruction" else None)
                   for key, ev in evidence.items()}
        reasons = {key: why for key, why in reasons.items() if why}
        if not reasons:
            break
        excluded |= set(reasons)
        held_back += reasons.values()
    halves = {p.code: split_members(corpus.expr_emb[members[p.code]], seed=em.seed) for p in found if p.kind == "split"}
    cents = {code: code_centroids(corpus.expr_emb[members[code]], half, 2) for code, half in halves.items()}
    groups = {code: [([corpus.expr_texts[i] for i in members[code][half == h]], corpus.expr_emb[members[code][half == h]],
                      cents[code][h]) for h in (0, 1)]
              for code, half in halves.items()}
    named = dict(zip(groups, name_group_sets(ctx.gateway, [(g, None) for g in groups.values()])))
    rows = []
    for p in found:
        code, mine = codebook.codes[p.code], members[p.code]
        ev = evidence[(p.code, p.target)]
        names, source = [], None
        if p.kind == "split":
            names, source = [named[p.code][0][0], named[p.code][1][0]], named[p.code][0][1]
            ev["samples"] = [g[0][:SAMPLE_MEMBERS] for g in groups[p.code]]
        else:
            ev["samples"] = [[corpus.expr_texts[i] for i in mine[:SAMPLE_MEMBERS]],
                             [corpus.expr_texts[i] for i in members[p.target][:SAMPLE_MEMBERS]]]
        rows.append({"thread_id": ctx.thread_id, "iteration": state["iteration"], "version": codebook.version,
                     "kind": p.kind, "code_uid": code.uid,
                     "target_uid": codebook.codes[p.target].uid if p.target is not None else None,
                     "names": json.dumps(names), "names_source": source, "evidence": json.dumps(ev)})
    ids = ctx.store.save_proposals(rows)
    return {"proposal_ids": ids, "held_back": held_back,
            "stop_reason": None if ids else "no split or merge proposed: converged"}


def _evidence(p, codebook, members: list[np.ndarray]) -> dict[str, Any]:
    """A proposal's evidence: the rule's figures with the names and sizes of the codes it touches."""
    evidence: dict[str, Any] = {**p.evidence, "name": codebook.codes[p.code].name, "size": int(members[p.code].size)}
    if p.target is not None:
        evidence |= {"target_name": codebook.codes[p.target].name, "target_size": int(members[p.target].size)}
    return evidence


def _separation(key: tuple[int, int | None], expr_emb: np.ndarray, members: list[np.ndarray], seed: int) -> float:
    """``held_out_separation`` of a split's halves (K-means on the code's members) or of a merge's two
    codes, over ``members`` (the members of documents not held out), seeded."""
    code, target = key
    if target is None:
        return held_out_separation(expr_emb[members[code]], seed=seed)
    both = np.concatenate([members[code], members[target]])
    return held_out_separation(expr_emb[both], np.repeat([0, 1], [members[code].size, members[target].size]),
                               seed=seed)


def _held_back(key: tuple[int, int | None], codebook, evidence: dict, member_emb: np.ndarray,
               rejected: dict[tuple, dict], min_separation: float | None = None) -> str | None:
    """Why a change found by the rules is not proposed, or None (then a re-proposal of a rejected
    change records what changed in ``evidence["changed_since_rejection"]``). With ``min_separation``
    (objective 'reconstruction'), ``evidence["separation"]`` must make a split's halves
    distinguishable and a merge's codes not."""
    code, target = key
    kind = "split" if target is None else "merge"
    what = f"{kind} of '{evidence['name']}'" + (f" into '{evidence['target_name']}'" if target is not None else "")
    if kind == "split" and distinct_members(member_emb) < 2:
        return f"{what} held back: its {evidence['size']} expressions are all the same sentence"
    if min_separation is not None:
        r = evidence["separation"]
        apart = r is not None and distinguishable(r, min_separation)
        shown = "too few members to tell apart" if r is None else f"held-out separation {r:.3f}"
        if kind == "split" and not apart:
            return f"{what} held back: its halves are not distinguishable ({shown} < {min_separation})"
        if kind == "merge" and apart:
            return f"{what} held back: the two codes are distinct ({shown} ≥ {min_separation})"
    before = rejected.get((kind, codebook.codes[code].uid, None if target is None else codebook.codes[target].uid))
    if before is None:
        return None
    changes = evidence_changes(json.loads(before["evidence"]), evidence)
    if not changes:
        verdict = "made as" if before["status"] == "reverted" else "rejected as"
        undone = ", not kept (held-out −d̄ fell)," if before["status"] == "reverted" else ""
        return f"{what} held back: {verdict} #{before['id']}{undone} and its evidence has not changed"
    evidence["changed_since_rejection"] = {"proposal": before["id"], **changes}
    return None


def record_review(ctx: BuildContext, state: Mapping[str, Any], decisions: dict) -> dict:
    """Record the review's ``decisions`` {proposal id: payload} (a missing one rejects) and mark
    the proposals approved or rejected."""
    decisions = {str(k): v for k, v in decisions.items()}
    recorded = ctx.store.latest_decisions(state["proposal_ids"])
    for pid in state["proposal_ids"]:
        d = decisions.get(str(pid), {"decision": "reject", "decider": "missing", "note": "no decision given"})
        if "decision_id" not in d and pid not in recorded:
            ctx.store.record_decision(pid, d["decision"], d.get("decider", "unknown"), d.get("names"), d.get("note"))
        decisions[str(pid)] = d
    approved = [pid for pid in state["proposal_ids"] if decisions[str(pid)]["decision"] in ("approve", "edit")]
    ctx.store.set_proposal_status(approved, "approved")
    ctx.store.set_proposal_status([p for p in state["proposal_ids"] if p not in approved], "rejected")
    return {"decisions": decisions}


def apply(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """Apply approved changes, re-cluster the touched expressions, store the next version with its diff."""
    t = state["iteration"]
    existing = ctx.store.version_for(ctx.thread_id, t, "apply")
    proposals = ctx.store.proposals(state["proposal_ids"])
    decisions = _applicable(ctx, proposals, state["decisions"])
    approved = [p for p in proposals if decisions[str(p["id"])]["decision"] in ("approve", "edit")]
    if existing is None:
        codebook = ctx.store.load_codebook(state["version"])
        by_uid = {c.uid: c.idx for c in codebook.codes}
        splits = [p for p in approved if p["kind"] == "split"]
        merges = [p for p in approved if p["kind"] == "merge"]
        split_names = {}
        for p in splits:
            decision = decisions[str(p["id"])]
            edited = decision["decision"] == "edit" and decision.get("names")
            source = f"annotator:{decision.get('decider')}" if edited else p["names_source"]
            split_names[by_uid[p["code_uid"]]] = (decision.get("names") or json.loads(p["names"]), source)
        diff = {"split": [p["code_uid"] for p in splits], "merge": [[p["code_uid"], p["target_uid"]] for p in merges],
                "rejected": [p["id"] for p in proposals if p not in approved]}
        existing = save_changed_version(ctx, codebook, t, "apply", split_names,
                                        [(by_uid[p["code_uid"]], by_uid[p["target_uid"]], None, None) for p in merges],
                                        diff)
    ctx.store.set_proposal_status([p["id"] for p in approved], "applied")
    ctx.store.set_proposal_status([p["id"] for p in proposals if p not in approved], "rejected")
    return {"version": existing, "iteration": t + 1, "proposal_ids": [], "decisions": {}}


def save_changed_version(ctx: BuildContext, codebook, iteration: int, reason: str,
                         splits: Mapping[int, tuple[list[str], str | None]],
                         merges: list[tuple[int, int, str | None, str | None]], diff: dict) -> int:
    """Store the version ``codebook`` becomes with ``splits`` {code: (two names, their source)} and
    ``merges`` [(code, target, name or None to name it later, source)] applied (Algorithm 1 line 14,
    App. F.1 code reconstruction: touched expressions re-clustered, other codes kept); idempotent
    per (thread, iteration, reason). Returns the version."""
    corpus = ctx.corpus()
    new_labels, origins = apply_changes(ctx.member_labels(codebook), codebook.K, corpus.expr_emb, list(splits),
                                        [(k, target) for k, target, _, _ in merges], ctx.config.em.seed)
    cents = unit_centroids(ctx.expr_unit(), new_labels, len(origins))
    sizes = np.bincount(new_labels[new_labels >= 0], minlength=len(origins))
    merged = {(k, target): (name, source) for k, target, name, source in merges}
    codes = []
    for k, origin in enumerate(origins):
        old = codebook.codes[origin.code]
        size = int(sizes[k])
        if origin.kind == "keep":
            codes.append(Code(k, old.uid, old.name, old.name_source, old.description, size, cents[k]))
        elif origin.kind == "split":
            names, source = splits[origin.code]
            codes.append(Code(k, _uid(ctx.thread_id, iteration, "split", old.uid, origin.half), names[origin.half],
                              source, None, size, cents[k]))
        else:
            target = codebook.codes[origin.target]
            name, source = merged[(origin.code, origin.target)]
            codes.append(Code(k, _uid(ctx.thread_id, iteration, "merge", old.uid, target.uid), name, source, None,
                              size, cents[k]))
    valid = new_labels >= 0
    return ctx.store.save_codebook(ctx.thread_id, iteration, reason, codebook.version, codes, corpus.expr_ids[valid],
                                   new_labels[valid], {**diff, "K_before": codebook.K, "K_after": len(origins)},
                                   ctx.config.digest(), ctx.gateway.embedder_id)


def _applicable(ctx: BuildContext, proposals: list[dict], decisions: dict[str, dict]) -> dict[str, dict]:
    """The decisions ``apply`` uses. One that cannot be applied (stored before every decision was
    checked, e.g. a split renamed with one name) gives way to a later valid decision on the same
    proposal; without one the build stops with a line saying how to re-decide, never a traceback."""
    usable = dict(decisions)
    for p in proposals:
        d = decisions[str(p["id"])]
        problem = decision_problem(p, d["decision"], d.get("names"))
        if problem is None:
            continue
        latest = ctx.store.latest_decisions([p["id"]]).get(p["id"])
        if latest is not None and decision_problem(p, latest["decision"], as_payload(latest)["names"]) is None:
            usable[str(p["id"])] = as_payload(latest)
            continue
        path, pid = ctx.store.path, p["id"]
        rename = f", or --rename {pid} 'first|second'" if p["kind"] == "split" else ""
        raise WorkbenchError(f"proposal #{pid} ({p['kind']}): the decision by {d.get('decider')} cannot be applied: "
                             f"{problem}; re-decide it with 'workbench decide {path} --reject {pid} --by NAME' "
                             f"(or --approve {pid}{rename}), then run 'workbench build {path}'")
    return usable


def finalize(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """Store the final version and the run's summary."""
    proposals = ctx.store.proposals()
    mine = [p for p in proposals if p["thread_id"] == ctx.thread_id]
    summary = {
        "final_version": state["version"], "iterations": state.get("history", []),
        "stop_reason": state.get("stop_reason"),
        "changes": {s: sum(1 for p in mine if p["status"] == s) for s in ("applied", "rejected", "reverted", "pending")},
        "llm": ctx.gateway.stats.as_dict(),
    }
    ctx.store.save_summary(ctx.thread_id, state["version"], summary)
    return {"summary": summary}


def score_alignment(ctx: BuildContext, state: Mapping[str, Any]) -> dict:
    """Sec. 3.3: score every human group against every source on the final codebook version and
    store it, with the same library function as ``workbench score`` (every document is mapped, not
    only the training sources'); a re-run (after a crash) replaces those rows with the same values."""
    result = score_project(ctx.store, state.get("version"), ctx.config.alignment, show_progress=ctx.show_progress,
                           corpus=ctx.all_documents())
    return {"alignment": {"version": result.version, "K": result.K, "n_rows": len(result.rows),
                          "rows": [{"group": r.group, "source": r.source, "r": r.r, "r_corrected": r.r_corrected,
                                    "D": r.D, "ci": [r.ci_low, r.ci_high], "ci_method": r.ci_method,
                                    "ci_mc": r.ci_mc_error} for r in result.rows],
                          "notes": result.notes}}
