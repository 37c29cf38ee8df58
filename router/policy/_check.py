"""`router policy check`: every problem in a policy file, found by the validator `load_policy`
uses too (`_validate.check_document`), without raising."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router.policy._load import find_source, resolve
from router.policy._model import Policy
from router.policy._problems import Problem, ordered
from router.policy._validate import check_document


@dataclass(frozen=True)
class PolicyCheck:
    """The outcome of checking one file: the policy when it is valid, else its problems."""

    source: str
    policy: Policy | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_policy(path: str | Path) -> PolicyCheck:
    """Check a policy file (or shipped policy name) without raising for what is wrong in it."""
    source = find_source(path)
    if isinstance(source, Problem):
        return PolicyCheck(str(path), None, (source,))
    policy, problems = check_document(resolve(source))
    return PolicyCheck(source.origin, policy, tuple(ordered(problems, source.origin)))


def check_policy_file(path: str | Path) -> list[Problem]:
    """Every problem in a policy file, as `file:line: key: what; fix`; empty when it is valid."""
    return list(check_policy(path).problems)
