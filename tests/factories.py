"""One-line builders of valid domain objects for tests."""

from __future__ import annotations

import datetime as dt
import itertools
import random
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
