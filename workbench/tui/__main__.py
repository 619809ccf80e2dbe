"""``python -m workbench.tui PROJECT --annotator NAME [--codebook-version V]``: the command that
``workbench serve`` runs for each browser session of an annotator's personal link."""
from __future__ import annotations

import argparse

from .app import WorkbenchApp


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workbench.tui")
    parser.add_argument("project")
    parser.add_argument("--annotator", required=True)
    parser.add_argument("--codebook-version", type=int)
    args = parser.parse_args()
    WorkbenchApp(args.project, args.annotator, args.codebook_version).run()


if __name__ == "__main__":
    main()
