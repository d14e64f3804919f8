"""What end-to-end tests do as the portal: get a token, read a topic as a subscriber."""

from __future__ import annotations

import asyncio
import json

import httpx
from aiokafka import AIOKafkaConsumer

from contracts.envelope import parse
from deploy.launcher import System


def creds(system: System) -> dict[str, str]:
    return json.loads(system.layout.bootstrap_file.read_text())  # type: ignore[no-any-return]


async def token(client: httpx.AsyncClient, system: System) -> str:
    c = creds(system)
    resp = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return body["access_token"]  # type: ignore[no-any-return]


async def read_topic(bootstrap: str, topic: str, want: int, timeout_s: float = 30) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    events: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(events) < want and asyncio.get_running_loop().time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                events += [parse(m.value) for m in messages]
    finally:
        await consumer.stop()
    return events
