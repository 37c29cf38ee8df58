"""The simulated world the demo runs in: loopback model servers replaying recorded answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

from pydantic import SecretStr

from router.policy import FrontierModel, LocalModel, Policy
from router.testing import (
    AnthropicServer,
    ChatRequest,
    DemoPrompt,
    OllamaServer,
    OpenAIServer,
    ReplayResponder,
    Reply,
    Responder,
    with_tools,
)

# Loopback servers accept any key; these are placeholders, never sent anywhere else.
_DEMO_KEY = "demo-key-not-secret"


@dataclass(frozen=True)
class SimulatedModels:
    ollama: OllamaServer
    openai: OpenAIServer
    anthropic: AnthropicServer

    def wire(self, policy: Policy) -> Policy:
        """`policy` with its endpoints pointed at the loopback servers."""
        apis = {"openai": self.openai.url + "/v1", "anthropic": self.anthropic.url}
        models = tuple(
            FrontierModel(
                model=m.model,
                api_base=apis["anthropic" if m.model.startswith("anthropic/") else "openai"],
                api_key=SecretStr(_DEMO_KEY),
                context_tokens=m.context_tokens,
                timeout_s=m.timeout_s,
            )
            for m in policy.frontier.models
        )
        local = LocalModel.model_validate({**policy.local.model_dump(), "host": self.ollama.url})
        frontier = policy.frontier.model_copy(update={"models": models})
        # A new instance, not model_copy: a copy would share the per-team/app override cache
        # of `policy`, whose entries still point at the real endpoints.
        data = policy.model_dump(exclude_unset=True)
        return Policy.model_validate({**data, "local": local, "frontier": frontier})


@contextmanager
def simulated_models(
    workload: list[DemoPrompt], local_model: str = "qwen3.5:9b", local_latency: float = 0.02
) -> Iterator[SimulatedModels]:
    """Start the three loopback servers, replaying the workload's recorded answers.

    Prompts outside `workload` get a deterministic generic answer, so any prompt works.
    """
    with ExitStack() as stack:
        ollama = stack.enter_context(OllamaServer(models=(local_model,)))
        openai = stack.enter_context(OpenAIServer())
        anthropic = stack.enter_context(AnthropicServer())
        # Offered tools, the simulated models call them (router.testing.tool_reply).
        local = with_tools(ReplayResponder(workload, "local"))
        ollama.responder = _with_latency(local, local_latency)
        openai.responder = with_tools(ReplayResponder(workload, "frontier"))
        anthropic.responder = with_tools(ReplayResponder(workload, "frontier"))
        yield SimulatedModels(ollama, openai, anthropic)


def _with_latency(responder: Responder, latency: float) -> Responder:
    """A local model takes a moment to answer; the replay should too."""

    def slow(request: ChatRequest) -> Reply:
        return replace(responder(request), latency=latency)

    return slow
