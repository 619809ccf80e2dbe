"""Commands of the annotators' workbench: review, agreement, labels (registered on the ``workbench`` group)."""
from __future__ import annotations

import json

import click

from ..errors import WorkbenchError
from ..store import open_project
from . import main, user_errors

TASK_CHOICES = ("proposals", "code_quality", "mapping")


def code_names(store, version: int | None) -> dict[str, str]:
    """{uid: name} of a codebook version; empty when the labels name a version the project lacks."""
    try:
        return {c.uid: c.name for c in store.codes_of(version)} if version is not None else {}
    except WorkbenchError:
        return {}


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--annotator", required=True, help="your name, stored with every label and decision")
@click.option("--codebook-version", type=int, help="codebook version to audit and map (default: the latest)")
@click.option("--serve", is_flag=True, hidden=True, help="replaced by 'workbench serve' (personal links)")
@user_errors
def review(project: str, annotator: str, codebook_version: int | None, serve: bool) -> None:
    """Review a paused build, audit code names, label mappings, see agreement, adjudicate (a TUI)."""
    from ..annotate.tasks import check_annotator
    from ..code_view import working_version

    annotator = check_annotator(annotator)
    store = open_project(project)
    if codebook_version is not None:
        working_version(store, codebook_version)
    store.close()
    if serve:  # the browser server without a login is gone: a team's server opens only personal links
        raise WorkbenchError("the browser app is now 'workbench serve PROJECT', opened by personal links: "
                             f"'workbench annotators PROJECT add {annotator}' prints yours")
    from ..tui import WorkbenchApp

    WorkbenchApp(project, annotator, codebook_version).run()


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--task", type=click.Choice(TASK_CHOICES), help="one task (default: all)")
@click.option("--round", "round_", type=click.Choice(["final", "first"]), default="final", show_default=True,
              help="final: re-annotations replace first-round labels; first: first round only")
@click.option("--codebook-version", type=int, help="version of the labels (default: the newest with labels)")
@click.option("--json", "as_json", is_flag=True, help="print the full figures as JSON (undefined values as null)")
@user_errors
def agreement(project: str, task: str | None, round_: str, codebook_version: int | None, as_json: bool) -> None:
    """Inter-annotator agreement per task: Cohen's κ per pair and mean, Fleiss' κ, α, % agreement."""
    from ..annotate.agreement import agreement as task_agreement
    from ..formatting import fmt, percent

    store = open_project(project)
    results = [task_agreement(store, t, codebook_version, round_) for t in ([task] if task else TASK_CHOICES)]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
        return
    for result in results:
        version = f"codebook v{result.codebook_version}" if result.codebook_version is not None else "all versions"
        carried = f", {result.carried_text()}" if result.carried else ""
        click.echo(f"{result.task} ({version}, round {result.round}, protocol {result.protocol_version}{carried})")
        for criterion, r in result.reports.items():
            if not r.n_items:
                click.echo(f"  {criterion}: no labels yet")
                continue
            pct = percent(r.percent_agreement)
            click.echo(f"  {criterion}: {r.n_items} items, {r.n_ratings} ratings by {len(r.raters)} annotators; "
                       f"mean pairwise κ {fmt(r.pairwise_kappa.mean)}; Fleiss κ {fmt(r.fleiss_kappa.kappa)} "
                       f"(n={r.fleiss_kappa.n_items}); Krippendorff α {fmt(r.krippendorff_alpha)}; agreement {pct}; "
                       f"{len(r.disagreements)} in disagreement, {len(r.even_splits)} even splits")
            for pair in r.pairwise_kappa.pairs:
                click.echo(f"    κ {pair.rater_a} / {pair.rater_b} = {fmt(pair.kappa)} (n={pair.n_items})")
            if r.model is not None and r.model.pairs:
                click.echo(f"    κ vs {r.model.model_name}: mean {fmt(r.model.mean)}; "
                           + ", ".join(f"{p.rater_a} {fmt(p.kappa)} (n={p.n_items})" for p in r.model.pairs))
            weak = result.unreliable().get(criterion, [])
            if criterion in result.per_code:
                names = code_names(store, result.codebook_version)
                click.echo(f"    Krippendorff α per code: {len(result.per_code[criterion])} codes; "
                           f"{len(weak)} whose 95 % interval lies below {result.alpha_floor}"
                           + "".join(f"\n      {names.get(u.unit, u.unit)}: α {fmt(u.alpha)} [{fmt(u.low)}, "
                                     f"{fmt(u.high)}] over {u.n_items} items" for u in weak))


@main.command()
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--export", "export_path", type=click.Path(dir_okay=False), help="write every label to this CSV file")
@click.option("--import", "import_path", type=click.Path(dir_okay=False, exists=True),
              help="append the labels of a CSV/TSV/JSON file with the columns --export writes")
@user_errors
def labels(project: str, export_path: str | None, import_path: str | None) -> None:
    """Count the labels per task, round and annotator, export every label row to CSV, or import labels."""
    from ..annotate.agreement import carried_summary
    from ..annotate.label_files import export_labels, import_labels

    store = open_project(project)
    if import_path:
        done = import_labels(store, import_path)
        skipped = f"; {done.recognizer_rows} recognizer rows left to the workbench" if done.recognizer_rows else ""
        click.echo(f"imported {done.imported:,} labels from {import_path} ({done.already_present:,} already in the "
                   f"project{skipped})")
        return
    if export_path:
        n = export_labels(store, export_path)
        click.echo(f"exported {n:,} label rows to {export_path}")
        return
    rows = store.label_summary()
    if not rows:
        click.echo("no labels yet: label with 'workbench review PROJECT --annotator NAME'")
    carried = [(r, f" carried from v{r['carried_from']}") for r in carried_summary(store)]
    for r, origin in [*((r, "") for r in rows), *carried]:
        click.echo(f"  {r['task']:<13} v{r['codebook_version']}  {r['round']:<13} {r['annotator']:<16} "
                   f"{r['n']:>6,} labels on {r['items']:,} items{origin}")
