"""The ``workbench`` command: one click group, one module per command group (``project``, ``build``,
``annotate``, ``score``, ``survey``), each command a thin shell over the service of the same name."""
from __future__ import annotations

import functools
import os

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


@click.group()
@click.version_option(package_name="dove-workbench")
def main() -> None:
    """DOVE Workbench: learn a value codebook from human-written texts with annotators in the loop,
    and measure how closely LLMs' value distributions match a culture's."""



# Each command group registers its commands on ``main``.
from . import annotate, build, lens, project, score, serve, survey  # noqa: E402,F401

if __name__ == "__main__":
    main()
