"""Inter-annotator agreement for the human evaluation (DOVE paper, App. C).

Pure functions over label data: no I/O, no database. The App. C protocol has four
annotators label document–code pairs (Yes/No) and sampled codes (0/1); items on which
they disagree are re-annotated with a more detailed instruction, 2–2 splits are settled
by discussion, and agreement is reported as the average pairwise Cohen's κ. Fleiss' κ,
Krippendorff's α and percent agreement are reported alongside because they are what a
reviewer will ask for next.

Data shape
----------
A *ratings table* is a mapping ``item_id -> {rater: label}``. Items and raters are any
hashable values (raters are reported as ``str``); labels are hashable (``0/1``,
``"yes"/"no"``, strings). A rater missing from an item's mapping, or a label of
``None``, is a missing rating. :func:`table_from_rows` builds a table from
``(item, rater, label[, time])`` rows with "the latest label wins".

Undefined values
----------------
Chance-corrected coefficients are 0/0 when there is no variation to correct for (e.g.
both raters of a pair used one and the same category). Such values are ``math.nan``, are
left out of averages, and are listed in the results so that a reader sees why. In JSON
they serialise as ``null`` and read back as ``nan``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import combinations
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict
from sklearn.metrics import cohen_kappa_score

RatingsTable = Mapping[Hashable, Mapping[Hashable, Hashable]]

DEFAULT_MODEL_NAME = "recognizer"

# NaN goes out as JSON null; null must come back as NaN, not fail float validation.
MaybeNaN = Annotated[float, BeforeValidator(lambda v: math.nan if v is None else v)]


# --------------------------------------------------------------------------- results


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class PairKappa(_Result):
    """Cohen's κ of one rater pair over the items both labelled (NaN if undefined)."""

    rater_a: str
    rater_b: str
    kappa: MaybeNaN
    n_items: int


class PairwiseKappa(_Result):
    """Every pair's κ and their mean over the pairs where κ is defined."""

    pairs: list[PairKappa]
    mean: MaybeNaN
    undefined_pairs: list[tuple[str, str]]


class FleissKappa(_Result):
    """Fleiss' κ over the items rated by exactly ``n_raters`` raters."""

    kappa: MaybeNaN
    n_raters: int
    n_items: int
    excluded_items: list[Any]


class ModelAgreement(_Result):
    """Each human's κ against a model treated as one more rater, and their mean."""

    model_name: str
    pairs: list[PairKappa]
    mean: MaybeNaN
    undefined_pairs: list[tuple[str, str]]


class AgreementReport(_Result):
    """Everything App. C reports about one annotation round, JSON-serialisable."""

    n_items: int
    n_ratings: int
    raters: list[str]
    categories: list[Any]
    pairwise_kappa: PairwiseKappa
    fleiss_kappa: FleissKappa
    krippendorff_alpha: MaybeNaN
    percent_agreement: MaybeNaN
    disagreements: list[Any]
    even_splits: list[Any]
    n_annotators: int
    model: ModelAgreement | None = None


# ------------------------------------------------------------------------ table shape


def table_from_rows(
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
    *,
    keys: tuple[str, str, str, str] = ("item", "rater", "label", "time"),
) -> dict[Hashable, dict[Hashable, Hashable]]:
    """Build a ratings table from rating rows; the latest label per (item, rater) wins.

    A row is ``(item, rater, label)`` or ``(item, rater, label, time)``, or a mapping with
    the names in ``keys`` (``time`` optional). If rows carry a time, they are ordered by it
    (any mutually comparable values: numbers, ISO-8601 strings, datetimes) and rows with
    equal times keep their input order; otherwise the input order is the time order. Either
    every row has a time or none does. A ``None`` label withdraws the rater's earlier label,
    so re-annotation rows appended after the first round replace, or clear, the old ones.
    """
    item_key, rater_key, label_key, time_key = keys
    parsed: list[tuple[int, Any, Hashable, Hashable, Hashable]] = []
    for position, row in enumerate(rows):
        if isinstance(row, Mapping):
            item, rater, label = row[item_key], row[rater_key], row[label_key]
            time = row.get(time_key)
        elif len(row) in (3, 4):
            item, rater, label = row[0], row[1], row[2]
            time = row[3] if len(row) == 4 else None
        else:
            raise ValueError(
                f"row {position} has {len(row)} fields; expected (item, rater, label[, time])"
            )
        parsed.append((position, time, item, rater, label))

    timed = [r[1] is not None for r in parsed]
    if any(timed) and not all(timed):
        raise ValueError("either every row has a time or none does; cannot order a mix")
    if all(timed) and parsed:
        parsed.sort(key=lambda r: (r[1], r[0]))

    table: dict[Hashable, dict[Hashable, Hashable]] = {}
    for _, _, item, rater, label in parsed:
        ratings = table.setdefault(item, {})
        if label is None:
            ratings.pop(rater, None)
        else:
            ratings[rater] = label
    return {item: ratings for item, ratings in table.items() if ratings}


