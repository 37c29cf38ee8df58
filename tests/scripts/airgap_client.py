"""Run inside a fresh virtualenv holding only the wheel: route with every DNS lookup recorded.

Prints one JSON line: the lookups made, whether litellm was imported by `import router`, and the
tiers that answered. Any non-loopback connection attempt raises.
"""

import json
import socket
import sys

LOOPBACK = ("127.0.0.1", "::1", "localhost")
lookups: list[str] = []
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


def recording_getaddrinfo(host, *args, **kwargs):
    lookups.append(str(host))
    if str(host) not in LOOPBACK:
        raise socket.gaierror(f"air gap: lookup of {host} refused")
    return _real_getaddrinfo(host, *args, **kwargs)


def loopback_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (
        host.startswith("127.") or host == "::1" or host.startswith("/")
    ):
        raise OSError(f"air gap: connection to {host} refused")
    return _real_connect(self, address)


socket.getaddrinfo = recording_getaddrinfo
socket.socket.connect = loopback_connect

import router  # noqa: E402

litellm_on_import = "litellm" in sys.modules
from router.demo._servers import simulated_models  # noqa: E402
from router.testing import load_demo_workload  # noqa: E402

workload = load_demo_workload()[:2]
policy = router.load_policy("default").model_copy(
    update={
        "routing": router.Policy().routing.model_copy(
            update={"rule": "token-count", "token_count_threshold": 1}
        )
    }
)
with simulated_models(workload, policy.local.model) as servers:
    wired = servers.wire(policy)
    r = router.Router(wired, ledger=None, classifier=None)
    frontier = r.complete(workload[0].prompt)
    local = r.complete(workload[1].prompt, sensitive=True)
    r.close()

print(
    json.dumps(
        {
            "router_file": router.__file__,
            "litellm_on_import": litellm_on_import,
            "lookups": sorted(set(lookups)),
            "tiers": [frontier.tier, local.tier],
        }
    )
)
