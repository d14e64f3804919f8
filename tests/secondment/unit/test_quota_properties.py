"""Soundness of the contradiction check: rules that some real batch satisfies are never
called contradictory (and that batch meets them)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.secondment.domain.eligibility import Direction
from services.secondment.domain.quotas import QuotaRule, contradictions, unmet

REGIONS = ["三水", "高明", "南海", "顺德", "禅城"]
placement = st.tuples(st.sampled_from(list(Direction)), st.sampled_from(REGIONS))


@st.composite
def satisfied_rules(draw: st.DrawFn) -> tuple[list[tuple[Direction, str | None]], list[QuotaRule]]:
    placed: list[tuple[Direction, str | None]] = list(draw(st.lists(placement, min_size=1, max_size=30)))
    rules = []
    for _ in range(draw(st.integers(1, 5))):
        direction = draw(st.sampled_from(list(Direction)))
        regions = frozenset(draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3)))
        of = sum(1 for d, _ in placed if d == direction)
        count = sum(1 for d, r in placed if d == direction and r in regions)
        share = Fraction(count, of) if of else Fraction(0)
        bounds = draw(st.sets(st.sampled_from(["min_count", "max_count", "min_share", "max_share"]), min_size=1))
        rules.append(
            QuotaRule(
                direction,
                regions,
                min_count=draw(st.integers(0, count)) if "min_count" in bounds else None,
                max_count=count + draw(st.integers(0, 5)) if "max_count" in bounds else None,
                min_share=share * Fraction(draw(st.integers(0, 4)), 4) if "min_share" in bounds else None,
                max_share=min(Fraction(1), share + Fraction(draw(st.integers(0, 4)), 8))
                if "max_share" in bounds
                else None,
            )
        )
    return placed, rules


@settings(max_examples=300, deadline=None)
@given(satisfied_rules())
def test_rules_a_batch_satisfies_are_never_contradictory(case: tuple[list, list[QuotaRule]]) -> None:
    placed, rules = case
    assert unmet(rules, placed) == []
    assert contradictions(rules) == []
