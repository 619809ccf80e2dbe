"""Refinement judged by reconstruction (issue 23 item 3): the demo built with ``em.objective paper``
and ``reconstruction``, side by side.

The demo corpus (extracted offline once, or the project given) is built in a copy per objective with
the demo's settings (T = 4, τ1 out of reach, auto-approve). Per iteration it prints S(C) with its
three terms (−d̄ over every reconstructed document, +β1·M·H(z|x), −β2·M·Ĥ(z|C)) and −d̄ on the
held-out documents, measured afresh for every version on the same documents with the latent decoder
(so the paper's build is judged on them too), and whether the change was kept.

Goals (objective reconstruction): S(C) rises from one kept version to the next only when held-out
−d̄ does not fall; the final codebook's held-out −d̄ is not below C⁰'s.
Run: .venv/bin/python bench/refinement_reconstruction.py [--project demo-project/demo.db]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import summary  # noqa: E402
from workbench.build import run_build  # noqa: E402
from workbench.build.context import BuildContext  # noqa: E402
from workbench.cli.demo import DEMO_ITERATIONS, import_demo_corpus  # noqa: E402
from workbench.pipeline.extract import extract  # noqa: E402
from workbench.llm.gateway import Gateway  # noqa: E402
from workbench.pipeline.reconstruct import reconstruct  # noqa: E402
from workbench.store import Store, create_project, open_project  # noqa: E402


def held_out_reconstruction(store: Store, thread_id: str, versions: list[int]) -> dict[int, float]:
    """−d̄ on the build's held-out documents for each version, all measured with the same code-set draws."""
    cfg = store.config()
    em = cfg.em.model_copy(update={"objective": "reconstruction"})
    ctx = BuildContext(store, Gateway(store, cfg), cfg, thread_id, show_progress=False)
    out = {}
    for v in versions:
        codebook = store.load_codebook(v)
        q_docs, _ = ctx.posteriors(codebook)
        rec = reconstruct(ctx.corpus(), codebook, q_docs, em, ctx.gateway, 1, show_progress=False)
        out[v] = -float(rec.distortion_per_doc[rec.held_out].mean())
    return out


def build(extracted: Path, folder: Path, objective: str) -> list[dict]:
    """Build a copy of ``extracted`` with ``objective``, print one row per scored iteration, and
    return the rows of the versions kept (the last is the build's codebook)."""
    path = folder / f"{objective}.db"
    shutil.copyfile(extracted, path)
    store = open_project(path)
    store.save_config(store.config().with_settings({"em.tau1": "1e9", "em.objective": objective}))
    status = run_build(store, auto_approve=True, restart=True, iterations=DEMO_ITERATIONS, show_progress=False)
    rows = store.iterations(status.thread_id)
    held = held_out_reconstruction(store, status.thread_id, [r["version"] for r in rows])
    print(f"\nem.objective {objective}: final version {status.version}; stopped: {status.stop_reason}")
    print(f"{'t':>2} {'ver':>4} {'K':>3} {'S(C)':>8} {'−d̄':>8} {'+β1 term':>9} {'−β2 term':>9} "
          f"{'held-out −d̄':>13} {'kept':>5}")
    for r in rows:
        r["held_out"] = held[r["version"]]
        kept = {1: "yes", 0: "no"}.get(r.get("kept"), "–")
        print(f"{r['iteration']:>2} {r['version']:>4} {r['K']:>3} {r['S']:8.4f} {-r['distortion']:8.4f} "
              f"{r['beta1_term']:9.4f} {r['beta2_term']:9.4f} {r['held_out']:13.4f} {kept:>5}")
    store.close()
    return [r for r in rows if r.get("kept") != 0]


def rises_only_with_reconstruction(rows: list[dict]) -> tuple[bool, str]:
    """Whether S rose between consecutive kept versions only when held-out −d̄ did not fall."""
    steps = [(b["S"] - a["S"], b["held_out"] - a["held_out"]) for a, b in zip(rows, rows[1:])]
    ok = all(ds <= 0 or dd >= 0 for ds, dd in steps)
    return ok, "; ".join(f"ΔS {ds:+.4f}, Δ held-out −d̄ {dd:+.4f}" for ds, dd in steps) or "no change kept"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="an extracted project to copy (default: the demo corpus, "
                                                     "extracted offline here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        extracted = args.project
        if extracted is None:
            extracted = folder / "extracted.db"
            store = create_project(extracted)
            import_demo_corpus(store, folder)
            extract(store, show_progress=False)
            store.close()
        figures, targets = {}, {}
        for objective in ("paper", "reconstruction"):
            kept = build(extracted, folder, objective)
            ok, steps = rises_only_with_reconstruction(kept)
            c0, last = kept[0], kept[-1]
            figures[f"{objective}: S(C⁰) → S(final)"] = f"{c0['S']:.4f} → {last['S']:.4f}"
            figures[f"{objective}: held-out −d̄ C⁰ → final"] = f"{c0['held_out']:.4f} → {last['held_out']:.4f}"
            figures[f"{objective}: kept steps"] = steps
            if objective == "reconstruction":
                targets["S rises only when held-out −d̄ does not fall"] = ok
                targets["final held-out −d̄ ≥ C⁰'s"] = last["held_out"] >= c0["held_out"]
        summary("refinement judged by reconstruction (demo)", figures, targets)


if __name__ == "__main__":
    main()
