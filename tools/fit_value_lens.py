"""Fit the value lens shipped for the offline embedder (workbench/llm/value_lens.npz).

Reproduces it from the public training split of Touché23-ValueEval (Kiesel et al., ACL 2022 and
SemEval 2023; https://doi.org/10.5281/zenodo.6814563; CC BY-SA 4.0): the arguments are read as
``--preset valueeval`` reads them, embedded by the offline embedder in its language-centered space
(in a temporary project, so through the gateway exactly as a build embeds), and one balanced
logistic probe per value category is fitted (workbench.lens.fit_lens). The validation split is
never read: it is what the checks use.

    .venv/bin/python tools/fit_value_lens.py [--data ../shared/data/valueeval23] [--out workbench/llm/value_lens.npz]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from workbench.lens import fit_lens
    from workbench.llm.gateway import Gateway
    from workbench.llm.value_lens import LENS_BASE, LENS_FILE
    from workbench.store import create_project

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "valueeval23")
    parser.add_argument("--out", type=Path, default=ROOT / "workbench" / "llm" / LENS_FILE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = create_project(Path(tmp) / "lens.db")
        store.save_config(store.config().with_settings({"roles.embedder.representation": LENS_BASE}))
        lens = fit_lens(Gateway(store, store.config()), args.data)
    args.out.write_bytes(lens.to_bytes())
    print(f"{args.out}: {len(lens.label_names)} value directions over {lens.directions.shape[1]}-d {lens.embedder} "
          f"vectors; {lens.source}; tag {lens.tag.lstrip('|')}")


if __name__ == "__main__":
    main()
