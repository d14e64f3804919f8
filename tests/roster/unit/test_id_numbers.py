import datetime as dt

import pytest

from services.roster.domain import id_numbers


def test_a_published_example_number_passes_its_checksum() -> None:
    assert id_numbers.validate("11010519491231002X") == "11010519491231002X"


def test_lowercase_x_and_spaces_are_normalised() -> None:
    assert id_numbers.validate(" 11010519491231002x ") == "11010519491231002X"


def test_a_wrong_check_digit_is_refused_naming_the_right_one() -> None:
    with pytest.raises(id_numbers.InvalidIdNumber, match="should be X"):
        id_numbers.validate("110105194912310021")


@pytest.mark.parametrize("raw", ["", "1101051949123100", "11010519491231002Y", "ABCDEFGHIJKLMNOPQR"])
def test_malformed_numbers_are_refused(raw: str) -> None:
    with pytest.raises(id_numbers.InvalidIdNumber):
        id_numbers.validate(raw)


def test_an_impossible_birth_date_is_refused_even_with_a_good_checksum() -> None:
    number = id_numbers.with_check_digit("11010519490231002")  # 31 February
    with pytest.raises(id_numbers.InvalidIdNumber, match="birth date"):
        id_numbers.validate(number)


def test_birth_date_and_sex_are_read_from_the_number() -> None:
    assert id_numbers.birth_date_of("11010519491231002X") == dt.date(1949, 12, 31)
    assert id_numbers.gender_of("11010519491231002X") == "female"
    assert id_numbers.gender_of(id_numbers.with_check_digit("33048219750308123")) == "male"


def test_masking_keeps_region_code_and_last_four() -> None:
    assert id_numbers.mask("330482197503081234") == "330482********1234"
