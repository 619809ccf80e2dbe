"""Terminal output of scoring and validity (rich tables), and their CSV / JSON forms."""
from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from ..formatting import MISSING, fmt, percent
from ..scoring import ScoreResult
from ..validate import ValidityReport

console = Console()
WIDE = 200  # piped output: wide enough that group and source names are not cut


def _console() -> Console:
    return console if console.is_terminal else Console(width=WIDE)

SCORE_FIELDS = ["codebook_version", "group", "source", "D", "D_bias", "r", "ci_low", "ci_high", "ci_method", "ceiling",
                "ceiling_n", "r_over_ceiling", "n_group_docs", "n_source_docs"]


def _f(x: float | None, digits: int = 4) -> str:
    return fmt(x, digits, MISSING)


def _pct(x: float | None) -> str:
    """A ratio as a percentage with two decimals, as the paper's Table 1 prints it (0.3156 → 31.56 %)."""
    return percent(x, 2, MISSING, " %")


def scores_csv(result: ScoreResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SCORE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.as_dicts())
    return out.getvalue()


def scores_json(result: ScoreResult) -> str:
    return json.dumps({"codebook_version": result.version, "K": result.K, "sigma": result.sigma,
                       "config": result.config.model_dump(), "rows": result.as_dicts(), "notes": result.notes},
                      indent=2) + "\n"


def print_scores(result: ScoreResult) -> None:
    console = _console()
    cfg = result.config
    level = round(cfg.ci_level * 100)
    interval = f"{level}% {cfg.ci_method} bootstrap CI ({cfg.n_boot} resamples)" if cfg.n_boot else "no CI (n_boot = 0)"
    sizes = f", every source subsampled to {cfg.equal_n} documents ×{cfg.equal_n_repeats}" if cfg.equal_n else ""
    table = Table(title=f"DOVE alignment, codebook version {result.version} (K = {result.K}): "
                        f"r = (0.1 − D)·10, {interval}{sizes}")
    for col in ("group", "source", "r", f"{level}% CI", "D", "bias", "ceiling", "r/ceiling", "n group", "n source"):
        table.add_column(col, justify="left" if col in ("group", "source") else "right", no_wrap=True)
    previous = None
    for r in result.rows:
        if previous is not None and r.group != previous:
            table.add_section()
        previous = r.group
        capped = "*" if r.ceiling_n is not None and r.ceiling_n < r.n_source_docs else ""
        table.add_row(r.group, r.source, _f(r.r), f"[{_f(r.ci_low)}, {_f(r.ci_high)}]", _f(r.D, 5), _f(r.D_bias, 5),
                      _f(r.ceiling) + capped, _f(r.r_over_ceiling, 3), str(r.n_group_docs), str(r.n_source_docs))
    console.print(table)
    groups = list(dict.fromkeys(r.group for r in result.rows))
    sources = list(dict.fromkeys(r.source for r in result.rows))
    cells = {(r.group, r.source): r for r in result.rows}
    matrix = Table(title="r: group (row) × source (column)")
    matrix.add_column("group")
    for s in sources:
        matrix.add_column(s, justify="right")
    for g in groups:
        matrix.add_row(g, *[_f(cells[(g, s)].r, 3) if (g, s) in cells else "" for s in sources])
    console.print(matrix)
    console.print("bias: bootstrap mean of D minus D (the plug-in D overstates the distance by about this much); "
                  f"ceiling: the group's own split-half r at the source's document count (mean of "
                  f"{cfg.ceiling_splits} random splits; * = fewer documents per half, the group has too few)")
    console.print(f"ε = {cfg.eps}, τ = {cfg.tau}, ε₂ = {cfg.eps2}, cost from {cfg.cost_from} documents, "
                  f"seed {cfg.seed}, σ = {result.sigma:.4f}; {result.seconds:.1f} s")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def print_validity(report: ValidityReport) -> None:
    console = _console()
    console.print(f"methods: {', '.join(report.methods) or '—'}; traits (groups): {', '.join(report.traits) or '—'}; "
                  f"models: {', '.join(report.models) or '—'}")
    if report.convergent is not None or report.discriminant is not None:
        table = Table(title="MTMM construct validity (App. E.3)")
        table.add_column("method")
        table.add_column("convergent A (Eq. 5)", justify="right")
        table.add_column("discriminant B (Eq. 6)", justify="right")
        for m in report.methods:
            table.add_row(m, _f((report.convergent or {}).get(m)), _f((report.discriminant or {}).get(m)))
        console.print(table)
    if report.predictive:
        pv = report.predictive
        undefined = "undefined r counted as 0" if pv["undefined"] == "zero" else "undefined r left out"
        table = Table(title=f"predictive validity: Pearson r (%) with downstream performance, one per "
                            f"{pv['pooling']}; average over them, {undefined}")
        table.add_column("benchmark")
        table.add_column("rows", justify="right")
        for m in report.methods:
            table.add_column(m, justify="right")
        for key, by_method in pv["per_benchmark"].items():
            table.add_row(key, str(pv["points"][key]), *[_pct(by_method.get(m)) for m in report.methods])
        table.add_section()
        table.add_row("average", "", *[_pct(pv["average"].get(m)) for m in report.methods])
        console.print(table)
    if report.priming:
        table = Table(title="value priming: change ratios Δ (%) vs control")
        for col in ("method", "model", "Δ_tar", "Δ_rel", "Δ_conf"):
            table.add_column(col, justify="right" if col.startswith("Δ") else "left")
        for p in report.priming:
            table.add_row(p["method"], p["model"], _pct(p["delta_target"]), _pct(p["delta_relevant"]),
                          _pct(p["delta_conflicting"]))
        console.print(table)
    if report.reliability:
        table = Table(title="reliability: Cronbach's α and mean CV over models")
        for col in ("method", "kind", "group", "α", "CV", "models", "items"):
            table.add_column(col, justify="right" if col in ("α", "CV", "models", "items") else "left")
        for r in report.reliability:
            table.add_row(r["method"], r["kind"], r["group"], _f(r["alpha"]), _f(r["cv"]), str(r["n_models"]),
                          str(r["n_items"]))
        console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
