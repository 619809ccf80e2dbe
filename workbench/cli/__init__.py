"""The ``workbench`` command: one click group, one module per command group (``project``, ``build``,
``annotate``, ``measures``, ``experiments``, ``report``, ``survey``, ``lens``, ``serve``), each command a
thin shell over one service function: it parses the arguments, calls the service and prints."""
from __future__ import annotations

import functools
import os
import sys

import click

from ..errors import WorkbenchError

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


def estimate_options(fn):
    """``--estimate`` and ``--yes`` of a command that calls an LLM (see :func:`cost_gate`)."""
    fn = click.option("--yes", is_flag=True, help="run even when the estimate is over llm.max_cost")(fn)
    return click.option("--estimate", "estimate_only", is_flag=True,
                        help="print the calls, tokens and cost this run would have, and call nothing")(fn)


def cost_gate(config, estimate, estimate_only: bool, yes: bool) -> bool:
    """True when the command stops here: ``--estimate`` prints the estimate. Otherwise a run whose
    estimate is over ``llm.max_cost`` (or unknown with a budget set) asks first, unless ``--yes``;
    without a terminal to ask on, it is refused in one line."""
    from ..llm.cost import estimate_lines, over_budget

    if estimate_only:
        for line in estimate_lines(estimate):
            click.echo(line)
        return True
    why = over_budget(config, estimate)
    if why is None or yes:
        return False
    for line in estimate_lines(estimate):
        click.echo(line, err=True)
    if not sys.stdin.isatty():
        raise WorkbenchError(f"not run: {why}; pass --yes to run it, or raise llm.max_cost")
    if not click.confirm(f"{why}: run it?", default=False, err=True):
        raise WorkbenchError(f"not run: {why}")
    return False


@click.group()
@click.version_option(package_name="dove-workbench")
def main() -> None:
    """DOVE Workbench: learn a value codebook from human-written texts with annotators in the loop,
    and measure how closely LLMs' value distributions match a culture's."""



# Each command group registers its commands on ``main``.
from . import annotate, build, experiments, lens, measures, project, report, serve, survey  # noqa: E402,F401

if __name__ == "__main__":
    main()
