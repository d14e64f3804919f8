"""Who may do what on Apache Kafka: one principal per service and one for the gateway.

This table is the one declaration the ``kafka-setup`` job turns into SCRAM users, topics and
ACLs (``deploy/kafka_setup.py``), in compose, in Kubernetes and in the tests alike. A test
builds every app and checks that its relay and its consumers use only what is declared here,
so a new consumer cannot go unlisted.

- each principal writes only its own topic ``<name>.events``, and the dead-letter topic of
  each topic it consumes (``<topic>.dlq``: a consumer parks a poison event beside its source);
- it reads only the topics it consumes;
- it joins only consumer groups named ``<name>.…`` (``ServiceRuntime.add_consumer`` refuses
  any other name), so no one else can join, and commit offsets in, a service's group.

Operators' work (topics job, ``cadre dlq``) uses the ``admin`` principal, a super user.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import topics as names

ADMIN = "admin"
# Brokers and controllers talk to one another as this one (PLAIN, on the controller listener).
CONTROLLER = "controller"


@dataclass(frozen=True)
class Principal:
    name: str
    consumes: tuple[str, ...]

    @property
    def topic(self) -> str:
        return names.OF_SERVICE[self.name]

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.topic, *(names.dlq(t) for t in self.consumes))

    @property
    def group_prefix(self) -> str:
        return f"{self.name}."


# Every service reads gateway.events: the clients the gateway disabled (cadrekit/revocation.py).
PRINCIPALS: tuple[Principal, ...] = (
    # roster reads every mirroring service's topic for its gaps (contracts.mirror_gaps)
    Principal("roster", consumes=(names.MATCHING, names.SECONDMENT, names.SCORING, names.GATEWAY)),
    Principal("matching", consumes=(names.ROSTER, names.SCORING, names.SECONDMENT, names.GATEWAY)),
    Principal("scoring", consumes=(names.ROSTER, names.GATEWAY)),
    Principal("secondment", consumes=(names.ROSTER, names.SCORING, names.MATCHING, names.GATEWAY)),
    Principal("gateway", consumes=(names.ROSTER, names.MATCHING, names.SCORING, names.SECONDMENT)),
)


def by_name(name: str) -> Principal:
    for p in PRINCIPALS:
        if p.name == name:
            return p
    raise KeyError(name)


def topics() -> list[str]:
    """Every topic the platform uses: each producer's topic and its dead-letter topic."""
    out: list[str] = []
    for p in PRINCIPALS:
        out += [p.topic, names.dlq(p.topic)]
    return out
