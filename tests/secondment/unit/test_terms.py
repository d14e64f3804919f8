from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.secondment.domain.terms import (
    TermError,
    check_term_months,
    end_of,
    grassroots_days,
    term_end,
    years_of,
)

D = dt.date


@pytest.mark.parametrize("months", [0, -1, 61, 120])
def test_terms_outside_one_to_sixty_months_are_refused(months: int) -> None:
    with pytest.raises(TermError) as err:
        check_term_months(months)
    assert err.value.field == "term_months"


def test_a_two_year_term_from_foshan_start() -> None:
    # issue 17: the term's last day, the day before 2019-04-01 (it was 2019-04-01)
    assert term_end(D(2017, 4, 1), 24) == D(2019, 3, 31)
    assert term_end(D(2017, 11, 30), 3) == D(2018, 2, 28)  # no 30 February: its last day


def test_completion_counts_the_days_served() -> None:
    end = end_of(D(2017, 4, 1), D(2019, 3, 31), None, early=False)
    assert (end.ended_on, end.end_kind, end.days_served) == (D(2019, 3, 31), "completed", 730)


def test_an_early_end_must_fall_inside_the_term() -> None:
    end = end_of(D(2017, 4, 1), D(2019, 3, 31), D(2017, 12, 31), early=True)
    assert (end.end_kind, end.days_served) == ("early", 275)  # both ends count
    with pytest.raises(TermError) as late:
        end_of(D(2017, 4, 1), D(2019, 3, 31), D(2019, 3, 31), early=True)
    assert late.value.field == "ended_on"


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(TermError) as err:
        end_of(D(2017, 4, 1), D(2019, 4, 1), D(2017, 3, 31), early=True)
    assert err.value.field == "ended_on" and "before the start" in err.value.message


def test_completing_before_the_planned_end_is_refused() -> None:
    with pytest.raises(TermError):
        end_of(D(2017, 4, 1), D(2019, 4, 1), D(2019, 3, 1), early=False)


def test_grassroots_experience_accrues_only_in_towns_and_villages() -> None:
    assert grassroots_days("town", D(2017, 4, 1), D(2019, 3, 31)) == 730
    assert grassroots_days("village", D(2017, 4, 1), D(2017, 9, 30)) == 183
    assert grassroots_days("city_organ", D(2017, 4, 1), D(2019, 3, 31)) == 0
    assert grassroots_days("town", D(2017, 4, 1), D(2017, 4, 1)) == 1  # the first day is a day served
    assert grassroots_days("town", D(2017, 4, 1), D(2016, 1, 1)) == 0


def test_partial_years_are_one_decimal_of_days_over_365_25() -> None:
    assert years_of(730) == Decimal("2.0")
    assert years_of(183) == Decimal("0.5")
    assert years_of(275) == Decimal("0.8")
    assert years_of(0) == Decimal("0.0")
    # an early end after 9 months leaves a city cadre under the two-year line
    assert years_of(grassroots_days("town", D(2017, 4, 1), D(2017, 12, 31))) < 2
