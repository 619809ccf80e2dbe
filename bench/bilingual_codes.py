"""Codes across languages (issue 23 item 4): in an English + Korean build, how many items sit in
codes of one language, in each representation, and how much of that two topic sets alone give.

Corpora (../shared/data): Korean national petitions (title + content) and ValueEval *validation*
arguments (the split the value lens was never fitted on), extracted offline as the product does.
The same number of expressions is drawn from each group of both comparisons (seeded): the
smallest group's count, or ``--expressions`` if smaller, since the share depends on the size. For each representation
the initial codebook C⁰ is made as a build makes it (``initial_codes`` with the project's
``em`` settings), and the bench prints:

- single-language share: expressions whose code has ≥ 90 % of its members in one language
  (and = 100 %), against a null with the same codes and the language labels shuffled;
- cross-language neighbours: expressions whose nearest other expression is in the other language;
- the topic control: the same measures for two *English* corpora of the same sizes that share no
  topic (the validation arguments split at random by conclusion). There is no language
  difference between them, so their single-corpus share is what disjoint topics alone produce.
  The petitions (Korean civic complaints of August 2017) and ValueEval's arguments (mostly US,
  Indian and European policy questions) have next to no topic in common, so an English + Korean
  share at the level of the control is what topic alone explains; the share above it is language.

    .venv/bin/python bench/bilingual_codes.py [--expressions N] [--seed 0] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.codebook.clustering import configured_clusterer, initial_codes  # noqa: E402
from workbench.pipeline.corpus import load_corpus  # noqa: E402
from workbench.pipeline.extract import extract  # noqa: E402
from workbench.ingest.documents import IngestOptions, ingest_file  # noqa: E402
from workbench.llm.gateway import Gateway  # noqa: E402
from workbench.store import Store, create_project, open_project  # noqa: E402

REPRESENTATIONS = ("raw", "language-centered", "value-lens")
PURE = 0.9  # a code is single-language when this share of its members is of one language
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def single_group_share(labels: np.ndarray, group: np.ndarray, pure: float) -> float:
    """Share of items whose code has at least ``pure`` of its members in one group (two groups, 0/1)."""
    K = int(labels.max()) + 1
    size = np.bincount(labels, minlength=K)
    ones = np.bincount(labels, weights=group, minlength=K)
    majority = np.maximum(ones, size - ones) / np.maximum(size, 1)
    return float((majority[labels] >= pure - 1e-12).mean())


def cross_neighbour_share(emb: np.ndarray, group: np.ndarray) -> float:
    """Share of items whose nearest other item (cosine) belongs to the other group."""
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    return float((group[sims.argmax(axis=1)] != group).mean())


def measures(emb: np.ndarray, group: np.ndarray, em, rng: np.random.Generator) -> dict[str, float]:
    labels, _ = initial_codes(emb, configured_clusterer(em), merge_value=em.merge_cosine)
    shuffled = rng.permutation(group)
    return {"K": int(labels.max()) + 1, "share ≥ 90 %": single_group_share(labels, group, PURE),
            "share 100 %": single_group_share(labels, group, 1.0),
            "null ≥ 90 %": single_group_share(labels, shuffled, PURE),
            "cross-neighbour": cross_neighbour_share(emb, group)}


def project(work: Path, name: str, files: list[tuple[Path, IngestOptions]]) -> Store:
    """The extracted project ``name`` in ``work``: made afresh, or reused when a run with --keep made it."""
    if (work / f"{name}.db").exists():
        return open_project(work / f"{name}.db")
    store = create_project(work / f"{name}.db")
    for file, options in files:
        ingest_file(store, file, options)
    extract(store, show_progress=False)
    return store


def balanced(store: Store, representation: str, groups: tuple[str, str], n: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n expressions of each group, embedded in ``representation``; (embeddings, 0/1 group)."""
    store.save_config(store.config().with_settings({"roles.embedder.representation": representation}))
    corpus = load_corpus(store, Gateway(store, store.config()), show_progress=False)
    doc_group = np.array([groups.index(g) for g in corpus.doc_groups])[corpus.expr_doc]
    picks = [rng.choice(np.flatnonzero(doc_group == g), size=n, replace=False) for g in (0, 1)]
    chosen = np.concatenate(picks)
    return corpus.expr_emb[chosen], doc_group[chosen].astype(float)


