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


@main.command(short_help="Review a build, audit names, label, adjudicate (TUI).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--annotator", required=True, help="your name, stored with every label and decision")
@click.option("--codebook-version", type=int, help="codebook version to audit and map (default: the latest)")
@click.option("--serve", is_flag=True, hidden=True, help="replaced by 'workbench serve' (personal links)")
@click.option("--lead", is_flag=True, help="open on the lead's view: progress, agreement and adjudication per round")
@user_errors
def review(project: str, annotator: str, codebook_version: int | None, serve: bool, lead: bool) -> None:
    """Review a paused build, audit code names, label mappings, see agreement, adjudicate (a TUI)."""
    from ..annotate.tasks import check_annotator
    from ..pipeline.code_view import working_version

    annotator = check_annotator(annotator)
    store = open_project(project)
    if codebook_version is not None:
        working_version(store, codebook_version)
    store.close()
    if serve:  # the browser server without a login is gone: a team's server opens only personal links
        raise WorkbenchError("the browser app is now 'workbench serve PROJECT', opened by personal links: "
                             f"'workbench annotators PROJECT add {annotator}' prints yours")
    from ..tui import WorkbenchApp

    WorkbenchApp(project, annotator, codebook_version, lead=lead).run()


@main.command(short_help="Inter-annotator agreement per task: κ, α, agreement %.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--task", type=click.Choice(TASK_CHOICES), help="one task (default: all)")
@click.option("--round", "round_", type=click.Choice(["final", "first"]), default="final", show_default=True,
              help="final: re-annotations replace first-round labels; first: first round only")
@click.option("--codebook-version", type=int, help="version of the labels (default: the newest with labels)")
@click.option("--json", "as_json", is_flag=True, help="print the full figures as JSON (undefined values as null)")
@click.option("--progress", is_flag=True,
              help="the lead's view of every round (sampled task × codebook version): done / assigned and last "
                   "active per annotator, agreement so far, items waiting for adjudication, closed or open")
@click.option("--floor", type=click.FloatRange(0, 1, min_open=True),
              help="α a code's interval must reach to count as reliable (default: annotation.alpha_floor, 0.667)")
@user_errors
def agreement(project: str, task: str | None, round_: str, codebook_version: int | None, as_json: bool,
              progress: bool, floor: float | None) -> None:
    """Inter-annotator agreement per task: Cohen's κ per pair and mean, Fleiss' κ, α, % agreement."""
    from ..annotate.agreement import agreement as task_agreement
    from ..formatting import fmt, percent
    from ..pipeline.code_view import working_version

    store = open_project(project)
    if codebook_version is not None:  # a version the project lacks is one line, not "no labels yet"
        working_version(store, codebook_version)
    if progress:
        _print_progress(store, task, codebook_version, as_json)
        return
    floor = store.config().annotation.alpha_floor if floor is None else floor
    results = [task_agreement(store, t, codebook_version, round_, alpha_floor=floor)
               for t in ([task] if task else TASK_CHOICES)]
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


@main.command(short_help="Count, export or import annotators' labels.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--export", "export_path", type=click.Path(dir_okay=False), help="write every label to this CSV file")
@click.option("--import", "import_path", type=click.Path(dir_okay=False, exists=True),
              help="append the labels of a CSV/TSV/JSON file with the columns --export writes")
@click.option("--by", help="who exports or imports (needed once the project has annotators): a lead exports and "
                           "imports every label, anyone else exports their own")
@user_errors
def labels(project: str, export_path: str | None, import_path: str | None, by: str | None) -> None:
    """Count the labels per task, round and annotator, export every label row to CSV, or import labels."""
    from ..annotate.agreement import carried_summary
    from ..annotate.label_files import export_labels, export_scope, import_labels

    store = open_project(project)
    if import_path:
        done = import_labels(store, import_path, by)
        skipped = f"; {done.recognizer_rows} recognizer rows left to the workbench" if done.recognizer_rows else ""
        click.echo(f"imported {done.imported:,} labels from {import_path} ({done.already_present:,} already in the "
                   f"project{skipped})")
        return
    if export_path:
        n = export_labels(store, export_path, by)
        only = export_scope(store, by)
        whose = f" ({only}'s own)" if only else ""
        click.echo(f"exported {n:,} label rows{whose} to {export_path}")
        return
    rows = store.label_summary()
    if not rows:
        click.echo("no labels yet: label with 'workbench review PROJECT --annotator NAME'")
    carried = [(r, f" carried from v{r['carried_from']}") for r in carried_summary(store)]
    for r, origin in [*((r, "") for r in rows), *carried]:
        click.echo(f"  {r['task']:<13} v{r['codebook_version']}  {r['round']:<13} {r['annotator']:<16} "
                   f"{r['n']:>6,} labels on {r['items']:,} items{origin}")


