"""`workbench --help` (and each group's) lists every command with its whole summary: click cuts a
docstring's summary at its first period and at about 45 characters ("Reliability runs (Sec.")."""
from __future__ import annotations

import re

import click
from click.testing import CliRunner

from workbench.cli import main


def _groups(group: click.Group, path: tuple[str, ...] = ()):
    yield path, group
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _groups(cmd, (*path, name))


def _listed(help_text: str) -> dict[str, str]:
    """{command: its summary} from the Commands section, wrapped lines joined."""
    section = help_text.split("Commands:\n", 1)[1]
    listed: dict[str, str] = {}
    name = None
    for line in section.splitlines():
        m = re.match(r"^  (\S+)\s+(.*)$", line)
        if m:
            name, listed[m[1]] = m[1], m[2]
        elif line.strip() and name:
            listed[name] += " " + line.strip()
    return listed


def test_every_command_summary_is_whole():
    checked = 0
    for path, group in _groups(main):
        result = CliRunner().invoke(main, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, result.output
        listed = _listed(result.output)
        assert set(listed) == set(group.commands), path
        for name, cmd in group.commands.items():
            whole = cmd.short_help or (cmd.help or "").split("\n\n")[0]
            assert listed[name] == " ".join(whole.split()), (path, name, listed[name])
            assert not listed[name].endswith("..."), (path, name)
            checked += 1
    assert checked >= 30
