"""The outbox's HTTP client: kept connections, bounded time and size, no private targets.

httpcore's connection pool with a network backend that resolves each host itself and
refuses private, loopback, link-local, multicast and reserved addresses before it
connects. The address checked is the address connected to, so a name that resolves to
a public address when checked and to a private one when used (DNS rebinding) cannot get
through. Redirects are never followed (a 3xx is a failed delivery), so a receiver cannot
bounce a delivery onto an internal URL either.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
import weakref
from dataclasses import dataclass

import httpcore

#: What every delivery says it is.
USER_AGENT = "feedsvc-outbox"


class RefusedTarget(httpcore.ConnectError):
    """The target resolves to an address deliveries may not reach."""


def public(addr: str) -> bool:
    """Whether an IP address is one deliveries may reach without ``allow_private``."""
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class _CheckedBackend(httpcore.NetworkBackend):
    """Resolves the host, keeps only allowed addresses, and connects to one of those (never to the name)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
        allowed = [a for a in addrs if self.allow_private or public(a)]
        if not allowed:
            raise RefusedTarget(
                f"{host} resolves to a private or reserved address ({', '.join(addrs)}); set allow_private: true to deliver there"
            )
        error: Exception | None = None
        for addr in allowed:
            try:
                return self.inner.connect_tcp(addr, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        raise RefusedTarget("unix sockets are not delivery targets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


@dataclass(frozen=True)
class Answer:
    """A receiver's answer: status (0: no answer), headers, the first bytes of the body, or the error."""

    status: int
    headers: dict[str, str]
    body: bytes
    error: str | None = None


class Client:
    """Two kept connection pools (public targets only; any target) with the same limits."""

    def __init__(self, timeout: float, max_response_bytes: int) -> None:
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._pools = {
            flag: httpcore.ConnectionPool(
                network_backend=_CheckedBackend(flag), max_connections=64, keepalive_expiry=30.0, retries=0
            )
            for flag in (False, True)
        }
        weakref.finalize(self, _close_pools, list(self._pools.values()))  # kept connections go with the client

    def post(self, url: str, body: bytes, headers: dict[str, str], allow_private: bool = False) -> Answer:
        """POST ``body`` to ``url``; never raises for network trouble (the Answer says what happened)."""
        return self.send("POST", url, body, {**headers, "Content-Length": str(len(body))}, allow_private)

    def get(self, url: str, headers: dict[str, str], allow_private: bool = False) -> Answer:
        """GET ``url`` (a body beyond the size limit is cut: ``len(body) == max_response_bytes`` says so)."""
        return self.send("GET", url, b"", headers, allow_private)

    def send(self, method: str, url: str, body: bytes, headers: dict[str, str], allow_private: bool) -> Answer:
        """One request within the client's time and size limits; never raises for network trouble."""
        sent = {"User-Agent": USER_AGENT, **headers}
        t = self.timeout
        try:
            with self._pools[allow_private].stream(
                method,
                url,
                headers=list(sent.items()),
                content=body,
                extensions={"timeout": {"connect": t, "read": t, "write": t, "pool": t}},
            ) as resp:
                data = bytearray()
                for chunk in resp.iter_stream():
                    data += chunk
                    if len(data) >= self.max_response_bytes:
                        break  # the rest is never read: the connection is closed rather than reused
                return Answer(
                    resp.status,
                    {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in resp.headers},
                    bytes(data[: self.max_response_bytes]),
                )
        except RefusedTarget as exc:
            return Answer(0, {}, b"", f"refused: {exc}")
        except (httpcore.TimeoutException, TimeoutError):
            return Answer(0, {}, b"", f"timed out after {t:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError, ValueError) as exc:
            return Answer(0, {}, b"", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    def close(self) -> None:
        """Close every kept connection."""
        _close_pools(list(self._pools.values()))


def _close_pools(pools: list[httpcore.ConnectionPool]) -> None:
    for pool in pools:
        pool.close()
