"""Commands of the survey-simulation baseline (registered on the ``workbench`` group)."""
from __future__ import annotations

import click

from .cli import main, open_project, user_errors
