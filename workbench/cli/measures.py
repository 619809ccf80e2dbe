"""Commands of the measures: ``score`` (with its ablations), ``validate`` (with the known-answer
check) and ``reliability`` (registered on the ``workbench`` group)."""
from __future__ import annotations

import json

import click

from ..errors import WorkbenchError
from ..experiments.ablations import ABLATIONS
from ..formatting import json_text
from ..store import open_project
from ..vocabulary import METHOD
from . import cost_gate, estimate_options, main, user_errors


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@main.command(short_help="Score every human group against every source (DOVE r).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--version", "version", type=int, help="codebook version (default: the latest)")
@click.option("--halves", is_flag=True, help="also score random halves of each group (G/half1, G/half2)")
@click.option("--groups", help="comma-separated human groups to score (default: all)")
@click.option("--sources", help="comma-separated sources to score against (default: all)")
@click.option("--equal-n", "equal_n", metavar="N|min",
              help="subsample every source to N documents (min: the smallest source's), repeated and averaged")
@click.option("--ablation", "ablations", multiple=True, type=click.Choice([*ABLATIONS, "all"]),
              help="also score an ablation (Sec. 4.4, Table 2), in the paper's measure and ours where kept, shown "
                   "and stored beside DOVE (repeatable; all = every one; no-redundancy builds a codebook again)")