def _clean(table: RatingsTable) -> dict[Hashable, dict[Hashable, Hashable]]:
    """Drop missing (None) labels and items left with no rating."""
    cleaned = {}
    for item, ratings in table.items():
        kept = {rater: label for rater, label in ratings.items() if label is not None}
        if kept:
            cleaned[item] = kept
    return cleaned


def raters(table: RatingsTable) -> list[Hashable]:
    """Raters in the table, sorted by their string form (so pair order is stable)."""
    seen = {rater for ratings in _clean(table).values() for rater in ratings}
    return sorted(seen, key=str)


def categories(table: RatingsTable) -> list[Hashable]:
    """Labels used in the table: sorted if comparable, else in order of first use."""
    seen: dict[Hashable, None] = {}
    for ratings in _clean(table).values():
        for label in ratings.values():
            seen.setdefault(label, None)
    try:
        return sorted(seen)
    except TypeError:
        return list(seen)


# ------------------------------------------------------------------------ Cohen's κ


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float:
    """Cohen's κ of two aligned label sequences, κ = (p_o − p_e) / (1 − p_e).

    Computed by scikit-learn's ``cohen_kappa_score`` with ``labels=`` the union of both
    raters' labels (encoded as integers so that mixed label types cannot trip it).
    Undefined → NaN: when there are no items, or when both raters used one and the same
    category (p_e = 1; perfect but uninformative agreement).
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(f"label sequences differ in length: {len(labels_a)} != {len(labels_b)}")
    if not labels_a:
        return math.nan
    used = set(labels_a) | set(labels_b)
    if len(used) == 1:
        return math.nan
    index = {label: i for i, label in enumerate(dict.fromkeys([*labels_a, *labels_b]))}
    return float(
        cohen_kappa_score(
            [index[x] for x in labels_a],
            [index[x] for x in labels_b],
            labels=list(range(len(index))),
        )
    )


def _pair_kappa(
    table: Mapping[Hashable, Mapping[Hashable, Hashable]], a: Hashable, b: Hashable
) -> PairKappa:
    shared = [item for item, ratings in table.items() if a in ratings and b in ratings]
    kappa = cohen_kappa([table[i][a] for i in shared], [table[i][b] for i in shared])
    return PairKappa(rater_a=str(a), rater_b=str(b), kappa=kappa, n_items=len(shared))


def _summarise(pairs: list[PairKappa]) -> tuple[float, list[tuple[str, str]]]:
    defined = [p.kappa for p in pairs if not math.isnan(p.kappa)]
    undefined = [(p.rater_a, p.rater_b) for p in pairs if math.isnan(p.kappa)]
    return (float(np.mean(defined)) if defined else math.nan), undefined


def pairwise_kappa(table: RatingsTable) -> PairwiseKappa:
    """Cohen's κ for every rater pair on the items both labelled, and their mean.

    This is App. C's "average pairwise Cohen's κ". Pairs whose κ is undefined (no shared
    items, or one identical category) are NaN, listed in ``undefined_pairs`` and left out
    of the mean; the mean is NaN when no pair is defined.
    """
    cleaned = _clean(table)
    pairs = [_pair_kappa(cleaned, a, b) for a, b in combinations(raters(cleaned), 2)]
    mean, undefined = _summarise(pairs)
    return PairwiseKappa(pairs=pairs, mean=mean, undefined_pairs=undefined)


def rater_vs_model(
    table: RatingsTable,
    model_labels: Mapping[Hashable, Hashable],
    model_name: str = DEFAULT_MODEL_NAME,
) -> ModelAgreement:
    """κ of each human rater against a model's assignment, treated as one more rater.

    ``model_labels`` maps item → the model's label (e.g. the value recognizer's Yes/No for
    a document–code pair). Only items that both the human and the model labelled count;
    undefined pairs are handled as in :func:`pairwise_kappa`.
    """
    cleaned = _clean(table)
    humans = raters(cleaned)
    if model_name in {str(r) for r in humans}:
        raise ValueError(f"model name {model_name!r} is also a human rater; pick another name")
    combined: dict[Hashable, dict[Hashable, Hashable]] = {
        item: dict(ratings) for item, ratings in cleaned.items()
    }
    for item, label in model_labels.items():
        if label is not None and item in combined:
            combined[item][model_name] = label
    pairs = [_pair_kappa(combined, human, model_name) for human in humans]
    mean, undefined = _summarise(pairs)
    return ModelAgreement(model_name=model_name, pairs=pairs, mean=mean, undefined_pairs=undefined)


# ------------------------------------------------------------------------ Fleiss' κ


def fleiss_kappa_from_counts(counts: np.ndarray) -> float:
    """Fleiss' κ (Fleiss 1971) from a count matrix.

    ``counts`` has shape (n_items, n_categories); ``counts[i, j]`` is how many raters put
    item i in category j, and every row sums to the same number of raters m ≥ 2.
    P_i = (Σ_j n_ij² − m) / (m(m − 1)), p_j = Σ_i n_ij / (N m), P_e = Σ_j p_j²,
    κ = (mean P_i − P_e) / (1 − P_e). NaN if there are no items or only one category is
    ever used (P_e = 1).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (items × categories), got shape {counts.shape}")
    if counts.shape[0] == 0:
        return math.nan
    per_item = counts.sum(axis=1)
    m = per_item[0]
    if not np.all(per_item == m):
        raise ValueError("every item needs the same number of raters for Fleiss' κ")
    if m < 2:
        return math.nan
    if np.count_nonzero(counts.sum(axis=0)) < 2:
        return math.nan
    p_i = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_j = counts.sum(axis=0) / (counts.shape[0] * m)
    p_e = float((p_j**2).sum())
    return float((p_i.mean() - p_e) / (1 - p_e))


