"""Commands of the build service (:mod:`workbench.build`): ``build``, ``decide``, ``status``."""
from __future__ import annotations

import click

from ..store import open_project
from . import cost_gate, estimate_options, main, user_errors


@main.command(short_help="Learn the codebook (Algorithm 1); resumes where it stopped.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="approve every proposal without pausing (decider 'auto')")
@click.option("--iterations", type=click.IntRange(min=1), help="T, the maximum number of EM iterations")
@click.option("--restart", is_flag=True, help="start a new build thread instead of continuing the current one")
@click.option("--train-source", "train_sources", multiple=True, metavar="NAME",
              help="a model source whose documents also shape the codebook (repeatable; human always does)")
@click.option("--seed-codebook", type=click.Path(dir_okay=False),
              help="start from this codebook (.qdc, a .qdpx's codebook, or CSV name,description[,examples]) "
                   "instead of clustering; a new build only (with --restart once one has started)")
@click.option("--quiet", is_flag=True, help="no progress bars")
@estimate_options
@user_errors
def build(project: str, auto_approve: bool, iterations: int | None, restart: bool, train_sources: tuple[str, ...],
          seed_codebook: str | None, quiet: bool, estimate_only: bool, yes: bool) -> None:
    """Learn the codebook (Algorithm 1) from human documents (and --train-source ones); stops at each
    review pause, continues where it stopped."""
    from ..build import run_build
    from ..build.estimate import estimate_build

    from ..report.terminal import print_build_status, print_node_update

    store = open_project(project)
    estimate = estimate_build(store, iterations)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    for warning in store.config().warnings():
        click.echo(f"warning: {warning}", err=True)
    status = run_build(store, auto_approve=auto_approve, iterations=iterations, restart=restart,
                       show_progress=not quiet, on_update=print_node_update, train_sources=train_sources,
                       seed_codebook=seed_codebook, estimate=estimate)
    print_build_status(store, status)


@main.command(short_help="Decide the proposals that wait (a build's or a review's).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--approve", "approve", multiple=True, type=int, help="proposal id to approve (repeatable)")
@click.option("--reject", "reject", multiple=True, type=int, help="proposal id to reject (repeatable)")
@click.option("--rename", type=(int, str), multiple=True, metavar="ID NAMES",
              help="approve proposal ID with new names, 'first|second' for a split; a review proposal's new name")
@click.option("--approve-all", is_flag=True, help="approve every proposal of the paused build still waiting")
@click.option("--keep", multiple=True, type=int, help="review proposal id whose code stays as it is (repeatable)")
@click.option("--split", type=(int, str), multiple=True, metavar="ID NAMES",
              help="split the code of review proposal ID in two, named 'first|second'")
@click.option("--merge", type=(int, str), multiple=True, metavar="ID CODE",
              help="merge the code of review proposal ID with the code named CODE")
@click.option("--by", "decider", required=True, help="who decides (stored with each decision)")
@user_errors
def decide(project, approve, reject, rename, approve_all, keep, split, merge, decider) -> None:
    """Record decisions on the proposals waiting: a paused build's (then run 'workbench build') and
    the review proposals of codes the annotators do not agree on (carried out at once). Without a
    decision: list what waits."""
    from ..build import decide as record_decisions
    from ..build import review_queue
    from ..report.terminal import print_waiting

    store = open_project(project)
    if not (approve or reject or rename or approve_all or keep or split or merge):
        print_waiting(store, review_queue(store, decider)[1])
        return
    review_queue(store, decider)  # the review proposals of the current labels (refuses who may not decide)
    done = record_decisions(store, decider, approve=approve, reject=reject, approve_all=approve_all,
                            rename=[(pid, names.split("|")) for pid, names in rename],
                            review=[*((pid, "keep", []) for pid in keep),
                                    *((pid, "split", names.split("|")) for pid, names in split),
                                    *((pid, "merge", [name]) for pid, name in merge)])
    left = len(done.undecided)
    on_build = done.on_build
    click.echo(f"recorded {len(done.ids)} decision(s) by {decider}; {left} still undecided"
               + (f"; continue with: workbench build {project}" if on_build and not left else ""))
    for pid, version in done.applied.items():
        click.echo(f"  review #{pid}: " + ("kept, no change" if version is None else f"codebook version {version}"))
    for pid, where in done.votes.items():
        if pid not in done.applied:
            click.echo(f"  #{pid}: {where}")


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@user_errors
def status(project: str) -> None:
    """Show what the project holds and where the build is."""
    from ..build import build_status

    from ..report.terminal import print_build_status, run_cost_lines

    store = open_project(project)
    click.echo(f"{project}: schema v{store.schema_version}")
    for group, source, n in store.document_counts():
        click.echo(f"  {group:<12} {source:<20} {n:>7,} documents")
    extracted = store.extraction_counts()
    click.echo(f"  extracted {extracted['ok']:,} documents ({extracted['failed']} failed), "
               f"{store.count('expressions'):,} expressions")
    for line in run_cost_lines(store):
        click.echo(line)
    print_build_status(store, build_status(store))
