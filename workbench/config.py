"""One settings object per project: model endpoints per LLM role and the paper's hyper-parameters.

The configuration is stored in the project database (``meta.config``) and validated once here.
API keys are never part of it: a role names the *environment variable* that holds its key.
"""
from __future__ import annotations

import hashlib
import json
from typing import Literal, overload

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from .errors import WorkbenchError
from .vocabulary import HUMAN

# The representations of a text the embedder's vectors can be read in (:mod:`workbench.llm.language_space`).
Representation = Literal["raw", "passage", "language-centered", "language-subspace", "value-lens"]
VALUE_LENS = "value-lens"  # a language space seen through the value lens (:mod:`workbench.llm.value_lens`)
# The value lens is the default because it won issue 23's checks on ValueEval's validation split
# (known-answer ρ 0.639 against 0.464 without it; README, "The value lens").
DEFAULT_REPRESENTATION: Representation = VALUE_LENS
# The choices of the setting ``em.clusterer`` (:data:`workbench.codebook.clustering.CLUSTERERS` makes each).
ClustererName = Literal["umap-hdbscan"]
# The default of ``em.min_separation``: two equal modes 3 standard deviations apart,
# ``codebook.refine.two_mode_share(1.5)`` rounded (tests/test_refinement_reconstruction.py checks it).
MIN_SEPARATION = 0.747


class AlignmentConfig(BaseModel):
    """Settings for Eq. 4/21 (UOT), Eq. 22 (debiasing) and the bootstrap around them.

    The paper gives no values for ε, τ or ε₂, so these defaults are ours:

    - ``eps = 0.02``. Costs are cosine distances times a co-occurrence discount ≤ 1, so for
      text-embedding codebooks they lie in about [0, 0.5]; a near and a far code differ by
      about 0.1–0.3, i.e. 5–15 ε, so the Gibbs kernel exp(−D/ε) still tells them apart, and
      max(D)/ε ≤ 25 is far from float64 underflow (700), so plain Sinkhorn is exact. Eq. 4's
      entropy is w.r.t. the counting measure, so the blur grows with K: on synthetic
      codebooks with costs in [0.2, 0.42], a plan row spreads over ~3 / 26 / 33 codes at
      K = 10 / 213 / 300 with total mass within 2–5 % of 1, whereas ε = 0.05 spreads it over
      54–70 codes with +10 % mass at K ≥ 213 (drifting towards the uninformative product
      plan) and ε = 0.01 is sharper but needs ~2× the iterations (the contraction factor is
      γ = τ/(τ+ε)). 48 debiased scores at K = 213 take ~0.6 s with ε = 0.02.
    - ``tau = 1.0``. τ is in cost units (one nat of marginal KL costs τ). τ = 1 is 2–10× the
      typical cost, so most mass is transported rather than created or destroyed, yet a code
      one side never uses is not forced onto the other side at any price (balanced OT, τ → ∞).
    - ``eps2 = 1e-8``. Only guards 0/0 in the co-occurrence ratio for codes no human document
      uses; it must stay far below the mean posterior of a used code (≥ 1/N).
    - ``n_boot = 200`` bootstrap resamples (~0.5–1 s each for a 4 × 12 table at K = 213),
      ``ci_level = 0.95``, ``seed = 0``.
    - ``ci_method = "simex"``: the paper reports no intervals, so this is ours (the field
      records it in every stored row). The plug-in D is biased upwards by sampling noise, and
      with many codes and few documents by far more than its spread; the basic (pivotal)
      interval on D corrects the bias the resamples show, but they show only part of it (a
      transport distance adds noise in quadrature, and saturates with sparse counts), so it
      covered 0.00–0.96 of simulated truths at K ≥ 50 (half the cells below 0.6).
      ``basic-power`` takes the basic interval on the scale D^p where the bias is additive, p
      fitted per cell from a second set of ``n_boot // 2`` resamples of half the documents, and
      joins it with the one on D² (:mod:`workbench.alignment.intervals`): 0.90–1.00 over the 24
      cells of bench/intervals.py, the sparsest cell (K = 200, 30 documents a side) at 0.898.
      ``simex`` adds ``n_boot // 2`` resamples of a quarter of the documents and centres the
      interval by SIMEX's quadratic extrapolant through the four noise levels, joined with
      ``basic-power``'s two (stretched to the plug-in r where all collapse to r = 1): its bias-corrected r has the lower root-mean-square error in all
      24 cells of both of the bench's document models, and its interval covers 0.93–1.00
      (0.90–1.00 on the model no method was chosen on; docs/deviations.md), for 1.6× the
      bootstrap's time (``basic``'s; 1.25× ``basic-power``'s, bench/uot.py --bootstrap). ``basic-power`` (the default until issue 24 closed) and ``basic`` (the
      old interval, widened to reach r̂) stay, so stored rows can be reproduced; every
      interval is cut at r = 1.
    - ``ceiling_splits = 10`` random split-halves per (group, size) for the row's ceiling: r
      depends on how many documents each side has, so each row also reports the r two disjoint
      random sets of the group's own documents reach at the source's size (0 = no ceiling).
    - ``equal_n = None``: score every source on its own documents. An integer n subsamples every
      source to n documents ``equal_n_repeats = 10`` times and averages, so r is comparable
      across sources of different sizes.
    - ``cost_from = "group"``: each human group's cost matrix uses that group's own documents
      (the paper's E over p̂^g(x)); ``"pooled"`` uses all human groups' documents together, so
      every group is scored on one geometry.
    - ``max_iter``/``tol`` are the Sinkhorn stopping rule (POT's relative change of the
      scalings u, v per iteration). The objective is stationary at the optimum, so its error
      is second order: tol = 1e-6 leaves |ΔD| ≈ 1e-11 (measured against tol = 1e-12). A run
      that hits ``max_iter`` raises instead of returning a rough plan.
    """

    model_config = ConfigDict(extra="forbid")

    eps: float = Field(0.02, gt=0, description="ε: entropic regularisation of Eq. 4, cost units")
    tau: float = Field(1.0, gt=0, description="τ (γ in Eq. 4): marginal KL penalty, cost units")
    eps2: float = Field(1e-8, gt=0, description="ε₂: guard in the co-occurrence discount of D")
    n_boot: int = Field(200, ge=0, description="bootstrap resamples of documents; 0 = no CI")
    ci_level: float = Field(0.95, gt=0, lt=1, description="two-sided CI level")
    ci_method: Literal["basic", "basic-power", "simex"] = Field(
        "simex", description="bootstrap interval: simex (basic on the D^p scale, p fitted, centred by a quadratic "
        "in the noise level), basic-power (the same centred by a line) or basic")
    ceiling_splits: int = Field(10, ge=0, description="random split-halves averaged per ceiling; 0 = none")
    equal_n: int | None = Field(None, ge=2, description="subsample every source to this many documents")
    equal_n_repeats: int = Field(10, ge=1, description="subsamples averaged with equal_n")
    seed: int = Field(0, ge=0, description="bootstrap seed; same inputs and seed give the same CI")
    cost_from: Literal["group", "pooled"] = Field(
        "group", description="human documents that define the cost matrix of a group"
    )
    max_iter: int = Field(20000, ge=1, description="Sinkhorn iteration cap")
    tol: float = Field(1e-6, gt=0, description="Sinkhorn stopping threshold (relative change)")


