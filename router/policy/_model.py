"""The policy: what a platform team decides, as frozen, validated pydantic models.

Every model forbids unknown keys, so a typo in a policy file is an error, not a silent default.
Cross-field problems are raised as `PydanticCustomError("policy_conflict", ...)` whose context
`at` lists candidate key paths (relative to the error's location): the loader reports the first
one the file actually contains, so the line number points at the key to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from router._durability import DEFAULT_DURABILITY, Durability
from router.policy._endpoints import endpoint_problem
from router.policy._merge import OVERRIDE_FORBIDDEN, deep_merge
from router.privacy._types import PII_CLASSES, PiiAction

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Field(gt=0.0, le=3600.0)]
Task = Literal["code", "math", "other"]
VerifierName = Literal[
    "structural", "valid_json", "python_parses", "self_check", "self_consistency", "posthoc_score"
]
Override = dict[str, Any]


def conflict(message: str, *at: tuple[Any, ...]) -> PydanticCustomError:
    """A cross-field error; `at` lists key paths to blame, most specific first."""
    return PydanticCustomError("policy_conflict", message, {"at": at})


def _none_is_empty(value: Any) -> Any:
    return {} if value is None else value


def _number_is_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalModel(_Frozen):
    """The local model served by Ollama."""

    model: str = Field(default="qwen3.5:9b", description="Ollama model tag")
    host: str | None = Field(
        default=None,
        description="Ollama URL; when unset, $OLLAMA_HOST, else http://127.0.0.1:11434",
    )
    context_tokens: int = Field(
        default=262_144, gt=0, description="Context window; longer prompts are refused"
    )
    connect_timeout_s: PositiveSeconds = Field(
        default=2.0, description="Seconds to wait for a connection to Ollama"
    )
    read_timeout_s: PositiveSeconds = Field(
        default=120.0, description="Seconds to wait for Ollama's answer"
    )


class FrontierModel(_Frozen):
    """One frontier model, reached through the openai SDK or litellm (see `transport`)."""

    model: str = Field(description="litellm model name, e.g. gpt-5.4 or anthropic/claude-opus-4-6")
    api_base: str | None = Field(default=None, description="Only settable here, never per request")
    api_key: SecretStr | None = Field(default=None, description="Prefer api_key_env")
    api_key_env: str | None = Field(
        default=None,
        description="Environment variable holding the key (litellm's default if unset)",
    )
    context_tokens: int = Field(default=1_000_000, gt=0, description="Context window")
    timeout_s: PositiveSeconds = Field(default=120.0, description="Seconds to wait for an answer")
    transport: Literal["auto", "openai", "litellm"] = Field(
        default="auto",
        description="How calls are made: openai (the openai SDK, for OpenAI's API and servers "
        "that speak it), litellm (any provider), auto (openai for OpenAI model names, else "
        "litellm)",
    )

    @field_validator("api_base")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http:// or https:// URL")
        return value


class TaskRule(_Frozen):
    """Prefer a frontier model for one kind of task (detected from the prompt text)."""

    task: Task = Field(description="code, math or other (see router.policy.detect_task)")
    model: str = Field(description="A model listed under frontier.models")


class Frontier(_Frozen):
    """Frontier models in preference order; later ones are fallbacks."""

    models: tuple[FrontierModel, ...] = Field(
        default=(
            FrontierModel(model="gpt-5.4"),
            FrontierModel(model="anthropic/claude-opus-4-6"),
        ),
        description="Tried in this order; empty only for a privacy.local_only policy",
    )
    baseline: str = Field(
        default="gpt-5.4",
        description="What savings are measured against: the model used without a router",
    )
    rules: tuple[TaskRule, ...] = Field(
        default=(),
        description="Per-task preferences: matching rules' models go first, in rule order",
    )

    @model_validator(mode="after")
    def _rules_name_listed_models(self) -> Frontier:
        listed = {m.model for m in self.models}
        for index, rule in enumerate(self.rules):
            if rule.model not in listed:
                names = ", ".join(sorted(listed)) or "none"
                raise conflict(
                    f"rule for {rule.task} names {rule.model!r}, which is not in frontier.models "
                    f"(listed: {names}); add it to frontier.models or fix the name",
                    ("rules", index, "model"),
                )
        return self


class Routing(_Frozen):
    """How a difficulty score becomes a decision."""

    rule: Literal["classifier", "token-count"] = Field(
        default="classifier", description="classifier scores difficulty; token-count uses length"
    )
    threshold: Probability = Field(
        default=0.5, description="Scores at or above go to the frontier tier"
    )
    target_frontier_share: Probability | None = Field(
        default=None,
        description="Instead of threshold: the share of traffic to send to the frontier; "
        "`router calibrate` turns it into a threshold. Set one or the other, not both",
    )
    token_count_threshold: int = Field(
        default=1500, gt=0, description="For rule token-count: prompts this long go frontier"
    )
    escalate_when_local_down: bool = Field(
        default=True, description="Send to the frontier when the local model cannot answer"
    )

    @model_validator(mode="after")
    def _threshold_or_target(self) -> Routing:
        if self.target_frontier_share is not None and "threshold" in self.model_fields_set:
            raise conflict(
                "set either threshold or target_frontier_share, not both; remove one of them",
                ("target_frontier_share",),
            )
        return self


class Retries(_Frozen):
    """Retries for transient failures (connection, timeout, 429, 5xx), within one deadline."""

    max_attempts: int = Field(default=3, ge=1, le=10, description="Per model, first try included")
    backoff_initial_s: Annotated[float, Field(ge=0.0, le=60.0)] = Field(
        default=0.25, description="First wait between attempts; doubles each time"
    )
    backoff_max_s: Annotated[float, Field(ge=0.0, le=60.0)] = Field(
        default=4.0, description="Longest wait between attempts"
    )
    retry_after_cap_s: Annotated[float, Field(ge=0.0, le=300.0)] = Field(
        default=10.0,
        description="Longest Retry-After wait taken; a longer hint moves on to the next model",
    )
    deadline_s: PositiveSeconds = Field(
        default=180.0, description="Whole request, every model and retry included"
    )
    retry_budget: Probability = Field(
        default=0.2,
        description="Per model, retries may be at most this share of its recent requests "
        "(plus a burst of 10), so a failing upstream does not get a retry storm",
    )
    breaker_failures: int = Field(
        default=5, ge=1, le=1000, description="Consecutive failures that open a model's breaker"
    )
    breaker_cooldown_s: PositiveSeconds = Field(
        default=30.0, description="Seconds an open breaker skips its model before one probe call"
    )


class PiiActions(_Frozen):
    """What to do when a prompt contains each class of personal data or secret.

    allow: send as is. redact: replace with placeholders like [EMAIL_1] before a frontier call
    and put the values back in the answer. keep_local: answer with the local model only.
    refuse: fail the request before any model call.
    """

    email: PiiAction = Field(default="redact", description="Email addresses")
    phone: PiiAction = Field(default="redact", description="Phone numbers")
    ip_address: PiiAction = Field(default="redact", description="IPv4 and IPv6 addresses")
    payment_card: PiiAction = Field(
        default="keep_local", description="Payment card numbers (Luhn-checked)"
    )
    ssn: PiiAction = Field(default="keep_local", description="US social security numbers")
    iban: PiiAction = Field(default="keep_local", description="Bank account numbers (IBAN)")
    secret: PiiAction = Field(
        default="keep_local", description="API keys, tokens, passwords and private keys"
    )

    def action_for(self, kind: str) -> PiiAction:
        action: PiiAction = getattr(self, kind)
        return action


assert tuple(PiiActions.model_fields) == PII_CLASSES, "PiiActions must list every PII class"


class Privacy(_Frozen):
    """Data handling."""

    local_only: bool = Field(
        default=False, description="Treat every request as sensitive: no frontier model at all"
    )
    capture_content: bool = Field(
        default=False, description="Store prompt and answer text in the ledger"
    )
    hash_users: bool = Field(default=True, description="Store user ids as SHA-256 hashes")
    detect_pii: bool = Field(
        default=True, description="Scan prompts for personal data and secrets (see pii)"
    )
    pii: PiiActions = Field(default=PiiActions(), description="Action per class of data found")
    on_failed_sensitive: Literal["return", "raise"] = Field(
        default="return",
        description="When a sensitive request's local answer fails verification (it never "
        "escalates): return it marked failed (verification.status), or raise SensitiveDataError",
    )


class Limits(_Frozen):
    """Guards checked before any call."""

    max_prompt_chars: int = Field(
        default=1_000_000, gt=0, description="Longer prompts refused (checked first: cheap)"
    )
    max_prompt_tokens: int = Field(
        default=128_000, gt=0, description="Prompts estimated longer are refused before any call"
    )
    max_output_tokens: int = Field(
        default=8_192,
        gt=0,
        description="Largest max_tokens accepted; sent to frontier models when a request sets none",
    )
    allow_link_local_endpoints: bool = Field(
        default=False,
        description="Allow local.host or frontier api_base at link-local or cloud metadata "
        "addresses (169.254.169.254, metadata.google.internal, ...); refused otherwise",
    )


class Price(_Frozen):
    """USD per million tokens."""

    input_per_mtok: Decimal = Field(ge=0, description="USD per million input tokens")
    output_per_mtok: Decimal = Field(ge=0, description="USD per million output tokens")


class LocalCost(_Frozen):
    """What local tokens cost: a flat rate, or amortised GPU time."""

    per_mtok_usd: Decimal = Field(default=Decimal(0), ge=0, description="Flat USD per M tokens")
    gpu_hour_usd: Decimal = Field(default=Decimal(0), ge=0, description="GPU cost per hour")
    tokens_per_second: Decimal = Field(
        default=Decimal(50), gt=0, description="Throughput used to amortise gpu_hour_usd"
    )


class Ledger(_Frozen):
    """Where records go; when unset, $ROUTER_LEDGER_URL, else SQLite in the user data dir."""

    url: str | None = Field(default=None, description="sqlite:///PATH or postgresql://...")
    enabled: bool = Field(default=True, description="Record every request")
    durability: Durability = Field(
        default=DEFAULT_DURABILITY,
        description=(
            "What a recorded SQLite row survives once the request has returned: 'process-crash' "
            "(synchronous=NORMAL: a killed process loses nothing; a power loss or OS crash may "
            "lose the last rows) or 'power-loss' (synchronous=FULL: an fsync per commit). "
            "PostgreSQL follows its own synchronous_commit"
        ),
    )


class Cap(_Frozen):
    """Spending caps in USD on frontier calls, per UTC day and per UTC month."""

    daily_usd: Decimal | None = Field(default=None, gt=0, description="Cap per UTC day")
    monthly_usd: Decimal | None = Field(default=None, gt=0, description="Cap per UTC month")

    @model_validator(mode="after")
    def _some_cap(self) -> Cap:
        if self.daily_usd is None and self.monthly_usd is None:
            raise conflict("set daily_usd, monthly_usd or both; or remove this entry", ())
        if self.daily_usd and self.monthly_usd and self.daily_usd > self.monthly_usd:
            raise conflict(
                f"daily_usd ({self.daily_usd}) is above monthly_usd ({self.monthly_usd}); "
                "lower the daily cap or raise the monthly one",
                ("daily_usd",),
            )
        return self


class Budgets(_Frozen):
    """Frontier spending caps per team and per app (metadata team=... / app=...).

    Below `pace_from` of a cap nothing changes; from there the escalation threshold rises
    smoothly until, at the cap, requests stay local (with the reason on the result).
    """

    pace_from: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        default=0.5, description="Fraction of a cap at which pacing starts raising the threshold"
    )
    teams: Annotated[dict[str, Cap], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict, description="Team name -> caps on that team's frontier spend"
    )
    apps: Annotated[dict[str, Cap], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict, description="App name -> caps on that app's frontier spend"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.teams or self.apps)


JudgeName = Literal["exact_answer", "pairwise"]


class Learning(_Frozen):
    """The learning loop (docs/learning.md): labels from production traffic (shadow comparisons,
    escalations, feedback, labelled files) train a candidate artefact that `router learn`
    promotes only if it routes the most recent labelled traffic better than the one in use.
    """

    enabled: bool = Field(
        default=True,
        description="Keep labels from escalations, verified answers, feedback and shadow "
        "comparisons in the ledger and use the artefact `router learn` promoted; false stores "
        "nothing for learning and routes with the shipped classifier",
    )
    shadow_rate: Probability = Field(
        default=0.0,
        description="Share of local-answered requests also sent to the frontier model after the "
        "caller has its answer, to learn from the comparison; paid, within budget_usd_per_day",
    )
    local_shadow_rate: Probability = Field(
        default=0.0,
        description="Share of frontier-answered requests also answered by the local model "
        "after the caller has its answer: labels where the router escalates, which frontier "
        "shadows cannot give; free at the margin, but it uses the local model's capacity",
    )
    verified_label_rate: Probability = Field(
        default=0.1,
        description="Share of local answers that passed a check of their content (self_check, "
        "self_consistency or the caller's own verifier; form checks do not count) kept as labels "
        "of no gain, weighted 1 / this share: the other side of the escalations; free. 0: none",
    )
    budget_usd_per_day: Decimal = Field(
        default=Decimal(0),
        ge=0,
        description="Most USD per UTC day that shadow comparisons and pairwise judging may spend "
        "together, across every router sharing the ledger; reported as learning spend. "
        "0 (the default): learning makes no paid call at all",
    )
    judges: tuple[JudgeName, ...] = Field(
        default=("exact_answer", "pairwise"),
        description="Turn a (local answer, frontier answer) pair into a label, first that "
        "answers wins: exact_answer compares final answers (option letter, number, JSON; free), "
        "pairwise asks the first frontier model to compare them (paid, within the budget)",
    )
    retention_days: int | None = Field(
        default=90,
        gt=0,
        description="Labels and stored prompt features older than this are deleted by "
        "`router learn` and `router learn purge`; null keeps them",
    )
    artefact_dir: str | None = Field(
        default=None,
        description="Where `router learn` writes versioned artefacts and the pointer to the one "
        "in use; default: learning/ next to a SQLite ledger, else in the user data directory",
    )
    min_labels: int = Field(
        default=200,
        ge=10,
        description="Fewer labels than this: `router learn` keeps the artefact in use (cold start "
        "is the shipped prior)",
    )
    holdout_share: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        default=0.2,
        description="The most recent share of labels (by time, never shuffled) on which a "
        "candidate must beat the artefact in use before it is promoted",
    )
    min_improvement: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.0,
        description="How much more of the held-back gain a candidate must capture than the "
        "artefact in use to be promoted",
    )
    reload_check_s: PositiveSeconds = Field(
        default=10.0,
        description="How often a running router looks for a newly promoted artefact",
    )


class GatewayKey(_Frozen):
    """One caller's API key for `router serve`. The key itself is never in the policy: it is
    read from an environment variable when the gateway starts and kept only as a hash."""

    env: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the key (at least 16 characters)",
    )
    team: str = Field(min_length=1, description="Team the key's requests are recorded under")
    app: str | None = Field(
        default=None,
        description="App the key's requests are recorded under; budgets.apps can cap it",
    )


class Gateway(_Frozen):
    """`router serve`: who may call it, and how much it takes on at once."""

    keys: tuple[GatewayKey, ...] = Field(
        default=(),
        description="API keys, each mapped to a team (and app); without any the gateway only "
        "listens on loopback",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        le=256 * 1024 * 1024,
        description="Largest request body accepted; larger ones get 413",
    )
    max_concurrency: int = Field(
        default=512,
        ge=1,
        le=100_000,
        description="Chat requests in progress per process; more get 429 with Retry-After",
    )
    shutdown_grace_s: PositiveSeconds = Field(
        default=30.0,
        description="On SIGTERM, how long in-flight requests may take to finish and be recorded",
    )

    @model_validator(mode="after")
    def _one_entry_per_variable(self) -> Gateway:
        names = [key.env for key in self.keys]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise conflict(
                    f"{name} is listed twice; one key per variable", ("keys", index, "env")
                )
        return self


class Policy(_Frozen):
    """A complete escalation policy."""

    name: str = Field(default="default", description="Recorded with every request")
    version: Annotated[str, BeforeValidator(_number_is_text)] = Field(
        default="1", description="Recorded with every request; bump it when you change the file"
    )
    description: str = Field(default="", description="What the policy is for")
    extends: str | None = Field(
        default=None,
        description="Base policy: a shipped name (default) or a path relative to this file; "
        "this file is deep-merged over it (mappings merge, lists and values replace)",
    )
    local: LocalModel = Field(default=LocalModel(), description="The local model")
    frontier: Frontier = Field(default=Frontier(), description="The frontier models")
    routing: Routing = Field(default=Routing(), description="How requests are routed")
    retries: Retries = Field(default=Retries(), description="Retries and the overall deadline")
    privacy: Privacy = Field(default=Privacy(), description="Data handling")
    limits: Limits = Field(default=Limits(), description="Request size guards")
    verify: Annotated[
        dict[VerifierName, Annotated[dict[str, Any], BeforeValidator(_none_is_empty)]],
        BeforeValidator(_none_is_empty),
    ] = Field(
        default_factory=dict,
        description="Verifiers run on local answers, in order: name -> parameters; "
        "a failed check escalates to the frontier",
    )
    verify_budget_s: PositiveSeconds = Field(
        default=10.0, description="Most seconds all verifiers together may take per request"
    )
    prices: dict[str, Price] = Field(
        default_factory=dict, description="Negotiated prices: model name -> price"
    )
    local_cost: LocalCost = Field(default=LocalCost(), description="What local tokens cost")
    ledger: Ledger = Field(default=Ledger(), description="Where records go")
    budgets: Budgets = Field(
        default=Budgets(), description="Frontier spending caps per team and app, with pacing"
    )
    learning: Learning = Field(
        default=Learning(), description="Learning from production traffic (docs/learning.md)"
    )
    teams: Annotated[dict[str, Override], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict,
        description="Per-team overrides (metadata team=...): name -> partial policy, "
        "deep-merged over this one",
    )
    apps: Annotated[dict[str, Override], BeforeValidator(_none_is_empty)] = Field(
        default_factory=dict,
        description="Per-app overrides (metadata app=...), applied after the team's",
    )
    gateway: Gateway = Field(default=Gateway(), description="`router serve`: keys and limits")

    _effective: dict[tuple[str | None, str | None], Policy] = PrivateAttr(default_factory=dict)

    @field_validator("teams", "apps")
    @classmethod
    def _overrides_keep_identity(cls, value: dict[str, Override]) -> dict[str, Override]:
        for name, override in value.items():
            for key in OVERRIDE_FORBIDDEN & set(override):
                raise conflict(
                    f"an override cannot set {key!r}; set it at the top of the policy instead",
                    (name, key),
                )
        return value

    @model_validator(mode="after")
    def _frontier_fits_privacy(self) -> Policy:
        named = [m.model for m in self.frontier.models]
        if self.privacy.local_only and named:
            raise conflict(
                "privacy.local_only is true, so the policy must not name frontier models "
                f"({', '.join(named)}); set `frontier: {{models: []}}` or turn local_only off",
                ("frontier", "models", 0, "model"),
                ("privacy", "local_only"),
            )
        if not self.privacy.local_only and not named:
            raise conflict(
                "no frontier models; list at least one, or set privacy.local_only: true",
                ("frontier", "models"),
                ("frontier",),
            )
        if not self.frontier.baseline:
            raise conflict(
                "frontier.baseline must name a model; savings are measured against it",
                ("frontier", "baseline"),
            )
        return self

    @model_validator(mode="after")
    def _learning_can_reach_the_frontier(self) -> Policy:
        learning = self.learning
        if learning.shadow_rate == 0 or not learning.enabled:
            return self
        if self.privacy.local_only:
            raise conflict(
                "privacy.local_only is true, so no request may be shadowed to a frontier model; "
                "set learning.shadow_rate: 0",
                ("learning", "shadow_rate"),
            )
        if not self.ledger.enabled:
            raise conflict(
                "learning.shadow_rate needs the ledger to keep its labels and spend; set "
                "ledger.enabled: true or learning.shadow_rate: 0",
                ("learning", "shadow_rate"),
            )
        if learning.budget_usd_per_day == 0:
            raise conflict(
                "learning.shadow_rate is above 0 but budget_usd_per_day is 0, so nothing could "
                "be shadowed; raise the budget or set shadow_rate: 0",
                ("learning", "budget_usd_per_day"),
                ("learning", "shadow_rate"),
            )
        return self

    @model_validator(mode="after")
    def _endpoints_are_safe(self) -> Policy:
        if self.limits.allow_link_local_endpoints:
            return self
        urls = [(("local", "host"), self.local.host)] + [
            (("frontier", "models", i, "api_base"), m.api_base)
            for i, m in enumerate(self.frontier.models)
        ]
        problems = [
            InitErrorDetails(
                type=conflict(
                    f"{problem}; point it at your model server, or set "
                    "limits.allow_link_local_endpoints: true if you really mean it",
                    at,
                ),
                loc=(),
                input=url,
            )
            for at, url in urls
            if url and (problem := endpoint_problem(url))
        ]
        if problems:  # every one of them, not only the first
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    @model_validator(mode="after")
    def _overrides_validate(self) -> Policy:
        for kind, overrides in (("teams", self.teams), ("apps", self.apps)):
            for name, override in overrides.items():
                try:
                    self._merged(override)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    raise conflict(
                        f"{first['msg']}; fix this {kind[:-1]} override",
                        (kind, name, *first["loc"]),
                        (kind, name),
                    ) from None
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Policy:
        """A copy whose per-team/app overrides are merged afresh, not taken from the original."""
        copy = super().model_copy(update=update, deep=deep)
        copy._effective = {}
        return copy

    def for_request(self, team: str | None = None, app: str | None = None) -> Policy:
        """The effective policy for a request: team override, then app override, over this one.

        Unknown team or app names get no override. Results are cached per (team, app).
        """
        key = (team if team in self.teams else None, app if app in self.apps else None)
        cached = self._effective.get(key)
        if cached is None:
            cached = self._merged(self.teams.get(key[0] or "", {}), self.apps.get(key[1] or "", {}))
            self._effective[key] = cached
        return cached

    def _merged(self, *overrides: Mapping[str, Any]) -> Policy:
        if not any(overrides):
            if not self.teams and not self.apps:
                return self
            return self.model_copy(update={"teams": {}, "apps": {}})
        data: dict[str, Any] = self.model_dump(exclude_unset=True, exclude={"teams", "apps"})
        for override in overrides:
            data = deep_merge(data, override)
        return Policy.model_validate(data)
