"""Serving the workbench in a browser through textual-serve: one app process per browser tab."""
from __future__ import annotations

import os
import shlex
import socket
import sys
from pathlib import Path

from ..errors import WorkbenchError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def serve_command(project: str | Path, annotator: str, codebook_version: int | None = None) -> str:
    """The shell command textual-serve runs for each browser session."""
    parts = [sys.executable, "-m", "workbench.tui", str(Path(project).resolve()), "--annotator", annotator]
    if codebook_version is not None:
        parts += ["--codebook-version", str(codebook_version)]
    return shlex.join(parts)


def no_login_warning(host: str, port: int, annotator: str) -> str:
    """What ``workbench review --serve`` prints before serving: the server has no login."""
    reach = ("only this machine can reach it" if host in LOOPBACK
             else f"ANYONE who can reach {host}:{port} on the network can read the corpus and label")
    return (f"warning: the web server has no login: whoever opens http://{host}:{port} labels as {annotator!r}; "
            f"{reach}. Serve each annotator on their own port, and use an SSH tunnel rather than --host 0.0.0.0.")


def port_error(host: str, port: int, exc: OSError) -> WorkbenchError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return WorkbenchError(f"cannot serve on {host}:{port} ({reason}): choose another --port, or stop "
                          "the program that holds it")


def check_port(host: str, port: int) -> None:
    """Bind and release HOST:PORT, so that a taken port is one line before the server prints its banner."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise port_error(host, port, exc) from None


def review_server(project: str | Path, annotator: str, codebook_version: int | None = None,
                  host: str = "127.0.0.1", port: int = 8000):
    """A textual-serve Server for the review app (call ``.serve()`` to run it until Ctrl-C)."""
    from textual_serve.server import Server

    return Server(serve_command(project, annotator, codebook_version), host=host, port=port,
                  title=f"DOVE Workbench · {annotator} · {Path(project).name}")
