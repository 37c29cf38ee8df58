"""Deep merge for `extends:` and per-team / per-app overrides.

Mappings merge key by key; lists and plain values replace. Keys that exclude each other
(`routing.threshold` and `routing.target_frontier_share`) replace each other too: setting one
in the overlay drops the other from the base.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Path = tuple[Any, ...]

# Setting one key of a group in an overlay removes the others from the base at that path.
EXCLUSIVE: Mapping[Path, tuple[frozenset[str], ...]] = {
    ("routing",): (frozenset({"threshold", "target_frontier_share"}),),
}
# Keys an override may not set: they identify the policy, or would nest overrides.
OVERRIDE_FORBIDDEN = frozenset({"name", "version", "extends", "teams", "apps", "gateway"})


def deep_merge(
    base: Mapping[Any, Any], overlay: Mapping[Any, Any], at: Path = ()
) -> dict[Any, Any]:
    """A new mapping: `overlay` over `base`. Neither input is changed."""
    merged = {k: v for k, v in base.items() if k not in displaced_keys(overlay, at)}
    for key, value in overlay.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value, (*at, key))
        else:
            merged[key] = value
    return merged


def displaced_keys(overlay: Mapping[Any, Any], at: Path) -> set[Any]:
    """Base keys at path `at` that the overlay replaces by setting an exclusive sibling."""
    displaced: set[Any] = set()
    for group in EXCLUSIVE.get(at, ()):
        chosen = group & set(overlay)
        if chosen:
            displaced |= group - chosen
    return displaced
