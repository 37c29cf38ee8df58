"""Is there an API key for a frontier model? Checked before each call and by `router doctor`.

Without one, litellm and the provider SDKs fail in ways that look like an outage (the OpenAI SDK's
"api_key must be set" comes back from litellm as an HTTP 500, which is retried and trips the
breaker). Where the key comes from, in order: the policy's `api_key`, the variable its
`api_key_env` names, or the provider's standard variables. For OpenAI and Anthropic (the shipped
policies' providers) those are known here and an empty value counts as missing; for any other
provider, litellm's `validate_environment` says which variables it needs (it only checks they
are present).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from router.errors import MissingApiKeyError

# Provider -> the variables its SDK reads, first one preferred (named in messages).
STANDARD_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
}

_FIX = (
    "export {var}=<your key>, or name the variable that holds it with api_key_env under "
    "frontier.models in the policy (`router doctor` checks every model)"
)

Validate = Callable[..., Mapping[str, object]]
"""litellm's `validate_environment(model=, api_base=)`, passed in so this module needs no
litellm import of its own."""


def missing_key(
    model: str,
    provider: str,
    *,
    api_key: SecretStr | None,
    api_key_env: str | None,
    api_base: str | None,
    key_provider: str | None = None,
    validate: Validate | None = None,
) -> MissingApiKeyError | None:
    """The error to raise when `model` has no usable API key, else None. `key_provider` is the
    provider whose standard variables apply, when it differs from the one `provider` names."""
    where = f"{provider}:{model} has no API key"
    if api_key is not None:
        if api_key.get_secret_value().strip():
            return None
        message = f"{where}: the policy's api_key is empty; set it, or use api_key_env instead"
        return MissingApiKeyError(message, model=model, provider=provider)
    if api_key_env:
        return _from_variables(where, model, provider, (api_key_env,))
    standard = STANDARD_VARIABLES.get(key_provider or provider)
    if standard is not None:
        return _from_variables(where, model, provider, standard)
    return _from_litellm(where, model, provider, api_base, validate)


def _from_variables(
    where: str, model: str, provider: str, variables: tuple[str, ...]
) -> MissingApiKeyError | None:
    values = [os.environ.get(v) for v in variables]
    if any(v and v.strip() for v in values):
        return None
    first = variables[0]
    state = "is set but empty" if values[0] is not None else "is not set"
    message = f"{where}: {first} {state}; {_FIX.format(var=first)}"
    return MissingApiKeyError(message, model=model, provider=provider, variables=variables)


def _from_litellm(
    where: str, model: str, provider: str, api_base: str | None, validate: Validate | None
) -> MissingApiKeyError | None:
    if validate is None:
        return None
    try:
        found = validate(model=model, api_base=api_base)
    except Exception:  # litellm's own check failing must not fail the call
        return None
    missing = found.get("missing_keys")
    if found.get("keys_in_environment") or not isinstance(missing, list) or not missing:
        return None
    names = tuple(str(m) for m in missing)
    message = f"{where}: {', '.join(names)} not set; {_FIX.format(var=names[0])}"
    return MissingApiKeyError(message, model=model, provider=provider, variables=names)
