"""``workbench validate``: the validity analyses of App. E.3 over several methods' scores.

DOVE's scores come from the project (the latest scored codebook version, or a chosen one); other
methods' — e.g. the survey-simulation baseline, WVS, GlobalOpinionQA — from CSV files in the
format of :mod:`workbench.validity.io`. What can be computed is computed:

- MTMM convergent A (Eq. 5, two or more methods) and discriminant B (Eq. 6, when the similar and
  contrasting culture pairs name the traits present);
- predictive validity: one Pearson r with downstream performance per benchmark (over all of its
  model × culture rows), averaged over the benchmarks, which reproduces Table 1 from Tables 8 and
  11 (see :mod:`workbench.validity.predictive` for the readings, both selectable);
- value priming Δ_tar, Δ_rel, Δ_conf per method and model (primed scores and a control);
- reliability: Cronbach's α and the mean CV per method and kind (topic split, run, template),
  per group and averaged over groups.

Traits are the groups (cultures) every method scored; models are the sources every method scored
(or those named). From the project, human groups and their halves are not models, and a source
``θ@P`` is model θ primed with persona P (see :mod:`workbench.measures.score`); other methods' rows stored
in the project (the survey baseline's ``survey-KL`` / ``survey-JS``) are read too.

Orientation: correlations compare methods only if a higher score means "closer" for every method.
Methods that report a distance (``LOWER_IS_BETTER``, and any named by the caller) are negated
before the analyses; α and CV do not change under negation, and Δ keeps its meaning (positive =
moved towards the group).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import WorkbenchError
from ..store import Store, open_project
from ..validity import io
from ..validity.correlation import nanmean
from ..validity.culture_pairs import CONTRASTING_PAIRS, SIMILAR_PAIRS, Pair
from ..validity.io import DownstreamRecord, PrimedRecord, ReliabilityRecord, ScoreRecord
from ..validity.mtmm import convergent_validity, discriminant_validity
from ..validity.predictive import Pooling, Undefined, predictive_validity
from ..validity.priming import priming_validity
from ..validity.reliability import cronbach_alpha, mean_coefficient_of_variation
from ..vocabulary import METHOD, RELIABILITY_KINDS, RELIABILITY_PREFIX, SURVEY_METHODS

# Methods whose scores are distances (lower = closer): the survey baseline's KL and JS.
LOWER_IS_BETTER = frozenset(SURVEY_METHODS.values())


def project_scores(store: Store, version: int | None = None, method: str = METHOD
                   ) -> tuple[list[ScoreRecord], list[PrimedRecord], int]:
    """The project's stored scores as validity inputs: (model scores, primed scores, version).

    DOVE's rows of one codebook version (default: the latest scored): human-group sources and
    ``G/half`` splits are dropped (they are not models); ``θ@P`` rows become primed scores of
    model θ with persona P. Other methods' rows (no codebook version, e.g. the survey baseline)
    are added as they are, the latest row per (method, group, source).
    """
    versions = store.scored_versions(method)
    if not versions:
        raise WorkbenchError(f"{store.path} has no {method} scores: run 'workbench score {store.path}' first")
    version = versions[-1] if version is None else version
    if version not in versions:
        raise WorkbenchError(f"no {method} scores for codebook version {version}: scored versions are {versions}")
    rows = store.load_scores(method, version)
    groups = {r["group"] for r in rows}
    scores, primed = [], []
    for r in rows:
        source = r["source"]
        if source in groups or "/half" in source or r["group"].endswith(("/half1", "/half2")):
            continue
        if "@" in source:
            model, persona = source.rsplit("@", 1)
            primed.append(PrimedRecord(method, persona, r["group"], model, r["r"]))
        else:
            scores.append(ScoreRecord(method, r["group"], source, r["r"]))
    latest: dict[tuple[str, str, str], float] = {}
    for r in store.load_scores():
        if r["codebook_version"] is None and r["method"] != method and r["r"] is not None:
            latest[(r["method"], r["group"], r["source"])] = r["r"]  # rows come oldest first
    scores += [ScoreRecord(m, g, s, v) for (m, g, s), v in latest.items()]
    return scores, primed, version


def stored_reliability(store: Store, version: int) -> list[ReliabilityRecord]:
    """The runs ``reliability_runs`` stored for a codebook version, as ``validate`` inputs."""
    records = []
    for row in store.load_scores(codebook_version=version):
        method = row["method"]
        kind_item = method[len(RELIABILITY_PREFIX):] if method.startswith(RELIABILITY_PREFIX) else ""
        kind, _, item = kind_item.rpartition(":")
        if kind in RELIABILITY_KINDS and row["r"] is not None:
            records.append(ReliabilityRecord(METHOD, kind, item, row["group"], row["source"], row["r"]))
    return records


@dataclass
class ValidityReport:
    methods: list[str]
    traits: list[str]
    models: list[str]
    convergent: dict[str, float] | None = None
    discriminant: dict[str, float] | None = None
    predictive: dict | None = None  # {"per_benchmark", "points", "average", "pooling", "undefined"}
    priming: list[dict] = field(default_factory=list)  # one row per (method, model)
    reliability: list[dict] = field(default_factory=list)  # one row per (method, kind, group|"mean")
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return _json_safe(self.__dict__)


def _json_safe(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.floating):
        return _json_safe(float(value))
    return value


def score_array(scores: Sequence[ScoreRecord], methods: list[str], traits: list[str], models: list[str]
                ) -> np.ndarray:
    """X (traits, methods, models) of App. E.3; NaN where a method has no score."""
    X = np.full((len(traits), len(methods), len(models)), np.nan)
    ti = {t: i for i, t in enumerate(traits)}
    mi = {m: j for j, m in enumerate(methods)}
    si = {s: k for k, s in enumerate(models)}
    for r in scores:
        if r.group in ti and r.method in mi and r.source in si:
            X[ti[r.group], mi[r.method], si[r.source]] = r.value
    return X


def validate(scores: Sequence[ScoreRecord], downstream: Sequence[DownstreamRecord] = (),
             primed: Sequence[PrimedRecord] = (), reliability: Sequence[ReliabilityRecord] = (),
             similar_pairs: Sequence[Pair] = SIMILAR_PAIRS, contrasting_pairs: Sequence[Pair] = CONTRASTING_PAIRS,
             models: list[str] | None = None, traits: list[str] | None = None,
             lower_is_better: frozenset[str] | set[str] = LOWER_IS_BETTER,
             pooling: Pooling = "benchmark", undefined: Undefined = "zero") -> ValidityReport:
    """Every validity statistic the inputs allow (see the module docstring); methods in
    ``lower_is_better`` are negated first. ``pooling`` and ``undefined`` choose the reading of
    predictive validity (:func:`workbench.validity.predictive.predictive_validity`); the defaults
    reproduce the paper's Table 1."""
    flip = set(lower_is_better)
    scores = [ScoreRecord(r.method, r.group, r.source, -r.value) if r.method in flip else r for r in scores]
    primed = [PrimedRecord(r.method, r.persona, r.group, r.source, -r.value) if r.method in flip else r
              for r in primed]
    reliability = [ReliabilityRecord(r.method, r.kind, r.item, r.group, r.source, -r.value) if r.method in flip
                   else r for r in reliability]
    methods = list(dict.fromkeys(r.method for r in scores))
    by_method_groups = {m: {r.group for r in scores if r.method == m} for m in methods}
    by_method_sources = {m: {r.source for r in scores if r.method == m} for m in methods}
    if traits is None:
        traits = sorted(set.intersection(*by_method_groups.values())) if methods else []
    if models is None:
        models = sorted(set.intersection(*by_method_sources.values())) if methods else []
    report = ValidityReport(methods, list(traits), list(models))
    negated = sorted(flip & ({r.method for r in scores} | {r.method for r in primed}))
    if negated:
        report.notes.append(f"{', '.join(negated)}: distances (lower = closer), negated so that higher = closer")
    X = score_array(scores, methods, report.traits, report.models)

    if methods and report.traits and report.models:
        if len(report.models) < 3:
            report.notes.append(f"only {len(report.models)} model(s) scored by every method: correlations need ≥ 3")
        if len(methods) >= 2:
            report.convergent = dict(zip(methods, convergent_validity(X).tolist()))
        else:
            report.notes.append("convergent validity (Eq. 5) needs scores of at least two methods")
        try:
            report.discriminant = dict(zip(methods, discriminant_validity(
                X, report.traits, similar_pairs, contrasting_pairs).tolist()))
        except ValueError as exc:
            report.notes.append(f"discriminant validity (Eq. 6) skipped: {exc}; give pairs of the traits "
                                f"{report.traits} with --similar A:B and --contrasting A:B")
        if downstream:
            _predictive(report, X, downstream, pooling, undefined)
    elif methods:
        report.notes.append("no culture and model scored by every method: MTMM and predictive validity skipped")
    if primed:
        _priming(report, primed, scores, similar_pairs, contrasting_pairs)
    if reliability:
        _reliability(report, reliability)
    return report


