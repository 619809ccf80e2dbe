"""V2 on real labels: how much of the gold value information of Touché23-ValueEval survives in the
offline codebook's document code distributions q(z|x) (Eq. 15, ``workbench.posteriors``).

Builds a project offline (no LLM: extractive recognizer, e5 embeddings, ``build --auto-approve``) on
the validation split (every argument; the value lens never saw it) or a seeded sample of the
training arguments, then reports 5-fold macro-F1 of a per-label logistic regression (balanced
classes) on two document features, q(z|x) of the final codebook and the raw document embeddings
(the embedder's own vectors, without the value lens), against all-ones (every label predicted for
every document, the chance level of F1). Also reports K and the share of the above-chance F1 of
raw embeddings that q(z|x) keeps: (F1_q − F1_ones) ÷ (F1_raw − F1_ones).
The F1 of C⁰'s q(z|x) shows what the EM loop's split/merge steps change. Target: ≥ 90 % of raw.
Then runs the known-answer check (``workbench validate --known-answer``, the one place it is
computed) on the same project and prints its ρ per method. Targets (validation split): DOVE
ρ ≥ 0.6 with the interval's lower end above 0.3, and ≥ the raw-embedding baseline + 0.15.

    .venv/bin/python bench/v2_valueeval.py [--split validation|training] [--docs N]
        [--representation value-lens] [--data ../shared/data/valueeval23] [--keep DIR [--reuse]]
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402

MIN_POSITIVES = 10  # labels rarer than this in the sample cannot be cross-validated 5-fold


def sample_split(data: Path, out: Path, n_docs: int | None, seed: int, split: str = "training") -> None:
    """Copy a seeded sample of ``n_docs`` arguments of ``split`` (every one when None) and their
    labels into ``out``, named as the ``valueeval`` preset expects (labels beside arguments)."""
    rows = {name: [line.split("\t") for line in (data / name).read_text("utf-8").splitlines() if line]
            for name in (f"arguments-{split}.tsv", f"labels-{split}.tsv")}  # TSV: quotes are characters
    body = rows[f"arguments-{split}.tsv"][1:]
    keep = {r[0] for r in np.random.default_rng(seed).permutation(np.array(body, dtype=object))[:n_docs]}
    for name, table in rows.items():
        (out / name).write_text("\n".join("\t".join(r) for r in table[:1] + [r for r in table[1:] if r[0] in keep])
                                + "\n", "utf-8")


def gold_matrix(labels_tsv: Path, doc_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """(N, L) 0/1 gold labels in ``doc_ids`` order and the label names."""
    with open(labels_tsv, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f, delimiter="\t"))
    by_id = {r[0]: [int(v) for v in r[1:]] for r in table[1:]}
    return np.array([by_id[d] for d in doc_ids], dtype=int), table[0][1:]


def macro_f1(features: np.ndarray, gold: np.ndarray, seed: int) -> float:
    """Mean over labels of the positive-class F1 of 5-fold cross-validated predictions of a
    balanced logistic regression on ``features`` (standardised)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = []
    for y in gold.T:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        scores.append(f1_score(y, cross_val_predict(model, features, y, cv=folds), zero_division=0))
    return float(np.mean(scores))


