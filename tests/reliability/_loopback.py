"""What the fault rows share: a policy pointing at the three loopback servers (see conftest)."""

from __future__ import annotations

from typing import Any

from router.policy import Policy
from router.testing import AnthropicServer, OllamaServer, OpenAIServer
from tests.support import loopback_policy

Servers = tuple[OllamaServer, OpenAIServer, AnthropicServer]


def policy_for(servers: Servers, **sections: Any) -> Policy:
    """The loopback policy with some sections' fields replaced: policy_for(s, retries={...})."""
    policy = loopback_policy(*servers)
    update = {
        name: getattr(policy, name).model_copy(update=fields) for name, fields in sections.items()
    }
    return policy.model_copy(update=update)