ROLES = ("extractor", "namer", "decoder", "generator", "embedder")
CHAT_ROLES = ROLES[:4]  # the roles that call a chat model (the embedder embeds)
Role = Literal["extractor", "namer", "decoder", "generator", "embedder"]
# Default sampling temperature per role. The decoder samples N2 reconstructions whose mean is the
# expectation of App. E.4 ("gpt-4.1-nano ... with a temperature of 1.0"); at 0 they are near-copies.
# Every other role keeps 0 (extraction and naming are deterministic tasks; the generator's samples
# are varied with `generate --samples` and its own setting).
ROLE_TEMPERATURE = {"decoder": 1.0}


class RoleConfig(BaseModel):
    """How one LLM role is served: the settings every role has.

    ``provider="offline"`` uses the embedded non-LLM strategy for the role (see README, "Offline
    mode"); ``provider="openai"`` talks to any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama,
    llama.cpp server) through langchain-openai. The decoder and the embedder have settings of their
    own (:class:`DecoderConfig`, :class:`EmbedderConfig`); the other roles have only these.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Literal["offline", "openai"] = "offline"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float | None = Field(None, ge=0.0, le=2.0,
                                      description="None: the role's default (ROLE_TEMPERATURE)")
    max_tokens: int = Field(1024, ge=1)
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=256)
    validation_retries: int = Field(1, ge=0, le=5)

    @model_validator(mode="after")
    def _needs_model(self) -> "RoleConfig":
        if self.provider == "openai" and not self.model:
            raise ValueError("provider 'openai' needs a model name")
        return self

    def sampling_temperature(self, role: str) -> float:
        """The temperature sent for ``role``: the one set, else the role's default."""
        return ROLE_TEMPERATURE.get(role, 0.0) if self.temperature is None else self.temperature

    def strategy_label(self, offline_label: str) -> str:
        """What produced an output of this role, as stored beside it."""
        return offline_label if self.provider == "offline" else f"llm:{self.model}"