def all_ones_f1(gold: np.ndarray) -> float:
    """Macro-F1 of predicting every label for every document: mean of 2p ÷ (1 + p), p each label's rate."""
    rate = gold.mean(axis=0)
    return float(np.mean(2 * rate / (1 + rate)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("validation", "training"), default="validation",
                        help="validation: the checks' split, never fitted on; training: the lens's own")
    parser.add_argument("--docs", type=int, help="arguments sampled (default: all of validation, 1,000 of training)")
    parser.add_argument("--representation", help="roles.embedder.representation of the project (default: the "
                                                 "workbench's default)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a project setting, e.g. em.tau1=1e9 to refine past S(C)'s first pass of τ1")
    parser.add_argument("--rounds", type=int, default=2, help="known-answer pairs per topic and strength")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/valueeval23")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="build the project in this directory and keep it")
    parser.add_argument("--reuse", action="store_true", help="score the project already built in --keep")
    args = parser.parse_args()
    if bad := [item for item in args.set if "=" not in item]:
        parser.error(f"--set takes KEY=VALUE, e.g. em.tau1=1e9 (got {bad[0]!r})")
    if not (args.data / f"arguments-{args.split}.tsv").exists():
        sys.exit(f"no ValueEval {args.split} split in {args.data}: pass --data DIR")
    docs = args.docs or (1000 if args.split == "training" else None)
    from workbench.build import run_build
    from workbench.pipeline.extract import extract
    from workbench.ingest.documents import IngestOptions, ingest_file
    from workbench.measures.known_answer import known_answer
    from workbench.llm.gateway import Gateway
    from workbench.measures.score import load_posteriors
    from workbench.store import create_project, open_project

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        if args.reuse:
            store = open_project(work / "valueeval.db")
        else:
            sample_split(args.data, work, docs, args.seed, args.split)
            store = create_project(work / "valueeval.db")
            settings = dict(item.split("=", 1) for item in args.set)
            if args.representation:
                settings["roles.embedder.representation"] = args.representation
            store.save_config(store.config().with_settings(settings))
            ingest_file(store, work / f"arguments-{args.split}.tsv", IngestOptions(preset="valueeval"))
            extract(store, show_progress=False)
            run_build(store, auto_approve=True, show_progress=False)
        build_s = time.perf_counter() - start
        post = load_posteriors(store, show_progress=False)
        initial = load_posteriors(store, store.initial_version_of(post.codebook.version)[0], show_progress=False,
                                  corpus=post.corpus)
        labels_file = work / f"labels-{args.split}.tsv"
        gold, names = gold_matrix(labels_file, post.corpus.doc_ids)
        raw = Gateway(store, store.config()).embed_documents(post.corpus.doc_texts, lens=False)
        usable = gold.sum(axis=0) >= MIN_POSITIVES
        gold = gold[:, usable]
        f1 = {"q(z|x)": macro_f1(post.q_docs, gold, args.seed),
              "q(z|x) of C⁰ (before any split/merge)": macro_f1(initial.q_docs, gold, args.seed),
              "raw embeddings": macro_f1(raw, gold, args.seed),
              "all-ones": all_ones_f1(gold)}
        kept = (f1["q(z|x)"] - f1["all-ones"]) / max(f1["raw embeddings"] - f1["all-ones"], 1e-9)
        iterations = store.iterations()
        known = known_answer(store, labels_file, rounds=args.rounds, seed=args.seed, show_progress=False)
        dove, baseline = known.agreement["dove"], known.agreement["raw-embedding"]
        summary(f"V2 and known answer on ValueEval ({args.split})", {
            "representation": f"{store.config().role('embedder').representation_in_use()}",
            "settings": ", ".join(args.set) or "the project defaults",
            "documents with expressions": f"{len(post.corpus.doc_ids):,} of "
                                          f"{f'{docs:,} sampled' if docs else f'all {args.split} arguments'}",
            "expressions": f"{len(post.corpus.expr_ids):,}",
            "labels scored": f"{int(usable.sum())} of {len(names)} (≥ {MIN_POSITIVES} positives)",
            "K per iteration": " → ".join(str(r.get("K", "?")) for r in iterations) or "-",
            "held-out −d̄ per iteration": " → ".join(
                f"{-r['heldout_distortion']:.4f}" for r in iterations if r.get("heldout_distortion") is not None) or "-",
            "K (C⁰ → final)": f"{initial.codebook.K} → {post.codebook.K}",
            **{f"macro-F1 {k}": f"{v:.3f}" for k, v in f1.items()},
            "q(z|x) keeps of raw's above-chance F1": f"{kept:.0%}",
            **({} if args.reuse else {"extract + build": f"{build_s:.0f} s"}),
            "known answer": f"{known.n_documents:,} documents, {known.n_topics} topics, {known.rounds} rounds, "
                            f"{dove.n_pairs} pairs",
            **{f"known-answer ρ {m}": f"{a.rho:.3f} [{a.low:.3f}, {a.high:.3f}]" for m, a in known.agreement.items()},
        }, {"q(z|x) ≥ 90 % of raw": kept >= 0.9, "DOVE ρ ≥ 0.6": dove.rho >= 0.6, "its lower end > 0.3": dove.low > 0.3,
            "DOVE ρ ≥ raw-embedding + 0.15": dove.rho >= baseline.rho + 0.15})


if __name__ == "__main__":
    main()
