"""``python -m workbench.tui PROJECT --annotator NAME [--codebook-version V] [--lead]``: the command that
``workbench serve`` runs for each browser session of an annotator's personal link (never with ``--lead``,
the lead's own terminal view)."""
from __future__ import annotations

import argparse

from .app import WorkbenchApp


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workbench.tui")
    parser.add_argument("project")
    parser.add_argument("--annotator", required=True)
    parser.add_argument("--codebook-version", type=int)
    parser.add_argument("--lead", action="store_true", help="open on the lead's view of the rounds")
    args = parser.parse_args()
    WorkbenchApp(args.project, args.annotator, args.codebook_version, lead=args.lead).run()


if __name__ == "__main__":
    main()
