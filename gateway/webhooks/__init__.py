"""Webhooks for outside subscribers: the dispatcher (a consumer of every service's topic),
the delivery worker and the subscription API. ``install`` wires them into a gateway."""

from __future__ import annotations

from dataclasses import dataclass

from cadrekit.roster_mirror import watch as watch_mirror
from cadrekit.runtime import ServiceRuntime
from gateway.models import mirror
from gateway.settings import GatewaySettings
from gateway.webhooks import dispatcher
from gateway.webhooks.api import router
from gateway.webhooks.sender import DeliveryWorker
from gateway.webhooks.ssrf import Policy
from gateway.webhooks.subscriptions import Subscriptions

__all__ = ["Webhooks", "install", "router"]


@dataclass
class Webhooks:
    policy: Policy
    subscriptions: Subscriptions
    worker: DeliveryWorker

    async def start(self, runtime: ServiceRuntime) -> None:
        await self.worker.start()

    async def stop(self, runtime: ServiceRuntime) -> None:
        await self.worker.stop()


def install(runtime: ServiceRuntime, settings: GatewaySettings) -> Webhooks:
    """Adds the dispatcher consumer to the runtime; the app calls ``start``/``stop`` from its
    lifespan hooks and serves ``router``."""
    policy = Policy.from_entries(settings.webhook_blocks_private, settings.webhook_allow_hosts)
    worker = DeliveryWorker(runtime, settings, policy)
    # The dispatcher hands the worker the deliveries it queued once they are committed. It sees
    # the companions of an older data version too: a subscription may be pinned to that version.
    runtime.add_consumer(
        dispatcher.CONSUMER,
        dispatcher.TOPICS,
        dispatcher.handlers(settings.webhook_history_grace_seconds, worker),
        companions=True,
    )
    watch_mirror(runtime, mirror)
    return Webhooks(policy, Subscriptions(runtime, policy), worker)
