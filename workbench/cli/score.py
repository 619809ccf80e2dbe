"""Commands of scoring, validity, generation, reports and exports (registered on the ``workbench`` group)."""
from __future__ import annotations

import json

import click

import prompts

from ..codebook.refine import MIN_SEPARATION
from ..errors import WorkbenchError
from ..experiments.ablations import ABLATIONS
from ..formatting import json_text
from ..store import open_project
from ..vocabulary import METHOD
from . import cost_gate, estimate_options, main, user_errors


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@main.command(short_help="Have a model write on each topic (resumable).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--model", required=True, help="the model to write the documents (on the generator role's endpoint)")
@click.option("--topics", "topics_file", type=click.Path(dir_okay=False, exists=True),
              help="text file, one topic per line (default: the topics of the project's human documents)")
@click.option("--topic-group", help="use the topics of this group's human documents")
@click.option("--persona", help="country for the cultural role-play prompt (App. G), e.g. KR, JP, CN, US")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(min=1), help="documents per topic")
@click.option("--group", help="group of the stored documents (default: the persona, else 'control')")
@click.option("--base-url", help="OpenAI-compatible endpoint for this run (default: roles.generator.base_url)")
@click.option("--limit", type=click.IntRange(min=1), help="only the first N topics")
@click.option("--template", default="topic_writing", show_default=True,
              type=click.Choice(prompts.GENERATION_TEMPLATES),
              help="the unprimed prompt: the paper's (App. G) or one of our two paraphrases (prompts/)")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), help="request seed sent with every call")
@click.option("--quiet", is_flag=True, help="no progress bar")
@estimate_options
@user_errors
def generate(project, model, topics_file, topic_group, persona, samples, group, base_url, limit, template, seed,
             quiet, estimate_only, yes) -> None:
    """Have a model write on each topic; its documents are stored with source = MODEL (resumable)."""
    from ..pipeline.generate import estimate_generate, read_topics
    from ..pipeline.generate import generate as run_generate

    store = open_project(project)
    topics = read_topics(topics_file) if topics_file else None
    estimate = estimate_generate(store, model, topics=topics, persona=persona, samples=samples, group=group,
                                 topic_group=topic_group, base_url=base_url, limit=limit, template=template, seed=seed)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    if samples > 1 and store.config().role("generator").sampling_temperature("generator") == 0:
        click.echo("note: roles.generator.temperature is 0, so the samples of a topic may be identical; "
                   f"set it with 'workbench config {project} roles.generator.temperature 0.7'", err=True)
    report = run_generate(store, model, topics, persona, samples, group, topic_group, base_url, limit,
                          show_progress=not quiet, template=template, seed=seed, estimate=estimate)
    click.echo(report.summary())
    if report.generated:
        click.echo(f"next: 'workbench extract {project}' to extract their value expressions, then "
                   f"'workbench score {project}'")


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
    from ..experiments.ablations import score_ablations
    from ..measures.score import score_project
    from ..report.terminal import print_ablations, print_scores, scores_csv, scores_json

    if as_json and as_csv:
        raise WorkbenchError("choose one of --json and --csv")
    store = open_project(project)
    result = score_project(store, version, groups=_names(groups), sources=_names(sources),
                           halves=halves, show_progress=not (quiet or as_json or as_csv), equal_n=equal_n)
    names = list(ABLATIONS) if "all" in ablations else list(ablations)
    extra = score_ablations(store, names, result.version, groups=_names(groups), sources=_names(sources),
                            show_progress=False) if names else []
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
        from ..measures.known_answer import known_answer
        from ..report.terminal import print_known_answer

        if not project:
            raise WorkbenchError("--known-answer needs PROJECT: the labels are of its documents")
        result = known_answer(open_project(project), known, version, rounds, min_documents,
                              show_progress=not as_json)
        if as_json:
            click.echo(json_text(result.as_dict()))
        else:
            print_known_answer(result)
        return
    from ..measures.validate import LOWER_IS_BETTER, project_scores
    from ..measures.validate import validate as run_validate
    from ..report.terminal import print_validity
    from ..validity import io
    from ..validity.culture_pairs import CONTRASTING_PAIRS, SIMILAR_PAIRS

    from ..measures.reliability import stored_reliability

    scores, primed_rows, used, runs = [], [], None, []
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
    report = run_validate(
        scores, io.read_downstream(downstream) if downstream else [], primed_rows,
        io.read_reliability(reliability) if reliability else runs,
        io.parse_pairs(similar) if similar else SIMILAR_PAIRS,
        io.parse_pairs(contrasting) if contrasting else CONTRASTING_PAIRS,
        models=_names(models), traits=_names(groups), lower_is_better=LOWER_IS_BETTER | set(lower),
        pooling=pooling, undefined=undefined)
    if used is not None and not as_json:  # said once every input has been read without error
        click.echo(f"{METHOD} scores from {project}, codebook version {used}")
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_validity(report)


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


