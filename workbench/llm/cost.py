"""What a run will cost before it runs (``--estimate``), and what it cost after.

Tokens are counted with tiktoken's encoding for the model when tiktoken has it (OpenAI model
names; the encoding file must be in tiktoken's cache, ``TIKTOKEN_CACHE_DIR``, since nothing can be
downloaded offline), else by a script-aware rule: ``DENSE_TOKENS_PER_CHAR`` token per Han, Hangul
or Kana character (and CJK punctuation and full-width forms), ``CHARS_PER_TOKEN`` characters per
token for everything else (OpenAI's rule of thumb for English). The dense rate is the middle of
what o200k (0.75–0.86 tokens per character) and cl100k (1.16–1.29) give the project's parallel
Korean, Japanese and Chinese statements (``parallel_statements.json``); its error on real texts is
measured by ``bench/token_rule.py`` (README, "Cost before a run"). Every estimate names which
counter it used. A chat request is its messages'
tokens plus ``MESSAGE_OVERHEAD`` per message and ``REPLY_PRIMING`` (OpenAI's accounting for chat).
Output tokens cannot be counted before the reply: an estimate assumes ``EXPECTED_OUTPUT`` tokens
per call of each prompt, never more than the role's ``max_tokens``, and says so.

Prices are USD per million tokens: the project's ``llm.prices`` over the shipped defaults in
``prices.json`` (dated list prices, labelled as such in every estimate).
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import prompts

from ..config import WorkbenchConfig

PRICES_FILE = Path(__file__).with_name("prices.json")
CHARS_PER_TOKEN = 4.0
DENSE_TOKENS_PER_CHAR = 1.0
# Han (with extensions A and compatibility), Hangul syllables and jamo, Hiragana and Katakana, CJK
# symbols and punctuation, half- and full-width forms.
_DENSE = re.compile("[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")
RULE = (f"tokens by rule: {DENSE_TOKENS_PER_CHAR:g} per Han, Hangul or Kana character, "
        f"{CHARS_PER_TOKEN:g} characters per token otherwise")
MESSAGE_OVERHEAD = 3
REPLY_PRIMING = 3
# Assumed output tokens per call, by prompt (a reply cannot be counted before it is written).
# A piece of writing (App. G's prompts ask for one) is assumed to run to 500 tokens; a survey
# respondent is asked for "Answer:" and an explanation after it (a few sentences).
_WRITING = 500
EXPECTED_OUTPUT = {"value_identifier": 400, "code_naming": 60, "document_reconstruction": 250,
                   "topic_writing": _WRITING, "topic_writing_paraphrase1": _WRITING,
                   "topic_writing_paraphrase2": _WRITING, "cultural_role_play": _WRITING, "survey_respondent": 80}
DEFAULT_OUTPUT = 300


@functools.lru_cache(maxsize=1)
def shipped_prices() -> dict:
    return json.loads(PRICES_FILE.read_text("utf-8"))


@functools.lru_cache(maxsize=32)
def _tiktoken_encoder(model: str) -> Callable[[str], list[int]] | None:
    try:
        import tiktoken

        return tiktoken.encoding_for_model(model).encode
    except Exception:  # not installed, a model tiktoken does not know, or its file not cached (offline)
        return None


def rule_tokens(text: str) -> int:
    """Tokens of ``text`` by the stated rule (:data:`RULE`): at least 1 for a text that is not empty."""
    if not text:
        return 0
    dense = len(_DENSE.findall(text))
    return max(1, round(dense * DENSE_TOKENS_PER_CHAR + (len(text) - dense) / CHARS_PER_TOKEN))


def token_counter(model: str | None) -> tuple[Callable[[str], int], str]:
    """(count tokens of a text, how): tiktoken for the model when it loads, else :func:`rule_tokens`."""
    encode = _tiktoken_encoder(model) if model else None
    if encode is not None:
        return (lambda text: len(encode(text, disallowed_special=()))), f"tiktoken ({model})"
    return rule_tokens, f"{RULE} (no tokenizer for {model or 'this model'} here)"


def chat_tokens(count: Callable[[str], int], messages: Sequence[tuple[str, str]]) -> int:
    """Input tokens of one chat request."""
    return sum(count(text) + MESSAGE_OVERHEAD for _, text in messages) + REPLY_PRIMING


def price_of(config: WorkbenchConfig, model: str | None) -> tuple[tuple[float, float] | None, str]:
    """((input, output) USD per million tokens, where the price comes from), or (None, why not)."""
    own = config.llm.prices.get(model or "")
    if own is not None:
        return (own.input, own.output), "llm.prices"
    shipped = shipped_prices()
    found = shipped["models"].get(model or "")
    if found is not None:
        return (found["input"], found["output"]), f"shipped default, list price of {shipped['as_of']}"
    return None, f"no price for {model!r}: set llm.prices"


@dataclass
class RoleEstimate:
    role: str
    model: str | None
    calls: int
    tokens_in: int
    tokens_out: int
    counted_with: str
    output_rule: str
    price: tuple[float, float] | None
    price_source: str

    @property
    def cost(self) -> float | None:
        return None if self.price is None else (self.tokens_in * self.price[0] + self.tokens_out * self.price[1]) / 1e6


@dataclass
class Estimate:
    command: str
    roles: list[RoleEstimate] = field(default_factory=list)
    note: str = ""

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.roles]
        return None if any(c is None for c in costs) else sum(costs)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.roles)

    def as_dict(self) -> dict:
        return {"command": self.command, "note": self.note, "cost": self.cost,
                "roles": [asdict(r) | {"cost": r.cost} for r in self.roles]}


def estimate_chats(config: WorkbenchConfig, role: str, prompt_name: str,
                   requests: Sequence[Sequence[tuple[str, str]]]) -> RoleEstimate:
    """The estimate of sending each of ``requests`` (a list of chat messages) once through ``role``."""
    cfg = config.role(role)
    count, how = token_counter(cfg.model)
    count = functools.cache(count)  # a survey's memory sends the same turns again and again
    per_call = min(EXPECTED_OUTPUT.get(prompt_name, DEFAULT_OUTPUT), cfg.max_tokens)
    price, source = price_of(config, cfg.model)
    return RoleEstimate(role, cfg.model, len(requests), sum(chat_tokens(count, m) for m in requests),
                        per_call * len(requests), how,
                        f"assumed {per_call} per call (max_tokens {cfg.max_tokens})", price, source)


def estimate_completions(config: WorkbenchConfig, role: str, prompts_sent: Sequence[str]) -> RoleEstimate:
    """The estimate of scoring each of ``prompts_sent`` once on ``/v1/completions`` (echo, one
    generated token: the log-probability decoder)."""
    cfg = config.role(role)
    count, how = token_counter(cfg.model)
    price, source = price_of(config, cfg.model)
    return RoleEstimate(role, cfg.model, len(prompts_sent), sum(count(p) for p in prompts_sent), len(prompts_sent),
                        how, "1 per call (the prompt is scored, not continued)", price, source)


def estimate_on_replies(config: WorkbenchConfig, role: str, prompt_name: str, variable: str,
                        replies: Sequence[RoleEstimate]) -> RoleEstimate:
    """The estimate of sending each reply that ``replies`` assume once through ``role``'s
    ``prompt_name`` as its ``variable`` (a document written by one call, then extracted): the prompt
    counted without the reply, plus the reply's assumed tokens."""
    empty = estimate_chats(config, role, prompt_name, [[("user", prompts.render(prompt_name, **{variable: ""}))]])
    calls = sum(r.calls for r in replies)
    return replace(scaled(empty, calls), tokens_in=empty.tokens_in * calls + sum(r.tokens_out for r in replies))


