"""Event-loop CPU per model call by HTTP transport: langchain-openai's ``ChatOpenAI.ainvoke`` with
httpx's default connection pool, and with the gateway's client (the OpenAI SDK's aiohttp
transport), against the loopback mock of ``bench/llm_efficiency.py`` at c calls in flight.

The event loop is one thread: every millisecond of CPU a call spends there is a millisecond the
other calls' replies wait to be read (issue 16). Prints CPU ms per call (the main thread's CPU
time ÷ calls) for each transport and c; the figures behind the gateway's choice of transport.

    .venv/bin/python bench/llm_client.py [--calls 300] [--concurrency 8,32]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from bench.common import summary  # noqa: E402
from bench.llm_efficiency import serve_mock  # noqa: E402

PROMPT = "Measurement subject … Target text: " + "Family is the centre of my life and I value tradition. " * 10


async def cpu_per_call(model, calls: int, c: int) -> float:
    """Event-loop CPU ms per call for ``calls`` calls at most ``c`` at a time (after 10 warm-up calls)."""
    for _ in range(10):
        await model.ainvoke([("user", PROMPT)])
    slots = asyncio.Semaphore(c)

    async def one(i: int) -> None:
        async with slots:
            await model.ainvoke([("user", f"{PROMPT} ({i})")])

    start = time.thread_time()
    await asyncio.gather(*(one(i) for i in range(calls)))
    return (time.thread_time() - start) / calls * 1000


async def measure(base_url: str, calls: int, c: int) -> dict[str, float]:
    import httpx
    from langchain_openai import ChatOpenAI

    from workbench.llm.gateway import _HttpClient

    clients = {"httpx pool": httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=c)),
               "gateway (aiohttp)": _HttpClient(asyncio.Semaphore(c), lambda: None)}
    out = {}
    for name, client in clients.items():
        model = ChatOpenAI(model="mock", base_url=base_url, api_key="not-needed", max_tokens=512,
                           http_async_client=client)
        out[name] = await cpu_per_call(model, calls, c)
        await client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", default="8,32", help="comma-separated c")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    mock = multiprocessing.get_context("spawn").Process(target=serve_mock, args=(0.05, child), daemon=True)
    mock.start()
    base_url = parent.recv()
    figures = {}
    for c in (int(x) for x in args.concurrency.split(",")):
        for name, ms in asyncio.run(measure(base_url, args.calls, c)).items():
            figures[f"c = {c}, {name}: event-loop CPU per call (ms)"] = f"{ms:.2f}"
    parent.send("stop")
    parent.recv()
    summary("bench llm_client (50 ms mock)", figures, {})


if __name__ == "__main__":
    main()
