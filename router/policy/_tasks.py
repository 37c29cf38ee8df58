"""A tiny task detector for per-task frontier rules: code, math or other, from the prompt text.

Deliberately simple and fast (a few precompiled regexes): it only decides which frontier model
to try first, never whether to escalate.
"""

from __future__ import annotations

import re

from router.policy._model import Policy, Task

_CODE = re.compile(
    r"```"
    r"|^\s*(?:def|class|async def)\s+\w+\s*[(:]"
    r"|^\s*(?:import|from)\s+[\w.]+(?:\s+import\b|\s*$)"
    r"|^\s*#include\s*[<\"]"
    r"|\bfunction\s+\w+\s*\("
    r"|\b(?:const|let|var)\s+\w+\s*=\s*"
    r"|\bpublic\s+(?:static\s+)?(?:void|class|int|string)\b"
    r"|\bTraceback \(most recent call last\)"
    r"|\bSELECT\s+[\w*,\s]+\s+FROM\b"
    r"|\b(?:write|implement|refactor|debug|fix)\s+(?:a|an|the|this|my)?\s*"
    r"(?:\w+\s+)?(?:function|method|class|script|program|unit tests?|regex|query|code|bug)\b"
    r"|\b(?:python|javascript|typescript|rust|golang|java|c\+\+|sql|bash)\s+"
    r"(?:code|function|script|program|snippet)\b",
    re.IGNORECASE | re.MULTILINE,
)
_MATH = re.compile(
    r"\\(?:frac|int|sum|prod|sqrt|lim|cdot|times|alpha|beta|theta|pi|infty|partial|mathbb)\b"
    r"|\$[^$\n]+\$"
    r"|\b\d+(?:\.\d+)?\s*[-+*/^\u00d7\u00f7]\s*\d+(?:\.\d+)?\s*="
    r"|\b[a-z]\s*\^\s*\d"
    r"|\b\d*[a-z]\s*[-+]\s*\d+\s*=\s*-?\d"
    r"|\b(?:solve|prove|integral|integrate|derivative|differentiate|equation|theorem|lemma"
    r"|probability|expected value|matrix|eigen\w*|polynomial|factori[sz]e|modulo|how many ways)\b",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")
_MAX_CHARS = 20_000  # the start of a long prompt says what it is about


def detect_task(text: str) -> Task:
    """`code` for code, `math` for equations and calculation, else `other`."""
    sample = text[:_MAX_CHARS]
    if _CODE.search(sample):
        return "code"
    if _MATH.search(sample) or _mostly_numbers(sample):
        return "math"
    return "other"


def preferred_frontier(policy: Policy, prompt: str) -> tuple[str, ...]:
    """Frontier model names in the order to try them for this prompt.

    Models of the rules matching the prompt's task come first (in rule order), then the rest of
    `frontier.models` in policy order. Empty for a local-only policy.
    """
    models = tuple(m.model for m in policy.frontier.models)
    if not policy.frontier.rules or not models:
        return models
    task = detect_task(prompt)
    preferred = [r.model for r in policy.frontier.rules if r.task == task]
    return tuple(dict.fromkeys([*preferred, *models]))


def _mostly_numbers(text: str) -> bool:
    stripped = text.strip()
    if not stripped or len(stripped) > 200:
        return False
    digits = len(_DIGITS.findall(stripped))
    return digits >= 4 and digits * 3 >= len(stripped.replace(" ", ""))
