"""Commands that write a project's results out: ``report`` (HTML) and ``export`` (JSON, CSV, REFI-QDA)
(registered on the ``workbench`` group)."""
from __future__ import annotations

import click

from ..store import open_project
from . import main, user_errors


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
