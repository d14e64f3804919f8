"""The platform's Kafka topics, named once. Every producer, consumer, ACL and document
takes the names from here; a literal topic name anywhere else fails a test
(tests/contracts/test_no_hand_contracts.py)."""

from __future__ import annotations

ROSTER = "roster.events"
MATCHING = "matching.events"
SCORING = "scoring.events"
SECONDMENT = "secondment.events"
GATEWAY = "gateway.events"

# Each service's own topic, by the service's name.
OF_SERVICE: dict[str, str] = {
    "roster": ROSTER,
    "matching": MATCHING,
    "scoring": SCORING,
    "secondment": SECONDMENT,
    "gateway": GATEWAY,
}
ALL: tuple[str, ...] = tuple(OF_SERVICE.values())

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of ``topic``: where a consumer parks what it could not apply."""
    return f"{topic}{DLQ_SUFFIX}"


def of_dlq(name: str) -> str:
    """The topic a dead-letter topic belongs to (a topic's own name is returned as it is)."""
    return name.removesuffix(DLQ_SUFFIX)


def is_dlq(name: str) -> bool:
    return name.endswith(DLQ_SUFFIX)
