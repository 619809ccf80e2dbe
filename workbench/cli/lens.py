"""``workbench lens fit``: the value lens for an embedder other than the offline one."""
from __future__ import annotations

import click

from . import main, user_errors


@main.group(short_help="The value lens: fit one for another embedder.")
def lens() -> None:
    """The value lens (roles.embedder.representation value-lens)."""


@lens.command("fit", short_help="Fit the value lens for this project's embedder.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--data", required=True, type=click.Path(file_okay=False, exists=True),
              help="the folder holding ValueEval's arguments-training.tsv and labels-training.tsv")
@user_errors
def fit(project, data) -> None:
    """Fit the value lens for PROJECT's embedder on ValueEval's training split and store it in
    PROJECT; then set roles.embedder.representation value-lens and build."""
    from ..lens import fit_project_lens
    from ..store import open_project

    fitted = fit_project_lens(open_project(project), data)
    click.echo(f"value lens {fitted.tag.lstrip('|')} for {fitted.embedder}: {len(fitted.label_names)} value "
               f"directions over {fitted.directions.shape[1]}-d vectors, fitted on the {fitted.source}")
