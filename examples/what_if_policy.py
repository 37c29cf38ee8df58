"""What-if: would another policy have saved more on the traffic we already served?

Run it as written: `python examples/what_if_policy.py`. It needs no network and takes about
10 s on an idle machine, mostly importing litellm. It:

1. Builds a throwaway SQLite ledger by routing 60 prompts of the shipped demo workload through
   the real router with the default policy. The models are the built-in loopback servers, which
   replay answers real small and large models gave to those prompts (`router.demo`), so no
   Ollama, API key or network is needed.
2. Replays that recorded traffic under `policies/cost-saver.yaml` and
   `policies/quality-first.yaml` with `router.simulate.simulate`, which calls no model at all,
   and prints both reports: local share, spend, baseline and savings, next to what happened.

On your own traffic, the same is one command: `router simulate --policy NEW.yaml`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from router.demo import run_demo
from router.ledger import open_ledger
from router.simulate import simulate

POLICIES = Path(__file__).resolve().parents[1] / "policies"
REQUESTS = 60


def record_traffic(folder: Path) -> str:
    """Route demo prompts with the default policy into a fresh ledger; return its URL."""
    url = f"sqlite:///{folder / 'ledger.db'}"
    with open_ledger(url, outbox_dir=folder / "outbox") as ledger:
        summary = run_demo(policy="default", ledger=ledger, limit=REQUESTS)
    print(f"Recorded {summary.requests} requests with the default policy in {url}\n")
    return url


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="what-if-") as tmp:
        url = record_traffic(Path(tmp))
        for name in ("cost-saver", "quality-first"):
            report = simulate(POLICIES / f"{name}.yaml", ledger_url=url)
            print(report.render())
            delta = report.candidate.spend_usd - report.actual.spend_usd
            print(f"=> {name} would have changed spend by {delta:+.4f} USD (exact: {delta:+f})\n")


if __name__ == "__main__":
    main()
