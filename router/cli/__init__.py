"""The `router` command line. Commands stay thin: each calls library functions."""

from __future__ import annotations

from typing import Any

import click

from router.cli import (
    _classifier_commands,
    _core_commands,
    _learning_commands,
    _learning_model_commands,
    _ledger_commands,
    _policy_commands,
    _serve_commands,
    _simulate_commands,
)
from router.errors import (
    AllAttemptsFailedError,
    AuthenticationError,
    BackendError,
    BudgetExceededError,
    ClassifierError,
    ConfigError,
    DeadlineExceededError,
    InvalidRequestError,
    LedgerError,
    MissingApiKeyError,
    ModelNotFoundError,
    PromptTooLongError,
    RouterError,
    SensitiveDataError,
    SetupError,
)

# Most specific first: the first matching class gives the hint.
_HINTS: tuple[tuple[type[RouterError], str], ...] = (
    (PromptTooLongError, "shorten the prompt or raise the model's context_tokens in the policy"),
    (InvalidRequestError, "fix the request; nothing was sent to any model"),
    (SetupError, "fix each problem above; `router doctor` checks them again"),
    (
        MissingApiKeyError,
        "export the variable named above (or set api_key_env in the policy); "
        "`router doctor` checks every model's key",
    ),
    (ConfigError, "check it with `router policy check FILE`; see docs/policy-reference.md"),
    (LedgerError, "check --ledger or $ROUTER_LEDGER_URL, then run `router db upgrade`"),
    (ClassifierError, "rebuild the artefact with `router train` or omit --classifier"),
    (SensitiveDataError, "start the local model (`ollama serve`); sensitive data stays local"),
    (BudgetExceededError, "raise the cap in the policy or allow local-only answers over budget"),
    (AuthenticationError, "export OPENAI_API_KEY / ANTHROPIC_API_KEY or set api_key_env"),
    (ModelNotFoundError, "pull the model (`ollama pull NAME`) or fix its name in the policy"),
    (DeadlineExceededError, "check the model servers, or raise retries.deadline_s"),
    (BackendError, "is Ollama running (`ollama serve`) and are the API keys set?"),
    (AllAttemptsFailedError, "each attempt is named above; is Ollama up and are the keys set?"),
    (RouterError, "see docs/errors.md for what each error means"),
)


def hint_for(error: type[RouterError]) -> str:
    """One line telling the user what to try next after an error of this class."""
    return next(hint for kind, hint in _HINTS if issubclass(error, kind))


class RouterGroup(click.Group):
    """A click group that turns any `RouterError` into `Error: ...` plus a hint, exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RouterError as exc:
            message = f"{type(exc).__name__}: {exc}\nHint: {hint_for(type(exc))}"
            raise click.ClickException(message) from exc


@click.group(cls=RouterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cost-router", prog_name="router")
def main() -> None:
    """cost-router: send each LLM request to the cheapest model that can answer it well.

    Start with `router demo`; every command's --help ends with examples.

    \b
    Examples:
      router demo
      router report --group-by team
      router policy check policies/*.yaml
    """


for _module in (
    _core_commands,
    _classifier_commands,
    _learning_model_commands,
    _ledger_commands,
    _policy_commands,
    _serve_commands,
    _simulate_commands,
    _learning_commands,
):
    _module.register(main)
