"""Terminal output: the build's per-node lines, its status and codebooks; scoring and validity as
rich tables, and their CSV / JSON forms."""
from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from ..build.lines import TERMS, held_out_term, node_line, score_terms
from ..build.review import review_line
from ..build.seed import describe_seed
from ..formatting import MISSING, fmt, percent
from ..llm.cost import dollars, price_of, usage_cost
from ..measures.score import AblationResult, ScoreResult
from ..measures.validate import ValidityReport
from ..pipeline.code_view import code_views, working_version
from ..store import Store
from ..vocabulary import HUMAN, METHOD, SCORE_HEADER

console = Console()
# Piped or redirected (`./run demo > log`), lines are as long as their content: at rich's default of
# 80 columns a table cut its numbers ("[1.41…") and group names.
piped = Console(width=100_000)


def _console() -> Console:
    """The terminal, or a console that never wraps nor cuts when stdout is not a terminal."""
    return console if console.is_terminal else piped


def _f(x: float | None, digits: int = 4) -> str:
    return fmt(x, digits, MISSING)


def _pct(x: float | None) -> str:
    """A ratio as a percentage with two decimals, as the paper's Table 1 prints it (0.3156 → 31.56 %)."""
    return percent(x, 2, MISSING, " %")


def _ablation_dicts(ablations: list[AblationResult]) -> list[dict]:
    """One dict per ablation cell: the paper's measure (as ``r``, its raw figure as ``D``), then ours
    where kept (``ours``)."""
    found = []
    for a in ablations:
        method, measure, rows = a.score_rows()[0]  # the paper's measure
        for row, r in zip(rows, a.rows):
            ours = {"ours_measure": a.ours_measure, "ours": r.ours,
                    "ours_ci": list(r.ours_ci) if r.ours_ci else None} if a.ours_measure else {}
            found.append({"method": method, "measure": measure, "codebook_version": a.version, **row, **ours,
                          **r.extra})
    return found


