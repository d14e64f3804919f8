"""The unit tree's rules, and how an import finds units for a caller limited to some."""

from __future__ import annotations

import pytest

from cadrekit.scope import WHOLE_TREE, Scope
from services.roster.domain.units import TopLevelRefused, check_top_level, child_path
from services.roster.importing.pipeline import UnitResolver
from services.roster.models import Unit


def test_only_a_caller_for_the_whole_tree_puts_a_unit_at_the_top() -> None:
    check_top_level(None, whole_tree=True)
    check_top_level("u-town", whole_tree=False)
    with pytest.raises(TopLevelRefused):
        check_top_level(None, whole_tree=False)


def _tree() -> dict[str, Unit]:
    city = Unit(id="city", name="平湖市", kind="city", path=child_path(None, "city"))
    a = Unit(id="a", name="甲区", kind="district", parent_id="city", path=child_path(city.path, "a"))
    town = Unit(id="a-town", name="南村", kind="village", parent_id="a", path=child_path(a.path, "a-town"))
    b = Unit(id="b", name="乙区", kind="district", parent_id="city", path=child_path(city.path, "b"))
    b_town = Unit(id="b-town", name="南村", kind="village", parent_id="b", path=child_path(b.path, "b-town"))
    return {u.id: u for u in (city, a, town, b, b_town)}


def _resolve(resolver: UnitResolver, ref: str, *, create: bool = False) -> str:
    try:
        return resolver.resolve(ref, create=create, kind="village", created=[]).id
    except LookupError as exc:
        return str(exc)


def test_a_scoped_import_knows_only_its_own_units_and_the_path_above_them() -> None:
    units = list(_tree().values())
    mine = UnitResolver(units, Scope(frozenset({"a", "a-town"})))
    # 南村 is in A and in B: for the whole tree ambiguous, for A the one of its own
    assert "ambiguous" in _resolve(UnitResolver(units, WHOLE_TREE), "南村")
    assert _resolve(mine, "南村") == "a-town"
    assert _resolve(mine, "平湖市/甲区/南村") == "a-town"
    # B's units and the city above A answer as units that do not exist
    assert _resolve(mine, "乙区") == _resolve(mine, "丙区").replace("丙区", "乙区")
    assert _resolve(mine, "平湖市/乙区") == _resolve(mine, "平湖市/丙区").replace("丙区", "乙区")
    assert _resolve(mine, "平湖市") == _resolve(mine, "临海市").replace("临海市", "平湖市")
    # and units are created only under its own
    created: list[Unit] = []
    new = mine.resolve("甲区/新村", create=True, kind="village", created=created)
    assert (new.parent_id, created) == ("a", [new])
    assert _resolve(mine, "甲区/新村/新组", create=True) != _resolve(mine, "乙区/新组", create=True)
    for outside in ("平湖市/新村", "乙区/新村", "新区"):
        assert "only under your own" in _resolve(mine, outside, create=True), outside
