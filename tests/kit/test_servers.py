"""The throwaway servers the suite starts for itself: they answer on a free port, and leave
nothing behind (no process, no directory) when they stop."""

from __future__ import annotations

import os
import socket

import asyncpg
import pytest
import redis.asyncio as redis

from cadrekit.testing import plugin
from cadrekit.testing.servers import PostgresServer, RedisServer, postgres_url


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_a_postgres_server_of_its_own_answers_then_leaves_nothing() -> None:
    server = PostgresServer()
    server.start()
    root, port = server.root, server.port
    assert root is not None and port != 5432
    try:
        conn = await asyncpg.connect(server.url.replace("+asyncpg", ""))
        try:
            assert await conn.fetchval("SELECT current_user") == "postgres"
            assert await conn.fetchval("SHOW fsync") == "off"
            await conn.execute("CREATE DATABASE scratch")  # the suite clones databases: it needs superuser
        finally:
            await conn.close()
    finally:
        server.stop()
    assert not _listening(port)
    assert not root.exists()


async def test_a_redis_server_of_its_own_answers_then_leaves_nothing() -> None:
    with RedisServer() as server:
        root, port = server.root, server.port
        client = redis.from_url(server.url)
        try:
            await client.set("k", "v")
            assert await client.get("k") == b"v"
        finally:
            await client.aclose()
    assert root is not None and not root.exists()
    assert not _listening(port)


def test_a_given_url_wins_and_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_POSTGRES_URL", "postgresql+asyncpg://someone@db.example:6543/x")
    with postgres_url() as url:
        assert url == "postgresql+asyncpg://someone@db.example:6543/x"
    assert plugin.pg_url() == "postgresql+asyncpg://someone@db.example:6543/x"


def test_the_run_s_server_is_in_the_environment_for_the_processes_it_starts() -> None:
    url = plugin.pg_url()
    assert os.environ["TEST_POSTGRES_URL"] == url
    assert plugin.pg_url() == url  # started once, not per call


def test_a_kafka_cluster_id_never_reads_as_an_option() -> None:
    from cadrekit.testing.kafka import _cluster_id

    ids = [_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
