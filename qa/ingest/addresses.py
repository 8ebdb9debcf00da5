"""Which hosts and addresses the fetcher may connect to, checked before every request and pinned for it."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass, field

import httpcore
import httpx

from qa.errors import ConfigError
from qa.ingest.deadline import DeadlineStream, time_left

ALLOW_HOSTS_ENV = "NEWSQA_ALLOW_HOSTS"

# Addresses of cloud instance-metadata services: never fetched unless a CIDR entry names them.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """An address check failed (raised below httpx, turned into a FetchError with the URL)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why `address` must not be fetched from (None for a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (embedded in {address})" if problem else None
        if address in LOCAL_NAT64:
            return "a reserved address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a shared (CGNAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _never_allowed(address: IPAddress) -> bool:
    """Addresses only an explicit CIDR entry opens: metadata services, unspecified and multicast ones."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    target = embedded or address
    return target in METADATA_ADDRESSES or target.is_unspecified or target.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Which hosts and addresses may be fetched: public ones, plus what the allow-list names.

    `allow_hosts` holds host names (exact, or `*.example.org` for subdomains), IP addresses or CIDRs.
    A named host may resolve to any address except metadata, unspecified and multicast ones; a CIDR
    allows exactly the addresses inside it. `allow_private` opens loopback, private, link-local and
    CGNAT ranges (still never metadata, unspecified or multicast addresses).
    """

    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False)
    names: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for entry in self.allow_hosts:
            value = entry.strip().lower().strip("[]")
            if not value:
                continue
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                if not re.fullmatch(r"(\*\.)?[a-z0-9_.-]+", value):
                    raise ConfigError(
                        f"allow-list entry {entry!r} is not a host name, IP address or CIDR (e.g. intranet.example, "
                        "10.0.0.0/8)"
                    ) from None
                names.add(value.rstrip("."))
        object.__setattr__(self, "networks", tuple(networks))
        object.__setattr__(self, "names", frozenset(names))

    def host_allowed(self, host: str) -> bool:
        """True when the host name itself is on the allow-list."""
        host = host.lower().rstrip(".")
        if host in self.names:
            return True
        return any(name.startswith("*.") and host.endswith(name[1:]) for name in self.names)

    def problem(self, host: str, address: IPAddress) -> str | None:
        """Why `host` at `address` is refused, or None when it may be fetched."""
        if any(address in network for network in self.networks if network.version == address.version):
            return None
        problem = address_problem(address)
        if problem is None:
            return None
        if not _never_allowed(address) and (self.allow_private or self.host_allowed(host)):
            return None
        return problem

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, each checked; raises AddressRefused when any one of them is not allowed."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as error:
                raise AddressRefused(f"cannot resolve host {host!r} ({error})") from None
            found = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                if address not in found:
                    found.append(address)
        if not found:
            raise AddressRefused(f"host {host!r} has no addresses")
        for address in found:
            problem = self.problem(host, address)
            if problem:
                where = f"{address} is" if literal is not None else f"{host} resolves to {address},"
                hint = (
                    ""
                    if _never_allowed(address)
                    else f"; allow it with --allow-host or ${ALLOW_HOSTS_ENV} if it is an intranet you trust"
                )
                raise AddressRefused(f"refused: {where} {problem}{hint}")
        return found


class PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy has just checked, so DNS cannot change between check and use."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last: Exception | None = None
        for address in self.policy.resolve(host, port):
            try:
                left = time_left(timeout, httpcore.ConnectTimeout)
                return DeadlineStream(super().connect_tcp(str(address), port, left, local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last


def pinned_transport(policy: AddressPolicy) -> httpx.HTTPTransport:
    """An httpx transport whose connections go only to addresses `policy` has just checked."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx has no public hook for the network backend; its pool is rebuilt with one that pins
    # connections to checked addresses (TLS still verifies the certificate against the host name).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), retries=0, network_backend=PinnedBackend(policy)
    )
    return transport


def allow_hosts_from_env() -> tuple[str, ...]:
    """Allow-list entries from $NEWSQA_ALLOW_HOSTS (separated by commas or spaces)."""
    return tuple(part for part in re.split(r"[,\s]+", os.environ.get(ALLOW_HOSTS_ENV, "")) if part)
