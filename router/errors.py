"""The one exception tree. Every error the router raises is a `RouterError`.

Messages say what went wrong and how to fix it. They never contain prompt text, answers or keys:
errors from litellm and ollama are translated at the backend seam, keeping only the class name,
status code and model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RouterError(Exception):
    """Base class of every error cost-router raises.

    Every subclass pickles (worker processes hand errors back to their parent) whatever its
    `__init__` takes: unpickling restores `args` and attributes without calling `__init__`.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args), self.__dict__)


def _restore(cls: type[RouterError], args: tuple[Any, ...]) -> RouterError:
    return cls.__new__(cls, *args)


class ConfigError(RouterError):
    """The router, a policy file or an argument is misconfigured."""


class PolicyError(ConfigError):
    """A policy file failed validation. `problems` lists `file:line: key: what; fix` lines."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)


class SetupError(ConfigError):
    """The machine is not ready for the policy: Ollama or its model, a frontier model's key, or
    the ledger. Raised by `router demo --live` before the first request (`router doctor` prints
    the same checks). `problems` lists each one with how to fix it."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems)


class InvalidRequestError(RouterError):
    """The request itself is malformed; raised before any network call."""


class PromptTooLongError(InvalidRequestError):
    """The prompt does not fit the context window of the model it must go to."""


class UnknownModelError(InvalidRequestError):
    """The request names (pins) a model the policy does not configure; OpenAI's 404
    `model_not_found` on the gateway. `model="auto"` routes instead."""


class SensitiveDataError(RouterError):
    """A sensitive request could not be served without leaving the machine, so it failed closed:
    the local model failed, or (with `privacy.on_failed_sensitive: raise`) its answer failed
    verification; `verification` then holds the verdicts (never any content)."""

    def __init__(self, message: str, *, verification: Any = None) -> None:
        super().__init__(message)
        self.verification = verification


class BudgetExceededError(RouterError):
    """A spending cap forbids the call and the policy does not allow a local-only answer."""


class BackendError(RouterError):
    """A model call failed. `model` and `provider` say which; `status_code` when HTTP gave one."""

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        provider: str = "",
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.provider = provider
        self.status_code = status_code


class TransientBackendError(BackendError):
    """A failure worth retrying: connection trouble, timeouts, 429 and 5xx."""


class BackendUnavailableError(TransientBackendError):
    """The server could not be reached, or the connection broke (reset, dropped, TLS)."""


class BackendUnreachableError(BackendUnavailableError):
    """The connection was never made (refused, DNS, connect timeout): nothing was sent, so
    nothing can have been billed. Unlike its parent, a frontier attempt that failed this way is
    not flagged possibly billed, and a budget does not charge it."""


class BackendTimeoutError(TransientBackendError):
    """The server accepted the request but did not answer in time."""


class RateLimitError(TransientBackendError):
    """HTTP 429. `retry_after` is the server's hint in seconds, when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        provider: str = "",
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, model=model, provider=provider, status_code=status_code)
        self.retry_after = retry_after


class ServerError(TransientBackendError):
    """HTTP 5xx from the model server."""


class PermanentBackendError(BackendError):
    """A failure that retrying will not fix."""


class RepetitiveOutputError(PermanentBackendError):
    """The model kept sending the same chunk, so the stream was stopped (litellm ends a stream
    after 100 identical chunks): it was looping. Not retried on the same model; possibly billed
    for what it had generated."""


class RequestNotSentError(PermanentBackendError):
    """The call failed inside this process before the request left it (its text could not be
    encoded, say). Never the provider's fault: not retried, not counted by its circuit
    breaker, never possibly billed, never charged to a budget."""


class AuthenticationError(PermanentBackendError):
    """The API key is missing, wrong or lacks permission."""


class MissingApiKeyError(AuthenticationError, ConfigError):
    """A frontier model has no API key: its variable is unset or empty (or the policy's
    `api_key` is empty). A configuration error, caught before anything is sent: it is not
    retried and does not count against the circuit breaker; the next frontier model is tried.
    `variables` names the environment variables that were looked at."""

    def __init__(
        self,
        message: str,
        *,
        model: str = "",
        provider: str = "",
        variables: Sequence[str] = (),
    ) -> None:
        super().__init__(message, model=model, provider=provider)
        self.variables: tuple[str, ...] = tuple(variables)


class ModelNotFoundError(PermanentBackendError):
    """The server does not have the model the policy names."""


class BadRequestError(PermanentBackendError):
    """The server rejected the request as malformed (HTTP 400/422)."""


class ContentPolicyError(PermanentBackendError):
    """The provider refused the content."""


class MalformedResponseError(PermanentBackendError):
    """The server answered with something that is not a valid response (bad JSON, no usage...)."""


class DeadlineExceededError(RouterError):
    """The request's overall deadline passed before any model answered."""


@dataclass(frozen=True, slots=True)
class AttemptFailure:
    """One failed attempt inside `AllAttemptsFailedError`; holds no prompt text."""

    model: str
    provider: str
    error: BackendError | DeadlineExceededError

    def describe(self) -> str:
        return f"{self.provider}:{self.model}: {type(self.error).__name__}: {self.error}"


class AllAttemptsFailedError(RouterError):
    """Every model the policy allowed was tried and failed. `attempts` names each model's last
    failure; `calls` is how many attempts were made in all (retries included), as the ledger
    row lists them."""

    def __init__(self, attempts: Sequence[AttemptFailure], calls: int | None = None) -> None:
        self.attempts: tuple[AttemptFailure, ...] = tuple(attempts)
        self.calls = len(self.attempts) if calls is None else calls
        lines = "; ".join(a.describe() for a in self.attempts) or "no model was allowed"
        models = f"{len(self.attempts)} model(s)"
        super().__init__(f"all {self.calls} attempt(s) on {models} failed: {lines}")


class ClassifierError(RouterError):
    """The difficulty classifier or its artefact could not be loaded or used."""


class RequestCancelledError(RouterError):
    """The caller cancelled the request, or closed its stream, before it finished. Never raised
    to the caller (who cancelled it): it names the ledger row and the attempt that was in flight,
    which a frontier model may have billed."""


class LedgerError(RouterError):
    """The ledger could not be opened, migrated or read. Writes never raise this to callers."""


class VerificationError(RouterError):
    """A verifier failed to run (not: the answer failed verification)."""


class CircuitOpenError(BackendError):
    """The backend's circuit breaker is open after repeated failures, so it was skipped without a
    call; the next fallback is tried. It closes again after `retries.breaker_cooldown_s`."""
