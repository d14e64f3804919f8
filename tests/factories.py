"""One-line builders of valid domain objects for tests."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from typing import Any

from services.roster.domain.id_numbers import with_check_digit

_seq = itertools.count(1)


def id_number(birth: dt.date, gender: str = "male", region: str = "330482") -> str:
    """A valid GB 11643 number for the birth date and sex (odd 17th digit: male)."""
    n = next(_seq) % 500
    seq = f"{n:02d}"[-2:]
    sex = random.choice("13579") if gender == "male" else random.choice("02468")
    return with_check_digit(f"{region}{birth:%Y%m%d}{seq}{sex}")


def cadre_body(unit_id: str, **overrides: Any) -> dict[str, Any]:
    gender = overrides.get("gender", "male")
    birth = overrides.get("birth_date", dt.date(1975, 3, 8))
    if isinstance(birth, str):
        birth = dt.date.fromisoformat(birth)
    body: dict[str, Any] = {
        "name": f"干部{next(_seq)}",
        "gender": gender,
        "birth_date": birth.isoformat(),
        "id_number": id_number(birth, gender),
        "unit_id": unit_id,
        "post_title": "科长",
        "rank": "正科",
        "party_member": True,
        "education": "本科",
        "years_of_service": 25,
        "strengths": ["招商引资", "文字材料"],
        "post_wishes": ["经济管理", "城建交通"],
        "professional_field": "经济",
        "willingness": {"town": True, "heavy_task": False, "mentor": True},
        "leadership_status": "second_line",
        "health": "healthy",
    }
    body.update({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in overrides.items()})
    return body


def mirrored_cadre(unit_id: str, *, cadre_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A cadre as roster publishes it (``services/roster/events.py`` cadre state), the shape
    every roster mirror stores. Dates may be given as dates."""
    state: dict[str, Any] = {
        "cadre_id": cadre_id or str(uuid.uuid4()),
        "version": 1,
        "name": f"干部{next(_seq)}",
        "gender": "male",
        "birth_date": "1972-05-01",
        "unit_id": unit_id,
        "post_title": "科长",
        "rank": "正科",
        "party_member": True,
        "education": "本科",
        "years_of_service": 25,
        "grassroots_periods": [],
        "grassroots_years": "0.0",
        "strengths": [],
        "post_wishes": [],
        "professional_field": None,
        "willingness": {},
        "leadership_status": "in_post",
        "health": "healthy",
        "retirement_date": "2032-05-01",
        "status": "active",
    }
    state.update({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in overrides.items()})
    return state
