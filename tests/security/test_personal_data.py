"""Personal data never in logs or events; every full ID-number read audited, once per read.

Cadres are registered, read, listed, exported (masked and revealed), their full ID numbers
read one by one, and discipline records (sanction entries with their opinion text) proposed,
approved and read with `reveal=true` — with every log record captured (every logger at INFO, the platform's own at DEBUG)
(message, arguments and every extra attribute) and then every outbox payload of every service
scanned: no full ID number, no 18-digit number with a birth date in it, no discipline text.
The audit logs must hold exactly one row per full-value read, naming the reader and the reason.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from tests.factories import cadre_body
from tests.security.conftest import System
from tests.security.test_cross_unit import _mirror

ID_PATTERN = re.compile(r"(?<!\d)\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])")
OPINION = "经查，该同志在防汛值守期间擅离岗位，造成不良影响，给予诫勉处理。"
REFERENCE = "平纪发〔2025〕17号"


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    for key, value in record.__dict__.items():
        if key not in ("msg", "args", "message"):
            parts.append(f"{key}={value!r}")
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


async def _outboxes(system: System) -> list[str]:
    out = []
    for app in system.apps.values():
        runtime = app.state.runtime
        kit = getattr(runtime, "kit", None)
        if kit is None or not hasattr(kit, "outbox"):
            continue
        async with runtime.engine.connect() as conn:
            out += [row.payload for row in (await conn.execute(kit.outbox.select())).all()]
    return out


async def _audit(system: System, service: str) -> list[dict[str, Any]]:
    resp = await system.clients[service].get(
        f"/api/v1/{service}/audit/personal-data-reads", headers=system.auth(service, "auditor"), params={"limit": 500}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


async def test_no_personal_data_in_logs_or_events_and_every_full_read_is_audited(
    system: System, caplog: pytest.LogCaptureFixture
) -> None:
    # The root at the services' level (INFO, as configure_logging sets it; libraries keep their
    # own levels, e.g. SQLAlchemy's WARN), the platform's own loggers down to DEBUG.
    caplog.set_level(logging.INFO)
    for name in ("cadrekit", "services", "gateway"):
        caplog.set_level(logging.DEBUG, logger=name)
    roster, scoring = system.clients["roster"], system.clients["scoring"]
    admin = system.auth("roster", "admin", sub="admin-wang")
    unit = await roster.post("/api/v1/roster/units", headers=admin, json={"name": "当湖街道", "kind": "town"})
    assert unit.status_code == 201, unit.text
    bodies = [cadre_body(unit.json()["id"], name=f"测试干部{i}") for i in range(4)]
    cadres = []
    for body in bodies:
        resp = await roster.post("/api/v1/roster/cadres", headers=admin, json=body)
        assert resp.status_code == 201, resp.text
        cadres.append({**resp.json(), "id_number": body["id_number"], "body": body})
    numbers = [c["id_number"] for c in cadres]

    # ordinary reads: masked everywhere
    for c in cadres:
        got = await roster.get(f"/api/v1/roster/cadres/{c['id']}", headers=admin)
        assert got.status_code == 200 and c["id_number"] not in got.text
    listed = await roster.get("/api/v1/roster/cadres", headers=admin)
    assert not any(n in listed.text for n in numbers)
    masked = await roster.get("/api/v1/roster/cadres/export", headers=admin)
    assert masked.status_code == 200

    # full reads: three single reads of the first cadre, one of the second, one revealing export
    reads = [(cadres[0], "干部调整审核"), (cadres[0], "档案核对"), (cadres[0], "政审"), (cadres[1], "档案核对")]
    for c, reason in reads:
        resp = await roster.get(f"/api/v1/roster/cadres/{c['id']}/id-number", headers=admin, params={"reason": reason})
        assert resp.status_code == 200 and resp.json()["id_number"] == c["id_number"], resp.text
    revealed = await roster.get(
        "/api/v1/roster/cadres/export", headers=admin, params={"reveal_id_numbers": "true", "reason": "年度备案"}
    )
    assert revealed.status_code == 200
    # refused reads are not reads: no reason, or a role that may not
    assert (await roster.get(f"/api/v1/roster/cadres/{cadres[2]['id']}/id-number", headers=admin)).status_code == 422
    portal = system.auth("roster", "portal")
    assert (
        await roster.get(
            f"/api/v1/roster/cadres/{cadres[2]['id']}/id-number", headers=portal, params={"reason": "看看"}
        )
    ).status_code == 403

    # discipline records in scoring
    await _mirror(system, [{**unit.json()}], cadres)
    officer_a, officer_b = (system.auth("scoring", "officer", sub=s) for s in ("officer-a", "officer-b"))
    draft = await scoring.post("/api/v1/scoring/catalogues/2025/drafts", headers=officer_a)
    assert draft.status_code == 201, draft.text
    assert (
        await scoring.post(f"/api/v1/scoring/catalogues/{draft.json()['id']}/publish", headers=officer_a)
    ).status_code == 200
    entry = await scoring.post(
        "/api/v1/scoring/entries",
        headers=officer_b,
        json={
            "cadre_id": cadres[3]["id"],
            "rule_code": "N03",
            "year": 2025,
            "occurred_on": "2025-06-01",
            "evidence": OPINION,
            "reference": REFERENCE,
        },
    )
    assert entry.status_code == 201, entry.text
    approved = await scoring.post(
        f"/api/v1/scoring/entries/{entry.json()['id']}/approve", headers=officer_a, json={"note": OPINION}
    )
    assert approved.status_code == 200, approved.text
    ledger = await scoring.get(
        f"/api/v1/scoring/cadres/{cadres[3]['id']}/ledger", headers=officer_a, params={"year": 2025}
    )
    assert OPINION not in ledger.text
    shown = await scoring.get(
        f"/api/v1/scoring/entries/{entry.json()['id']}", headers=officer_a, params={"reveal": "true"}
    )
    assert shown.status_code == 200 and OPINION in shown.text, shown.text

    # logs: every record of every logger
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    for record in caplog.records:
        text = _record_text(record)
        assert not any(n in text for n in numbers), f"a full ID number in a log record: {text[:300]}"
        assert not ID_PATTERN.search(text), f"an ID-number-shaped value in a log record: {text[:300]}"
        assert OPINION not in text and REFERENCE not in text, f"discipline text in a log record: {text[:300]}"

    # events: every outbox payload of every service
    payloads = await _outboxes(system)
    assert len(payloads) >= len(cadres) + 2, len(payloads)
    assert any(c["id"] in p for c in cadres for p in payloads)  # the events are about these cadres
    for payload in payloads:
        assert not any(n in payload for n in numbers), f"a full ID number in an event: {payload[:300]}"
        assert not ID_PATTERN.search(payload), f"an ID-number-shaped value in an event: {payload[:300]}"
        assert OPINION not in payload and REFERENCE not in payload, f"discipline text in an event: {payload[:300]}"
        assert OPINION not in json.dumps(json.loads(payload), ensure_ascii=False)

    # audit: one row per full read, naming reader and reason; the export one row per cadre
    roster_audit = await _audit(system, "roster")
    singles = [r for r in roster_audit if r.get("reason") != "年度备案"]
    assert sorted((r["subject_id"], r["reason"]) for r in singles) == sorted((c["id"], why) for c, why in reads)
    exported = [r for r in roster_audit if r.get("reason") == "年度备案"]
    assert sorted(r["subject_id"] for r in exported) == sorted(c["id"] for c in cadres)
    assert all(r["actor"] == "admin-wang" for r in roster_audit)
    scoring_audit = await _audit(system, "scoring")
    # one revealing read of one discipline record (the subject is the entry, or its cadre)
    assert len(scoring_audit) == 1, scoring_audit
    assert scoring_audit[0]["subject_id"] in (entry.json()["id"], cadres[3]["id"]), scoring_audit
    assert scoring_audit[0]["actor"] == "officer-a"
