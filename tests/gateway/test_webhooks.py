"""Webhooks through the gateway's API, its dispatcher (fed through the consumer's own inbox,
without a broker) and its delivery worker, against a small HTTP server in the test.

The broker path (a dispatcher restart, events from a live roster) is in
tests/integration/test_webhooks.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlmodel import col

from cadrekit.inbox import EventConsumer
from cadrekit.pagination import encode_cursor
from cadrekit.testing.plugin import free_port
from cadrekit.uow import EventRows
from contracts import roster, scoring, secondment, topics
from contracts.envelope import Event, envelope
from contracts.samples import sample
from gateway import keys
from gateway.app import MIGRATIONS
from gateway.app import create_app as create_gateway
from gateway.models import WebhookAttempt, WebhookDelivery, kit
from gateway.settings import GatewaySettings
from gateway.webhooks import signing
from gateway.webhooks.dispatcher import CONSUMER, enqueue
from gateway.webhooks.sender import Claimed, DeliveryWorker, Lease
from tests.gateway.conftest import GatewayHarness

API = "/api/v1/webhooks"


# helpers shared with tests/integration/test_webhooks.py ------------------------------------
class Receiver:
    """An outside subscriber: records every request; answers from ``script`` then ``default``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        self.default = 200
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body))
        return web.Response(status=self.script.pop(0) if self.script else self.default)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _, body in self.requests]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def independent_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written out again, sharing no code with the gateway."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    return fresh and any(
        sig.split(",", 1) == ["v1", expected] and hmac.compare_digest(sig.split(",", 1)[1], expected)
        for sig in headers["webhook-signature"].split()
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


FAST = {
    "webhook_retry_schedule": [0.2, 0.2],
    "webhook_retry_jitter": 0.0,
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2.0,
    "webhook_history_grace_seconds": 300,
}