class DecoderConfig(RoleConfig):
    """The decoder role: how d(x|s) is measured (Eq. 13, footnote 3)."""

    distortion: Literal["embedding", "logprob"] = Field(
        "embedding", description="d(x|s) as −mean cos of N2 sampled reconstructions' embeddings "
                                 "(black-box decoder), or the document's token −log p given the code set "
                                 "(open decoder, footnote 3; needs prompt log-probabilities from /v1/completions)")
    offline_decoder: Literal["latent", "lm"] = Field(
        "latent", description="with provider 'offline': the latent decoder (d = −cos of the document with "
                              "its codes' weighted embedding, every document), or 'lm', the document's token "
                              "−log p under Gemma 3 270M run in process (footnote 3; doc_budget documents per "
                              "iteration; llama.cpp through xllamacpp)")
    logprob_reduce: Literal["mean", "sum"] = Field(
        "mean", description="log-probability d (distortion logprob or offline_decoder lm): 'mean' = "
                            "−log p(x|s) per token (length-normalised, nats per token; ours), 'sum' = −log p(x|s) "
                            "of the scored text as footnote 3 writes it (nats per document)")


class EmbedderConfig(RoleConfig):
    """The embedder role: the vectors' input window and representation."""

    max_input_tokens: int | None = Field(
        None, ge=16, description="tokens of a document or reconstruction embedded (None: the "
                                 "embedder's own window, 512 for e5 and 8191 for OpenAI's)")
    representation: Representation | None = Field(
        None, description="how embeddings are represented. Offline embedder: raw, passage, language-centered, "
                          "language-subspace (how e5 vectors are made language-neutral; README, 'Languages in "
                          "offline mode') or value-lens (language-centered seen through the value lens; README, "
                          "'The value lens'); None: the default, value-lens. Another embedder: value-lens "
                          "(after 'workbench lens fit') or None, its own vectors")

    def representation_in_use(self) -> str | None:
        """The representation set, else the offline default; for an embedder other than the
        offline one only the value lens applies (None: its own vectors)."""
        if self.provider == "offline":
            return self.representation or DEFAULT_REPRESENTATION
        return VALUE_LENS if self.representation == VALUE_LENS else None


def owning_role(key: str) -> str | None:
    """The role whose own setting ``key`` is (None: a setting of every role, or of none)."""
    return next((role for role, cls in ROLE_CONFIGS.items()
                 if cls is not RoleConfig and key in cls.model_fields and key not in RoleConfig.model_fields), None)