def expression_counts(store: Store, groups: tuple[str, str]) -> list[int]:
    """How many expressions each group has (its documents' extractions)."""
    corpus = load_corpus(store, Gateway(store, store.config()), show_progress=False)
    return [int(sum(corpus.doc_groups[d] == g for d in corpus.expr_doc)) for g in groups]


def split_by_conclusion(arguments: Path, out: Path, seed: int) -> tuple[Path, Path]:
    """Two files of the arguments whose conclusions (topics) are disjoint, at random."""
    lines = arguments.read_text("utf-8").splitlines()  # a TSV takes quotes as characters: split, never csv-quote
    header, body = lines[0], [line.split("\t") for line in lines[1:] if line]
    topics = sorted({r[1] for r in body})
    half = set(np.random.default_rng(seed).permutation(topics)[: len(topics) // 2])
    paths = []
    for name, keep in (("en-a", True), ("en-b", False)):
        path = out / f"{name}.tsv"
        path.write_text("\n".join([header] + ["\t".join(r) for r in body if (r[1] in half) == keep]) + "\n", "utf-8")
        paths.append(path)
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expressions", type=int, default=3000,
                        help="at most this many expressions drawn from each group (default: the smallest group's count)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--keep", type=Path, help="make the extracted projects in this folder and keep them "
                                                  "(a second run reuses them: extraction is most of the time)")
    args = parser.parse_args()
    petitions = args.data / "petitions-ko" / "petitions_2017-08.jsonl"
    arguments = args.data / "valueeval23" / "arguments-validation.tsv"
    for path in (petitions, arguments):
        if not path.exists():
            sys.exit(f"{path} is missing: pass --data DIR (../shared/data)")
    figures, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        en_a, en_b = split_by_conclusion(arguments, work, args.seed)
        bilingual = project(work, "en-ko", [
            (arguments, IngestOptions(preset="valueeval", group="en")),
            (petitions, IngestOptions(group="ko", text_cols=("title", "content"), id_col="petition_idx"))])
        control = project(work, "en-en", [(en_a, IngestOptions(preset="valueeval", group="en-a")),
                                          (en_b, IngestOptions(preset="valueeval", group="en-b"))])
        em = bilingual.config().em
        pairs = (("en + ko", bilingual, ("en", "ko")), ("en-a + en-b (no shared topic)", control, ("en-a", "en-b")))
        # one size for every comparison: the share depends on it, so the control must match it
        n = min(args.expressions, *(c for _, store, groups in pairs for c in expression_counts(store, groups)))
        for name, store, groups in pairs:
            for rep in REPRESENTATIONS:
                rng = np.random.default_rng(args.seed)
                emb, group = balanced(store, rep, groups, n, rng)
                rows[(name, rep)] = m = measures(emb, group, em, rng)
                figures[f"{name}, {rep}"] = (
                    f"K = {m['K']}; items in single-{'language' if name == 'en + ko' else 'corpus'} codes "
                    f"{m['share ≥ 90 %']:.0%} (pure {m['share 100 %']:.0%}; shuffled null {m['null ≥ 90 %']:.0%}); "
                    f"nearest neighbour across {m['cross-neighbour']:.0%}")
    figures["expressions"] = f"{n:,} a side in every comparison (--expressions {args.expressions:,} or the smallest group's count), seed {args.seed}"
    lens = rows[("en + ko", "value-lens")]["share ≥ 90 %"]
    topic = rows[("en-a + en-b (no shared topic)", "value-lens")]["share ≥ 90 %"]
    figures["value lens: share above the topic control"] = f"{lens - topic:+.0%}"
    print(json.dumps({f"{k[0]} | {k[1]}": v for k, v in rows.items()}, ensure_ascii=False))
    summary("codes across languages", figures, {})


if __name__ == "__main__":
    main()
