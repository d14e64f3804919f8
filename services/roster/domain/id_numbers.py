"""Resident ID-card numbers (GB 11643-1999): checksum, embedded birth date and sex, masking."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from operator import mul

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO_SUM = ord("0") * sum(_WEIGHTS)
# ASCII only: ``\d`` would also take the digits of every other script (issue 15)
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_ALLOWED = frozenset("0123456789X")


class InvalidIdNumber(ValueError):
    pass


def normalize(raw: str) -> str:
    """The one form an ID number is checked, stored, blind-indexed and looked up in.

    NFKC first, so full-width digits and letters (``１``, ``ｘ``) and no-break spaces become
    their ASCII forms; then outer whitespace and inner spaces go and ``x`` becomes ``X``.
    Digits of other scripts (Arabic-Indic ``١``, Devanagari ``१`` …) have no compatibility
    form and stay as they are, for ``validate`` to refuse.
    """
    if not raw.isascii():
        raw = unicodedata.normalize("NFKC", raw)
    return raw.strip().upper().replace(" ", "")


def is_normal(value: str) -> bool:
    """Whether ``value`` is already in the form ``normalize`` gives and ``validate`` accepts
    the shape of: 17 ASCII digits, then an ASCII digit or ``X``."""
    return _SHAPE.fullmatch(value) is not None


def check_digit(first17: str) -> str:
    if len(first17) == 17 and first17.isascii() and first17.isdigit():
        # bulk imports check every row: weigh the character codes in C, then take away
        # what the code of "0" added to each weight
        return _CHECK[(sum(map(mul, first17.encode(), _WEIGHTS)) - _ZERO_SUM) % 11]
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate(raw: str) -> str:
    """Return the normalised number or raise ``InvalidIdNumber`` saying what is wrong."""
    value = normalize(raw)
    if not _SHAPE.fullmatch(value):
        for c in value:
            if c not in _ALLOWED and unicodedata.decimal(c, None) is not None:
                raise InvalidIdNumber(
                    f"must be written with the digits 0-9, not {unicodedata.name(c, 'a digit')} (U+{ord(c):04X})"
                )
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    expected = check_digit(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(f"checksum digit should be {expected}")
    try:
        birth_date_of(value)
    except ValueError as exc:
        raise InvalidIdNumber("contains an impossible birth date") from exc
    return value


def renormalize(stored: str) -> str:
    """The normal form of a number stored before ``validate`` refused other scripts' digits.

    Such a number passed the checksum and the birth date as the values of its digits, so
    each digit of another script becomes the ASCII digit of the same value; the result is
    validated like any input. Only for numbers already on the roster: input is ``validate``d.
    """
    value = normalize(stored)
    if not value.isascii():
        value = "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in value)
    return validate(value)


def birth_date_of(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def gender_of(value: str) -> str:
    """The 17th digit is odd for men, even for women."""
    return "male" if int(value[16]) % 2 == 1 else "female"


def mask(value: str) -> str:
    """``330482********1234``: the region code, eight stars, the last four."""
    return f"{value[:6]}{'*' * 8}{value[-4:]}"


def with_check_digit(first17: str) -> str:
    return first17 + check_digit(first17)
