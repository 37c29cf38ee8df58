"""Row 13: SSRF: a request, or a policy, pointing the router at a metadata or file URL.

Figures: per-request endpoint overrides refused before any lookup or connection (0 lookups of
the target, 0 upstream calls); link-local / metadata endpoints in a policy refused by
`router policy check` unless `limits.allow_link_local_endpoints` is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from router.cli import main
from router.errors import InvalidRequestError, PolicyError
from router.policy import FrontierModel, load_policy
from router.testing import network_guard
from tests.reliability._figures import record
from tests.reliability._loopback import Servers, policy_for
from tests.support import LONG_PROMPT, make_router

TARGETS = (
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "file:///etc/passwd",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.0.0.1:8080/v1",
)
ARGS = ("api_base", "base_url", "host", "api_key", "extra_headers")


@pytest.mark.parametrize("arg", ARGS)
def test_per_request_endpoint_overrides_are_refused_before_any_connection(
    servers: Servers, arg: str
) -> None:
    router, ledger, _ = make_router(policy_for(servers))
    with network_guard() as guard:
        for target in TARGETS:
            with pytest.raises(InvalidRequestError, match="cannot be set per request"):
                router.complete(LONG_PROMPT, **{arg: target})
    router.close()
    calls = sum(len(s.requests) for s in servers)
    lookups = sum(guard.lookups.values())
    ok = calls == 0 and lookups == 0 and not guard.blocked and ledger.records == []
    record(
        13,
        f"per-request `{arg}` to metadata/file/private URLs",
        f"refused {len(TARGETS)}/{len(TARGETS)}; lookups {lookups}, upstream calls {calls}",
        "refused, 0 lookups",
        ok,
    )
    assert ok


BAD_POLICIES = {
    "frontier api_base at the metadata IP": (
        "frontier:\n  models:\n    - model: gpt-5.4\n      api_base: http://169.254.169.254/v1\n",
        "frontier.models[0].api_base",
    ),
    "frontier api_base at a decimal-encoded metadata IP": (
        "frontier:\n  models:\n    - model: gpt-5.4\n      api_base: http://2852039166/v1\n",
        "frontier.models[0].api_base",
    ),
    "local host at GCP metadata": (
        "local:\n  host: http://metadata.google.internal\n",
        "local.host",
    ),
    "local host as a file URL": ("local:\n  host: file:///var/run/ollama.sock\n", "local.host"),
    "local host at an IPv6 link-local address": (
        "local:\n  host: http://[fe80::1]:11434\n",
        "local.host",
    ),
}


@pytest.mark.parametrize("what", sorted(BAD_POLICIES))
def test_policy_check_refuses_link_local_endpoints(tmp_path: Path, what: str) -> None:
    text, key = BAD_POLICIES[what]
    path = tmp_path / "p.yaml"
    path.write_text("extends: default\n" + text, encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "check", str(path)])
    with pytest.raises(PolicyError):
        load_policy(path)
    ok = result.exit_code == 2 and f"{key}:" in result.output
    record(13, f"policy check: {what}", f"exit {result.exit_code}", "refused (exit 2)", ok)
    assert ok, result.output

    path.write_text(
        "extends: default\n" + text + "limits:\n  allow_link_local_endpoints: true\n",
        encoding="utf-8",
    )
    assert CliRunner().invoke(main, ["policy", "check", str(path)]).exit_code == 0


def test_ordinary_endpoints_stay_allowed() -> None:
    for base in ("https://api.openai.com/v1", "http://127.0.0.1:8000/v1", "http://10.1.2.3/v1"):
        FrontierModel(model="gpt-5.4", api_base=base)
    assert load_policy("default").limits.allow_link_local_endpoints is False
