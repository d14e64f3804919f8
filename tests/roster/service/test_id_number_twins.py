"""ID-number twins (issue 15): one number in other scripts' digits is one person.

Full-width digits are the same number (NFKC) and find the cadre who holds it; digits of
other scripts are refused; numbers stored before this are brought into the normal form,
with their blind indexes, and the cadres that turn out to share one are listed for an admin.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from cadrekit.migrate import alembic_config, upgrade
from cadrekit.testing.plugin import Signer
from services.roster.app import MIGRATIONS
from services.roster.app import create_app as create_roster
from services.roster.domain import id_numbers
from services.roster.protection import load_sealer
from tests.conftest import RosterHarness, roster_settings
from tests.factories import cadre_body
from tests.roster.service.test_imports import cadres, register, row_of, run_import, xlsx

API = "/api/v1/roster"
CADRES = sa.table(
    "cadres",
    sa.column("id"),
    sa.column("id_number_sealed", sa.LargeBinary),
    sa.column("id_number_kid"),
    sa.column("id_number_index"),
    sa.column("id_number_masked"),
    sa.column("id_number_form"),
)


def in_script(number: str, zero: int, *, places: int = 18) -> str:
    """The number with its first ``places`` digits written in the script whose zero is ``zero``."""
    return "".join(chr(zero + int(c)) if i < places and c.isdigit() else c for i, c in enumerate(number))


def full_width(number: str, places: int = 18) -> str:
    """Full-width digits; ``places=17``: the check digit ASCII, the form the old check let in."""
    wide = in_script(number, 0xFF10, places=places)
    return wide.replace("X", "Ｘ") if places == 18 else wide


ARABIC_INDIC, DEVANAGARI = 0x0660, 0x0966


def ending_in_x(birth: dt.date = dt.date(1975, 3, 8)) -> str:
    """A valid number for a man born on ``birth`` whose check digit is X."""
    for seq in range(100):
        for sex in "13579":
            number = id_numbers.with_check_digit(f"330482{birth:%Y%m%d}{seq:02d}{sex}")
            if number.endswith("X"):
                return number
    raise AssertionError("no number ends in X")


async def reveal(client: httpx.AsyncClient, headers: dict[str, str], cadre_id: str) -> str:
    resp = await client.get(f"{API}/cadres/{cadre_id}/id-number?reason=check", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["id_number"]  # type: ignore[no-any-return]


# input: the API and the import --------------------------------------------------------------
async def test_a_full_width_number_registered_after_its_ascii_form_is_the_same_person(
    roster: RosterHarness,
) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    await register(roster, body)
    again = await roster.client.post(
        f"{API}/cadres",
        headers=roster.auth(),
        json={**body, "name": "另一人", "id_number": full_width(body["id_number"], 17)},
    )
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "id_number"
    assert len(await cadres(roster)) == 1


async def test_a_full_width_number_is_stored_in_ascii_and_its_ascii_form_is_then_the_duplicate(
    roster: RosterHarness,
) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    made = await register(roster, {**body, "id_number": full_width(body["id_number"])})
    assert made["id_number"] == id_numbers.mask(body["id_number"])
    assert await reveal(roster.client, roster.auth(), made["id"]) == body["id_number"]
    again = await roster.client.post(f"{API}/cadres", headers=roster.auth(), json={**body, "name": "另一人"})
    assert again.status_code == 409, again.text


@pytest.mark.parametrize(("script", "zero"), [("Arabic-Indic", ARABIC_INDIC), ("Devanagari", DEVANAGARI)])
async def test_digits_of_other_scripts_are_refused_naming_id_number_in_english_and_chinese(
    roster: RosterHarness, script: str, zero: int
) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    # the first 17 places only: the check digit stays ASCII, as one that passed the old check
    number = in_script(body["id_number"], zero, places=17)
    resp = await roster.client.post(f"{API}/cadres", headers=roster.auth(), json={**body, "id_number": number})
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["errors"]
    assert error["field"] == "id_number"
    assert "digits 0-9" in error["message"] and script.upper() in error["message"]
    zh = await roster.client.post(
        f"{API}/cadres", headers={**roster.auth(), "Accept-Language": "zh-CN"}, json={**body, "id_number": number}
    )
    assert zh.status_code == 422
    problem = zh.json()
    assert problem["title"] == "请求参数无效" and problem["detail"] == "1 个字段无效"
    assert problem["errors"][0]["field"] == "id_number"
    assert problem["errors"][0]["message"].startswith("取值无效")
    # a change to the number is refused the same way
    made = await register(roster, body)
    patched = await roster.client.patch(
        f"{API}/cadres/{made['id']}", headers={**roster.auth(), "If-Match": '"v1"'}, json={"id_number": number}
    )
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "id_number"
    assert len(await cadres(roster)) == 1


async def test_a_lowercase_x_ascii_or_full_width_is_stored_as_capital_x(roster: RosterHarness) -> None:
    unit = await roster.unit()
    number = ending_in_x()
    body = cadre_body(unit["id"], id_number=number[:-1] + "x")
    ascii_lower = await register(roster, body)
    assert await reveal(roster.client, roster.auth(), ascii_lower["id"]) == number
    other = ending_in_x(dt.date(1976, 4, 9))
    wide_lower = await register(
        roster, cadre_body(unit["id"], birth_date="1976-04-09", id_number=full_width(other[:-1]) + "ｘ")
    )
    assert await reveal(roster.client, roster.auth(), wide_lower["id"]) == other
    assert wide_lower["id_number"] == id_numbers.mask(other)


async def test_an_import_of_a_full_width_twin_is_refused_as_a_duplicate(roster: RosterHarness) -> None:
    unit = await roster.unit("市局")
    on_roster = cadre_body(unit["id"])
    await register(roster, on_roster)
    twin_of_roster = row_of(
        {**on_roster, "name": "另一人", "id_number": full_width(on_roster["id_number"], 17)}, "市局"
    )
    job = await run_import(roster, xlsx([twin_of_roster]))
    assert job["status"] == "failed", job
    assert job["errors"] == [{"row": 2, "column": "身份证号", "message": "already on the roster (use mode=upsert)"}]
    # two spellings of one number in one file: the same person twice
    new = cadre_body(unit["id"])
    rows = [
        row_of(new, "市局"),
        row_of({**new, "name": "又一人", "id_number": full_width(new["id_number"], 17)}, "市局"),
    ]
    job = await run_import(roster, xlsx(rows))
    assert job["status"] == "failed", job
    assert job["errors"] == [{"row": 3, "column": "身份证号", "message": "same ID number as row 2"}]
    # Arabic-Indic digits in a sheet: refused like through the API
    arabic = row_of({**new, "id_number": in_script(new["id_number"], ARABIC_INDIC, places=17)}, "市局")
    job = await run_import(roster, xlsx([arabic]))
    assert job["status"] == "failed" and [e["column"] for e in job["errors"]] == ["身份证号"]
    assert len(await cadres(roster)) == 1


# numbers stored before: migration 0004 and the re-normalisation ---------------------------------
@asynccontextmanager
async def running(url: str, signer: Signer, keys: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_roster(roster_settings(url, keys, **settings), key_source=signer.key_source, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://roster") as c:
        yield c


async def stored_as_before(url: str, keys: Path, spellings: dict[str, str]) -> None:
    """Takes the database back to before migration 0004, writes ``spellings`` (cadre id →
    number) sealed, indexed and masked as sent, the way the old code stored them, and
    migrates to head again. The retirement rules the downgrade drops (migration 0008) are
    put back, so the service has only the numbers to bring up to date."""
    kept = sa.text("SELECT id, retirement_rule, retirement_rule_zh, retirement_law FROM cadres")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rules = [dict(r._mapping) for r in (await conn.execute(kept)).all()]
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.downgrade, alembic_config(MIGRATIONS, url), "0003")
    sealer = load_sealer(roster_settings(url, keys))
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            columns = {c["name"] for c in (await conn.run_sync(lambda c: sa.inspect(c).get_columns("cadres")))}
            assert "id_number_form" not in columns
            for cadre_id, number in spellings.items():
                sealed = sealer.seal(number)
                await conn.execute(
                    sa.update(CADRES)
                    .where(CADRES.c.id == cadre_id)
                    .values(
                        id_number_sealed=sealed.blob,
                        id_number_kid=sealed.kid,
                        id_number_index=sealer.index(number),
                        id_number_masked=id_numbers.mask(number),
                    )
                )
    finally:
        await engine.dispose()
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            put_back = "UPDATE cadres SET retirement_rule = :retirement_rule, retirement_rule_zh = :retirement_rule_zh,"
            await conn.execute(sa.text(put_back + " retirement_law = :retirement_law WHERE id = :id"), rules)
    finally:
        await engine.dispose()


async def stored_rows(url: str) -> dict[str, tuple[str, int]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(CADRES.c.id, CADRES.c.id_number_index, CADRES.c.id_number_form))).all()
    finally:
        await engine.dispose()
    return {cadre_id: (index, form) for cadre_id, index, form in rows}


async def test_renormalising_fixes_stored_numbers_and_their_blind_indexes_and_lists_the_twins(
    roster_db: str, signer: Signer, tmp_path: Path
) -> None:
    keys, admin = tmp_path / "keys", signer.headers("admin")
    async with running(roster_db, signer, keys, reseal_interval_seconds=0) as client:
        unit = (await client.post(f"{API}/units", headers=admin, json={"name": "市局", "kind": "city_organ"})).json()
        bodies = [cadre_body(unit["id"]) for _ in range(4)]
        held, twin, wide, arabic = [
            (await client.post(f"{API}/cadres", headers=admin, json=b)).json()["id"] for b in bodies
        ]
    numbers = {cadre_id: b["id_number"] for cadre_id, b in zip((held, twin, wide, arabic), bodies, strict=True)}
    await stored_as_before(
        roster_db,
        keys,
        {
            twin: full_width(numbers[held], 17),  # the same person as `held`, registered again
            wide: full_width(numbers[wide], 17),
            arabic: in_script(numbers[arabic], ARABIC_INDIC, places=17),
        },
    )
    sealer = load_sealer(roster_settings(roster_db, keys))
    before = await stored_rows(roster_db)
    assert {form for _, form in before.values()} == {0}, "the migration marks every stored number unchecked"
    assert before[wide][0] != sealer.index(numbers[wide])

    async with running(roster_db, signer, keys, reseal_interval_seconds=0) as client:
        listed = (await client.get(f"{API}/admin/id-number-twins", headers=admin)).json()
        assert listed == {"pending": 4, "twins": []}
        done = await client.post(f"{API}/admin/id-numbers/renormalise", headers=admin)
        assert done.status_code == 200, done.text
        assert done.json() == {"checked": 4, "renormalised": 2, "twins": 1, "failed": 0, "released": 0, "pending": 0}

        for cadre_id in (held, twin, wide, arabic):
            assert await reveal(client, admin, cadre_id) == numbers[held if cadre_id == twin else cadre_id]
        after = await stored_rows(roster_db)
        assert after[wide] == (sealer.index(numbers[wide]), 1)
        assert after[arabic] == (sealer.index(numbers[arabic]), 1)
        assert after[held] == (before[held][0], 1)  # normal already: only marked so
        assert after[twin] == (f"twin:{twin}", 2)
        # the fixed number is found: registering it again is a duplicate
        again = await client.post(f"{API}/cadres", headers=admin, json={**bodies[2], "name": "另一人"})
        assert again.status_code == 409, again.text
        history = (await client.get(f"{API}/cadres/{wide}/history", headers=admin)).json()
        assert history[-1]["actor"] == "roster:id-number-renormalisation"
        assert history[-1]["changes"] == {
            "id_number": [id_numbers.mask(full_width(numbers[wide], 17)), id_numbers.mask(numbers[wide])]
        }
        cadre = (await client.get(f"{API}/cadres/{wide}", headers=admin)).json()
        assert cadre["version"] == 2 and cadre["id_number"] == id_numbers.mask(numbers[wide])

        listed = (await client.get(f"{API}/admin/id-number-twins", headers=admin)).json()
        assert listed["pending"] == 0
        (group,) = listed["twins"]
        assert group["id_number"] == id_numbers.mask(numbers[held])
        assert [(c["id"], c["holds_number"]) for c in group["cadres"]] == [(held, True), (twin, False)]
        assert {c["unit_name"] for c in group["cadres"]} == {"市局"}
        # a second pass has nothing left to do
        again_done = (await client.post(f"{API}/admin/id-numbers/renormalise", headers=admin)).json()
        assert again_done == {"checked": 0, "renormalised": 0, "twins": 0, "failed": 0, "released": 0, "pending": 0}

        # only an admin for the whole roster lists twins
        scoped = signer.headers("admin", unit_scope=[unit["id"]])
        assert (await client.get(f"{API}/admin/id-number-twins", headers=scoped)).status_code == 403
        assert (await client.get(f"{API}/admin/id-number-twins", headers=signer.headers("officer"))).status_code == 403

        # the twin given its own (correct) number is no longer a twin
        own = cadre_body(unit["id"])["id_number"]
        patched = await client.patch(
            f"{API}/cadres/{twin}", headers={**admin, "If-Match": '"v2"'}, json={"id_number": own}
        )
        assert patched.status_code == 200, patched.text
        assert (await client.get(f"{API}/admin/id-number-twins", headers=admin)).json() == {"pending": 0, "twins": []}
        assert (await stored_rows(roster_db))[twin] == (sealer.index(own), 1)


async def test_stored_numbers_are_renormalised_at_startup(roster_db: str, signer: Signer, tmp_path: Path) -> None:
    keys, admin = tmp_path / "keys", signer.headers("admin")
    async with running(roster_db, signer, keys, reseal_interval_seconds=0) as client:
        unit = (await client.post(f"{API}/units", headers=admin, json={"name": "市局", "kind": "city_organ"})).json()
        body = cadre_body(unit["id"])
        wide = (await client.post(f"{API}/cadres", headers=admin, json=body)).json()["id"]
    await stored_as_before(roster_db, keys, {wide: full_width(body["id_number"], 17)})

    async with running(roster_db, signer, keys) as client:  # the default: background work on
        listed: Callable[[], Any] = lambda: client.get(f"{API}/admin/id-number-twins", headers=admin)  # noqa: E731
        for _ in range(200):
            if (await listed()).json()["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        assert (await listed()).json() == {"pending": 0, "twins": []}
        assert await reveal(client, admin, wide) == body["id_number"]
        again = await client.post(f"{API}/cadres", headers=admin, json={**body, "name": "另一人"})
        assert again.status_code == 409, again.text


async def test_a_twin_takes_the_number_back_once_its_holder_is_given_another(
    roster_db: str, signer: Signer, tmp_path: Path
) -> None:
    keys, admin = tmp_path / "keys", signer.headers("admin")
    async with running(roster_db, signer, keys, reseal_interval_seconds=0) as client:
        unit = (await client.post(f"{API}/units", headers=admin, json={"name": "市局", "kind": "city_organ"})).json()
        body = cadre_body(unit["id"])
        held = (await client.post(f"{API}/cadres", headers=admin, json=body)).json()["id"]
        twin = (await client.post(f"{API}/cadres", headers=admin, json=cadre_body(unit["id"]))).json()["id"]
    await stored_as_before(roster_db, keys, {twin: full_width(body["id_number"], 17)})
    sealer = load_sealer(roster_settings(roster_db, keys))

    async with running(roster_db, signer, keys, reseal_interval_seconds=0) as client:
        first = (await client.post(f"{API}/admin/id-numbers/renormalise", headers=admin)).json()
        assert (first["twins"], first["released"]) == (1, 0)
        # the holder's number was the wrong one: it gets its own, and the twin the number
        own = cadre_body(unit["id"])["id_number"]
        patched = await client.patch(
            f"{API}/cadres/{held}", headers={**admin, "If-Match": '"v1"'}, json={"id_number": own}
        )
        assert patched.status_code == 200, patched.text
        second = (await client.post(f"{API}/admin/id-numbers/renormalise", headers=admin)).json()
        assert (second["twins"], second["released"]) == (0, 1)
        assert (await client.get(f"{API}/admin/id-number-twins", headers=admin)).json() == {"pending": 0, "twins": []}
        assert (await stored_rows(roster_db))[twin] == (sealer.index(body["id_number"]), 1)
        assert await reveal(client, admin, twin) == body["id_number"]
        again = await client.post(f"{API}/cadres", headers=admin, json={**body, "name": "另一人"})
        assert again.status_code == 409, again.text
