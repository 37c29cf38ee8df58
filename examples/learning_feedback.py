"""Learning from traffic: shadow comparisons within a budget, a judge of your own, feedback.

What it shows: a policy's `learning:` section sends every local answer to the frontier model as
well (`shadow_rate: 1.0`), after the caller has its answer, within `budget_usd_per_day`; a judge
of your own (`Router(judges=[...])`) turns each pair into a gain label; `router.feedback(...)`
adds a person's verdict. The labels and the learning spend land in the ledger, and
`router report` shows that spend on its own line, apart from request spend and savings.

How to run it (no Ollama, no keys, no network: loopback servers stand in for the models):

    .venv/bin/python examples/learning_feedback.py

What it prints: each answer, the labels kept, the feedback receipt, the report's learning spend
line; then "learning feedback: OK".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from router import Router, load_policy
from router.demo import simulated_models
from router.ledger import open_ledger, summarize
from router.ledger._format import as_table
from router.policy import Policy
from router.testing import Reply


def same_answer(prompt: str, local_answer: str, frontier_answer: str) -> float | None:
    """A judge of your own: no gain when the answers match, else abstain (other judges go on)."""
    return 0.0 if local_answer.strip() == frontier_answer.strip() else None


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="learning-example-"))
    with simulated_models([]) as models:
        local = {"What is the capital of France?": "Paris.", "What is 2 + 2?": "4"}
        frontier = {"What is the capital of France?": "Paris.", "What is 2 + 2?": "It is 4."}
        models.ollama.responder = lambda r: Reply(text=local.get(r.last_user_message, "?"))
        models.openai.responder = lambda r: Reply(text=frontier.get(r.last_user_message, "?"))
        data = models.wire(load_policy("default")).model_dump(exclude_unset=True)
        data["routing"] = {"threshold": 1.0}  # everything starts local here
        data["ledger"] = {"url": f"sqlite:///{scratch / 'ledger.db'}"}
        data["learning"] = {"shadow_rate": 1.0, "budget_usd_per_day": "0.50"}
        policy = Policy.model_validate(data)
        router = Router(policy, ledger=open_ledger(policy.ledger.url), judges=[same_answer])
        first = router.complete("What is the capital of France?")
        second = router.complete("What is 2 + 2?")
        print(f"answers: {first.text!r} ({first.tier}), {second.text!r} ({second.tier})")
        receipt = router.feedback(second.request_id, good=True)
        print(f"feedback: {receipt.outcome}, gain {receipt.gain}; {receipt.reason}")
        router.close()  # waits for the shadow comparisons
    assert router.learning is not None
    labels = router.learning.store.label_counts()
    print(f"labels kept: {labels}")
    report = summarize(policy.ledger.url)
    print(as_table(report).splitlines()[-1])
    assert labels == {"feedback": 1, "shadow": 1}  # "4" vs "It is 4.": no judge could tell
    assert report.learning_spend_usd > 0 and report.total.cost_usd == 0
    print("learning feedback: OK")


if __name__ == "__main__":
    main()
