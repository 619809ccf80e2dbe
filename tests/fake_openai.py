"""A loopback fake of the OpenAI-compatible API, for tests only.

It serves ``/v1/chat/completions`` and ``/v1/embeddings`` on 127.0.0.1 with behaviour scripted by
the test: ``server.chat = lambda request: reply`` where a reply is a text, or a ``Reply`` with a
status code, headers and a delay. Every request is recorded (path, headers, JSON body).
A scripted model that samples should draw from :func:`request_rng`, which honours the request's
``seed`` the way a seed-honouring server does.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    error_body: dict | None = None


# How each local server family differs where the workbench can tell (see README, "Local and private
# models"): whether /v1/completions echoes prompt log-probabilities, and the shape of an error body.
PROFILES = ("openai", "vllm", "ollama", "llamacpp")
ECHOES_LOGPROBS = {"openai": True, "vllm": True, "ollama": False, "llamacpp": False}


def error_body(profile: str, status: int, message: str) -> dict:
    """An error reply as ``profile`` writes it: OpenAI, Ollama and llama.cpp wrap it in "error",
    vLLM answers with a top-level error object."""
    if profile == "vllm":
        return {"object": "error", "message": message, "type": "NotFoundError", "param": None, "code": status}
    if profile == "llamacpp":
        return {"error": {"code": status, "message": message, "type": "not_found_error"}}
    return {"error": {"message": message, "type": "api_error" if profile == "ollama" else "invalid_request_error",
                      "param": None, "code": None}}


def hashed_embedding(text: str, dim: int = 16) -> list[float]:
    """A deterministic pseudo-embedding: equal texts give equal vectors."""
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    vec = np.random.default_rng(seed).normal(size=dim)
    return (vec / np.linalg.norm(vec)).tolist()


def request_rng(body: dict) -> np.random.Generator:
    """The sampler of a seed-honouring server for one chat request: with a ``seed``, a generator
    fixed by the seed and the request (messages, temperature, top_p), so the same seed and prompt
    give the same answer; without one, a freshly seeded generator, so every call is a new sample."""
    if body.get("seed") is None:
        return np.random.default_rng()
    key = json.dumps([body["seed"], body.get("messages"), body.get("temperature"), body.get("top_p")],
                     sort_keys=True)
    return np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.chat: Callable[[dict], str | Reply] = lambda body: "ok"
        self.embed: Callable[[str], list[float]] = hashed_embedding
        # /v1/completions with echo: the log-probability of each whitespace token of the prompt, or
        # None for an endpoint that returns no log-probabilities
        self.token_logprob: Callable[[str, str], float] | None = None
        # How the chat endpoint counts tokens in its ``usage``: whitespace words by default; a test
        # of cost estimates gives a real tokenizer (each message + 3, the reply priming + 3, as OpenAI counts)
        self.count_tokens: Callable[[str], int] | None = None
        self.profile = "openai"  # one of PROFILES: which server family to behave like
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive and no Nagle delay, as a real endpoint: under HTTP/1.0 every call paid a new
            # connection (its address lookup in a thread, a connect, a server thread) before its latency.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                            "received": time.time(), "client": self.client_address})
                if self.path.endswith("/embeddings"):
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [{"object": "embedding", "index": i, "embedding": server.embed(t)} for i, t in enumerate(inputs)]
                    return self._send(200, {"object": "list", "data": data, "model": body.get("model"),
                                            "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                if self.path.endswith("/completions") and not self.path.endswith("/chat/completions"):
                    return self._send(200, server._completion(body))
                reply = server.chat(body)
                if isinstance(reply, str):
                    reply = Reply(reply)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                if reply.delay:
                    time.sleep(reply.delay)
                with server._lock:
                    server.in_flight -= 1
                if reply.status != 200:
                    return self._send(reply.status, reply.error_body or {"error": {"message": "scripted failure",
                                                                                    "type": "server_error"}},
                                      reply.headers)
                contents = [str(m.get("content", "")) for m in body.get("messages", [])]
                if server.count_tokens is None:
                    prompt_tokens, completion_tokens = len(" ".join(contents).split()), len(reply.text.split())
                else:
                    prompt_tokens = sum(server.count_tokens(c) + 3 for c in contents) + 3
                    completion_tokens = server.count_tokens(reply.text)
                return self._send(200, {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply.text}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                }, reply.headers)

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout under test): nothing to answer, nothing to print

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # the default 5 drops SYNs under concurrency: a 1 s stall

            def handle_error(self, request, client_address):
                # A client that hung up mid-reply is a scripted fault, not an error: printing its
                # traceback would land in whatever output a later test captures.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _completion(self, body: dict) -> dict:
        """An echoed completion: the prompt's words as tokens (each with the whitespace after it),
        their character offsets and ``token_logprob(prompt so far, token)``, then one generated token."""
        prompt = body["prompt"]
        tokens = re.findall(r"\S+\s*", prompt) + [" end"]
        offsets = list(itertools.accumulate([0] + [len(t) for t in tokens[:-1]]))
        logprobs = None
        if self.token_logprob is not None and ECHOES_LOGPROBS[self.profile]:
            logprobs = {"tokens": tokens, "text_offset": offsets, "top_logprobs": None,
                        "token_logprobs": [None] + [self.token_logprob(prompt[:o], t) for o, t in
                                                    zip(offsets[1:], tokens[1:])]}
        return {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "text": prompt + " end", "finish_reason": "length", "logprobs": logprobs}],
                "usage": {"prompt_tokens": len(tokens) - 1, "completion_tokens": 1, "total_tokens": len(tokens)}}

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]
