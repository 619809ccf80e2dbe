"""Value extraction: each document → its value expressions (paper Sec. 3.2, App. E.4, G).

With an LLM extractor the App. G value-identifier prompt is sent and the ``description`` of each
coded value becomes a value expression (as in the paper); offline, the extractive recognizer of
``workbench.llm.offline`` picks value-laden sentences. Either way the expressions' embeddings are
computed and cached, and every row records the strategy that produced it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import prompts

from ..llm.cost import Estimate, estimate_chats
from ..llm.gateway import CallResult, Gateway
from ..llm.injection import injection_check, is_instruction
from ..llm.offline import ExtractiveRecognizer
from ..llm.parsing import ValueCode, parse_value_codes
from ..progress import progress_bar
from ..store import DocumentRow, Store

OFFLINE_BATCH = 32


@dataclass
class ExtractReport:
    documents: int
    expressions: int
    failed: int
    strategy: str
    stats: dict
    injections_dropped: int = 0  # LLM-extracted values taken from text addressed to the model

    @property
    def mode(self) -> str:
        return "offline extractive mode" if self.strategy.startswith("offline") else f"LLM extractor {self.strategy}"


def estimate_extract(store: Store, limit: int | None = None, runs: bool = False) -> Estimate:
    """What ``extract`` would send, without sending it: one App. G value-identifier request per
    document that has no expressions yet, counted as :mod:`workbench.llm.cost` says."""
    config = store.config()
    docs = store.documents_without_extraction(limit, runs)
    if config.role("extractor").provider == "offline":
        return Estimate("extract", note=f"offline extractor: {len(docs):,} documents, no LLM calls")
    requests = [[("user", prompts.render("value_identifier", document=d.text))] for d in docs]
    return Estimate("extract", [estimate_chats(config, "extractor", "value_identifier", requests)],
                    note="cached replies, retries and the expressions' embedding not counted")


def extract(store: Store, limit: int | None = None, show_progress: bool = True, runs: bool = False,
            estimate: Estimate | None = None, parent_run: int | None = None) -> ExtractReport:
    """Extract value expressions from documents that have none yet; safe to re-run at any time.
    ``runs``: the reliability runs' documents instead of the project's own; ``estimate`` is kept
    with the run so that ``status`` shows it beside what the run used; ``parent_run``: the run
    (a build's, a reliability run's) this extraction is part of."""
    config = store.config()
    run_id = store.start_run("extract", config.digest(), estimate.as_dict() if estimate else None, parent_run)
    gateway = Gateway(store, config, run_id)
    docs = store.documents_without_extraction(limit, runs)
    if gateway.is_offline("extractor"):
        strategy, counts = _extract_offline(store, gateway, docs, show_progress)
    else:
        strategy, counts = gateway.run(_extract_llm(store, gateway, docs, show_progress))
    stats = gateway.stats.as_dict()
    store.finish_run(run_id, {**stats, "documents": len(docs), **counts, "strategy": strategy})
    return ExtractReport(len(docs), counts["expressions"], counts["failed"], strategy, stats,
                         counts["injections_dropped"])


def _extract_offline(store: Store, gateway: Gateway, docs: list[DocumentRow], show: bool) -> tuple[str, dict]:
    cfg = store.config().extraction
    # Sentences are picked in the embedder's own space (its thresholds were set there), never
    # through the value lens, so turning the lens on or off leaves the expressions as they are.
    recognizer = ExtractiveRecognizer(partial(gateway.embed, lens=False), cfg.max_expressions,
                                      cfg.max_sentence_chars, exclude=is_instruction)
    strategy = f"{recognizer.strategy}+{gateway.base_embedder_id}"
    total = 0
    with progress_bar("extract (offline extractive)", len(docs), show) as advance:
        for start in range(0, len(docs), OFFLINE_BATCH):
            batch = docs[start:start + OFFLINE_BATCH]
            for doc, found in zip(batch, recognizer.extract_many([d.text for d in batch], [d.topic for d in batch])):
                store.save_extraction(doc.id, strategy, f"prototypes-v{recognizer.version}",
                                      [(e.text, e.code_name, e.score) for e in found])
                total += len(found)
            advance(len(batch))
    return strategy, {"expressions": total, "failed": 0, "injections_dropped": 0}


async def _extract_llm(store: Store, gateway: Gateway, docs: list[DocumentRow], show: bool) -> tuple[str, dict]:
    strategy = gateway.role("extractor").strategy_label("")
    version = prompts.version("value_identifier")
    counts = {"expressions": 0, "failed": 0, "injections_dropped": 0}
    descriptions: list[str] = []
    with progress_bar(f"extract ({strategy})", len(docs), show) as advance:

        def done(i: int, result: CallResult[list[ValueCode]]) -> None:
            doc = docs[i]
            if result.value is None:
                store.save_extraction(doc.id, strategy, version, [], error=result.error)
                counts["failed"] += 1
            else:
                injected = injection_check(doc.text)
                codes = [c for c in result.value if not (injected(c.code_name) or injected(c.description))]
                counts["injections_dropped"] += len(result.value) - len(codes)
                store.save_extraction(doc.id, strategy, version, [(c.description, c.code_name, None) for c in codes])
                counts["expressions"] += len(codes)
                descriptions.extend(c.description for c in codes)
            advance(1)

        await gateway.complete_many("extractor", "value_identifier", [{"document": d.text} for d in docs],
                                    parse_value_codes, on_done=done)
    # Embedded after the calls, in batches: embedding inside the callback would stall the event
    # loop (and every call in flight) for each document.
    gateway.embed(descriptions)
    return strategy, counts
