"""Value-priming (known-groups) validity: change ratios of alignment scores under persona
priming, relative to an unprimed control (Sec. 4.2 "Value Priming", App. E.3, Tables 1 and 10)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from .correlation import nanmean
from .culture_pairs import CONTRASTING_PAIRS, SIMILAR_PAIRS, Pair, relation


@dataclass(frozen=True)
class PrimingValidity:
    """Δ per (persona, group) and their means over target, relevant and conflicting cells.

    A valid method has a high ``delta_target``, a positive ``delta_relevant`` and a mostly
    negative ``delta_conflicting``. Ratios, not percentages (0.056 = 5.6 %).
    """

    deltas: dict[tuple[str, str], float]
    delta_target: float
    delta_relevant: float
    delta_conflicting: float


def change_ratios(
    primed: Mapping[tuple[str, str], float], control: Mapping[str, float]
) -> dict[tuple[str, str], float]:
    """Δ(persona, group) = (r_primed − r_control) / |r_control| for every primed cell.

    ``primed``: (persona, group) → score of the model primed with ``persona``, scored against
    ``group``; ``control``: group → score of the unprimed model. The paper divides by r; we
    divide by |r| so the sign of Δ still means "moved towards the group" when a score is
    negative (r = (0.1 − D)·10 < 0 when D > 0.1). A zero control score gives NaN.
    """
    out = {}
    for (persona, group), score in primed.items():
        if group not in control:
            raise KeyError(f"no control score for group {group!r}")
        base = float(control[group])
        out[(persona, group)] = float("nan") if base == 0 else (float(score) - base) / abs(base)
    return out


def priming_validity(
    primed: Mapping[tuple[str, str], float],
    control: Mapping[str, float],
    similar_pairs: Sequence[Pair] = SIMILAR_PAIRS,
    contrasting_pairs: Sequence[Pair] = CONTRASTING_PAIRS,
) -> PrimingValidity:
    """Δ_tar, Δ_rel, Δ_conf (App. E.3): mean Δ over cells whose persona is the group itself,
    a similar culture (``similar_pairs``), or a contrasting one (``contrasting_pairs``).

    Each mean is over all such (persona, group) cells — e.g. Δ_rel over the 6 ordered pairs of
    KR/JP/CN, Δ_conf over the 6 ordered pairs with US either way round — which reproduces all six
    methods' Table 1 columns from Table 10a (±0.015 points; DOVE 5.59 / 2.12 / −5.38 %). Δ_conf
    over the US persona only (DOVE −4.51 %) or over group US only (−6.24 %) does not. Cells in
    neither set are ignored; NaN cells are skipped; a category with no cells is NaN.
    """
    deltas = change_ratios(primed, control)
    buckets: dict[str, list[float]] = {"target": [], "relevant": [], "conflicting": []}
    for (persona, group), d in deltas.items():
        kind = relation(persona, group, similar_pairs, contrasting_pairs)
        if kind is not None:
            buckets[kind].append(d)
    return PrimingValidity(
        deltas=deltas,
        delta_target=nanmean(buckets["target"]),
        delta_relevant=nanmean(buckets["relevant"]),
        delta_conflicting=nanmean(buckets["conflicting"]),
    )