class RolesConfig(BaseModel):
    """The five LLM roles (:data:`ROLES`), each with its own settings class."""

    model_config = ConfigDict(extra="forbid")

    extractor: RoleConfig = Field(default_factory=RoleConfig)
    namer: RoleConfig = Field(default_factory=RoleConfig)
    decoder: DecoderConfig = Field(default_factory=DecoderConfig)
    generator: RoleConfig = Field(default_factory=RoleConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    _dropped: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _migrate(cls, data: object, handler) -> "RolesConfig":
        """Configs stored before each role had only its own settings (issue 27) held every
        role-specific setting under every role, where only the owning role ever read it: such a
        setting is dropped (it had no effect), and noted in :attr:`dropped` when it held more than
        the default."""
        dropped: list[str] = []
        if isinstance(data, dict):
            data = dict(data)
            for role, settings in data.items():
                if role not in ROLE_CONFIGS or not isinstance(settings, dict):
                    continue
                own = ROLE_CONFIGS[role].model_fields
                foreign = [k for k in settings if k not in own and owning_role(k) is not None]
                for key in foreign:
                    default = ROLE_CONFIGS[owning_role(key)].model_fields[key].default
                    if settings[key] != default:
                        dropped.append(f"roles.{role}.{key} = {settings[key]} (only roles.{owning_role(key)} "
                                       f"reads {key}; it had no effect)")
                data[role] = {k: v for k, v in settings.items() if k not in foreign}
        roles = handler(data)
        if isinstance(data, dict):
            roles._dropped = dropped
        return roles

    @property
    def dropped(self) -> list[str]:
        """Settings of an old stored config that were dropped on reading it (see :meth:`_migrate`)."""
        return self._dropped


# The settings class of each role; a setting of one of the subclasses belongs to that role alone.
ROLE_CONFIGS: dict[str, type[RoleConfig]] = {name: field.annotation for name, field in RolesConfig.model_fields.items()}
assert tuple(ROLE_CONFIGS) == ROLES


class ExtractionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_expressions: int = Field(5, ge=1, le=50, description="M': expressions kept per document")
    max_sentence_chars: int = Field(400, ge=20)


class EMConfig(BaseModel):
    """Algorithm 1 and App. E.4 hyper-parameters, with the paper's defaults."""

    model_config = ConfigDict(extra="forbid")

    n1: int = Field(3, ge=1, description="N1: code sets kept per document")
    n2: int = Field(3, ge=1, description="N2: reconstructions per code set")
    m: int = Field(3, ge=1, description="M: codes per sampled set")
    iterations: int = Field(10, ge=1, description="T: maximum refinement iterations (split/merge rounds)")
    beta1: float = 0.3
    beta2: float = 0.08
    tau1: float = 1.0
    z_merge: float = -0.5
    z_split: float = 1.0
    sigma_mode: Literal["initial", "per-version"] = Field(
        "initial", description="σ of Eq. 15: measured on C0 and held for the whole build ('initial'), or "
                               "re-measured on every version ('per-version', lets S rise by flattening alone)")
    min_rel_improvement: float = Field(
        0.005, ge=0.0, description="stop when S(C) improves by less than this fraction of |S| for `patience` "
                                   "iterations in a row (0 turns the rule off; ours, not the paper's)")
    patience: int = Field(2, ge=1, description="iterations of too little improvement before stopping")
    split_tolerance: float = Field(
        0.01, ge=0.0, description="a split candidate's distortion counts as falling only when it dropped by "
                                  "more than this fraction (App. E.4: ~1 %)")
    merge_threshold_mode: Literal["calibrated", "paper"] = Field(
        "calibrated", description="near-duplicate merge of C0: 'paper' = cosine >= merge_cosine verbatim "
                                  "(for text-embedding-3-large); 'calibrated' = merge_cosine on this corpus' scale")
    merge_cosine: float = Field(0.9, gt=-1.0, le=1.0, description="App. E.4: 0.9")
    clusterer: ClustererName = Field(
        "umap-hdbscan", description="the reducer and clusterer of C0 (App. E.4): 'umap-hdbscan' = UMAP to "
                                    "umap_dims dimensions (cosine, seeded by seed), then HDBSCAN(min_cluster_size)")
    min_cluster_size: int = Field(5, ge=2)
    umap_dims: int = Field(5, ge=2)
    min_code_p: float = 0.01
    doc_budget: int = Field(300, ge=1, description="documents reconstructed per iteration (stratified)")
    objective: Literal["reconstruction", "paper"] = Field(
        "reconstruction", description="what refinement answers to: 'paper' = Algorithm 1 as printed (splits and "
                                      "merges by usage and d(c_k), stop rule on S(C)); 'reconstruction' = a split only "
                                      "when its halves are distinguishable, a merge only when the two codes are not "
                                      "(min_separation), a change kept and the stop rule read on −d̄ of held-out "
                                      "documents (S(C) alone rises with near-duplicate codes, issue 23)")
    holdout_share: float = Field(
        0.3, gt=0.0, lt=1.0, description="objective 'reconstruction': share of each iteration's reconstructed "
                                         "documents held out (the same ones every iteration) to judge changes")
    min_separation: float = Field(
        MIN_SEPARATION, gt=0.0, le=1.0,
        description="objective 'reconstruction': held-out share of variance a cut must explain for two groups of "
                    "members to count as distinct codes (default: two modes 3 sd apart; one Gaussian gives ≤ 2/π)")
    train_sources: list[str] = Field(
        default_factory=lambda: [HUMAN], min_length=1,
        description="sources whose documents shape the codebook; every other source is only mapped onto it")
    seed: int = 0


ALPHA_FLOOR = 0.667  # Krippendorff (2004): the lowest α from which tentative conclusions are drawn


class AnnotationConfig(BaseModel):
    # a code whose per-code α interval lies wholly below the floor becomes a review proposal
    alpha_floor: float = Field(ALPHA_FLOOR, gt=0, le=1)


class ReviewConfig(BaseModel):
    # reviewers whose agreeing decisions carry out a codebook change (#25); 1: one decision does, as
    # before; a lead's decision always settles a proposal alone
    quorum: int = Field(1, ge=1)
class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(0.0, ge=0)


class LLMCostConfig(BaseModel):
    """Cost before a run (``--estimate``): prices per model over the shipped, dated defaults
    (``workbench/llm/prices.json``), and the estimate above which a run asks first."""

    model_config = ConfigDict(extra="forbid")

    prices: dict[str, ModelPrice] = Field(default_factory=dict,
                                          description="model -> {input, output} USD per million tokens; "
                                                      "over the shipped defaults")
    max_cost: float | None = Field(None, ge=0, description="USD: a run estimated above it asks first (or --yes)")


class WorkbenchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: RolesConfig = Field(default_factory=RolesConfig)
    extraction: ExtractionConfig = Field(default_factory=ExtractionConfig)
    em: EMConfig = Field(default_factory=EMConfig)
    # Sec. 3.3 / App. F.3 scoring settings (ε, τ, ε₂, bootstrap); defaults documented in AlignmentConfig.
    alignment: AlignmentConfig = Field(default_factory=AlignmentConfig)
    annotation: AnnotationConfig = Field(default_factory=AnnotationConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    llm: LLMCostConfig = Field(default_factory=LLMCostConfig)

    @overload
    def role(self, name: Literal["decoder"]) -> DecoderConfig: ...
    @overload
    def role(self, name: Literal["embedder"]) -> EmbedderConfig: ...
    @overload
    def role(self, name: Role) -> RoleConfig: ...

    def role(self, name: Role) -> RoleConfig:
        return getattr(self.roles, name)

    def warnings(self) -> list[str]:
        """Settings that make a figure mean something other than the paper's, and those dropped from
        an old stored config (printed, not refused)."""
        found = [f"dropped from the stored config: {note}" for note in self.roles.dropped]
        decoder = self.role("decoder")
        if decoder.provider == "openai" and decoder.sampling_temperature("decoder") == 0:
            found.append("roles.decoder.temperature is 0: the N2 reconstructions of a code set are near-copies, so "
                         "their mean is not the expectation of App. E.4 (the paper samples at 1.0)")
        return found

    def digest(self) -> str:
        """A short hash that tags everything a run produces."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def with_endpoint(self, base_url: str | None = None, model: str | None = None,
                      embedding_model: str | None = None) -> "WorkbenchConfig":
        """``workbench init``'s settings: ``model`` for every chat role, ``embedding_model`` for the
        embedder, both on ``base_url`` when given (else OpenAI's); a role without a model stays offline."""
        settings: dict[str, str] = {}
        for role, name in [*((role, model) for role in CHAT_ROLES), ("embedder", embedding_model)]:
            if name:
                settings |= {f"roles.{role}.provider": "openai", f"roles.{role}.model": name}
                settings |= {f"roles.{role}.base_url": base_url} if base_url else {}
        return self.with_settings(settings)

    def with_settings(self, settings: dict[str, str]) -> "WorkbenchConfig":
        """Return a copy with each ``a.b.c = value`` set (values parsed as JSON when they can be),
        validated once so that settings that only make sense together can be given together."""
        data = self.model_dump()
        for dotted, value in settings.items():
            try:
                parsed: object = json.loads(value)
            except json.JSONDecodeError:
                parsed = value
            node = data
            keys = dotted.split(".")
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict) or keys[-1] not in node:
                owner = owning_role(keys[-1]) if len(keys) == 3 and keys[0] == "roles" else None
                if owner and keys[1] in ROLE_CONFIGS:
                    raise WorkbenchError(f"{keys[1]} has no setting {keys[-1]!r}: it is the {owner}'s, "
                                         f"'roles.{owner}.{keys[-1]}'")
                raise WorkbenchError(f"unknown setting {dotted!r}: run 'workbench config PROJECT' to list settings")
            node[keys[-1]] = parsed
        config = parse_config(json.dumps(data), source="settings " + ", ".join(settings))
        if config.roles.dropped:  # a role's whole object given with another role's setting in it
            note = config.roles.dropped[0].replace("; it had no effect", "")
            raise WorkbenchError(f"settings {', '.join(settings)}: {note}: set it there")
        return config


def parse_config(text: str, source: str = "project config") -> WorkbenchConfig:
    try:
        return WorkbenchConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkbenchError(f"{source}: {where}: {first['msg']}") from None
