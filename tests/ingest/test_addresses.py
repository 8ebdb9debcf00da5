"""Which addresses and URLs the fetcher refuses, and the allow-list that opens private ones."""

from __future__ import annotations

import ipaddress
import socket

import httpcore
import pytest

from qa.errors import ConfigError
from qa.ingest.addresses import AddressPolicy, AddressRefused, PinnedBackend, address_problem, allow_hosts_from_env
from qa.ingest.fetch import FetchConfig, FetchError, check_url


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("198.18.0.1", "private"),
        ("192.0.2.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "metadata"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("2001:db8::1", "private"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and reason in problem


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_allow_list_by_cidr_name_and_wildcard() -> None:
    policy = AddressPolicy(("10.0.0.0/24", "intranet.example", "*.corp.example", "fd12::/16"))
    ip = ipaddress.ip_address
    assert policy.problem("anything", ip("10.0.0.7")) is None
    assert "private" in policy.problem("anything", ip("10.0.1.7"))
    assert policy.problem("intranet.example", ip("192.168.3.4")) is None
    assert policy.problem("wiki.corp.example", ip("172.16.0.2")) is None
    assert "private" in policy.problem("corp.example.evil", ip("172.16.0.2"))
    assert policy.problem("x", ip("fd12::5")) is None
    # A trusted host name never opens the metadata service, the unspecified or a multicast address.
    assert "metadata" in policy.problem("intranet.example", ip("169.254.169.254"))
    assert "metadata" in policy.problem("intranet.example", ip("::ffff:169.254.169.254"))
    assert "unspecified" in policy.problem("intranet.example", ip("0.0.0.0"))


def test_allow_private_opens_intranets_but_not_metadata() -> None:
    policy = AddressPolicy(allow_private=True)
    ip = ipaddress.ip_address
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.9", "100.64.1.1", "fe80::1"):
        assert policy.problem("h", ip(address)) is None
    assert "metadata" in policy.problem("h", ip("169.254.169.254"))
    assert "metadata" in policy.problem("h", ip("fd00:ec2::254"))
    assert "multicast" in policy.problem("h", ip("224.0.0.5"))
    # Only an explicit CIDR entry naming it opens a metadata address.
    assert AddressPolicy(("169.254.169.254/32",)).problem("h", ip("169.254.169.254")) is None


def test_resolving_checks_every_address_of_a_name() -> None:
    with pytest.raises(AddressRefused, match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback address"):
        AddressPolicy().resolve("localhost", 80)
    assert all(a.is_loopback for a in AddressPolicy(("localhost",)).resolve("localhost", 80))
    with pytest.raises(AddressRefused, match=r"refused: 10\.0\.0\.1 is a private address; allow it with --allow-host"):
        AddressPolicy().resolve("10.0.0.1", 80)
    with pytest.raises(AddressRefused, match=r"a cloud metadata address$"):
        AddressPolicy().resolve("169.254.169.254", 80)
    with pytest.raises(AddressRefused, match="cannot resolve host"):
        AddressPolicy().resolve("no-such-host.invalid", 80)


def test_bad_allow_list_entries_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="not a host name, IP address or CIDR"):
        AddressPolicy(("http://intranet/",))
    monkeypatch.setenv("NEWSQA_ALLOW_HOSTS", "10.0.0.0/8, wiki.local  192.168.1.5")
    assert allow_hosts_from_env() == ("10.0.0.0/8", "wiki.local", "192.168.1.5")
    assert FetchConfig.from_env(["intranet.example"]).allow_hosts == (
        "intranet.example",
        "10.0.0.0/8",
        "wiki.local",
        "192.168.1.5",
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.org/file", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("gopher://example.org:70/", "scheme"),
        ("http://", "invalid-url"),
        ("https:///path-only", "invalid-url"),
        ("http://exa mple.org/", "invalid-url"),
        ("http://user:secret@example.org/", "invalid-url"),
        ("http://example.org:99999/", "invalid-url"),
        ("not a url", "invalid-url"),
        ("", "invalid-url"),
    ],
)
def test_unusable_urls_are_refused_before_any_request(url: str, kind: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url(url)
    assert caught.value.kind == kind


def test_usable_urls_pass() -> None:
    assert check_url("  https://news.example/a?b=c#d ") == "https://news.example/a?b=c#d"
    assert check_url("HTTP://[2606:4700::1111]:8080/") == "HTTP://[2606:4700::1111]:8080/"


def test_connections_are_pinned_to_checked_addresses() -> None:
    """The connection layer itself resolves and checks the host, so a name re-resolved later cannot slip through."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(AddressRefused, match="loopback"):
            PinnedBackend(AddressPolicy()).connect_tcp("localhost", port, timeout=2)
        stream = PinnedBackend(AddressPolicy(("127.0.0.0/8",))).connect_tcp("127.0.0.1", port, timeout=2)
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        stream.close()
    with pytest.raises(httpcore.ConnectError):
        PinnedBackend(AddressPolicy(("127.0.0.0/8",))).connect_tcp("127.0.0.1", port, timeout=2)
