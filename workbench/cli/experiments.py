"""Commands of the experiments on the method: ``stability`` (registered on the ``workbench`` group)."""
from __future__ import annotations

import click

from ..codebook.refine import MIN_SEPARATION
from ..formatting import json_text
from ..store import open_project
from . import main, user_errors


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
