"""Commands of the survey-simulation baseline (registered on the ``workbench`` group)."""
from __future__ import annotations

import json
import math

import click

from ..formatting import MISSING, fmt
from ..report.terminal import llm_counts, llm_errors
from ..store import open_project
from . import cost_gate, estimate_options, main, user_errors


@main.group(short_help="The survey-simulation baseline (Liu et al. 2025).")
def survey() -> None:
    """The survey-simulation baseline (Liu et al. 2025): import surveys, simulate respondents, score."""


@survey.command("import", short_help="Validate a survey file and import it.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "survey", "pew"]), default="auto", show_default=True,
              help="survey = the workbench JSON/CSV format; pew = Pew Global Attitudes pew_mcm.csv "
                   "(auto-detected by its columns)")
@click.option("--name", help="the survey's name (default: its name in the file, else the file name)")
@user_errors
def import_(project: str, file: str, fmt: str, name: str | None) -> None:
    """Validate a survey file completely and import it; a bad file imports nothing."""
    from ..survey.importer import import_survey

    result = import_survey(open_project(project), file, fmt, name)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    verb = "already imported as" if result.already_imported else "imported"
    click.echo(f"{verb} survey #{result.survey_id} {result.name!r} from {result.file} [{result.format}]: "
               f"{len(result.countries)} countries × {result.questions} questions, "
               f"{result.distributions} distributions")


@survey.command("run", short_help="Simulate respondents answering a survey (resumable).")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--model", help="model name on the generator role's endpoint (default: roles.generator.model)")
@click.option("--base-url", help="OpenAI-compatible endpoint for this run (default: roles.generator.base_url)")
@click.option("--country", "countries", multiple=True, required=True,
              help="a country of the survey (name or code, e.g. US, JP); repeatable")
@click.option("--respondents", type=click.IntRange(min=1), default=20, show_default=True,
              help="simulated respondents per country")
@click.option("--survey", "survey_ref", help="survey id or name (default: the latest import)")
@click.option("--no-persona", is_flag=True, help="DEF off: no random city in the prompt")
@click.option("--no-config-sampling", is_flag=True,
              help="DEF off: the paper's temperature 1 and top_p 1 on every request")
@click.option("--no-memory", is_flag=True, help="DEF off: every question in a fresh conversation")
@click.option("--max-memory", type=click.IntRange(min=0), default=15, show_default=True,
              help="question-answer pairs the memory keeps")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1),
              help="make the run reproducible: each respondent sends its own request seed derived from this "
                   "(default: no seed is sent, the server samples)")
@click.option("--run-name", help="name of the run (default: MODEL/DEF, MODEL/no-DEF, MODEL/DEF-no-memory …)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@estimate_options
@user_errors
def run(project, model, base_url, countries, respondents, survey_ref, no_persona, no_config_sampling, no_memory,
        max_memory, seed, run_name, quiet, estimate_only, yes) -> None:
    """Simulate respondents answering the survey (DEF on unless switched off); resumable."""
    from ..survey.config import DefConfig
    from ..survey.simulate import estimate_survey, run_survey

    cfg = DefConfig(persona=not no_persona, sample_generation_config=not no_config_sampling, memory=not no_memory,
                    max_memory=max_memory, seed=seed)
    store = open_project(project)
    arguments = dict(model=model, countries=countries, respondents=respondents, def_config=cfg, run_name=run_name,
                     base_url=base_url)
    estimate = estimate_survey(store, survey_ref, **arguments)
    if cost_gate(store.config(), estimate, estimate_only, yes):
        return
    report = run_survey(store, survey_ref, show_progress=not quiet, estimate=estimate, **arguments)
    s = report.stats
    calls = f"; {llm_counts(s)}, wall {s['wall_s']:.1f} s" if s else "; nothing left to ask"
    click.echo(f"survey run {report.run_name!r}: {len(report.countries)} countries × {report.respondents} "
               f"respondents × {report.questions} questions; {report.answered} answers this run (valid "
               f"{report.valid}, unparseable {report.unparseable}), failed calls {report.failed}, "
               f"{report.skipped_respondents} respondents already complete{calls}")
    for line in llm_errors(s or {}):
        click.echo(line)
    _print_run(report.scores)


@survey.command("scores", short_help="KL and JS per country, diversity per run.")
@click.argument("project", type=click.Path(dir_okay=False))
@click.option("--run-name", "run_names", multiple=True, help="a run to score (repeatable; default: every run)")
@click.option("--json", "as_json", is_flag=True, help="print the scores as JSON")
@user_errors
def scores(project: str, run_names: tuple[str, ...], as_json: bool) -> None:
    """KL and JS per country (stored as methods survey-KL / survey-JS) and the diversity per run."""
    from dataclasses import asdict

    from ..survey.run_scores import diversity_table, jsonable, score_runs

    runs = score_runs(open_project(project), run_names)
    diversity = diversity_table(runs)
    if as_json:
        click.echo(json.dumps({"runs": [r.as_dict() for r in runs],
                               "diversity": [jsonable(asdict(d)) for d in diversity]}, indent=2, ensure_ascii=False))
        return
    for run_scores in runs:
        _print_run(run_scores)
    _print_diversity(diversity)


def _f(x: float, digits: int = 3) -> str:
    return fmt(x, digits, MISSING)


def _print_run(run) -> None:
    d = run.settings.get("def", {})
    switches = ", ".join(f"{label} {'on' if d.get(key) else 'off'}" for key, label in
                         (("persona", "persona"), ("sample_generation_config", "config"), ("memory", "memory")))
    if d.get("memory"):
        switches += f" (max {d.get('max_memory')})"
    click.echo(f"\n{run.run_name}  model {run.model}, survey #{run.survey_id} {run.survey!r}; DEF: {switches}")
    click.echo(f"  {'country':<16} {run.kl_label:>13} {'95% CI':>17} {'JS':>7} {'n q':>4} {'resp':>5} {'valid':>6} "
               f"{'unparse':>7} {'failed':>6} {'H bits':>7} {'distinct':>8}")
    for c in run.countries:
        ci = f"[{_f(c.kl_ci[0])}, {_f(c.kl_ci[1])}]"
        click.echo(f"  {c.country:<16} {_f(c.kl):>13} {ci:>17} {_f(c.js):>7} {c.questions:>4} {c.respondents:>5} "
                   f"{c.valid:>6} {c.unparseable:>7} {c.failed:>6} {_f(c.entropy, 2):>7} {_f(c.distinct, 2):>8}")
    for dim, s in sorted(run.dimensions.items()):
        click.echo(f"  dimension {dim:<6} {run.kl_label} {_f(s.kl)}  JS {_f(s.js)}  ({s.n} question(s))")
    for warning in run.warnings():
        click.echo(f"warning: {warning}", err=True)


def _print_diversity(rows) -> None:
    click.echo("\ndiversity (mean over country × question): entropy of the answers in bits, distinct answers; "
               "gain over the run without DEF")
    click.echo(f"  {'run':<34} {'persona':>7} {'config':>6} {'memory':>6} {'H bits':>7} {'distinct':>8} "
               f"{'ΔH':>6} {'Δdistinct':>9}")
    for r in rows:
        gain = "—" if math.isnan(r.distinct_gain) else f"{r.distinct_gain:+.0%}"
        click.echo(f"  {r.run_name:<34} {'on' if r.persona else 'off':>7} {'on' if r.config else 'off':>6} "
                   f"{(str(r.max_memory) if r.memory else 'off'):>6} {_f(r.entropy, 2):>7} {_f(r.distinct, 2):>8} "
                   f"{_f(r.entropy_gain, 2):>6} {gain:>9}")
