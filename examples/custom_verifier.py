"""A custom verifier that runs unit tests on generated code, and escalates when they fail.

What it shows: `Router(verifiers=[...])` takes a plain async callable `(ctx) -> Verdict`. This
one pulls the Python code out of the local model's answer and runs the caller's unit tests on it
in a separate, isolated interpreter with a timeout. A local answer that fails its tests is
replaced by the frontier model's (`escalation_reason == "verification-failed"`); one that passes
is returned as is, at no frontier cost.

How to run it (no Ollama, no keys, no network: loopback servers stand in for the models):

    .venv/bin/python examples/custom_verifier.py

What it prints: for each request, where it was answered, why, what the verifier said, and the
cost; then "custom verifier: OK".
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

from router import Router, load_policy
from router.demo import simulated_models
from router.policy import Routing
from router.testing import Reply
from router.verify import Verdict, VerifyContext, failed, passed

TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
BUGGY = "Here you go:\n```python\ndef add(a, b):\n    return a - b\n```"
CORRECT = "```python\ndef add(a, b):\n    return a + b\n```"


def _code(answer: str) -> str:
    blocks = re.findall(r"```(?:python)?\n(.*?)```", answer, flags=re.S)
    return "\n".join(blocks) or answer


async def unit_tests_pass(ctx: VerifyContext) -> Verdict:
    """Run TESTS against the answer's code in `python -I` (no site, no env), 5 s at most."""
    program = _code(ctx.answer.text) + "\n" + TESTS
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-I", "-c", program],
        capture_output=True,
        timeout=5,
        check=False,
    )
    if run.returncode == 0:
        return passed("unit tests pass")
    return failed("unit tests fail")  # never quote the answer or the prompt in a reason


def main() -> None:
    # Every request starts local here (threshold 1.0), so each answer meets the verifier.
    base = load_policy("default")
    policy = base.model_copy(update={"routing": Routing(threshold=1.0)})
    with simulated_models([]) as models:
        models.ollama.script(Reply(text=BUGGY), Reply(text=CORRECT))
        models.openai.script(Reply(text=CORRECT))
        with Router(models.wire(policy), ledger=None, verifiers=[unit_tests_pass]) as router:
            prompt = "Write a Python function add(a, b) that returns the sum."
            first = router.complete(prompt, metadata={"task": "code"})
            second = router.complete(prompt, metadata={"task": "code"})
    for label, res in (("first", first), ("second", second)):
        verdicts = [f"{v.verifier}: {v.reason}" for v in res.verification.verdicts]
        print(f"{label}: {res.tier} {res.model}; escalation: {res.escalation_reason or 'none'}")
        print(f"    verifiers: {'; '.join(verdicts)}; cost ${res.cost_usd:.6f}")
    assert first.tier == "frontier" and first.escalation_reason == "verification-failed"
    assert "a + b" in first.text
    assert second.tier == "local" and second.escalation_reason is None
    print("custom verifier: OK")


if __name__ == "__main__":
    main()