def _predictive(report: ValidityReport, X: np.ndarray, downstream: Sequence[DownstreamRecord],
                pooling: Pooling, undefined: Undefined) -> None:
    si = {s: k for k, s in enumerate(report.models)}
    performance: dict[tuple[str, str], np.ndarray] = {}
    skipped = set()
    for r in downstream:
        if r.group not in report.traits:
            skipped.add(f"{r.benchmark}/{r.group}")
            continue
        vec = performance.setdefault((r.benchmark, r.group), np.full(len(report.models), np.nan))
        if r.source in si:
            vec[si[r.source]] = r.performance
    if skipped:
        report.notes.append(f"downstream {sorted(skipped)} name groups no method scored: left out")
    if not performance:
        return
    pv = predictive_validity(X, report.traits, performance, pooling, undefined)
    methods = report.methods
    report.predictive = {
        "per_benchmark": {key: dict(zip(methods, r.tolist())) for key, r in pv.per_benchmark.items()},
        "points": pv.points,
        "average": dict(zip(methods, pv.average.tolist())),
        "pooling": pooling,
        "undefined": undefined,
    }
    for j, method in enumerate(methods):
        lacking = [key for key, r in pv.per_benchmark.items() if math.isnan(r[j])]
        if lacking and not math.isnan(pv.average[j]):
            how = "counted as r = 0 in its average" if undefined == "zero" else "left out of its average"
            report.notes.append(f"predictive validity of {method}: r undefined for {', '.join(lacking)} "
                                f"(no or constant scores), {how}")


