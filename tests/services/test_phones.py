"""The phone normaliser, by property: any way of writing a valid number gives the same E.164, and
garbage is rejected (None), never an exception."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from services import clients, phones, search
from services.errors import DomainError

REGIONS = sorted(
    r for r in ("RU", "US", "GB", "DE", "FR", "KZ", "BY", "UA", "IL", "CN", "IN", "BR", "AE", "TR")
)


def example(region: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None and phonenumbers.is_valid_number(number)
    return number


# Russian mobile numbers: 9XX plus 7 digits; keep those the library says are valid.
ru_mobile = st.from_regex(r"9[0-9]{9}", fullmatch=True).filter(
    lambda d: phonenumbers.is_valid_number(phonenumbers.parse("+7" + d, None))
)
separators = st.lists(st.sampled_from(["", "", " ", "-", ".", " - "]), min_size=10, max_size=10)


def spread(digits: str, seps: list[str]) -> str:
    return "".join(d + s for d, s in zip(digits, seps, strict=False)).strip(" -.")


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    digits=ru_mobile,
    seps=separators,
    prefix=st.sampled_from(["+7", "+7 ", "8", "8 ", "7", ""]),
    paren=st.booleans(),
)
def test_any_writing_of_a_russian_number_gives_the_same_e164(digits, seps, prefix, paren):
    body = spread(digits, seps)
    if paren:
        body = f"({digits[:3]}) {spread(digits[3:], seps[3:])}"
    assert phones.normalize(prefix + body, "RU") == "+7" + digits


@settings(max_examples=200)
@given(region=st.sampled_from(REGIONS), default=st.sampled_from(REGIONS), seps=separators)
def test_international_numbers_normalise_whatever_the_default_region(region, default, seps):
    number = example(region)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    writings = [
        e164,
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.RFC3966).removeprefix("tel:"),
        "+" + spread(e164[1:], seps + seps),
        "  " + e164 + "  ",
    ]
    for written in writings:
        assert phones.normalize(written, default) == e164, written
    # written the local way, it is read in the default region
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    assert phones.normalize(national, region) == e164


@given(st.text(max_size=80))
@settings(max_examples=500)
def test_garbage_never_raises_and_is_rejected_unless_valid(text):
    result = phones.normalize(text, "RU")
    if result is not None:
        assert result.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(result, None))
        assert phones.normalize(result, "RU") == result  # idempotent
    phones.find_in_text(text, "RU")
    phones.search_prefix(text, "RU")
    search.parse_query(text, "RU")


@given(st.text(alphabet="0123456789+-() .", max_size=40))
@settings(max_examples=500)
def test_phone_shaped_garbage_never_raises(text):
    result = phones.normalize(text, "RU")
    assert result is None or phonenumbers.is_valid_number(phonenumbers.parse(result, None))


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_one_line_parser_only_ever_refuses_with_a_domain_error(text):
    try:
        data = clients.parse_line(text, "RU")
    except DomainError:
        return
    assert data.name and len(data.name) <= 200
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p, None)) for p in data.phones)


@given(digits=ru_mobile)
def test_the_last_digits_find_the_number(digits):
    e164 = "+7" + digits
    stored = phones.digits_reversed(e164)
    assert stored[::-1] == "7" + digits
    for tail in (4, 7, 10):
        fragment = digits[-tail:]
        prefix = phones.search_prefix(fragment, "RU")
        assert prefix is not None and stored.startswith(prefix)


@pytest.mark.parametrize("raw", ["", " ", "+", "123", "+7 123", "8 800", "abc", "+999 123 456 789", "9" * 65])
def test_short_unknown_and_overlong_numbers_are_rejected(raw):
    assert phones.normalize(raw, "RU") is None


def test_telegram_bare_digits_with_a_foreign_country_code():
    # Telegram gives a contact's number as digits with the country code but no "+".
    assert phones.normalize("447400123456", "RU") == "+447400123456"
    assert phones.normalize("79991234567", "RU") == "+79991234567"
