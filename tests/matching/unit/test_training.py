"""Growth index method and tutor suggestions (seed 002)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.matching.domain.growth import GrowthWeights, Inspection, Rating, growth_index, inspection_score
from services.matching.domain.tutors import Person, suggest

W = GrowthWeights()


def test_an_inspection_weighs_roles_then_aspects() -> None:
    i = Inspection(
        dt.date(2021, 6, 1),
        [Rating("tutor", 90, 70), Rating("host_unit", 80, 60), Rating("host_unit", 60, 80), Rating("public", 50, 50)],
    )
    # performance: (0.4·90 + 0.4·70 + 0.2·50) / 1.0 = 74; adaptation: (0.4·70 + 0.4·70 + 0.2·50) = 66
    assert inspection_score(i, W) == Decimal("0.6") * 74 + Decimal("0.4") * 66
    only_tutor = Inspection(dt.date(2021, 6, 1), [Rating("tutor", 80, 60)])
    assert inspection_score(only_tutor, W) == Decimal("72")  # weights re-normalised over the roles present


def test_later_inspections_weigh_more() -> None:
    early = Inspection(dt.date(2021, 4, 1), [Rating("tutor", 60, 60)])
    late = Inspection(dt.date(2021, 9, 1), [Rating("tutor", 90, 90)])
    assert growth_index([], W) is None
    assert growth_index([late, early], W) == Decimal("80.00")  # (1·60 + 2·90) / 3
    assert growth_index([early], W) == Decimal("60.00")


def test_tutor_suggestions_rank_field_then_seniority_then_proximity() -> None:
    trainee = Person("t", "学员", "经济", 5, "u1", "p1", "平湖")
    a = Person("a", "甲", "经济", 20, "u9", None, "嘉兴")
    b = Person("b", "乙", "经济", 20, "u2", "p1", "平湖")
    c = Person("c", "丙", "城建", 30, "u1", "p1", "平湖")
    d = Person("d", "丁", "经济", 25, "u1", "p1", "平湖")
    ranked = suggest(trainee, [a, b, c, d, trainee], excluded={"x"})
    assert [r["cadre_id"] for r in ranked] == ["d", "b", "a", "c"]
    assert [r["cadre_id"] for r in suggest(trainee, [a, b, c, d], excluded={"d"}, limit=2)] == ["b", "a"]