def _priming(report: ValidityReport, primed: Sequence[PrimedRecord], scores: Sequence[ScoreRecord],
             similar_pairs: Sequence[Pair], contrasting_pairs: Sequence[Pair]) -> None:
    plain = {(r.method, r.group, r.source): r.value for r in scores}
    for method, model in dict.fromkeys((r.method, r.source) for r in primed):
        rows = [r for r in primed if r.method == method and r.source == model]
        control = {r.group: r.value for r in rows if r.is_control}
        cells = {(r.persona, r.group): r.value for r in rows if not r.is_control}
        for (_, group) in cells:
            if group not in control and (method, group, model) in plain:
                control[group] = plain[(method, group, model)]
        lacking = sorted({g for _, g in cells if g not in control})
        if lacking:
            report.notes.append(f"priming {method}/{model}: no control score for {lacking}: those cells left out")
            cells = {k: v for k, v in cells.items() if k[1] in control}
        if not cells:
            continue
        pv = priming_validity(cells, control, similar_pairs, contrasting_pairs)
        report.priming.append({"method": method, "model": model, "delta_target": pv.delta_target,
                               "delta_relevant": pv.delta_relevant, "delta_conflicting": pv.delta_conflicting,
                               "deltas": {f"{p}→{g}": d for (p, g), d in pv.deltas.items()}})


