"""The gateway's events about its clients and the persons a portal may act for, built from
their contracts (``contracts.gateway``: keys, schemas, why). Each change is recorded in the
same transaction as the client's row and leaves through the gateway's outbox, whether it
was made through the API or with ``cadre clients`` on the database."""

from __future__ import annotations

from contracts import gateway as contract
from contracts.envelope import Event
from gateway.models import ApiClient, OfficerDelegation

ClientModel = type[
    contract.ClientCreated | contract.ClientDisabled | contract.ClientEnabled | contract.ClientSecretRotated
]


def client_event(model: ClientModel, client: ApiClient) -> Event:
    data = {
        "client_id": client.client_id,
        "role": client.role,
        "disabled": client.disabled,
        "changed_at": client.updated_at,
        "name": client.name,
        "unit_scope": client.unit_scope,
        "created_by": client.created_by,
    }
    return model.model_validate(data).event()


def delegation_registered(d: OfficerDelegation) -> Event:
    return contract.DelegationRegistered.model_validate(_delegation(d)).event()


def delegation_revoked(d: OfficerDelegation) -> Event:
    return contract.DelegationRevoked.model_validate(
        {**_delegation(d), "revoked_by": d.revoked_by, "revoked_at": d.revoked_at}
    ).event()


def _delegation(d: OfficerDelegation) -> dict[str, object]:
    return {
        "delegation_id": d.id,
        "portal_client_id": d.portal_client_id,
        "person_id": d.person_id,
        "subject": d.subject,
        "unit_scope": d.unit_scope,
        "registered_by": d.created_by,
        "registered_at": d.created_at,
    }
