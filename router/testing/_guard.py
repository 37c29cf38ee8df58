"""`network_guard()`: fail loudly on any connection or DNS lookup that would leave the machine."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

_LOCAL_NAMES = frozenset({"localhost", "localhost.", "localhost.localdomain", "ip6-localhost"})


class NetworkBlockedError(RuntimeError):
    """A test tried to reach a host outside the loopback range while the network guard was on.

    Deliberately not an `OSError`, so HTTP clients do not turn it into a retried connect error.
    """

    def __init__(self, host: str, action: str) -> None:
        super().__init__(
            f"network guard: blocked {action} {host!r}; tests may only reach 127.0.0.0/8, ::1 "
            "and localhost (start a router.testing server, or pass allow=[...] to the guard)"
        )
        self.host = host


def is_loopback(host: str) -> bool:
    """True for localhost names, 127.0.0.0/8, ::1 and their IPv4-mapped forms."""
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class NetworkGuard:
    """Patches `socket` so only loopback hosts (plus `allow`) can be looked up or connected to.

    `lookups` counts DNS lookups by host (allowed or not); `blocked` lists every host refused,
    even if a library caught the error. Use as a context manager; nesting is fine.
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = frozenset(h.lower() for h in allow)
        self.lookups: Counter[str] = Counter()
        self.blocked: list[str] = []
        self._lock = threading.Lock()
        self._saved: dict[tuple[Any, str], Any] = {}

    def allowed(self, host: str) -> bool:
        return is_loopback(host) or host.strip("[]").lower() in self.allow

    def check(self, host: object, action: str) -> None:
        """Raise `NetworkBlockedError` (and record it) unless `host` may be reached."""
        name = host.decode() if isinstance(host, bytes) else str(host)
        if host is None or self.allowed(name):
            return
        with self._lock:
            self.blocked.append(name)
        raise NetworkBlockedError(name, action)

    def _lookup(self, host: object, action: str) -> None:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if host is not None:
            with self._lock:
                self.lookups[name] += 1
        self.check(host, action)

    def _check_address(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            return  # AF_UNIX and friends never leave the machine
        host = address[0]
        if isinstance(host, str) and not _is_ip(host):
            self._lookup(host, "connection to")  # connect() resolves names itself
        self.check(host, "connection to")

    def __enter__(self) -> Self:
        self._patch(socket, "getaddrinfo", self._wrap_lookup)
        self._patch(socket, "gethostbyname", self._wrap_lookup)
        self._patch(socket, "gethostbyname_ex", self._wrap_lookup)
        self._patch(socket, "create_connection", self._wrap_create_connection)
        self._patch(socket.socket, "connect", self._wrap_connect)
        self._patch(socket.socket, "connect_ex", self._wrap_connect)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for (owner, name), original in reversed(self._saved.items()):
            setattr(owner, name, original)
        self._saved.clear()

    def _patch(self, owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        self._saved[(owner, name)] = original
        setattr(owner, name, wrap(original))

    def _wrap_lookup(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
            self._lookup(host, "DNS lookup of")
            return original(host, *args, **kwargs)

        return lookup

    def _wrap_create_connection(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            self.check(address[0], "connection to")
            return original(address, *args, **kwargs)

        return create_connection

    def _wrap_connect(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def connect(sock: socket.socket, address: Any) -> Any:
            self._check_address(sock, address)
            return original(sock, address)

        return connect


def network_guard(allow: Iterable[str] = ()) -> NetworkGuard:
    """A context manager that blocks non-loopback connections and DNS lookups.

    >>> with network_guard() as guard:
    ...     ...  # code under test
    >>> assert not guard.blocked
    """
    return NetworkGuard(allow)