def score_csv(rows: list[dict]) -> str:
    """Score rows (``method``, ``codebook_version`` and the fields of ``vocabulary.SCORE_COLUMNS``;
    other keys are left out) as CSV with ``SCORE_HEADER``: ``score --csv`` and the report's scores.csv."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SCORE_HEADER, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def scores_csv(result: ScoreResult, ablations: list[AblationResult] = ()) -> str:
    """DOVE's rows (method ``dove``), then each ablation's in the paper's measure (method
    ``dove:<name>``) and in ours where kept (``dove:<name>:ours``), as the store saves them."""
    return score_csv([{"method": METHOD, **row} for row in result.as_dicts()]
                     + [{"method": method, "codebook_version": a.version, **row}
                        for a in ablations for method, _, rows in a.score_rows() for row in rows])


def scores_json(result: ScoreResult, ablations: list[AblationResult] = ()) -> str:
    return json.dumps({"codebook_version": result.version, "K": result.K, "sigma": result.sigma,
                       "config": result.config.model_dump(), "rows": result.as_dicts(), "notes": result.notes,
                       "ablations": _ablation_dicts(ablations)}, indent=2) + "\n"


def print_ablations(result: ScoreResult, ablations: list[AblationResult]) -> None:
    """DOVE beside each ablation, one row per (group, source) cell: each ablation's paper measure,
    then ours where kept."""
    console = _console()
    cells = {(a.name, r.group, r.source): r for a in ablations for r in a.rows}
    table = Table(title=f"DOVE and its ablations (Sec. 4.4), codebook version {result.version}")
    columns = [c for a in ablations for c in ((a, "value", f"{a.name}: {a.measure}"),
                                               *([(a, "ours", f"{a.name}: {a.ours_measure}")] if a.ours_measure
                                                 else []))]
    for col in ("group", "source", "DOVE r", *(title for _, _, title in columns)):
        table.add_column(col, justify="left" if col in ("group", "source") else "right")
    for r in result.rows:
        table.add_row(r.group, r.source, _f(r.r), *(_f(getattr(cells[(a.name, r.group, r.source)], what))
                                                    if (a.name, r.group, r.source) in cells else "—"
                                                    for a, what, _ in columns))
    console.print(table)
    for a in ablations:
        for note in a.notes:
            console.print(f"[yellow]note:[/yellow] {note}")


def print_scores(result: ScoreResult) -> None:
    console = _console()
    cfg = result.config
    level = round(cfg.ci_level * 100)
    interval = f"{level}% {cfg.ci_method} bootstrap CI ({cfg.n_boot} resamples)" if cfg.n_boot else "no CI (n_boot = 0)"
    sizes = f", every source subsampled to {cfg.equal_n} documents ×{cfg.equal_n_repeats}" if cfg.equal_n else ""
    table = Table(title=f"DOVE alignment, codebook version {result.version} (K = {result.K}): "
                        f"r = (0.1 − D)·10, {interval}{sizes}")
    for col in ("group", "source", "r", "r bias-corrected", f"{level}% {cfg.ci_method} CI", "D", "bias", "ceiling",
                "r/ceiling", "n group", "n source"):
        table.add_column(col, justify="left" if col in ("group", "source") else "right", no_wrap=True)
    previous = None
    for r in result.rows:
        if previous is not None and r.group != previous:
            table.add_section()
        previous = r.group
        capped = "*" if r.ceiling_n is not None and r.ceiling_n < r.n_source_docs else ""
        table.add_row(r.group, r.source, _f(r.r), _f(r.r_corrected), f"[{_f(r.ci_low)}, {_f(r.ci_high)}]", _f(r.D, 5),
                      _f(r.D_bias, 5),
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
    console.print(f"bias: D minus the {cfg.ci_method} method's bias-corrected D (the plug-in D overstates the distance "
                  "by about this much); r bias-corrected: r of that D, shown where the bias exceeds the bootstrap "
                  "spread (the plug-in r is off by more than its noise; 1.0000 there: the estimated bias is as large as D "
                  "itself, so at this size the data cannot tell the pair from identical); the interval is around it; "
                  f"ceiling: the group's own split-half r at the source's document count (mean of "
                  f"{cfg.ceiling_splits} random splits; * = fewer documents per half, the group has too few)")
    console.print(f"ε = {cfg.eps}, τ = {cfg.tau}, ε₂ = {cfg.eps2}, cost from {cfg.cost_from} documents, "
                  f"seed {cfg.seed}, σ = {result.sigma:.4f}; {result.seconds:.1f} s")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def print_stability(report) -> None:
    """``workbench stability``: the builds, their pairwise agreement and the scores' spread."""
    console = _console()
    builds = Table(title="codebook builds, one seed each (offline decoder and namer, auto-approve)")
    for col in ("seed", "version", "K", "stopped", "project copy"):
        builds.add_column(col)
    for b in report.seeds:
        builds.add_row(str(b.seed), str(b.version), str(b.K), b.stop_reason or "—", b.path)
    console.print(builds)
    pairs = Table(title="agreement between seeds (codes matched one-to-one when their members cannot be told apart: "
                        f"held-out separation < {report.min_separation})")
    for col in ("seeds", "ARI of assignments", "codes matched", "share matched"):
        pairs.add_column(col, justify="left" if col == "seeds" else "right")
    for p in report.pairs:
        pairs.add_row(f"{p['seed_a']} × {p['seed_b']}", _f(p["ari"], 3), f"{p['matched']} of {max(p['K_a'], p['K_b'])}",
                      _f(p["matched_share"], 3))
    console.print(pairs)
    if report.score_spread:
        spread = Table(title="DOVE r across seeds")
        for col in ("group", "source", "r per seed", "sd"):
            spread.add_column(col, justify="right" if col == "sd" else "left")
        for c in report.score_spread:
            spread.add_row(c["group"], c["source"], ", ".join(_f(v, 3) for v in c["r"]), _f(c["sd"], 4))
        console.print(spread)


