"""Callers' API keys: read from the environment variables the policy names, kept as SHA-256
digests only, and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from router.errors import ConfigError
from router.policy import Gateway

MIN_KEY_CHARS = 16


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request comes from: the team and app its key maps to (None without keys)."""

    team: str | None = None
    app: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    caller: Caller


class KeyRing:
    """The gateway's keys. Empty: every caller is let in (the gateway then only listens on
    loopback). The keys themselves are not kept, only their digests."""

    def __init__(self, entries: Sequence[tuple[str, Caller]] = ()) -> None:
        self._entries = tuple(_Entry(_digest(key), caller) for key, caller in entries)

    @classmethod
    def from_policy(cls, gateway: Gateway, environ: Mapping[str, str] | None = None) -> KeyRing:
        """Read each `gateway.keys[]` entry's variable; a missing, short or shared key is a
        `ConfigError` that names the variable (never the value)."""
        env = os.environ if environ is None else environ
        ring = cls()
        for key in gateway.keys:
            value = env.get(key.env, "")
            if len(value) < MIN_KEY_CHARS:
                state = "is not set" if not value else f"is shorter than {MIN_KEY_CHARS} characters"
                raise ConfigError(
                    f"gateway.keys: {key.env} {state}; export a random key in it, e.g. "
                    f'{key.env}="sk-$(openssl rand -hex 24)"'
                )
            entry = _Entry(_digest(value), Caller(key.team, key.app))
            if any(hmac.compare_digest(entry.digest, e.digest) for e in ring._entries):
                raise ConfigError(f"gateway.keys: {key.env} holds the same key as another entry")
            ring._entries = (*ring._entries, entry)
        return ring

    @property
    def open(self) -> bool:
        """True when no keys are configured."""
        return not self._entries

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller an `Authorization: Bearer KEY` header belongs to; None if it matches no key.
        Every stored digest is compared (in constant time), so timing says nothing about which."""
        if self.open:
            return Caller()
        scheme, _, key = (authorization or "").partition(" ")
        digest = _digest(key.strip() if scheme.lower() == "bearer" else "")
        found: Caller | None = None
        for entry in self._entries:
            if hmac.compare_digest(digest, entry.digest):
                found = entry.caller
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