@contextlib.asynccontextmanager
async def running_gateway(url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[GatewayHarness]:
    values: dict[str, Any] = {
        "database_url": url,
        "mode": "test",
        "signing_keys_dir": tmp_path / "keys",
        "bootstrap_file": tmp_path / "boot.json",
        "kafka_enabled": False,
        "kafka_bootstrap": f"127.0.0.1:{free_port()}",
        "rate_limit_enabled": False,
        **FAST,
    }
    values.update(overrides)
    settings = GatewaySettings(**values)
    app = create_gateway(settings, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield GatewayHarness(app, client, settings)


def dispatcher_of(gw: GatewayHarness) -> EventConsumer:
    return next(c for c in gw.app.state.runtime.consumers if c.name == CONSUMER)


async def feed(gw: GatewayHarness, event: dict[str, Any]) -> bool:
    """Hand an event to the dispatcher as the broker would: through the consumer's inbox."""
    consumer = dispatcher_of(gw)
    return await consumer.apply(event, consumer.handlers.get(event["type"]))  # type: ignore[arg-type]


def cloud_event(source: str, type_: str, data: dict[str, Any], key: str = "k") -> dict[str, Any]:
    return envelope(source, Event(type_, f"thing/{key}", key, data))


async def deliveries_of(gw: GatewayHarness, sub_id: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    resp = await gw.client.get(f"{API}/subscriptions/{sub_id}/deliveries", headers=auth)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


async def make_client(gw: GatewayHarness, role: str, scope: list[str] | None = None) -> dict[str, str]:
    made = await gw.client.post(
        "/api/v1/auth/clients",
        headers=await gw.auth(),
        json={"name": f"{role} system", "role": role, "unit_scope": scope},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    return await gw.auth(client_id=body["client_id"], secret=body["client_secret"])


# fixtures ----------------------------------------------------------------------------------
@pytest.fixture
async def gw_url(backend: str, database_factories: Any) -> str:
    return await database_factories(MIGRATIONS).fresh(backend)  # type: ignore[no-any-return]


@pytest.fixture
async def gw(gw_url: str, tmp_path: Path) -> AsyncIterator[GatewayHarness]:
    async with running_gateway(gw_url, tmp_path) as harness:
        yield harness


# the API -----------------------------------------------------------------------------------
async def test_subscriptions_are_managed_by_their_owner_and_admins(gw: GatewayHarness) -> None:
    admin = await gw.auth()
    portal = await make_client(gw, "portal")
    other_portal = await make_client(gw, "portal")
    auditor = await make_client(gw, "auditor")

    made = await gw.client.post(
        f"{API}/subscriptions",
        headers=portal,
        json={"url": "http://hooks.example/in", "event_types": ["scoring.*", "roster.cadre.moved"]},
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
    assert sub["event_types"] == ["roster.cadre.moved", "scoring.*"] and sub["unit_scope"] is None
    sid = sub["id"]

    fetched = await gw.client.get(f"{API}/subscriptions/{sid}", headers=portal)
    assert fetched.status_code == 200 and "secret" not in fetched.json()
    assert (await gw.client.get(f"{API}/subscriptions/{sid}", headers=other_portal)).status_code == 404
    assert (await gw.client.get(f"{API}/subscriptions/{sid}", headers=admin)).status_code == 200
    assert (await gw.client.get(f"{API}/subscriptions", headers=auditor)).status_code == 403
    theirs = (await gw.client.get(f"{API}/subscriptions", headers=other_portal)).json()["items"]
    assert theirs == []
    everyone = (await gw.client.get(f"{API}/subscriptions", headers=admin)).json()["items"]
    assert [s["id"] for s in everyone] == [sid]

    # Problems name the field at fault.
    for body, field in [
        ({"url": "ftp://x.example/", "event_types": ["a.b"]}, "url"),
        ({"url": "http://u:p@x.example/", "event_types": ["a.b"]}, "url"),
        ({"url": "http://x.example/", "event_types": ["a.b", "Bad Type"]}, "event_types.1"),
        ({"url": "http://x.example/", "event_types": []}, "event_types"),
        ({"url": "http://x.example/", "event_types": ["a.b"], "secret": "mine"}, "secret"),
    ]:
        bad = await gw.client.post(f"{API}/subscriptions", headers=portal, json=body)
        assert bad.status_code == 422, body
        assert bad.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in bad.json()["errors"]], bad.json()
    in_chinese = await gw.client.post(
        f"{API}/subscriptions",
        headers={**portal, "Accept-Language": "zh-CN"},
        json={"url": "http://x.example/", "event_types": ["secondment.started@v1"]},
    )
    assert in_chinese.status_code == 422 and in_chinese.json()["errors"][0]["field"] == "event_types.0"
    assert "@数据版本" in in_chinese.text, in_chinese.text

    # Only an admin registers on another client's behalf.
    for_other = await gw.client.post(
        f"{API}/subscriptions",
        headers=portal,
        json={"url": "http://x.example/", "event_types": ["a.b"], "owner": "admin"},
    )
    assert for_other.status_code == 403
    unknown_owner = await gw.client.post(
        f"{API}/subscriptions",
        headers=admin,
        json={"url": "http://x.example/", "event_types": ["a.b"], "owner": "nobody-here"},
    )
    assert unknown_owner.status_code == 422 and unknown_owner.json()["errors"][0]["field"] == "owner"

    changed = await gw.client.patch(
        f"{API}/subscriptions/{sid}", headers=portal, json={"event_types": ["scoring.score.changed"]}
    )
    assert changed.status_code == 200 and changed.json()["event_types"] == ["scoring.score.changed"]
    null_url = await gw.client.patch(f"{API}/subscriptions/{sid}", headers=portal, json={"url": None})
    assert null_url.status_code == 422 and null_url.json()["errors"][0]["field"] == "url"

    off = await gw.client.post(f"{API}/subscriptions/{sid}/disable", headers=portal, json={"reason": "maintenance"})
    assert off.json()["status"] == "disabled" and off.json()["disabled_reason"] == "maintenance"
    on = await gw.client.post(f"{API}/subscriptions/{sid}/enable", headers=portal)
    assert on.json()["status"] == "active" and on.json()["disabled_reason"] is None

    rotated = await gw.client.post(f"{API}/subscriptions/{sid}/rotate-secret", headers=portal)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != sub["secret"] and rotated.json()["previous_secret_valid_until"] is not None

    assert (await gw.client.delete(f"{API}/subscriptions/{sid}", headers=other_portal)).status_code == 404
    assert (await gw.client.delete(f"{API}/subscriptions/{sid}", headers=portal)).status_code == 204
    assert (await gw.client.get(f"{API}/subscriptions/{sid}", headers=admin)).status_code == 404


# delivery ----------------------------------------------------------------------------------
async def test_a_signed_delivery_is_retried_after_a_500_and_every_attempt_recorded(
    gw: GatewayHarness, receiver: Receiver
) -> None:
    admin = await gw.auth()
    sub = (
        await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["scoring.*"]}
        )
    ).json()
    receiver.script = [500]
    event = cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-1", "total": "1.20"}, key="c-1")
    assert await feed(gw, event)
    assert await feed(gw, cloud_event("secondment", "secondment.started", {"cadre_id": "c-1"}))  # not wanted

    async def two_requests() -> bool:
        return len(receiver.requests) >= 2

    await eventually(two_requests, what="a retry after the 500")
    await asyncio.sleep(0.3)  # nothing more comes: the second attempt succeeded
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        assert headers["webhook-id"] == event["id"]  # the same message id on every attempt
        assert headers["content-type"] == "application/json"
        signing.verify(sub["secret"], headers, body, now=int(time.time()))
        assert independent_check(sub["secret"], headers, body)
        assert not independent_check(signing.new_secret(), headers, body)
        assert orjson.loads(body) == event  # the CloudEvent itself
    assert receiver.requests[0][0]["webhook-timestamp"] <= receiver.requests[1][0]["webhook-timestamp"]

    async def recorded() -> bool:
        return [d["status"] for d in await deliveries_of(gw, sub["id"], admin)] == ["delivered"]

    await eventually(recorded, what="the delivery recorded as delivered")
    [delivery] = await deliveries_of(gw, sub["id"], admin)
    assert delivery["status"] == "delivered" and delivery["message_id"] == event["id"]
    assert delivery["attempt_count"] == 2 and delivery["next_attempt_at"] is None
    first, second = delivery["attempts"]
    assert (first["attempt"], first["status_code"], first["success"], first["error"]) == (1, 500, False, "HTTP 500")
    assert first["next_retry_at"] is not None and first["trigger"] == "first"
    assert (second["attempt"], second["status_code"], second["success"]) == (2, 200, True)
    assert second["trigger"] == "retry" and second["next_retry_at"] is None
    assert all(a["duration_ms"] >= 0 for a in delivery["attempts"])
    one = await gw.client.get(f"{API}/subscriptions/{sub['id']}/deliveries/{delivery['id']}", headers=admin)
    assert one.json()["payload"] == event


async def test_an_enqueued_event_is_sent_at_once_not_at_the_next_poll(
    gw_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """The dispatcher hands the sender its deliveries after its commit; the poll is only the fallback. Two
    events: the second surely finds the worker waiting out its 30 s poll, whichever round
    the first one met."""
    async with running_gateway(gw_url, tmp_path, webhook_poll_seconds=30.0) as gw:
        admin = await gw.auth()
        made = await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["scoring.*"]}
        )
        assert made.status_code == 201, made.text
        for n in (1, 2):
            assert await feed(gw, envelope("scoring", sample(scoring.ScoreChanged, cadre_id=f"c-{n}").event()))

            async def delivered(n: int = n) -> bool:
                return len(receiver.requests) == n

            await eventually(delivered, timeout=5.0, what=f"delivery {n} well before the 30 s poll")
    assert [e["data"]["cadre_id"] for e in receiver.events()] == ["c-1", "c-2"]


async def test_an_event_is_enqueued_once_however_often_it_arrives(gw: GatewayHarness, receiver: Receiver) -> None:
    admin = await gw.auth()
    sub = (
        await gw.client.post(f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
    ).json()
    event = cloud_event("secondment", "secondment.started", {"cadre_id": "c-9"})
    assert await feed(gw, event) is True
    assert await feed(gw, event) is False  # the inbox knows it
    # Even past the inbox (a lost inbox row), the delivery table holds one row per message.
    async with gw.app.state.runtime.sessions() as s:
        await s.execute(kit.inbox.delete())
        await s.commit()
    assert await feed(gw, event) is True

    async def delivered() -> bool:
        return len(receiver.requests) >= 1

    await eventually(delivered, what="the delivery")
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1
    assert len(await deliveries_of(gw, sub["id"], admin)) == 1


async def test_a_subscription_pinned_to_an_older_version_gets_its_companions_and_no_other(
    gw: GatewayHarness, receiver: Receiver
) -> None:
    """During a deprecation period (docs/events.md "Versions"): the outbox writes a version-2
    placement event and its version-1 companion; "secondment.started" gets the first,
    "secondment.started@1" the second, each once."""
    admin = await gw.auth()
    subs = []
    for name, types in (("newest", "secondment.started"), ("pinned", "secondment.started@1")):
        made = await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": f"{receiver.url}/{name}", "event_types": [types]}
        )
        assert made.status_code == 201, made.text
        subs.append(made.json())
    newest, pinned = subs
    started = sample(secondment.Started, cadre_id="c-7", starts_on="2017-04-01", ends_on="2019-03-31").event()
    rows = EventRows(source="secondment", topic=topics.SECONDMENT).rows(started)
    assert len(rows) == 2  # the event and its companion, as the relay sends them
    for row in rows:
        assert await feed(gw, orjson.loads(row[4])) is True

    async def both_delivered() -> bool:
        return len(receiver.requests) >= 2

    await eventually(both_delivered, what="the two deliveries")
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 2
    (newest_got,) = await deliveries_of(gw, newest["id"], admin)
    (pinned_got,) = await deliveries_of(gw, pinned["id"], admin)
    assert pinned_got["message_id"] == orjson.loads(rows[1][4])["id"] != newest_got["message_id"]
    by_version = {e["dataversion"]: e for e in receiver.events()}
    assert set(by_version) == {"1", "2"} and by_version["1"]["supersededby"] == by_version["2"]["id"]
    assert (by_version["2"]["data"]["ends_on"], by_version["1"]["data"]["ends_on"]) == ("2019-03-31", "2019-04-01")


async def test_a_replay_sends_the_same_message_again(gw: GatewayHarness, receiver: Receiver) -> None:
    portal = await make_client(gw, "portal")
    sub = (
        await gw.client.post(
            f"{API}/subscriptions", headers=portal, json={"url": receiver.url, "event_types": ["matching.*"]}
        )
    ).json()
    event = cloud_event("matching", "matching.campaign.opened", {"campaign_id": "k-1"})
    await feed(gw, event)

    async def sent(n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(receiver.requests) >= n

        return check

    await eventually(await sent(1), what="the first delivery")

    async def settled() -> bool:
        # The receiver has the request a moment before the worker records the answer; a replay
        # of a delivery still in flight is rightly a 409.
        return [d["status"] for d in await deliveries_of(gw, sub["id"], portal)] == ["delivered"]

    await eventually(settled, what="the first delivery recorded")
    [delivery] = await deliveries_of(gw, sub["id"], portal)
    replayed = await gw.client.post(
        f"{API}/subscriptions/{sub['id']}/deliveries/{delivery['id']}/replay", headers=portal
    )
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    await eventually(await sent(2), what="the replay")
    assert receiver.requests[0][0]["webhook-id"] == receiver.requests[1][0]["webhook-id"] == event["id"]
    assert receiver.requests[0][1] == receiver.requests[1][1]

    async def replay_recorded() -> bool:
        [d] = await deliveries_of(gw, sub["id"], portal)
        return d["status"] == "delivered" and [a["trigger"] for a in d["attempts"]] == ["first", "replay"]

    await eventually(replay_recorded, what="the replay attempt recorded")
    other = await make_client(gw, "portal")
    stranger = await gw.client.post(
        f"{API}/subscriptions/{sub['id']}/deliveries/{delivery['id']}/replay", headers=other
    )
    assert stranger.status_code == 404


async def test_a_subscription_is_disabled_after_repeated_failure_with_a_notice(
    gw_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.default = 503
    async with running_gateway(gw_url, tmp_path, webhook_retry_schedule=[0.05], webhook_disable_after_failures=2) as gw:
        admin = await gw.auth()
        sub = (
            await gw.client.post(
                f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["scoring.*"]}
            )
        ).json()
        first = cloud_event("scoring", "scoring.score.changed", {"n": 1})
        await feed(gw, first)

        async def failed(n: int) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                items = await deliveries_of(gw, sub["id"], admin)
                return sum(d["status"] == "failed" for d in items) >= n

            return check

        await eventually(await failed(1), what="the first message failing every retry")
        state = (await gw.client.get(f"{API}/subscriptions/{sub['id']}", headers=admin)).json()
        assert state["status"] == "active" and state["consecutive_failures"] == 1
        await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": 2}))
        await eventually(await failed(2), what="the second message failing every retry")

        state = (await gw.client.get(f"{API}/subscriptions/{sub['id']}", headers=admin)).json()
        assert state["status"] == "disabled" and "2 messages in a row" in state["disabled_reason"]
        assert "503" in state["disabled_reason"]
        assert len(receiver.requests) == 4  # two messages, each tried twice
        items = await deliveries_of(gw, sub["id"], admin)
        for d in items:
            assert [a["status_code"] for a in d["attempts"]] == [503, 503]
            assert d["attempts"][0]["next_retry_at"] is not None and d["attempts"][-1]["next_retry_at"] is None
        d1 = items[-1]  # newest first: the first message

        # The notice goes out on the gateway's own topic through its outbox.
        async with gw.app.state.runtime.engine.connect() as conn:
            rows = (await conn.execute(select(kit.outbox.c.type, kit.outbox.c.payload))).all()
        notices = [orjson.loads(r.payload)["data"] for r in rows if r.type == "gateway.webhook.disabled"]
        assert [n["subscription_id"] for n in notices] == [sub["id"]]

        # While disabled nothing new is queued, and a replay is refused until it is enabled.
        await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": 3}))
        assert len(await deliveries_of(gw, sub["id"], admin)) == 2
        refused = await gw.client.post(f"{API}/subscriptions/{sub['id']}/deliveries/{d1['id']}/replay", headers=admin)
        assert refused.status_code == 409

        receiver.default = 200
        await gw.client.post(f"{API}/subscriptions/{sub['id']}/enable", headers=admin)
        again = await gw.client.post(f"{API}/subscriptions/{sub['id']}/deliveries/{d1['id']}/replay", headers=admin)
        assert again.status_code == 202

        async def recovered() -> bool:
            return receiver.requests[-1][0]["webhook-id"] == d1["message_id"] and len(receiver.requests) == 5

        await eventually(recovered, what="the replay after enabling")


# scope -------------------------------------------------------------------------------------
async def test_a_unit_scoped_subscriber_gets_only_its_subtrees_events(gw: GatewayHarness, receiver: Receiver) -> None:
    city, town, village, elsewhere = "u-city", "u-town", "u-village", "u-elsewhere"

    def unit(uid: str, path: list[str]) -> dict[str, Any]:
        return envelope("roster", roster.UnitCreated(unit_id=uid, name=uid, kind="town", path=path, version=1).event())

    def cadre(cid: str, unit_id: str) -> dict[str, Any]:
        registered = roster.CadreRegistered(
            cadre_id=cid,
            version=1,
            name=cid,
            gender="male",
            birth_date=dt.date(1975, 3, 1),
            unit_id=unit_id,
            party_member=True,
            retirement_date=dt.date(2038, 3, 1),
        )
        return envelope("roster", registered.event())

    hr = await make_client(gw, "unit_hr", [town])
    admin = await gw.auth()
    scoped = (
        await gw.client.post(f"{API}/subscriptions", headers=hr, json={"url": receiver.url, "event_types": ["*"]})
    ).json()
    assert scoped["unit_scope"] == [town]
    everything = (
        await gw.client.post(f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
    ).json()

    events = {
        "city unit": unit(city, [city]),
        "town unit": unit(town, [city, town]),
        "village unit": unit(village, [city, town, village]),
        "other unit": unit(elsewhere, [elsewhere]),
        "village cadre": cadre("c-in", village),
        "other cadre": cadre("c-out", elsewhere),
        # scoring names the unit; matching names only the cadre (found in the mirror)
        "score in": cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-in", "unit_id": village}),
        "score out": cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-out", "unit_id": elsewhere}),
        "placement in": cloud_event("matching", "matching.placement.confirmed", {"cadre_id": "c-in"}),
        "placed into town": cloud_event(
            "matching", "matching.placement.confirmed", {"cadre_id": "c-out", "host_unit_id": town}
        ),
        "seconded out of town": cloud_event(
            "secondment", "secondment.started", {"cadre_id": "c-x", "from_unit_id": village, "to_unit_id": elsewhere}
        ),
        "campaign (no unit)": cloud_event("matching", "matching.campaign.opened", {"campaign_id": "k"}),
        "unknown cadre": cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-never-seen"}),
    }
    for e in events.values():
        assert await feed(gw, e)

    def names(items: list[dict[str, Any]]) -> set[str]:
        by_id = {e["id"]: n for n, e in events.items()}
        return {by_id[d["message_id"]] for d in items}

    assert names(await deliveries_of(gw, scoped["id"], hr)) == {
        "town unit",
        "village unit",
        "village cadre",
        "score in",
        "placement in",
        "placed into town",
        "seconded out of town",
    }
    assert names(await deliveries_of(gw, everything["id"], admin)) == set(events)


# SSRF --------------------------------------------------------------------------------------
async def test_private_addresses_are_refused_in_production_mode_unless_allowed(
    backend: str, gw_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """Production mode needs PostgreSQL; on SQLite the same policy is switched on explicitly."""
    keys.load_or_create(tmp_path / "keys", create=True)  # production never creates keys itself
    strict: dict[str, Any] = {"mode": "production"} if backend == "postgres" else {"webhook_block_private": True}
    async with running_gateway(gw_url, tmp_path, **strict) as gw:
        assert gw.settings.webhook_blocks_private
        admin = await gw.auth()
        for url, reason in [
            (receiver.url, "loopback"),
            (f"http://localhost:{receiver.port}/", "loopback"),
            (f"http://[::ffff:127.0.0.1]:{receiver.port}/", "loopback"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://10.0.0.8/hook", "private"),
            ("http://[fd12::1]/hook", "private"),
            ("http://0.0.0.0:8000/", "unspecified"),
        ]:
            refused = await gw.client.post(
                f"{API}/subscriptions", headers=admin, json={"url": url, "event_types": ["*"]}
            )
            assert refused.status_code == 422, url
            [err] = refused.json()["errors"]
            assert err["field"] == "url" and reason in err["message"], (url, err)

    # Ops allow the loopback network (an intranet subscriber): registration passes.
    async with running_gateway(gw_url, tmp_path, **strict, webhook_allow_hosts=["127.0.0.0/8"]) as gw:
        admin = await gw.auth()
        made = await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["scoring.*"]}
        )
        assert made.status_code == 201, made.text
        sub = made.json()
        await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": 1}))

        async def delivered() -> bool:
            return len(receiver.requests) == 1

        await eventually(delivered, what="delivery to the allowed intranet address")

    # The allow-list is withdrawn: the check at delivery time refuses what registration let in.
    async with running_gateway(gw_url, tmp_path, **strict) as gw:
        admin = await gw.auth()
        await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": 2}))

        async def refused_attempt() -> bool:
            items = await deliveries_of(gw, sub["id"], admin)
            return any(a["error"] and "refused" in a["error"] for d in items for a in d["attempts"])

        await eventually(refused_attempt, what="an attempt refused at delivery")
        moved = await gw.client.patch(
            f"{API}/subscriptions/{sub['id']}", headers=admin, json={"url": "http://10.1.1.1/hook"}
        )
        assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "url"
        items = await deliveries_of(gw, sub["id"], admin)
        attempt = next(a for d in items for a in d["attempts"] if a["error"] and "refused" in a["error"])
        assert "loopback" in attempt["error"] and attempt["status_code"] is None
    assert len(receiver.requests) == 1  # nothing reached the server the second time


async def test_deliveries_are_claimed_once_by_competing_workers(gw: GatewayHarness, receiver: Receiver) -> None:
    """Two replicas' workers on one database: every message is sent once."""
    admin = await gw.auth()
    await gw.client.post(f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
    await gw.app.state.webhooks.worker.stop()  # the test drives the workers itself
    for i in range(30):
        await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": i}))

    runtime = gw.app.state.runtime
    workers = [DeliveryWorker(runtime, gw.settings, gw.app.state.webhooks.policy) for _ in range(3)]
    for w in workers:
        w.settings = gw.settings.model_copy(update={"webhook_batch_size": 4})
    try:
        while True:
            counts = await asyncio.gather(*(w.run_once() for w in workers))
            if sum(counts) == 0:
                break
    finally:
        for w in workers:
            await w.stop()
    ids = [h["webhook-id"] for h, _ in receiver.requests]
    assert len(ids) == 30 and len(set(ids)) == 30
    async with runtime.sessions() as s:
        statuses = (await s.execute(select(col(WebhookDelivery.status)))).scalars().all()
    assert statuses == ["delivered"] * 30


async def test_a_queued_delivery_is_leased_as_it_is_written_so_no_other_replica_sends_it(
    gw_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    """The dispatcher writes each delivery already leased to its own worker and hands it over
    after the commit: two other replicas' workers claiming right after each commit find
    nothing, and every message is sent once, at once (the gateway's own poll is 30 s)."""
    async with running_gateway(gw_url, tmp_path, webhook_poll_seconds=30.0) as gw:
        admin = await gw.auth()
        made = await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]}
        )
        assert made.status_code == 201, made.text
        runtime = gw.app.state.runtime
        others = [DeliveryWorker(runtime, gw.settings, gw.app.state.webhooks.policy) for _ in range(2)]
        taken_by_others = 0
        try:
            for i in range(20):
                assert await feed(gw, cloud_event("scoring", "scoring.score.changed", {"n": i}, key=f"c-{i}"))
                # The rows are committed now; were they merely due, these would take them.
                taken_by_others += sum(await asyncio.gather(*(w.run_once() for w in others)))

            async def all_sent() -> bool:
                return len(receiver.requests) >= 20

            await eventually(all_sent, timeout=5.0, what="20 deliveries well before the 30 s poll")
        finally:
            for w in others:
                await w.stop()
        await asyncio.sleep(0.2)  # a repeat would show now
        assert taken_by_others == 0
        ids = [h["webhook-id"] for h, _ in receiver.requests]
        assert len(ids) == 20 and len(set(ids)) == 20
        async with runtime.sessions() as s:
            rows = (await s.execute(select(WebhookDelivery))).scalars().all()
        assert [(d.status, d.attempts, d.claim_token) for d in rows] == [("delivered", 1, None)] * 20


class DiesAfterCommitting:
    """A replica's worker that takes the lease and dies before it is handed anything."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds

    def lease(self, n: int) -> Lease | None:
        return Lease("dead-replica", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.lease_seconds))

    def hand_over(self, claimed: list[Claimed]) -> None:
        raise AssertionError("a dead replica is handed nothing")

    def wake(self) -> None:
        raise AssertionError("a dead replica is woken by nothing")


async def test_a_delivery_leased_by_a_replica_that_died_is_sent_when_the_lease_expires(
    gw: GatewayHarness, receiver: Receiver
) -> None:
    admin = await gw.auth()
    await gw.client.post(f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
    await gw.app.state.webhooks.worker.stop()  # the test drives the surviving worker itself
    runtime = gw.app.state.runtime
    event = cloud_event("scoring", "scoring.score.changed", {"n": 1})
    async with runtime.sessions() as s:
        queued = await enqueue(
            s, event, history_grace_seconds=gw.settings.webhook_history_grace_seconds, worker=DiesAfterCommitting(1.0)
        )
        await s.commit()
    assert queued.count == 1 and len(queued.handed) == 1
    survivor = DeliveryWorker(runtime, gw.settings, gw.app.state.webhooks.policy)
    try:
        assert await survivor.run_once() == 0  # the lease holds
        await asyncio.sleep(1.2)
        assert await survivor.run_once() == 1
    finally:
        await survivor.stop()
    assert [h["webhook-id"] for h, _ in receiver.requests] == [event["id"]]
    async with runtime.sessions() as s:
        row = (await s.execute(select(WebhookDelivery))).scalars().one()
    assert (row.status, row.attempts) == ("delivered", 1)


async def test_finished_deliveries_are_purged_after_the_retention(gw: GatewayHarness, receiver: Receiver) -> None:
    admin = await gw.auth()
    sub = (
        await gw.client.post(f"{API}/subscriptions", headers=admin, json={"url": receiver.url, "event_types": ["*"]})
    ).json()
    old_done, new_done = (cloud_event("scoring", "scoring.score.changed", {"n": i}) for i in range(2))
    for e in (old_done, new_done):
        await feed(gw, e)

    async def both_recorded() -> bool:
        return [d["status"] for d in await deliveries_of(gw, sub["id"], admin)] == ["delivered"] * 2

    await eventually(both_recorded, what="two deliveries")
    old_pending = cloud_event("scoring", "scoring.score.changed", {"n": 3})
    await gw.app.state.webhooks.worker.stop()  # keep the third one pending
    await feed(gw, old_pending)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=gw.settings.webhook_retention_days + 1)
    D = WebhookDelivery
    async with gw.app.state.runtime.sessions() as s:
        await s.execute(
            update(D).where(col(D.message_id).in_([old_done["id"], old_pending["id"]])).values(created_at=long_ago)
        )
        await s.commit()
    assert await gw.app.state.webhooks.worker.purge() == 1
    left = {d["message_id"]: d for d in await deliveries_of(gw, sub["id"], admin)}
    assert set(left) == {new_done["id"], old_pending["id"]}
    async with gw.app.state.runtime.sessions() as s:
        attempts = (await s.execute(select(col(WebhookAttempt.delivery_id)))).scalars().all()
    assert attempts == [left[new_done["id"]]["id"]]


async def test_a_portals_people_share_its_subscriptions_and_an_admin_may_subscribe_for_a_client(
    gw: GatewayHarness,
) -> None:
    admin = await gw.auth()
    made = (await gw.client.post("/api/v1/auth/clients", headers=admin, json={"name": "门户", "role": "portal"})).json()
    portal = await gw.auth(client_id=made["client_id"], secret=made["client_secret"])
    exchanged = await gw.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "actor_token": portal["Authorization"].split()[1],
            "subject_token": "person-7",
            "subject_token_type": "urn:cadre:params:oauth:token-type:person",
            "scope": "unit:u-town",
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    person = {"Authorization": f"Bearer {exchanged.json()['access_token']}"}
    sub = (
        await gw.client.post(
            f"{API}/subscriptions", headers=person, json={"url": "http://hooks.example/", "event_types": ["*"]}
        )
    ).json()
    # Owned by the portal (the acting client), made by the person, no wider than the person's scope.
    person_7 = f"portal:{made['client_id']}:person-7"
    assert (sub["owner"], sub["created_by"], sub["unit_scope"]) == (made["client_id"], person_7, ["u-town"])
    listed = (await gw.client.get(f"{API}/subscriptions", headers=portal)).json()["items"]
    assert [s["id"] for s in listed] == [sub["id"]]

    hr = (
        await gw.client.post(
            "/api/v1/auth/clients", headers=admin, json={"name": "街道", "role": "unit_hr", "unit_scope": ["u-x"]}
        )
    ).json()
    for_hr = await gw.client.post(
        f"{API}/subscriptions",
        headers=admin,
        json={"url": "http://hooks.example/hr", "event_types": ["roster.*"], "owner": hr["client_id"]},
    )
    assert for_hr.status_code == 201
    assert for_hr.json()["owner"] == hr["client_id"] and for_hr.json()["unit_scope"] == ["u-x"]
    hr_auth = await gw.auth(client_id=hr["client_id"], secret=hr["client_secret"])
    mine = (await gw.client.get(f"{API}/subscriptions", headers=hr_auth)).json()["items"]
    assert [s["id"] for s in mine] == [for_hr.json()["id"]]


async def test_lists_page_with_cursors(gw: GatewayHarness) -> None:
    admin = await gw.auth()
    ids = []
    for i in range(3):
        made = await gw.client.post(
            f"{API}/subscriptions", headers=admin, json={"url": f"http://hooks.example/{i}", "event_types": ["*"]}
        )
        ids.append(made.json()["id"])
    await gw.app.state.webhooks.worker.stop()  # deliveries stay as they were queued
    events = [cloud_event("scoring", "scoring.score.changed", {"n": i}) for i in range(3)]
    for e in events:
        await feed(gw, e)

    async def walk(path: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await gw.client.get(path, headers=admin, params=params)).json()
            assert len(page["items"]) <= 2
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert [s["id"] for s in await walk(f"{API}/subscriptions")] == ids
    delivered = await walk(f"{API}/subscriptions/{ids[0]}/deliveries")
    assert [d["message_id"] for d in delivered] == [e["id"] for e in reversed(events)]  # newest first
    forged = encode_cursor(["not a time", "x"])
    for cursor in ("nonsense", forged):
        bad = await gw.client.get(f"{API}/subscriptions", headers=admin, params={"cursor": cursor})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
