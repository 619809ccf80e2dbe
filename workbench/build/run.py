"""Running a build: run, resume and status for the codebook graph of a project, and the one module
that imports ``graphs/``. ``workbench build`` and ``status`` call these functions.

A build is checkpointed in the project file and resumable after a review pause, Ctrl-C or
``kill -9``; one build runs per project at a time."""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from graphs.codebook_graph import build_graph

from ..annotate.roles import DECIDE, require
from ..errors import WorkbenchError
from ..llm.cost import Estimate
from ..llm.gateway import Gateway
from ..store import Store
from ..vocabulary import HUMAN
from .context import BuildContext
from .decisions import resume_decisions
from .seed import SEED_KEY, SeedCodebook, read_seed

THREAD_KEY = "build_thread"


@dataclass
class BuildStatus:
    thread_id: str
    state: str  # "new", "running" (a live process holds it), "interrupted", "paused", "finished"
    next_nodes: list[str] = field(default_factory=list)
    proposal_ids: list[int] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    version: int | None = None
    llm: dict[str, Any] = field(default_factory=dict)
    alignment: dict[str, Any] = field(default_factory=dict)  # the final score table, once finished
    holder: dict[str, Any] | None = None  # the running build's pid, node, start (state "running")

    @property
    def running_line(self) -> str:
        return describe_holder(self.holder) if self.holder else self.state


def holder_alive(holder: dict) -> bool:
    """Whether the process that recorded ``holder`` still exists: a build killed with ``kill -9``
    leaves its lock behind, and a dead pid must never block the resume."""
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def describe_holder(holder: dict) -> str:
    """'running (pid 4242, node reconstruct, started 2025-01-01 12:03:04, by dana)'."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["started"]))
    by = f", by {holder['by']}" if holder.get("by") else ""
    return f"running (pid {holder['pid']}, node {holder.get('node') or 'starting'}, started {started}{by})"


def open_checkpointer(store: Store) -> SqliteSaver:
    """LangGraph's SQLite checkpointer on the project file (its own connection, same WAL file)."""
    saver = SqliteSaver(store.checkpoint_connection())
    saver.setup()
    return saver


def current_thread(store: Store) -> str:
    return store.get_meta(THREAD_KEY) or "build-1"


@contextmanager
def _compiled(store: Store):
    """The build graph with the project's checkpointer; its connection is closed on exit."""
    saver = open_checkpointer(store)
    try:
        yield build_graph().compile(checkpointer=saver)
    finally:
        saver.conn.close()


def _status(graph, store: Store, thread_id: str, llm: dict | None = None) -> BuildStatus:
    """A step whose nodes all wrote their results but whose next checkpoint was never saved (a kill
    in between) has no ``next`` yet still has ``tasks``: it is "interrupted", and resuming applies
    those writes and goes on. The proposals are listed while paused, and while stopped before
    ``apply`` (a decision that cannot be applied is re-decided there)."""
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    values = snapshot.values or {}
    if not snapshot.values and not snapshot.next:
        state = "new"
    elif not snapshot.next and not snapshot.tasks:
        state = "finished"
    elif snapshot.interrupts:
        state = "paused"
    else:
        state = "interrupted"
    redecide = state == "paused" or list(snapshot.next) == ["apply"]
    ids = list(values.get("proposal_ids", [])) if redecide else []
    decided = store.latest_decisions(ids)
    return BuildStatus(thread_id, state, list(snapshot.next), ids, [i for i in ids if i not in decided],
                       values.get("history", []), values.get("stop_reason"), values.get("version"), llm or {},
                       values.get("alignment", {}))


def _check_same_training(store: Store, config, restart: bool) -> None:
    record = None if restart else store.build_record(current_thread(store))
    started = None if record is None else record.get("train_sources", [HUMAN])
    if started is not None and started != list(config.em.train_sources):
        raise WorkbenchError(f"this build's codebook is trained on {started}; to train on "
                             f"{list(config.em.train_sources)} start a new build with --restart")


def build_status(store: Store) -> BuildStatus:
    """Where the project's build is, without running anything; "running" while a live process
    holds the build (whatever its last checkpoint says)."""
    with _compiled(store) as graph:
        status = _status(graph, store, current_thread(store))
    holder = store.build_lock()
    if holder is not None and holder_alive(holder):
        status.state, status.holder = "running", holder
    return status


def _claim(store: Store, by: str | None) -> str:
    """Take the project's build lock or refuse with who holds it; returns the lock's token."""
    token = uuid.uuid4().hex
    holder = {"pid": os.getpid(), "token": token, "node": None, "started": time.time(), "beat": time.time(),
              "by": by}
    current = store.claim_build_lock(holder, holder_alive)
    if current is not None:
        raise WorkbenchError(f"the build of {store.path} is {describe_holder(current)}: wait for it to finish, "
                             "then run 'workbench build' again")
    return token