def fleiss_kappa(table: RatingsTable, n_raters: int | None = None) -> FleissKappa:
    """Fleiss' κ over items rated by exactly ``n_raters`` raters.

    Fleiss' κ needs the same number of ratings per item (who the raters are may differ).
    ``n_raters`` defaults to the largest number of ratings any item has; items with a
    different number (typically fewer: a missing rating) are excluded and listed in
    ``excluded_items``. Use Krippendorff's α for a coefficient that keeps them.
    """
    cleaned = _clean(table)
    if n_raters is None:
        n_raters = max((len(r) for r in cleaned.values()), default=0)
    kept = [item for item, ratings in cleaned.items() if len(ratings) == n_raters]
    excluded = [item for item, ratings in cleaned.items() if len(ratings) != n_raters]
    cats = categories(cleaned)
    index = {label: j for j, label in enumerate(cats)}
    counts = np.zeros((len(kept), len(cats)))
    for i, item in enumerate(kept):
        for label in cleaned[item].values():
            counts[i, index[label]] += 1
    kappa = fleiss_kappa_from_counts(counts) if n_raters >= 2 else math.nan
    return FleissKappa(kappa=kappa, n_raters=n_raters, n_items=len(kept), excluded_items=excluded)


# ------------------------------------------------------------------ Krippendorff's α


def coincidence_matrix(table: RatingsTable) -> tuple[np.ndarray, list[Hashable]]:
    """Krippendorff's coincidence matrix o_ck and its category order.

    Each unit u with m_u ≥ 2 ratings contributes, for every ordered pair of ratings by
    different raters with values (c, k), 1 / (m_u − 1) to o_ck. Units with a single
    rating are not pairable and contribute nothing. Shape (n_categories, n_categories),
    symmetric; its total is n, the number of pairable values.
    """
    cleaned = _clean(table)
    cats = categories(cleaned)
    index = {label: j for j, label in enumerate(cats)}
    o = np.zeros((len(cats), len(cats)))
    for ratings in cleaned.values():
        m_u = len(ratings)
        if m_u < 2:
            continue
        counts = np.zeros(len(cats))
        for label in ratings.values():
            counts[index[label]] += 1
        # Ordered pairs from different raters: n_c n_k off the diagonal, n_c(n_c − 1) on it.
        o += (np.outer(counts, counts) - np.diag(counts)) / (m_u - 1)
    return o, cats


def krippendorff_alpha_nominal(table: RatingsTable) -> float:
    """Krippendorff's α for nominal data, α = 1 − D_o / D_e, from the coincidence matrix.

    With n_c = Σ_k o_ck and n = Σ_c n_c: D_o = Σ_{c≠k} o_ck / n and
    D_e = Σ_{c≠k} n_c n_k / (n(n − 1)). Handles missing ratings and any number of raters
    per item (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"). NaN when
    fewer than two pairable values exist or only one category is used (D_e = 0).
    """
    o, _ = coincidence_matrix(table)
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    if n < 2:
        return math.nan
    disagree_observed = n - float(np.trace(o))
    disagree_expected = (n * n - float((n_c**2).sum())) / (n - 1)
    if disagree_expected == 0:
        return math.nan
    return 1.0 - disagree_observed / disagree_expected


# ----------------------------------------------------------------- percent agreement