def print_known_answer(report) -> None:
    """Spearman ρ per method (``workbench validate --known-answer``)."""
    console = _console()
    table = Table(title=f"Known-answer check, codebook version {report.version}: Spearman ρ between each method's "
                        "distance and the true label divergence")
    for col in ("method", "ρ", "95% CI", "pairs"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, a in report.agreement.items():
        table.add_row(method, _f(a.rho, 3), f"[{_f(a.low, 3)}, {_f(a.high, 3)}]", str(a.n_pairs))
    console.print(table)
    console.print(f"{report.n_documents} labelled documents ({len(report.label_names)} labels) from "
                  f"{report.labels_file}; true JS from {_f(report.truth_range[0], 3)} to {_f(report.truth_range[1], 3)}; "
                  f"embeddings: {report.representation or 'remote embedder'} ({report.embedder})")
    for note in report.notes:
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


# ------------------------------------------------------------------------------- the build

def llm_counts(s: dict) -> str:
    """The LLM accounting of a run, as one clause of a summary line."""
    return (f"LLM calls {s['calls']} (cache hits {s['cache_hits']}, failures {s['failures']}: invalid outputs "
            f"{s['invalid_outputs']}, refusals {s.get('refusals', 0)}, timeouts {s.get('timeouts', 0)}; HTTP retries "
            f"{s['http_retries']}), tokens {s['tokens_in']}+{s['tokens_out']}")


def llm_errors(s: dict) -> list[str]:
    """One line per kind of failed LLM call: how many, and the first error of that kind (the reason)."""
    return [f"  {e['count']} × {e['first']}" for e in s.get("errors", {}).values()]


def print_node_update(node: str, values: dict) -> None:
    console = _console()
    console.print(f"[dim]▸[/dim] {node_line(node, values)}")


def print_waiting(store: Store, views: list) -> None:
    """The proposals waiting for a decision (``workbench decide`` without one), with how to decide."""
    console = _console()
    if not views:
        console.print("nothing waits for a decision")
        return
    for v in views:
        ev = v.evidence
        if v.kind == "review":
            console.print(f"  #{v.id} review '{ev.get('name')}': {review_line(ev)}")
        else:
            target = f" into '{ev.get('target_name')}'" if v.kind == "merge" else ""
            console.print(f"  #{v.id} {v.kind} '{ev.get('name')}'{target}" + (f" → {v.names}" if v.names else ""))
    console.print(f"decide with 'workbench decide {store.path} --by NAME' and --approve/--reject/--rename ID "
                  "(a build's), --rename/--split/--merge/--keep ID (a review proposal's)")


LLM_COMMANDS = ("extract", "build", "generate", "reliability", "survey run")


def run_cost_lines(store: Store, commands: tuple[str, ...] = LLM_COMMANDS) -> list[str]:
    """Each command's last run that was estimated: the calls, tokens and cost it used (with those of
    the runs that were part of it) beside the estimate, in total and per (role, model) when there
    are several."""
    config, lines = store.config(), []
    keys = ("calls", "tokens_in", "tokens_out")

    def compared(used: dict, planned: dict | None, used_cost: float | None, planned_cost: float | None) -> str:
        est = (lambda k: f" (estimate {planned[k]:,})") if planned else (lambda k: " (not estimated)")
        return (f"{used['calls']:,} calls{est('calls')}, {used['tokens_in']:,} input tokens{est('tokens_in')}, "
                f"{used['tokens_out']:,} output tokens{est('tokens_out')}, cost {dollars(used_cost)}"
                + (f" (estimate {dollars(planned_cost)})" if planned else ""))

    for command in commands:
        run = store.latest_estimated_run(command)
        if run is None or not run["estimate"].get("roles"):
            continue
        usage, estimate = store.run_usage(run["id"]), run["estimate"]
        total = {k: sum(r[k] for r in usage) for k in keys}
        planned = {k: sum(r[k] for r in estimate["roles"]) for k in keys}
        # what produced each figure: the estimate's token counters and prices, the prices of the use
        counters = dict.fromkeys(r["counted_with"] for r in estimate["roles"] if r.get("counted_with"))
        prices = dict.fromkeys([*(r["price_source"] for r in estimate["roles"] if r.get("price_source")),
                                *(price_of(config, r["model"])[1] for r in usage)])
        lines.append(f"last {command}: {compared(total, planned, usage_cost(config, usage), estimate.get('cost'))}; "
                     f"tokens as the endpoint counted them (estimate: {'; '.join(counters)}); "
                     f"prices: {'; '.join(prices)}")
        pairs = {(r["role"], r["model"]): None for r in [*estimate["roles"], *usage]}
        if len(pairs) > 1:
            for role, model in pairs:
                used = [r for r in usage if (r["role"], r["model"]) == (role, model)]
                est = next((r for r in estimate["roles"] if (r["role"], r["model"]) == (role, model)), None)
                lines.append(f"  {role} {model or '—'}: " + compared(
                    {k: sum(r[k] for r in used) for k in keys}, est, usage_cost(config, used), est and est["cost"]))
    return lines


def print_build_status(store: Store, status) -> None:
    console = _console()
    for v in store.versions():
        if v["reason"] == "imported":
            source = json.loads(v["diff"] or "{}").get("imported", {})
            console.print(f"codebook version {v['version']}: {v['K']} codes imported from {source.get('file', '?')} "
                          f"({source.get('format', 'a file')})", markup=False, highlight=False)
    if status.state == "new":
        console.print("build: not started (run 'workbench build PROJECT')")
        return
    rows = [r for r in store.iterations(status.thread_id)]
    if rows:
        table = Table(title=f"build {status.thread_id}: S(C) = −d̄ + β1·M·H(z|x) − β2·M·Ĥ(z|C) per iteration")
        for col in ("t", "version", "K", "S(C)", "95% CI", *TERMS, "held-out −d̄", "kept"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["iteration"]), str(r["version"]), str(r["K"]), f"{r['S']:.4f}",
                          f"[{r['S_low']:.4f}, {r['S_high']:.4f}]", *score_terms(r), held_out_term(r),
                          {1: "yes", 0: "no"}.get(r.get("kept"), "–"))
        console.print(table)
        console.print("decoder: " + ", ".join(dict.fromkeys(r["decoder"] for r in rows))
                      + ("; held-out −d̄: the reconstruction term on held-out documents, which judge each change "
                         "(kept: not below the last kept version's)" if any(r.get("heldout_distortion") is not None
                                                                          for r in rows) else ""))
    record = store.build_record(status.thread_id)
    if record is not None and record.get("seeded"):
        console.print(f"C⁰ {describe_seed(record['seeded'])}", markup=False, highlight=False)
    if record is not None:
        console.print(f"codebook trained on source(s): {', '.join(record.get('train_sources', [HUMAN]))} "
                      f"({record.get('n_train_documents', '?')} documents); every other source is only mapped onto "
                      f"it · σ of Eq. 15 fixed at {fmt(record.get('sigma'), 4)} for the build · documents embedded "
                      f"from their {record.get('document_input', 'first 2,000 characters')}")
    if status.state == "paused":
        waiting = len(status.proposal_ids)
        console.print(f"[bold]paused for review:[/bold] {waiting} proposal(s) wait, {len(status.undecided)} undecided. "
                      f"Review them with 'workbench review {store.path} --annotator NAME', or decide with "
                      f"'workbench decide {store.path} --approve-all --by NAME', then run 'workbench build {store.path}'.")
        for p in store.proposals(status.proposal_ids):
            ev = json.loads(p["evidence"])
            target = f" into '{ev.get('target_name')}'" if p["kind"] == "merge" else ""
            names = json.loads(p["names"]) if p["names"] else []
            console.print(f"  #{p['id']} {p['kind']} '{ev.get('name')}'{target}: n_k = {ev['n_k']:.1f}, "
                          f"z = {ev['z']:.2f}" + (f" → {names}" if names else ""))
    elif status.state == "finished":
        info = store.build_summary(status.thread_id)
        changes = ", ".join(f"{n} {state}" for state, n in info.get("changes", {}).items()) or "none"
        console.print(f"build finished: codebook version {status.version}, {status.stop_reason}; "
                      f"changes: {changes}")
    elif status.state == "running":
        console.print(f"build {status.running_line}")
    else:
        console.print(f"build interrupted before {status.next_nodes}: run 'workbench build {store.path}' to continue")
    if status.llm.get("calls") or status.llm.get("failures"):
        console.print(f"this run: {llm_counts(status.llm)}")
        for line in llm_errors(status.llm):
            console.print(line, markup=False, highlight=False)


def print_codebook(store: Store, version: int | None, top: int) -> None:
    console = _console()
    version = working_version(store, version)
    views = code_views(store, version, n_central=top)
    table = Table(title=f"codebook version {version}: K = {len(views)}")
    for col in ("#", "name", "named by", "size", "usage n_k", "central expressions"):
        table.add_column(col, overflow="fold")
    for code in views:
        table.add_row(str(code.idx), code.name or "—", code.name_source or "—", str(code.size),
                      MISSING if code.usage is None else f"{code.usage:.1f}", "\n".join(code.central))
    console.print(table)
