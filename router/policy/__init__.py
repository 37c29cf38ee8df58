"""Escalation policies: validated, frozen configuration loaded from YAML.

Load with `load_policy` (a path, a shipped name, or `None` for `default`); check files with
`check_policy_file`; show the effective result with `explain_policy`. Per-request settings come
from `Policy.for_request(team, app)`, and `preferred_frontier(policy, prompt)` orders the
frontier models by the per-task rules.
"""

from router.policy._check import PolicyCheck, check_policy, check_policy_file
from router.policy._explain import explain_policy
from router.policy._load import load_policy, parse_policy, shipped_policy_names
from router.policy._model import (
    Frontier,
    FrontierModel,
    Gateway,
    GatewayKey,
    Learning,
    Ledger,
    Limits,
    LocalCost,
    LocalModel,
    PiiActions,
    Policy,
    Price,
    Privacy,
    Retries,
    Routing,
    TaskRule,
)
from router.policy._problems import Problem
from router.policy._tasks import detect_task, preferred_frontier

__all__ = [
    "Frontier",
    "FrontierModel",
    "Gateway",
    "GatewayKey",
    "Learning",
    "Ledger",
    "Limits",
    "LocalCost",
    "LocalModel",
    "PiiActions",
    "Policy",
    "PolicyCheck",
    "Price",
    "Privacy",
    "Problem",
    "Retries",
    "Routing",
    "TaskRule",
    "check_policy",
    "check_policy_file",
    "detect_task",
    "explain_policy",
    "load_policy",
    "parse_policy",
    "preferred_frontier",
    "shipped_policy_names",
]