@main.command(short_help="Build with several seeds; how far the codebooks agree.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--seeds", default=3, show_default=True, type=click.IntRange(min=2), help="builds, one seed each")
@click.option("--match", "min_separation", default=MIN_SEPARATION, show_default=True, type=click.FloatRange(0, 1),
              help="held-out separation below which two codes of different seeds count as the same code "
                   "(their members cannot be told apart; the merge criterion, em.min_separation)")
@click.option("--json", "as_json", is_flag=True, help="print the comparison as JSON")
@click.option("--quiet", is_flag=True, help="no progress bars")
@user_errors
def stability(project, seeds, min_separation, as_json, quiet) -> None:
    """Build the codebook with several seeds (offline decoder, auto-approve, copies beside the project)
    and report the ARI of assignments, the share of one-to-one matched codes and the spread of the scores."""
    from ..experiments.stability import stability as run_stability
    from ..report.terminal import print_stability

    report = run_stability(open_project(project), seeds, min_separation, show_progress=not (quiet or as_json))
    if as_json:
        click.echo(json_text(report.as_dict()))
    else:
        print_stability(report)


@main.command(short_help="Write an HTML report with its figures.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="folder for index.html and PNGs")
@click.option("--version", "version", type=int, help="codebook version (default: the latest)")
@click.option("--quiet", is_flag=True, help="no progress bars")
@user_errors
def report(project, out, version, quiet) -> None:
    """Write an HTML report (codebook map, distributions, scores, flows, documents, history)."""
    from ..report.html import write_report

    files = write_report(open_project(project), out, version, show_progress=not quiet)
    if files.font_note:
        click.echo(f"warning: {files.font_note}", err=True)
    click.echo(f"report of codebook version {files.version}: {files.index}")
    for f in files.files:
        click.echo(f"  {f.name:<22} {f.stat().st_size:>9,} bytes")


@main.command(short_help="Export a codebook (JSON, CSV, .qdc) or a .qdpx project.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["json", "csv", "qdc", "qdpx"]),
              help="qdc = REFI-QDA codebook, qdpx = REFI-QDA project with the coded documents (NVivo, ATLAS.ti, "
                   "MAXQDA, QualCoder)")
@click.option("--out", "out", type=click.Path(),
              help="file or folder (default beside the project: codebook-vN.FMT, or PROJECT-vN.qdpx)")
@click.option("--version", "version", type=int, help="codebook version (default: the latest)")
@user_errors
def export(project, fmt, out, version) -> None:
    """Export a codebook as JSON, CSV or a REFI-QDA codebook (.qdc), or the project with its coded
    documents as a REFI-QDA project (.qdpx)."""
    if fmt == "qdpx":
        from ..report.qdpx import export_project, summary_lines

        click.echo("\n".join(summary_lines(export_project(open_project(project), out, version))))
        return
    from ..report.export import export_codebook

    path = export_codebook(open_project(project), fmt, out, version)
    click.echo(f"wrote {path}")
