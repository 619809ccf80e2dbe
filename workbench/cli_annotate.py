"""Commands of the annotators' workbench: review, agreement, labels (registered on the ``workbench`` group)."""
from __future__ import annotations

import click

from .cli import main, open_project, user_errors