def percent_agreement(table: RatingsTable) -> float:
    """Mean over items of the share of rater pairs that gave the same label.

    An item with m ratings has m(m − 1)/2 pairs; with n_c ratings in category c, the
    agreeing share is Σ_c n_c(n_c − 1) / (m(m − 1)). Items with fewer than two ratings are
    skipped; NaN if none is left. A proportion in [0, 1], not a percentage.
    """
    shares = []
    for ratings in _clean(table).values():
        m = len(ratings)
        if m < 2:
            continue
        counts = Counter(ratings.values()).values()
        shares.append(sum(c * (c - 1) for c in counts) / (m * (m - 1)))
    return float(np.mean(shares)) if shares else math.nan


# -------------------------------------------------------- disagreement and discussion


def disagreements(table: RatingsTable) -> list[Hashable]:
    """Items whose raters gave more than one distinct label, in table order.

    These are the items App. C sends back for re-annotation with the detailed instruction.
    """
    return [item for item, ratings in _clean(table).items() if len(set(ratings.values())) > 1]


def split_items(table: RatingsTable, n: int = 4) -> list[Hashable]:
    """Items rated by exactly ``n`` raters with no single most frequent label.

    For App. C's four annotators and binary labels this is the 2–2 split that is settled
    by discussion. With more than two categories, any tie for the top label (e.g. 2–2 of
    four raters over three categories, or 1–1–1–1) also counts, because a majority vote
    cannot decide it. Items with another number of ratings are not reported: a 2–1 item
    with a missing rating is incomplete, not split.
    """
    split = []
    for item, ratings in _clean(table).items():
        if len(ratings) != n:
            continue
        top = Counter(ratings.values()).most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            split.append(item)
    return split


# ------------------------------------------------------------------------ the report


def agreement_report(
    table: RatingsTable,
    model_labels: Mapping[Hashable, Hashable] | None = None,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    n_annotators: int | None = None,
) -> AgreementReport:
    """Every agreement statistic for one annotation round, in one JSON-serialisable object.

    ``n_annotators`` is the panel size used for Fleiss' κ and even-split detection; it
    defaults to the number of distinct raters in the table (four in App. C). Pass
    ``model_labels`` to add each human's κ against the model (:func:`rater_vs_model`).
    """
    cleaned = _clean(table)
    panel = raters(cleaned)
    if n_annotators is None:
        n_annotators = len(panel)
    model = rater_vs_model(cleaned, model_labels, model_name) if model_labels is not None else None
    return AgreementReport(
        n_items=len(cleaned),
        n_ratings=sum(len(r) for r in cleaned.values()),
        raters=[str(r) for r in panel],
        categories=categories(cleaned),
        pairwise_kappa=pairwise_kappa(cleaned),
        fleiss_kappa=fleiss_kappa(cleaned, n_annotators),
        krippendorff_alpha=krippendorff_alpha_nominal(cleaned),
        percent_agreement=percent_agreement(cleaned),
        disagreements=disagreements(cleaned),
        even_splits=split_items(cleaned, n_annotators),
        n_annotators=n_annotators,
        model=model,
    )


# ----------------------------------------------------------------- reliability per code

@dataclass(frozen=True)
class UnitAlpha:
    """Krippendorff's α over the items of one unit (a code, for the mapping task), with a
    percentile bootstrap interval over those items; NaN where α is undefined."""

    unit: Hashable
    alpha: float
    low: float
    high: float
    n_items: int


def alpha_per_unit(table: RatingsTable, unit_of: Mapping[Hashable, Hashable], n_boot: int = 500,
                   level: float = 0.95, seed: int = 0) -> list[UnitAlpha]:
    """Nominal α per unit (``unit_of``: item → unit, e.g. a mapping pair → its code), each with a
    bootstrap interval over the unit's items (items resampled with replacement; a replicate with
    α undefined is skipped). Units come in first-seen order of ``table``'s items."""
    clean = _clean(table)
    by_unit: dict[Hashable, list[Hashable]] = {}
    for item in clean:
        if item in unit_of:
            by_unit.setdefault(unit_of[item], []).append(item)
    rng = np.random.default_rng(seed)
    out = []
    for unit, items in by_unit.items():
        alpha = krippendorff_alpha_nominal({i: clean[i] for i in items})
        boot = []
        for _ in range(n_boot if np.isfinite(alpha) else 0):
            drawn = rng.integers(0, len(items), size=len(items))
            value = krippendorff_alpha_nominal({(k, items[j]): clean[items[j]] for k, j in enumerate(drawn)})
            if np.isfinite(value):
                boot.append(value)
        low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]) if boot else (math.nan, math.nan)
        out.append(UnitAlpha(unit, float(alpha), float(low), float(high), len(items)))
    return out


def unreliable_units(alphas: Sequence[UnitAlpha], floor: float = 0.667) -> list[UnitAlpha]:
    """Units whose α interval lies wholly below ``floor`` (upper bound < floor; Krippendorff's
    0.667 is the lowest α from which tentative conclusions are drawn)."""
    return [a for a in alphas if np.isfinite(a.high) and a.high < floor]
