"""What registering a cadre sets: one list of fields, in one order, for both ways in.

A cadre is registered through ``POST /cadres`` (``service/cadres.py``) or by a spreadsheet
import (``importing/``). Both build a ``Registration``; the cadre row, the import's COPY
tuple, the history row and the ``roster.cadre.registered`` event are all derived from its
fields and their order, so a field added here reaches every one of them and no list can
fall out of step with another. ``tests/roster/service/test_registration_paths.py`` checks
that the two ways leave the same rows and events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple


class Registration(NamedTuple):
    """A new cadre as the ``cadres`` table stores it, derived fields worked out, the ID
    number apart (it is sealed, never held here)."""

    name: str
    gender: str
    birth_date: dt.date
    unit_id: str
    post_title: str | None
    rank: str | None
    party_member: bool
    education: str | None
    years_of_service: int | None
    grassroots_periods: list[dict[str, Any]]  # ISO dates, sorted by start
    grassroots_years: str  # derived: the periods counted to the business day
    strengths: Sequence[str]
    post_wishes: Sequence[str]
    professional_field: str | None
    willingness: dict[str, bool]
    leadership_status: str
    health: str
    retirement_category: str | None  # None: derived from gender and rank
    retirement_decision: str | None  # early | later, a recorded decision
    retirement_decision_on: dt.date | None
    retirement_decided_on: dt.date | None
    retirement_date_override: dt.date | None
    retirement_date: dt.date  # derived: the override, else the decision's, else the law's date
    retirement_rule: str  # derived: the rule that gave the date, in words
    retirement_rule_zh: str
    retirement_law: str  # derived: the key of the rule set in force (RetirementLaw.key)
    retirement_category_in_force: str  # derived: the recorded category, else gender, rank and unit kind's


FIELDS: tuple[str, ...] = Registration._fields

# The cadre columns a registration writes besides its fields: the ID number as sealed,
# indexed and masked (``protection.IdSealer``), and the new row's state.
SEALED_COLUMNS = ("id_number_sealed", "id_number_kid", "id_number_index", "id_number_masked")
NEW_STATE_COLUMNS = ("status", "version")
NEW_STATUS, NEW_VERSION = "active", 1

# The registration's fields the cadres table keeps as JSON.
JSON_FIELDS = frozenset({"grassroots_periods", "strengths", "post_wishes", "willingness"})


def history(registration: Registration, *, import_job: str | None = None) -> dict[str, Any]:
    """The ``changes`` of the registration's history row: the unit and the name registered;
    an import names its job instead of the name (the job's report has the rows). An import's
    depends on the unit alone, so the writer makes it once per unit."""
    if import_job is not None:
        return {"unit_id": registration.unit_id, "import_job": import_job}
    return {"unit_id": registration.unit_id, "name": registration.name}
