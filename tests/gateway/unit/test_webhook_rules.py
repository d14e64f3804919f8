"""Pure parts of the webhooks: signatures, the retry schedule, SSRF checks, matching."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import socket

import pytest

from gateway.webhooks import rules, signing
from gateway.webhooks.backoff import DEFAULT_SCHEDULE, retry_delay, total_span
from gateway.webhooks.ssrf import (
    GuardedResolver,
    Policy,
    UnsafeAddress,
    UnsafeUrl,
    address_refusal,
    check_url,
    parse_url,
)


# signing ---------------------------------------------------------------------------------
def independent_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks recipe written out again, sharing no code with the gateway."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_a_secret_is_whsec_and_at_least_24_random_bytes() -> None:
    a, b = signing.new_secret(), signing.new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) >= 24


def test_the_signature_is_the_standard_webhooks_one() -> None:
    secret = signing.new_secret()
    body = b'{"id":"e-1","type":"scoring.score.changed","data":{"total":"1.20"}}'
    got = signing.sign(secret, "e-1", 1_764_000_000, body)
    assert got == independent_signature(secret, "e-1", 1_764_000_000, body)


def test_the_reference_vector_of_the_standard_webhooks_libraries() -> None:
    # From standard-webhooks' own test suite (secret, id, timestamp, payload, signature).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_accepts_a_good_message_and_refuses_tampering_staleness_and_other_keys() -> None:
    secret, other = signing.new_secret(), signing.new_secret()
    body = b'{"a":1}'
    h = signing.headers([secret], "m-1", 1000, body)
    signing.verify(secret, h, body, now=1000)
    signing.verify(secret, {k.upper(): v for k, v in h.items()}, body, now=1200)  # header names any case
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, h, b'{"a":2}', now=1000)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, {**h, "webhook-id": "m-2"}, body, now=1000)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, h, body, now=1000 + 301)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(other, h, body, now=1000)
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, {"webhook-id": "m-1"}, body, now=1000)


def test_during_a_rotation_either_secret_verifies() -> None:
    new, old = signing.new_secret(), signing.new_secret()
    body = b"{}"
    h = signing.headers([new, old], "m", 5, body)
    assert len(h["webhook-signature"].split()) == 2
    signing.verify(new, h, body, now=5)
    signing.verify(old, h, body, now=5)


# backoff ---------------------------------------------------------------------------------
def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    assert total_span(DEFAULT_SCHEDULE) > 24 * 3600
    assert list(DEFAULT_SCHEDULE) == sorted(DEFAULT_SCHEDULE)


def test_retry_delay_follows_the_schedule_with_bounded_jitter_then_stops() -> None:
    sched = [5, 300, 1800]
    assert retry_delay(sched, 1, jitter=0.0) == 5
    assert retry_delay(sched, 3, jitter=0.0) == 1800
    assert retry_delay(sched, 4, jitter=0.0) is None
    assert retry_delay(sched, 2, jitter=0.1, rand=lambda: 0.0) == pytest.approx(270)
    assert retry_delay(sched, 2, jitter=0.1, rand=lambda: 1.0) == pytest.approx(330)
    with pytest.raises(ValueError):
        retry_delay(sched, 0)


# SSRF ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused_with_the_reason(address: str, kind: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address))
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http and https"),
        ("file:///etc/passwd", "http and https"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://example.com/#frag", "fragment"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://exa mple.com/", "whitespace"),
    ],
)
def test_url_shapes_refused_in_every_mode(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl, match=why):
        parse_url(url)


async def test_check_url_judges_literal_and_resolved_addresses_in_production() -> None:
    dns = {"public.example": ["93.184.215.14"], "rebind.example": ["93.184.215.14", "127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in dns:
            raise socket.gaierror("unknown")
        return dns[host]

    strict = Policy.from_entries(True, [])
    await check_url("https://public.example/hook", strict, resolve)
    await check_url("https://93.184.215.14/hook", strict, resolve)
    for url, why in [
        ("http://127.0.0.1:8000/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("https://rebind.example/", "loopback"),  # one private answer among public ones
        ("https://nowhere.example/", "does not resolve"),
    ]:
        with pytest.raises(UnsafeUrl, match=why):
            await check_url(url, strict, resolve)
    # The embedded and test modes allow everything a URL's shape allows.
    await check_url("http://127.0.0.1:8000/", Policy.from_entries(False, []), resolve)


async def test_the_allow_list_opens_named_hosts_suffixes_and_networks() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"hooks.intra.gov": ["10.8.0.5"], "a.b.intra.gov": ["10.9.0.5"], "db.corp": ["10.20.1.1"]}[host]

    policy = Policy.from_entries(True, ["hooks.intra.gov", "*.b.intra.gov", "10.20.0.0/16", "fd00::/8"])
    await check_url("https://hooks.intra.gov/x", policy, resolve)
    await check_url("https://a.b.intra.gov/x", policy, resolve)
    await check_url("https://db.corp/x", policy, resolve)  # the network is allowed
    await check_url("http://[fd00::5]/", policy, resolve)
    with pytest.raises(UnsafeUrl):
        await check_url("http://10.21.0.1/", policy, resolve)
    with pytest.raises(ValueError, match="not a CIDR"):
        Policy.from_entries(True, ["http://x"])


async def test_the_guarded_resolver_refuses_at_connect_time_when_dns_changed() -> None:
    answers = {"hook.example": "93.184.215.14"}

    class Inner:
        async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
            return [{"hostname": host, "host": answers[host], "port": port, "family": family, "proto": 0, "flags": 0}]

        async def close(self) -> None:
            pass

    guard = GuardedResolver(Policy.from_entries(True, []), Inner())  # type: ignore[arg-type]
    assert (await guard.resolve("hook.example", 443))[0]["host"] == "93.184.215.14"
    answers["hook.example"] = "10.0.0.7"  # the name now points inside
    with pytest.raises(UnsafeAddress, match="private"):
        await guard.resolve("hook.example", 443)
    open_guard = GuardedResolver(Policy.from_entries(False, []), Inner())  # type: ignore[arg-type]
    assert (await open_guard.resolve("hook.example", 443))[0]["host"] == "10.0.0.7"


# matching --------------------------------------------------------------------------------
def test_type_patterns_exact_prefix_and_all() -> None:
    assert rules.type_matches(["scoring.score.changed"], "scoring.score.changed")
    assert not rules.type_matches(["scoring.score.changed"], "scoring.score.changed.v2")
    assert rules.type_matches(["scoring.*"], "scoring.rating.confirmed")
    assert not rules.type_matches(["scoring.*"], "scoringx.a")
    assert not rules.type_matches(["roster.cadre.*"], "roster.unit.created")
    assert rules.type_matches(["*"], "anything.at.all")
    for bad in ["Scoring.x", "scoring.", "scoring*", "*.changed", "a..b", "scoring.*.x"]:
        assert rules.pattern_problem(bad), bad
    assert rules.pattern_problem("secondment.review.recorded") is None


def test_a_pattern_pinned_to_a_data_version_wants_that_version_only() -> None:
    """During a deprecation period (docs/events.md "Versions") each version-2 placement event
    is followed by a version-1 companion: an unpinned pattern gets the first, a pin the second."""
    newest, companion, history = ("2", False), ("1", True), ("1", False)
    assert rules.type_matches(["secondment.started"], "secondment.started", *newest)
    assert not rules.type_matches(["secondment.started"], "secondment.started", *companion)
    assert rules.type_matches(["secondment.*"], "secondment.started", *history)  # from before version 2
    assert rules.type_matches(["secondment.started@1"], "secondment.started", *companion)
    assert rules.type_matches(["secondment.*@1"], "secondment.started", *history)
    assert not rules.type_matches(["secondment.started@1"], "secondment.started", *newest)
    assert not rules.type_matches(["*@1"], "secondment.started", *newest)
    assert rules.type_matches(["*@2"], "secondment.started", *newest)
    assert not rules.type_matches(["secondment.ended@1"], "secondment.started", *companion)
    for good in ["secondment.started@1", "secondment.*@1", "*@2"]:
        assert rules.pattern_problem(good) is None, good
    for bad in ["secondment.started@", "secondment.started@0", "secondment.started@v1", "a@1@2", "@1"]:
        assert rules.pattern_problem(bad), bad


def test_scope_by_unit_path_and_closed_when_no_unit_is_known() -> None:
    city, town, other = "u-city", "u-town", "u-other"
    assert rules.in_scope([f"/{city}/{town}/"], [town])
    assert rules.in_scope([f"/{city}/{town}/"], [city])  # a descendant of a scope unit
    assert not rules.in_scope([f"/{city}/"], [town])  # an ancestor is not in the scope
    assert not rules.in_scope([f"/{other}/"], [town])
    assert not rules.in_scope([], [town])
    assert rules.in_scope([], None)
    # An id that is a prefix of another never matches by accident.
    assert not rules.in_scope(["/u-town2/"], [town])
    data = {"cadre_id": "c", "from_unit_id": "a", "to_unit_id": "b", "host_unit_id": None, "unit_id": ""}
    assert rules.referenced_unit_ids(data) == ["b", "a"]


def test_a_subscription_gets_events_from_its_creation_on() -> None:
    created = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    assert rules.new_enough(rules.parse_time("2026-11-25T12:00:01Z"), created, 0)
    assert not rules.new_enough(rules.parse_time("2026-11-25T11:00:00Z"), created, 300)
    assert rules.new_enough(rules.parse_time("2026-11-25T11:56:00+00:00"), created, 300)
    assert rules.new_enough(rules.parse_time("not a time"), created, 0)