@click.option("--json", "as_json", is_flag=True, help="print the table as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="print the table as CSV")
@click.option("--quiet", is_flag=True, help="no progress bars")
@user_errors
def score(project, version, halves, groups, sources, equal_n, ablations, as_json, as_csv, quiet) -> None:
    """Score every human group against every source: debiased UOT and r with bootstrap intervals.

    D is Eq. 22 (App. F.3), r = (0.1 - D)*10 (App. E.4); each row also shows D's estimated bias (and
    the bias-corrected r where that bias exceeds the bootstrap spread), the interval's method, and
    the ceiling (the group's split-half r at the source's size) with r/ceiling. Settings are the
    project's: see them with 'workbench config PROJECT' (alignment.eps, alignment.tau, alignment.eps2,
    alignment.n_boot, alignment.ci_method, alignment.ceiling_splits, alignment.equal_n_repeats)."""
    from ..experiments.ablations import score_with_ablations
    from ..report.terminal import print_ablations, print_scores, scores_csv, scores_json

    if as_json and as_csv:
        raise WorkbenchError("choose one of --json and --csv")
    result, extra = score_with_ablations(open_project(project), version, ablations, groups=_names(groups),
                                         sources=_names(sources), halves=halves, equal_n=equal_n,
                                         show_progress=not (quiet or as_json or as_csv))
    if as_json:
        click.echo(scores_json(result, extra), nl=False)
    elif as_csv:
        click.echo(scores_csv(result, extra), nl=False)
    else:
        print_scores(result)
        if extra:
            print_ablations(result, extra)


@main.command(short_help="Validity checks (App. E.3), or the known-answer check.")
@click.argument("project", required=False, type=click.Path(dir_okay=False))
@click.option("--scores", "score_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="other methods' scores: CSV/TSV/JSON with method, group, source, value (repeatable)")
@click.option("--downstream", type=click.Path(dir_okay=False, exists=True),
              help="downstream performance: benchmark, group, source, performance")
@click.option("--primed", type=click.Path(dir_okay=False, exists=True),
              help="persona-primed scores: method, persona, group, source, value (persona 'control' = unprimed)")
@click.option("--reliability", type=click.Path(dir_okay=False, exists=True),
              help="repeated scores: method, kind, item, group, source, value")
@click.option("--version", "version", type=int, help="codebook version of PROJECT's scores (default: latest scored)")
@click.option("--similar", multiple=True, help="culturally similar pair A:B (repeatable; default KR:JP, KR:CN, JP:CN)")
@click.option("--contrasting", multiple=True, help="contrasting pair A:B (repeatable; default KR:US, JP:US, CN:US)")
@click.option("--models", help="comma-separated models (default: those every method scored)")
@click.option("--groups", help="comma-separated cultures/traits (default: those every method scored)")
@click.option("--lower-is-better", "lower", multiple=True,
              help="a method whose scores are distances, negated before the analyses (repeatable; "
                   "survey-KL and survey-JS always are)")
@click.option("--pooling", type=click.Choice(["benchmark", "cell"]), default="benchmark", show_default=True,
              help="predictive r: one per benchmark over all its model × culture rows (reproduces Table 1), "
                   "or one per (benchmark, culture)")
@click.option("--undefined-r", "undefined", type=click.Choice(["zero", "skip"]), default="zero", show_default=True,
              help="a benchmark's undefined predictive r (a culture a method has no scores for) counts as 0 in "
                   "the average (reproduces Table 1) or is left out")
@click.option("--known-answer", "known", type=click.Path(dir_okay=False, exists=True),
              help="gold labels of PROJECT's documents (id, then one 0/1 column per label): Spearman ρ of DOVE and "
                   "each ablation with the true label divergence over populations with one topic mix")
@click.option("--rounds", default=2, show_default=True, type=click.IntRange(min=1),
              help="--known-answer: pairs per topic and strength (an unshifted pair and one each at s = 3, 30, 300)")
@click.option("--min-documents", default=6, show_default=True, type=click.IntRange(min=2),
              help="--known-answer: labelled documents a topic needs to give pairs")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
@user_errors
def validate(project, score_files, downstream, primed, reliability, version, similar, contrasting, models, groups,
             lower, pooling, undefined, known, rounds, min_documents, as_json) -> None:
    """Validity checks: MTMM A and B, predictive r, priming Δ, reliability α and CV (App E.3);
    with --known-answer, whether the score ranks value differences on labelled documents.

    DOVE's scores come from PROJECT (if given), other methods' from --scores files."""
    if known:
        from ..measures.known_answer import project_known_answer
        from ..report.terminal import print_known_answer

        result = project_known_answer(project, known, version, rounds, min_documents, show_progress=not as_json)
        if as_json:
            click.echo(json_text(result.as_dict()))
        else:
            print_known_answer(result)
        return
    from ..measures.validate import validate_inputs
    from ..report.terminal import print_validity

    run = validate_inputs(project, score_files, downstream, primed, reliability, version, similar, contrasting,
                          models=_names(models), traits=_names(groups), lower_is_better=lower, pooling=pooling,
                          undefined=undefined)
    if run.version is not None and not as_json:  # said once every input has been read without error
        click.echo(f"{METHOD} scores from {project}, codebook version {run.version}")
    if as_json:
        click.echo(json.dumps(run.report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_validity(run.report)


@main.command(short_help="Reliability runs (Sec. 4.3): Cronbach's α and CV.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--version", "version", type=int, help="codebook version (default: the latest)")
@click.option("--splits", default=3, show_default=True, type=click.IntRange(min=2), help="runs of each kind")
@click.option("--seed", default=0, show_default=True,
              help="seed of the topic halves and re-draws; generation runs send seeds SEED+1 … SEED+SPLITS")
@click.option("--model-source", "model_sources", multiple=True, metavar="LABEL=MODEL",
              help="the model that wrote an imported source (LABEL as in the score table), to re-generate it "
                   "(repeatable; sources 'generate' wrote need none)")
@click.option("--json", "as_json", is_flag=True, help="print the runs' α and CV as JSON")
@click.option("--quiet", is_flag=True, help="no progress bars")
@estimate_options
@user_errors
def reliability(project, version, splits, seed, model_sources, as_json, quiet, estimate_only, yes) -> None:
    """Reliability runs (Sec. 4.3, Table 12): sampling (topic halves), test-retest and template
    invariance; Cronbach's α and CV, stored for 'validate'. With a generator endpoint each model
    writes its topics again (three seeds, three templates; cached, resumable); without one,
    test-retest is a bootstrap re-draw of the stored documents and template invariance is not run."""
    from ..measures.reliability import estimate_reliability, reliability_runs
    from ..report.terminal import print_validity

    pairs = [m.partition("=") for m in model_sources]
    if any(not label.strip() or not sep or not model.strip() for label, sep, model in pairs):
        raise WorkbenchError("--model-source takes LABEL=MODEL, e.g. --model-source 'example-llm@KR=gpt-4o'")
    store, named = open_project(project), {label.strip(): model.strip() for label, _, model in pairs}
    estimate = estimate_reliability(store, splits, seed, named)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    runs = reliability_runs(store, version, splits, seed, show_progress=not (quiet or as_json), model_sources=named,
                            estimate=estimate)
    if as_json:
        click.echo(json_text({"codebook_version": runs.version, "reliability": runs.report.reliability,
                              "notes": runs.notes}))
        return
    click.echo(f"reliability runs of codebook version {runs.version}: {len(runs.records)} scores stored")
    print_validity(runs.report)
    for note in runs.notes:
        click.echo(f"note: {note}")