def _print_progress(store, task: str | None, codebook_version: int | None, as_json: bool) -> None:
    from ..annotate.rounds import progress
    from ..formatting import fmt, json_text, local_time

    results = progress(store, task, codebook_version)
    if as_json:
        click.echo(json_text([r.as_dict() for r in results]))
        return
    if not results:
        click.echo("no rounds yet: 'workbench assign PROJECT --task mapping --annotators a,b' starts one")
    for r in results:
        state = (f"closed by {r.closed['closed_by']} {local_time(r.closed['closed'])}" if r.closed else "open")
        click.echo(f"{r.task} round on codebook v{r.codebook_version} ({state}): {r.sample_size} sampled items")
        for a in r.annotators:
            scope = "assigned" if a.has_assignment else "of the sample (no assignment)"
            click.echo(f"  {a.annotator:<16} {a.done:>4}/{a.assigned:<4} done {scope}; last active "
                       f"{local_time(a.last_active)}")
        for criterion, report in r.agreement.reports.items():
            click.echo(f"  agreement so far, {criterion}: {report.n_items} items by {len(report.raters)} annotators; "
                       f"mean pairwise κ {fmt(report.pairwise_kappa.mean)}; Fleiss κ {fmt(report.fleiss_kappa.kappa)}; "
                       f"Krippendorff α {fmt(report.krippendorff_alpha)}")
        queue = ", ".join(f"{n} {status}" for status, n in sorted(r.adjudication.items()))
        click.echo(f"  waiting for adjudication: {r.waiting}" + (f" ({queue})" if queue else ""))


@main.command(short_help="Assign a round's sample to annotators.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--task", type=click.Choice(["mapping", "code_quality"]), required=True, help="the task to share out")
@click.option("--annotators", required=True, help="comma-separated names: a,b,c")
@click.option("--overlap", type=int, help="annotators per item (≥ 2: agreement needs items labelled twice; default 2)")
@click.option("--per-annotator", type=int, help="items per annotator instead (overlap only where N × annotators "
                                                "exceeds the sample)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the shuffle; same seed, same assignment")
@click.option("--codebook-version", type=int, help="the round's codebook version (default: the latest)")
@click.option("--by", help="who assigns (a lead; needed once the project has annotators)")
@user_errors
def assign(project: str, task: str, annotators: str, overlap: int | None, per_annotator: int | None, seed: int,
           codebook_version: int | None, by: str | None) -> None:
    """Assign a round's sample to annotators: each sees only their items in the review app."""
    from ..annotate.assignments import assign as assign_round

    names = [a.strip() for a in annotators.split(",") if a.strip()]
    done = assign_round(open_project(project), task, names, overlap=overlap, per_annotator=per_annotator,
                        seed=seed, codebook_version=codebook_version, by=by)
    replaced = f" (replacing the earlier assignment's {done.replaced} rows)" if done.replaced else ""
    click.echo(f"assigned the {task} round on codebook v{done.codebook_version}: {done.sample_size} items{replaced}")
    for name, items in done.items.items():
        click.echo(f"  {name:<16} {len(items):>4} items")
    click.echo(f"{done.overlapped} of {done.sample_size} items have two or more annotators")
    if not done.overlapped:
        click.echo("warning: no item has two annotators, so agreement (κ, α) cannot be computed on this round: "
                   "use --overlap 2", err=True)


@main.group("round", short_help="A lead's annotation rounds: close one.")
def round_() -> None:
    """A lead's annotation rounds (a sampled task on a codebook version)."""


@round_.command("close")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--task", type=click.Choice(["mapping", "code_quality"]), required=True)
@click.option("--by", "closed_by", required=True, help="who closes it (a lead; stored with the closing)")
@click.option("--codebook-version", type=int, help="the round's codebook version (default: the task's only open round)")
@user_errors
def close(project: str, task: str, closed_by: str, codebook_version: int | None) -> None:
    """Close a round to first-round labels; adjudication goes on."""
    from ..annotate.rounds import close_round
    from ..formatting import local_time

    closed = close_round(open_project(project), task, closed_by, codebook_version)
    click.echo(f"the {task} round on codebook v{closed['codebook_version']} is closed (by {closed['closed_by']} "
               f"{local_time(closed['closed'])}): it takes no more first-round labels; adjudication goes on")


@round_.command("reopen")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--task", type=click.Choice(["mapping", "code_quality"]), required=True)
@click.option("--by", required=True, help="who reopens it (a lead)")
@click.option("--codebook-version", type=int, help="the round's codebook version (default: the task's only closed round)")
@user_errors
def reopen(project: str, task: str, by: str, codebook_version: int | None) -> None:
    """Reopen a closed round to labels and assignments."""
    from ..annotate.rounds import reopen_round

    version = reopen_round(open_project(project), task, by, codebook_version)
    click.echo(f"the {task} round on codebook v{version} is open again")
