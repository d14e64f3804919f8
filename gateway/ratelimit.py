"""Per-client rate limits: a token bucket per client id.

One gateway keeps its buckets in memory; several replicas share them in Redis, where one
Lua script refills and takes atomically (the bucket is one hash: tokens, last refill).
A Redis outage fails open with a warning: limits protect the services, and refusing every
request because the limiter is away would be the larger outage.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("gateway.ratelimit")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds until one token is back; 0 when allowed


@dataclass
class Bucket:
    tokens: float
    updated: float


def take(bucket: Bucket, now: float, *, rate: float, burst: int) -> Decision:
    """Refill at ``rate`` tokens a second up to ``burst``, then take one if there is one."""
    bucket.tokens = min(float(burst), bucket.tokens + max(0.0, now - bucket.updated) * rate)
    bucket.updated = now
    if bucket.tokens >= 1.0:
        bucket.tokens -= 1.0
        return Decision(True, int(bucket.tokens), 0.0)
    return Decision(False, 0, (1.0 - bucket.tokens) / rate)


class Limiter(Protocol):
    async def hit(self, key: str) -> Decision: ...

    async def close(self) -> None: ...


class MemoryLimiter:
    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: dict[str, Bucket] = {}

    async def hit(self, key: str) -> Decision:
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.clear()
            bucket = self._buckets[key] = Bucket(float(self.burst), now)
        return take(bucket, now, rate=self.rate, burst=self.burst)

    async def close(self) -> None:
        return None


# KEYS[1] bucket; ARGV rate, burst, now (seconds, float), ttl (seconds)
_SCRIPT = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(b[1]) or burst
local updated = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {allowed, tostring(tokens)}
"""


class RedisLimiter:
    def __init__(self, url: str, rate: float, burst: int, prefix: str = "cadre:ratelimit:") -> None:
        import redis.asyncio as redis

        self.rate, self.burst, self.prefix = rate, burst, prefix
        self.client: Any = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_SCRIPT)
        self.ttl = max(1, math.ceil(burst / rate) * 2)

    async def hit(self, key: str) -> Decision:
        try:
            # Redis's clock, not ours: replicas' clocks may differ.
            seconds, micros = await self.client.time()
            now = seconds + micros / 1e6
            allowed, tokens = await self.script(keys=[self.prefix + key], args=[self.rate, self.burst, now, self.ttl])
        except Exception as exc:
            log.warning("rate limiter unavailable; letting the request through", extra={"error": str(exc)})
            return Decision(True, self.burst, 0.0)
        left = float(tokens)
        if int(allowed) == 1:
            return Decision(True, int(left), 0.0)
        return Decision(False, 0, (1.0 - left) / self.rate)

    async def close(self) -> None:
        await self.client.aclose()


def new_limiter(redis_url: str | None, rate: float, burst: int) -> Limiter:
    return RedisLimiter(redis_url, rate, burst) if redis_url else MemoryLimiter(rate, burst)
