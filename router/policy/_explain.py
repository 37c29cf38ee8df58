"""`router policy explain`: the effective policy after inheritance and overrides, as YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from router.policy._load import load_resolved, open_source
from router.policy._model import Policy
from router.policy._problems import did_you_mean

MASK = "**********"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@/\s]+(?=@)", re.I)


def explain_policy(
    source: Policy | str | Path | None, *, team: str | None = None, app: str | None = None
) -> str:
    """The effective policy as commented YAML, secrets masked. `PolicyError` if it is invalid."""
    chain: tuple[str, ...] = ()
    if isinstance(source, Policy):
        policy = source
    else:
        policy, resolved = load_resolved(open_source(source))
        chain = resolved.chain
    effective = policy.for_request(team, app) if team or app else policy
    header = _header(policy, chain, team, app)
    body = yaml.dump(masked(_public(effective)), Dumper=_Dumper, sort_keys=False, width=100)
    return header + body


def masked(value: Any) -> Any:
    """Plain YAML-ready data with secrets hidden: keys, and passwords inside URLs."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, value)
    if isinstance(value, Mapping):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def _public(policy: Policy) -> dict[str, Any]:
    data = policy.model_dump(exclude={"extends"})
    if policy.routing.target_frontier_share is not None:  # the target replaces the threshold
        data["routing"].pop("threshold")
    if not policy.teams and not policy.apps:
        data.pop("teams", None)
        data.pop("apps", None)
    return data


def _header(policy: Policy, chain: tuple[str, ...], team: str | None, app: str | None) -> str:
    lines = [f"# Effective policy {policy.name!r}, version {policy.version}"]
    if len(chain) == 1:
        lines.append(f"# from {chain[0]}")
    elif chain:
        lines.append("# from " + ", then ".join(reversed(chain)) + " (later files win)")
    for noun, overrides, name in (("team", policy.teams, team), ("app", policy.apps, app)):
        if name:
            lines.append(_override_line(noun, overrides, name))
    lines.append("# secrets are masked")
    return "\n".join(lines) + "\n"


def _override_line(noun: str, overrides: Mapping[str, Any], name: str) -> str:
    """What a request of this team (or app) gets: its override, or the base policy when it has
    none (as `Policy.for_request` does), with a hint when the name looks like a typo."""
    if name in overrides:
        return f"# with the {noun} override {noun}s.{name} applied"
    line = f"# {noun} {name!r} has no override here, so its requests get the base policy"
    if overrides:
        line += f" ({did_you_mean(name, overrides, f'{noun}s with overrides')})"
    return line


class _Dumper(yaml.SafeDumper):
    """Writes Decimal prices as plain numbers (never through float)."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value.normalize(), "f")
    tag = "float" if "." in text else "int"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", text)


_Dumper.add_representer(Decimal, _decimal)