def scaled(estimate: RoleEstimate, calls: int) -> RoleEstimate:
    """``estimate`` (made on a sample of the calls) for ``calls`` calls of the same mean size."""
    if not estimate.calls:
        return estimate
    factor = calls / estimate.calls
    return replace(estimate, calls=calls, tokens_in=round(estimate.tokens_in * factor),
                   tokens_out=round(estimate.tokens_out * factor))


def merged(roles: Sequence[RoleEstimate]) -> list[RoleEstimate]:
    """One estimate per (role, model): the calls and tokens of ``roles`` summed."""
    out: dict[tuple[str, str | None], RoleEstimate] = {}
    for r in roles:
        key = (r.role, r.model)
        out[key] = r if key not in out else replace(out[key], calls=out[key].calls + r.calls,
                                                     tokens_in=out[key].tokens_in + r.tokens_in,
                                                     tokens_out=out[key].tokens_out + r.tokens_out)
    return list(out.values())


def dollars(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def estimate_lines(estimate: Estimate) -> list[str]:
    """The estimate as ``--estimate`` prints it."""
    lines = [f"{estimate.command} estimate: {estimate.calls:,} LLM calls, cost {dollars(estimate.cost)}"
             + (f" ({estimate.note})" if estimate.note else "")]
    for r in estimate.roles:
        lines.append(f"  {r.role:<10} {r.model or '—'}: {r.calls:,} calls, {r.tokens_in:,} input tokens "
                     f"[{r.counted_with}], {r.tokens_out:,} output tokens [{r.output_rule}], {dollars(r.cost)} "
                     f"[{r.price_source}]")
    return lines


def usage_cost(config: WorkbenchConfig, usage: Sequence[dict]) -> float | None:
    """The cost of the tokens a run's calls used (rows of ``Store.run_usage``), each at its own
    model's price; unknown when a model that used tokens has no price."""
    total = 0.0
    for row in usage:
        if row["tokens_in"] or row["tokens_out"]:
            price, _ = price_of(config, row["model"])
            if price is None:
                return None
            total += (row["tokens_in"] * price[0] + row["tokens_out"] * price[1]) / 1e6
    return total


def over_budget(config: WorkbenchConfig, estimate: Estimate) -> str | None:
    """Why the run must ask first (its estimate is above ``llm.max_cost``, or unknown with a budget
    set), or None."""
    limit = config.llm.max_cost
    if limit is None or not estimate.calls:
        return None
    if estimate.cost is None:
        return f"its cost is unknown (a model has no price; set llm.prices) and llm.max_cost is {dollars(limit)}"
    if estimate.cost > limit:
        return f"it is estimated at {dollars(estimate.cost)}, over llm.max_cost {dollars(limit)}"
    return None
