"""A team policy that inherits from a company base policy, and what it changes in routing.

What it shows: a platform team writes `acme-base.yaml` (extends the shipped `default`), and the
support team writes `support.yaml` that `extends: acme-base.yaml` and changes only what it needs
(a higher threshold: keep more traffic local), plus a per-app override inside it. The same
prompts are routed under each, and the local share and spend are compared. `explain_policy`
shows the effective values after inheritance, as `router policy explain` does.

How to run it (no Ollama, no keys, no network: loopback servers stand in for the models):

    .venv/bin/python examples/team_policy_override.py

What it prints: the effective threshold of each policy, then a line per policy with its local
share, spend and savings on the same 40 prompts, then "team policy override: OK".
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from router import Policy, Router, load_policy
from router.demo import simulated_models
from router.policy import explain_policy
from router.testing import DemoPrompt, load_demo_workload

BASE = """\
extends: default
name: acme-base
version: "7"
routing:
  threshold: 0.5
"""
SUPPORT = """\
extends: acme-base.yaml      # a path relative to this file
name: support
version: "2"
routing:
  threshold: 0.7             # support answers are simple: keep more of them local
apps:
  refunds:                   # metadata={"app": "refunds"}: money questions, be careful
    routing: {threshold: 0.4}
"""


def route(policy: Policy, prompts: list[DemoPrompt], app: str) -> tuple[int, Decimal, Decimal]:
    with simulated_models(prompts) as models, Router(models.wire(policy), ledger=None) as router:
        results = [router.complete(p.prompt, metadata={"app": app}) for p in prompts]
    local = sum(r.tier == "local" for r in results)
    spend = sum((r.cost_usd for r in results), Decimal(0))
    return local, spend, sum((r.savings_usd for r in results), Decimal(0))


def main() -> None:
    prompts = load_demo_workload()[:40]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "acme-base.yaml").write_text(BASE)
        support_file = Path(folder) / "support.yaml"
        support_file.write_text(SUPPORT)
        base, support = load_policy(Path(folder) / "acme-base.yaml"), load_policy(support_file)
        effective = explain_policy(str(support_file))
    print(f"acme-base threshold {base.routing.threshold}; support {support.routing.threshold}")
    print(f"support refunds app threshold {support.for_request(app='refunds').routing.threshold}")
    assert "threshold: 0.7" in effective and support.local.model == base.local.model
    rows = {
        "acme-base": route(base, prompts, app="helpdesk"),
        "support": route(support, prompts, app="helpdesk"),
        "support/refunds": route(support, prompts, app="refunds"),
    }
    for name, (local, spend, saved) in rows.items():
        print(f"{name:<16} local {local}/{len(prompts)}  spend ${spend:.4f}  saved ${saved:.4f}")
    assert rows["support"][0] > rows["acme-base"][0] > rows["support/refunds"][0]
    assert rows["support"][1] < rows["acme-base"][1]
    print("team policy override: OK")


if __name__ == "__main__":
    main()