def run_build(store: Store, auto_approve: bool = False, iterations: int | None = None, restart: bool = False,
              show_progress: bool = True, on_update: Callable[[str, dict], None] | None = None,
              resume: dict[str, dict] | None = None, train_sources: Sequence[str] = (),
              by: str | None = None, seed_codebook: str | Path | None = None,
              estimate: Estimate | None = None) -> BuildStatus:
    """Run the codebook graph until the next review pause or the end.

    A paused build continues with the decisions recorded in the project (or ``resume``, a
    ``Command(resume=...)`` payload {proposal id: {"decision", "decider", "names"?}}); a build
    that was interrupted any other way continues from its last checkpoint.

    Only human documents and those of ``train_sources`` (kept in ``em.train_sources``) shape the
    codebook; every other source is mapped onto it when scored.

    One build runs per project: its pid, node and start are recorded (``by``: who resumed it) and
    a second ``run_build`` refuses while that process lives.

    ``seed_codebook`` (a .qdc, .qdpx or table, see :mod:`workbench.build.seed`) makes C⁰ that
    codebook instead of a clustering; only a build that has not started (or ``restart``) takes one.
    ``estimate`` (:func:`workbench.build.estimate.estimate_build`) is kept with this invocation's
    run, so that ``status`` shows it beside what the run used.
    """
    if by is not None and (auto_approve or resume is not None):
        require(store, by, DECIDE)  # approving or resuming with decisions is a reviewer's or lead's act
    seed = read_seed(seed_codebook) if seed_codebook is not None else None
    token = _claim(store, by)
    try:
        return _locked_build(store, token, auto_approve, iterations, restart, show_progress, on_update, resume,
                             train_sources, seed, estimate)
    finally:
        store.release_build_lock(token)


def _locked_build(store: Store, token: str, auto_approve: bool, iterations: int | None, restart: bool,
                  show_progress: bool, on_update: Callable[[str, dict], None] | None,
                  resume: dict[str, dict] | None, train_sources: Sequence[str],
                  seed: SeedCodebook | None = None, estimate: Estimate | None = None) -> BuildStatus:
    config = store.config()
    settings = {}
    if iterations is not None:
        settings["em.iterations"] = str(iterations)
    if train_sources:
        present = {source for _, source, _ in store.document_counts()}
        unknown = sorted(set(train_sources) - present)
        if unknown:
            raise WorkbenchError(f"--train-source {', '.join(unknown)}: no such source in {store.path} "
                                 f"(sources: {', '.join(sorted(present))})")
        settings["em.train_sources"] = json.dumps(list(dict.fromkeys([HUMAN, *train_sources])))
    if settings:
        config = config.with_settings(settings)
        _check_same_training(store, config, restart)
        store.save_config(config)
    with _compiled(store) as graph:
        return _run(graph, store, token, config, auto_approve, restart, show_progress, on_update, resume, seed,
                    estimate)


def _run(graph, store: Store, token: str, config, auto_approve: bool, restart: bool, show_progress: bool,
         on_update: Callable[[str, dict], None] | None, resume: dict[str, dict] | None,
         seed: SeedCodebook | None = None, estimate: Estimate | None = None) -> BuildStatus:
    thread_id = current_thread(store)
    if restart and _status(graph, store, thread_id).state != "new":
        thread_id = f"build-{int(thread_id.rsplit('-', 1)[-1]) + 1}"
    status = _status(graph, store, thread_id)
    if seed is not None:
        if status.state != "new":
            raise WorkbenchError(f"the build {thread_id} has started without --seed-codebook: start a new one "
                                 f"seeded from {seed.file} with --restart")
        store.set_meta(SEED_KEY + thread_id, seed.to_json())
    store.set_meta(THREAD_KEY, thread_id)
    kept = store.get_meta(SEED_KEY + thread_id)  # a resumed seeded build finds its seed here
    if status.state == "finished":
        return status
    graph_input: Any = None if status.state == "interrupted" else {}
    if status.state == "paused":
        decisions = resume if resume is not None else resume_decisions(store, status.proposal_ids, auto_approve)
        if decisions is None:
            return status
        graph_input = Command(resume=decisions)
    run_id = store.start_run("build", config.digest(), estimate.as_dict() if estimate else None)
    gateway = Gateway(store, config, run_id)
    context = BuildContext(store, gateway, config, thread_id, auto_approve, show_progress,
                           SeedCodebook.from_json(kept) if kept else None)
    try:
        with gateway.session():  # the nodes' model calls share one loop and its connections
            for mode, chunk in graph.stream(graph_input, {"configurable": {"thread_id": thread_id}}, context=context,
                                            stream_mode=["tasks", "updates"], durability="sync"):
                if mode == "tasks":
                    if "input" in chunk:  # a node starts: the heartbeat names it
                        store.touch_build_lock(token, chunk["name"])
                    continue
                for node, values in chunk.items():
                    if on_update and node != "__interrupt__":
                        on_update(node, values or {})
                store.finish_run(run_id, gateway.stats.as_dict())  # kept current: a killed run still counts
    finally:
        store.finish_run(run_id, gateway.stats.as_dict())
    return _status(graph, store, thread_id, gateway.stats.as_dict())