def _reliability(report: ValidityReport, records: Sequence[ReliabilityRecord]) -> None:
    for method, kind in dict.fromkeys((r.method, r.kind) for r in records):
        rows = [r for r in records if r.method == method and r.kind == kind]
        items = list(dict.fromkeys(r.item for r in rows))
        per_group = []
        for group in dict.fromkeys(r.group for r in rows):
            models = sorted({r.source for r in rows if r.group == group})
            M = np.full((len(models), len(items)), np.nan)
            for r in rows:
                if r.group == group:
                    M[models.index(r.source), items.index(r.item)] = r.value
            alpha = cronbach_alpha(M) if len(items) >= 2 else math.nan
            cv = mean_coefficient_of_variation(M)
            per_group.append({"method": method, "kind": kind, "group": group, "alpha": alpha, "cv": cv,
                              "n_models": len(models), "n_items": len(items)})
        report.reliability += per_group
        report.reliability.append({"method": method, "kind": kind, "group": "mean",
                                   "alpha": nanmean(r["alpha"] for r in per_group),
                                   "cv": nanmean(r["cv"] for r in per_group),
                                   "n_models": max(r["n_models"] for r in per_group), "n_items": len(items)})


@dataclass
class ProjectValidity:
    """What ``workbench validate`` prints: the report, and the codebook version of the project's
    DOVE scores (None without a project)."""

    report: ValidityReport
    version: int | None


def validate_inputs(project: str | None = None, score_files: Sequence[str] = (), downstream: str | None = None,
                    primed: str | None = None, reliability: str | None = None, version: int | None = None,
                    similar: Sequence[str] = (), contrasting: Sequence[str] = (), models: list[str] | None = None,
                    traits: list[str] | None = None, lower_is_better: Sequence[str] = (),
                    pooling: Pooling = "benchmark", undefined: Undefined = "zero") -> ProjectValidity:
    """``workbench validate``: the project's stored scores (DOVE's of ``version``, other methods'
    and the reliability runs) and those of the files in the formats of :mod:`workbench.validity.io`,
    checked and passed to :func:`validate`. A method may come from one input only; a project whose
    scores compare human groups only, with no other input, has nothing to validate. A reliability
    file replaces the project's stored runs; ``similar``/``contrasting`` pairs are ``A:B`` (default:
    the paper's); ``lower_is_better`` methods are negated besides :data:`LOWER_IS_BETTER`."""
    scores: list[ScoreRecord] = []
    primed_rows: list[PrimedRecord] = []
    used, runs = None, []
    if project:
        store = open_project(project)
        scores, primed_rows, used = project_scores(store, version)
        runs = [] if reliability else stored_reliability(store, used)
    for path in score_files:
        rows = io.read_scores(path)
        clash = {r.method for r in rows} & {r.method for r in scores}
        if clash:
            raise WorkbenchError(f"{path}: method(s) {sorted(clash)} already come from another input: "
                                 "rename the method in the file")
        scores += rows
    if not scores and not primed_rows and not primed and not reliability:
        if project:
            raise WorkbenchError(f"{project}'s scores compare human groups only, no model: generate or import "
                                 f"model documents ('workbench generate'), run 'workbench extract' and "
                                 f"'workbench score', or give other methods' scores with --scores")
        raise WorkbenchError("nothing to validate: give PROJECT (with scores) and/or --scores, --primed or "
                             "--reliability files")
    primed_rows += io.read_primed(primed) if primed else []
    report = validate(
        scores, io.read_downstream(downstream) if downstream else [], primed_rows,
        io.read_reliability(reliability) if reliability else runs,
        io.parse_pairs(similar) if similar else SIMILAR_PAIRS,
        io.parse_pairs(contrasting) if contrasting else CONTRASTING_PAIRS,
        models=models, traits=traits, lower_is_better=LOWER_IS_BETTER | set(lower_is_better),
        pooling=pooling, undefined=undefined)
    return ProjectValidity(report, used)
