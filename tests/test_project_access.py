"""A project the user cannot write, a port already taken, a screen whose loading fails: one line
that names the full path (or the port) and the fix, a failing exit code, never a traceback or a
screen that waits for ever."""
from __future__ import annotations

import functools
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Static

from test_bad_input import template  # noqa: F401 — the small project without UMAP
from workbench.cli import main
from workbench.tui import WorkbenchApp

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534


@functools.cache
def _nobody_cannot_run() -> str:
    """Why user nobody cannot start ``sys.executable`` with the project importable ('' if it can):
    e.g. a Python under /root, a folder only root may enter, links its libpython from there."""
    probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable,
                            "-c", "import workbench.cli"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "HOME": tempfile.gettempdir()})
    return "" if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["exit %d" % probe.returncode])[-1]


def _as_user(argv: list[str]) -> subprocess.CompletedProcess:
    """The CLI in a subprocess that file permissions apply to (root ignores them: run as nobody)."""
    command = [sys.executable, "-c", "from workbench.cli import main; main()", *argv]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
        reason = _nobody_cannot_run()
        if reason:
            pytest.skip(f"user nobody cannot run this interpreter, so file permissions cannot be tested: {reason}")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": tempfile.gettempdir()})


@pytest.fixture
def shared_dir():
    """A folder anyone can read (tmp_path's parents are private to the user that runs the tests)."""
    path = Path(tempfile.mkdtemp(prefix="wb-access-"))
    path.chmod(0o777)
    yield path
    path.chmod(0o700)
    shutil.rmtree(path)


@pytest.mark.parametrize("read_only", ["file", "folder"])
@pytest.mark.parametrize("command", ["ingest", "labels --import"])
def test_read_only_project_is_one_line_naming_it(template, shared_dir, read_only, command):  # noqa: F811
    folder = shared_dir / "project"
    folder.mkdir()
    project = folder / "p.db"
    project.write_bytes(template.read_bytes())
    data = shared_dir / "docs.jsonl"
    data.write_text('{"id": "new", "text": "We value courage."}\n')
    data.chmod(0o644)
    project.chmod(0o444 if read_only == "file" else 0o666)
    folder.chmod(0o777 if read_only == "file" else 0o555)
    try:
        argv = (["ingest", str(project), str(data), "--group", "G"] if command == "ingest"
                else ["labels", str(project), "--import", str(data)])
        result = _as_user(argv)
    finally:
        folder.chmod(0o777)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"Error: {project}: the project {read_only} ") and "read-only" in lines[0], lines[0]
    assert "chmod u+w" in lines[0]


def test_taken_port_is_one_line(template, tmp_path):  # noqa: F811
    project = tmp_path / "p.db"
    project.write_bytes(template.read_bytes())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", str(project), "--port", str(port)])
    assert result.exit_code != 0
    assert f"Error: cannot serve on 127.0.0.1:{port} (Address already in use): choose another --port" \
        in result.output, result.output
    assert "Traceback" not in result.output and "Serving" not in result.output


@pytest.mark.parametrize("host", ["10.255.255.1", "label.example.invalid"])
def test_a_host_not_of_this_machine_is_one_line_naming_the_host_not_the_port(template, tmp_path, host):  # noqa: F811
    project = tmp_path / "p.db"
    project.write_bytes(template.read_bytes())
    result = CliRunner().invoke(main, ["serve", str(project), "--host", host, "--port", "8125"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert f"cannot serve on {host}: it is not an address of this machine" in line and "--host 127.0.0.1" in line
    assert "--port" not in line


@pytest.mark.parametrize("key, module, function, line", [
    ("3", "workbench.tui.mapping_screen", "mapping_sample", "#mapping-page"),
    ("2", "workbench.tui.audit_screen", "code_quality_sample", "#audit-page"),
])
async def test_a_screen_whose_loading_fails_shows_why(template, tmp_path, monkeypatch,  # noqa: F811
                                                      key, module, function, line):
    """SQLite refuses the write that draws the sample (as it does for a project made read-only
    while the app runs): the status line says so instead of "drawing the sample…" for ever."""
    project = tmp_path / "p.db"
    project.write_bytes(template.read_bytes())

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(f"{module}.{function}", refuse)
    app = WorkbenchApp(project, "ann")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(app.screen.query_one(line, Static).render())
    assert status.startswith(f"could not load: {project}: cannot write the project (attempt to write a readonly")


def _checkout_with_stub_venv(tmp_path: Path) -> Path:
    """A copy of ./run beside a set-up stamp and a stub .venv whose ``workbench`` prints the
    directory it runs in and its arguments: ./run without installing anything."""
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    for name in ("run", "requirements.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, checkout / name)
    stamp = subprocess.run("cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1", shell=True,
                           cwd=checkout, capture_output=True, text=True, check=True).stdout.strip()
    (checkout / ".venv" / ".installed").write_text(stamp + "\n")
    for name in ("python", "workbench"):
        stub = checkout / ".venv" / "bin" / name
        stub.write_text('#!/bin/sh\necho "cwd=$(pwd)"\necho "args=$*"\n')
        stub.chmod(0o755)
    return checkout


@pytest.mark.parametrize("argv, command", [(["workbench", "init", "cultures.db"], "init cultures.db"),
                                           (["demo", "--dir", "out"], "demo --dir out")])
def test_run_resolves_paths_against_the_callers_directory(tmp_path, argv, command):
    checkout = _checkout_with_stub_venv(tmp_path)
    caller = tmp_path / "elsewhere"
    caller.mkdir()
    result = subprocess.run([str(checkout / "run"), *argv], cwd=caller, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"cwd={caller}", f"args={command}"]


def test_run_test_still_runs_in_the_checkout(tmp_path):
    checkout = _checkout_with_stub_venv(tmp_path)
    result = subprocess.run([str(checkout / "run"), "test", "-k", "x"], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.splitlines() == [f"cwd={checkout}", "args=-m pytest -q -k x"]


def test_cannot_read_names_the_full_path(template, tmp_path, monkeypatch):  # noqa: F811
    project = tmp_path / "p.db"
    project.write_bytes(template.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["ingest", "p.db", "missing.csv", "--group", "G"])
    assert result.exit_code != 0
    assert result.output == f"Error: {tmp_path / 'missing.csv'}: cannot read the file (No such file or directory)\n"
    result = CliRunner().invoke(main, ["status", "nope.db"])
    assert result.output.startswith(f"Error: no project at {tmp_path / 'nope.db'}: create it with")
