"""Rotating the ID-number sealing key: old values open, are re-sealed in the background
(or on request), and then the old key can go."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import httpx

from cadrekit.testing.plugin import Signer
from services.roster.app import create_app
from tests.conftest import roster_settings
from tests.factories import cadre_body


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


async def test_a_rotated_key_reseals_old_values_and_the_old_key_can_go(
    roster_db: str, signer: Signer, tmp_path: Path
) -> None:
    old, new, index = _key(), _key(), _key()

    async def run(keys: str, *calls: tuple[str, str, dict | None]) -> list[httpx.Response]:
        settings = roster_settings(
            roster_db, tmp_path / "keys", id_seal_keys=keys, id_index_key=index, reseal_interval_seconds=0
        )
        app = create_app(settings, key_source=signer.key_source, configure_logs=False)
        out = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://roster") as client:
                for method, url, body in calls:
                    out.append(await client.request(method, url, json=body, headers=signer.headers("admin")))
        return out

    unit_resp, *_ = await run(f"k1:{old}", ("POST", "/api/v1/roster/units", {"name": "市局", "kind": "city_organ"}))
    unit = unit_resp.json()["id"]
    bodies = [cadre_body(unit) for _ in range(3)]
    made = await run(f"k1:{old}", *[("POST", "/api/v1/roster/cadres", b) for b in bodies])
    ids = [m.json()["id"] for m in made]

    before, resealed, after, number = await run(
        f"k2:{new},k1:{old}",
        ("GET", "/api/v1/roster/admin/sealing", None),
        ("POST", "/api/v1/roster/admin/sealing/reseal", None),
        ("GET", "/api/v1/roster/admin/sealing", None),
        ("GET", f"/api/v1/roster/cadres/{ids[0]}/id-number?reason=check", None),
    )
    assert before.json() == {"active_kid": "k2", "pending": 3}
    assert resealed.json()["resealed"] == 3 and after.json()["pending"] == 0
    assert number.json()["id_number"] == bodies[0]["id_number"]

    # The old key removed: every value still opens.
    (only_new,) = await run(f"k2:{new}", ("GET", f"/api/v1/roster/cadres/{ids[2]}/id-number?reason=check", None))
    assert only_new.status_code == 200 and only_new.json()["id_number"] == bodies[2]["id_number"]
