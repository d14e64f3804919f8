"""Subscriber URLs must not reach into the platform's own network (SSRF).

Pure checks (``parse_url``, ``address_refusal``, ``Policy``) and two edges that resolve
names: ``check_url`` at registration, and ``GuardedResolver`` at delivery. The latter is
the resolver of the sender's HTTP connector, so the addresses checked are the addresses
connected to: a name that changes its DNS answer between check and connect (rebinding)
gains nothing.

In production mode every address must be public (not loopback, link-local, private,
carrier-grade NAT, multicast, reserved or unspecified; IPv4-mapped, 6to4 and Teredo IPv6
addresses are judged by the IPv4 address they carry), unless ops put the host name or the
network on the allow-list for intranet subscribers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_URL_LENGTH = 2000


class UnsafeUrl(ValueError):
    """The URL may not be used; the message says why (shown to the subscriber)."""


class UnsafeAddress(OSError):
    """Raised inside the HTTP connector: an OSError, which aiohttp wraps and passes on."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class Policy:
    block_private: bool
    allow_names: frozenset[str] = frozenset()
    allow_suffixes: tuple[str, ...] = ()
    allow_networks: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_entries(cls, block_private: bool, entries: Iterable[str]) -> Policy:
        """Allow-list entries: a CIDR or address (``10.20.0.0/16``), a host name
        (``hooks.intra.gov``) or a name suffix (``*.intra.gov``). Raises ValueError."""
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffix = entry[1:]
                if not _is_host_name(suffix[1:]):
                    raise ValueError(f"webhook allow-list entry {raw!r} is not a CIDR, host name or *.suffix")
                suffixes.append(suffix)
            elif _is_host_name(entry):
                names.add(entry.rstrip("."))
            else:
                raise ValueError(f"webhook allow-list entry {raw!r} is not a CIDR, host name or *.suffix")
        return cls(block_private, frozenset(names), tuple(suffixes), tuple(networks))

    def allows_name(self, host: str) -> bool:
        h = host.lower().rstrip(".")
        return h in self.allow_names or any(h.endswith(s) for s in self.allow_suffixes)

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = [ip, *_embedded_ipv4(ip)]
        return any(c in net for c in candidates for net in self.allow_networks if c.version == net.version)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why this address may not be connected to, or None."""
        if not self.block_private or self.allows_address(ip):
            return None
        return address_refusal(ip)


def _is_host_name(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return bool(value) and all(
        0 < len(label) <= 63 and all(c.isalnum() or c == "-" for c in label) and not label.startswith("-")
        for label in labels
    )


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    out = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    return out


def address_refusal(ip: IPAddress) -> str | None:
    """The reason an address is not a public one, or None when it is."""
    for inner in _embedded_ipv4(ip):
        reason = address_refusal(inner)
        if reason:
            return f"{reason} (carried in {ip})"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return None  # ::ffff:0:0/96 is "reserved" as IPv6; the IPv4 address inside decides
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # e.g. 100.64.0.0/10 (carrier-grade NAT) is neither private nor global.
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{ip} is a {name} address"
    return None


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None


def parse_url(url: str) -> Target:
    """Shape checks that hold in every mode: http(s) only, a host, no credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeUrl("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs are accepted")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("credentials in the URL are not accepted; the signature authenticates the sender")
    if parts.fragment:
        raise UnsafeUrl("a fragment is never sent; leave it out")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


def check_addresses(policy: Policy, host: str, addresses: Iterable[str]) -> None:
    """Every address the name resolves to must pass: one private answer among public ones
    is what a rebinding attack looks like."""
    seen = False
    for text in addresses:
        ip = literal_address(text)
        if ip is None:
            raise UnsafeUrl(f"{host} resolved to something that is not an address: {text!r}")
        seen = True
        reason = policy.refusal(ip)
        if reason:
            raise UnsafeUrl(f"{host} resolves to a refused address: {reason}")
    if not seen:
        raise UnsafeUrl(f"{host} does not resolve")


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, policy: Policy, resolve: Resolve = system_resolve) -> Target:
    """At registration (and on a URL change). Raises UnsafeUrl."""
    target = parse_url(url)
    if not policy.block_private or policy.allows_name(target.host):
        return target
    ip = literal_address(target.host)
    if ip is not None:
        reason = policy.refusal(ip)
        if reason:
            raise UnsafeUrl(f"refused address: {reason}")
        return target
    try:
        addresses = await resolve(target.host, target.port)
    except OSError as exc:
        raise UnsafeUrl(f"{target.host} does not resolve") from exc
    check_addresses(policy, target.host, addresses)
    return target


class GuardedResolver(AbstractResolver):
    """The sender's resolver: resolves as usual, then refuses the whole answer when any
    address is refused by the policy."""

    def __init__(self, policy: Policy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.policy.block_private and not self.policy.allows_name(host):
            try:
                check_addresses(self.policy, host, [r["host"] for r in results])
            except UnsafeUrl as exc:
                raise UnsafeAddress(str(exc)) from exc
        return results

    async def close(self) -> None:
        await self.inner.close()


def describe(exc: BaseException) -> str:
    """The refusal inside an aiohttp connector error, if there is one."""
    seen: set[int] = set()
    current: Any = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnsafeAddress | UnsafeUrl):
            return f"refused: {current}"
        os_error = getattr(current, "os_error", None)
        current = os_error or current.__cause__
    return f"{type(exc).__name__}: {exc}"
