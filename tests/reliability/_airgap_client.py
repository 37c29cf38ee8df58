"""Row 1's client, run in a fresh interpreter: fail every DNS lookup, then import and route.

Every lookup is recorded and refused unless it names a loopback host. Prints one JSON line:
the lookups made, whether `import router` imported litellm, and the tiers that answered.
"""

import json
import socket
import sys

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
lookups: list[str] = []
_real_getaddrinfo = socket.getaddrinfo


def _refuse(host: object) -> None:
    lookups.append(str(host))
    if str(host) not in LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, f"air gap: lookup of {host} refused")


def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    _refuse(host)
    return _real_getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):  # type: ignore[no-untyped-def]
    _refuse(host)
    return "127.0.0.1"


socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname

import router  # noqa: E402

litellm_on_import = "litellm" in sys.modules

from router.policy import Frontier, FrontierModel, LocalModel, Policy, Routing  # noqa: E402
from router.testing import AnthropicServer, OllamaServer, OpenAIServer  # noqa: E402

with OllamaServer() as local, OpenAIServer() as openai, AnthropicServer() as anthropic:
    policy = Policy(
        local=LocalModel(host=local.url),
        frontier=Frontier(
            models=(
                FrontierModel(model="gpt-5.4", api_base=openai.url + "/v1", api_key="sk-airgap"),
                FrontierModel(model="anthropic/claude-opus-4-6", api_base=anthropic.url),
            )
        ),
        routing=Routing(rule="token-count", token_count_threshold=20),
    )
    r = router.Router(policy, ledger=None, classifier=None)
    tiers = [r.complete("Hi there").tier, r.complete("Explain this. " * 40).tier]
    r.close()

print(json.dumps({"litellm_on_import": litellm_on_import, "lookups": lookups, "tiers": tiers}))
