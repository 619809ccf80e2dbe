"""Naming codes: the App. G naming prompt through the ``namer`` role, or the offline namer.

Every name carries who proposed it (the model, or the offline strategy) so that annotators can
audit it. An LLM name that cannot be obtained falls back to the offline name and says so.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..codebook.naming import OFFLINE_NAMER, central_order, ctfidf_keywords, keyword_name, nearest_value
from ..llm.gateway import Gateway
from ..llm.offline import load_value_prototypes
from ..llm.parsing import parse_code_name

CENTRAL_DESCRIPTIONS = 10


def central_texts(texts: Sequence[str], emb: np.ndarray, centroid: np.ndarray, n: int) -> list[str]:
    """A code's ``n`` most central distinct expressions, most central first."""
    out: list[str] = []
    for i in central_order(emb, centroid):
        if texts[i] not in out:
            out.append(texts[i])
        if len(out) == n:
            break
    return out


Group = tuple[list[str], np.ndarray, np.ndarray]  # a code's expressions: (texts, embeddings, centroid)


def name_groups(gateway: Gateway, groups: Sequence[Group],
                wanted: Sequence[int] | None = None) -> dict[int, tuple[str, str, str]]:
    """Names for groups of expressions given as (texts, embeddings, centroid).

    All groups inform the offline keywords (c-TF-IDF contrasts each group with the others);
    only ``wanted`` groups (default all) are named; an offline name carries the nearest value
    prototype as a hint. Returns {group: (name, source, description)},
    the description being the most central expression.
    """
    return name_group_sets(gateway, [(groups, wanted)])[0]


def name_group_sets(gateway: Gateway, sets: Sequence[tuple[Sequence[Group], Sequence[int] | None]]
                    ) -> list[dict[int, tuple[str, str, str]]]:
    """``name_groups`` for several independent sets of groups (each split's two halves): each set's
    offline keywords contrast its own groups only, and the LLM names of all sets are asked in one
    batch, so that n splits wait for one round of calls, not n."""
    prototypes = load_value_prototypes()
    prototype_emb = gateway.embed(prototypes.value_texts)
    jobs, out = [], []  # (set, group, central texts) to name by the LLM
    for n, (groups, wanted) in enumerate(sets):
        wanted = list(range(len(groups))) if wanted is None else list(wanted)
        ordered = [central_texts(t, e, c, CENTRAL_DESCRIPTIONS) for t, e, c in groups]
        keywords = ctfidf_keywords([list(t) for t, _, _ in groups])
        out.append({g: (keyword_name(keywords[g], ordered[g][0],
                                     nearest_value(groups[g][2], prototype_emb, prototypes.value_names)),
                        OFFLINE_NAMER, ordered[g][0]) for g in wanted})
        jobs += [(n, g, ordered[g]) for g in wanted]
    if gateway.is_offline("namer") or not jobs:
        return out
    model = gateway.role("namer").strategy_label("")
    items = [{"descriptions": "\n".join(f"{i + 1}. {d}" for i, d in enumerate(texts))} for _, _, texts in jobs]
    results = gateway.run(gateway.complete_many("namer", "code_naming", items, parse_code_name))
    for (n, g, texts), result in zip(jobs, results):
        if result.value:
            out[n][g] = (result.value, model, texts[0])
        else:
            name, source, description = out[n][g]
            out[n][g] = (name, f"{source} (fallback: {model} failed)", description)
    return out
