from __future__ import annotations

from fractions import Fraction

import pytest

from services.secondment.domain.eligibility import Direction
from services.secondment.domain.quotas import QuotaError, QuotaRule, check_rules, contradictions, parse_share, unmet

DOWN, UP = Direction.down, Direction.up
TWO_DISTRICTS = QuotaRule(DOWN, frozenset({"三水", "高明"}), min_share=Fraction(2, 3))


def placements(sanshui: int, gaoming: int, other: int) -> list[tuple[Direction, str | None]]:
    out: list[tuple[Direction, str | None]] = []
    return out + [(DOWN, "三水")] * sanshui + [(DOWN, "高明")] * gaoming + [(DOWN, "南海")] * other


def test_foshan_first_batch_meets_two_thirds_to_sanshui_and_gaoming() -> None:
    assert unmet([TWO_DISTRICTS], placements(7, 4, 4)) == []
    assert unmet([TWO_DISTRICTS], placements(6, 4, 5)) == []  # 10 of 15 is exactly two thirds


def test_one_short_is_reported_with_the_numbers() -> None:
    [short] = unmet([TWO_DISTRICTS], placements(5, 4, 6))
    assert (short.count, short.of, short.bound, short.required) == (9, 15, "min_share", "2/3")
    assert "9 of 15 in 三水/高明" in short.message()


def test_counts_and_directions_are_checked_separately() -> None:
    rules = [
        QuotaRule(DOWN, frozenset({"三水"}), min_count=7),
        QuotaRule(DOWN, frozenset({"高明"}), max_count=3),
        QuotaRule(UP, frozenset({"三水"}), min_count=1),
    ]
    got = unmet(rules, placements(7, 4, 4))
    assert [(s.index, s.bound, s.count) for s in got] == [(1, "max_count", 4), (2, "min_count", 0)]


def test_shares_parse_exactly_and_refuse_nonsense() -> None:
    assert parse_share("2/3", "f") == Fraction(2, 3)
    assert parse_share("0.5", "f") == Fraction(1, 2)
    assert parse_share(None, "f") is None
    for bad in ("abc", "3/2", "-0.1", "1/0"):
        with pytest.raises(QuotaError) as err:
            parse_share(bad, "quota_rules[0].min_share")
        assert err.value.problems[0][0] == "quota_rules[0].min_share"


def test_a_rule_that_contradicts_itself() -> None:
    got = contradictions([QuotaRule(DOWN, frozenset({"三水"}), min_count=5, max_count=3)])
    assert got == [("quota_rules[0].min_count", "5 exceeds max_count 3")]
    assert contradictions([QuotaRule(DOWN, frozenset({"三水"}))]) == [("quota_rules[0]", "sets no bound")]
    assert contradictions([QuotaRule(DOWN, frozenset({"三水"}), min_share=Fraction(3, 4), max_share=Fraction(1, 2))])


def test_a_narrower_rule_asking_more_than_a_wider_one_allows() -> None:
    rules = [
        QuotaRule(DOWN, frozenset({"三水"}), min_count=8),
        QuotaRule(DOWN, frozenset({"三水", "高明"}), max_count=6),
    ]
    [(field, message)] = contradictions(rules)
    assert field == "quota_rules[0].min_count" and "quota_rules[1] allows 6" in message
    with pytest.raises(QuotaError):
        check_rules(rules)


def test_minimum_shares_over_disjoint_regions_cannot_exceed_the_whole() -> None:
    rules = [
        QuotaRule(DOWN, frozenset({"三水"}), min_share=Fraction(2, 3)),
        QuotaRule(DOWN, frozenset({"高明"}), min_share=Fraction(1, 2)),
    ]
    assert [f for f, _ in contradictions(rules)] == ["quota_rules[0].min_share"]


def test_rules_of_other_directions_or_compatible_bounds_do_not_clash() -> None:
    rules = [
        TWO_DISTRICTS,
        QuotaRule(UP, frozenset({"三水", "高明"}), max_share=Fraction(1, 3)),
        QuotaRule(DOWN, frozenset({"三水"}), min_count=7, max_count=7),
        QuotaRule(DOWN, frozenset({"高明"}), min_share=Fraction(1, 4)),
    ]
    assert contradictions(rules) == []
    check_rules(rules)
