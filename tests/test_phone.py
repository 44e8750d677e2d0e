from __future__ import annotations

import pytest
from django.test import override_settings

from wagtail_wa_consent.exceptions import InvalidPhoneNumber
from wagtail_wa_consent.phone import normalise_phone, region_of


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+49 151 23456789", None, "+4915123456789"),  # Germany, mobile
        ("0151 2345 6789", "DE", "+4915123456789"),  # German national format
        ("0049 151-234-56789", None, "+4915123456789"),  # 00 international prefix
        ("+966 50 123 4567", None, "+966501234567"),  # Saudi Arabia
        ("050 123 4567", "SA", "+966501234567"),
        ("+7 912 345-67-89", None, "+79123456789"),  # Russia
        ("8 912 345 67 89", "RU", "+79123456789"),
        ("+998 90 123 45 67", None, "+998901234567"),  # Uzbekistan
        ("+55 11 91234-5678", None, "+5511912345678"),  # Brazil, 9-digit mobile
        ("+91 98765 43210", None, "+919876543210"),  # India
        ("(201) 555-0123", "US", "+12015550123"),  # US: fixed-line-or-mobile
        ("+44 7911 123456", None, "+447911123456"),  # UK mobile
    ],
)
def test_valid_numbers_become_e164(raw, region, expected):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "code"),
    [
        ("", None, "required"),
        ("   ", "DE", "required"),
        ("hello", "DE", "unparseable"),
        ("0151 2345 6789", None, "missing_country"),  # national format but no region known
        ("+49 151 234", None, "invalid"),  # too short
        ("+49 30 12345678", None, "not_mobile"),  # Berlin landline
        ("+966 11 234 5678", None, "not_mobile"),  # Riyadh landline
        ("+44 20 7946 0000", None, "not_mobile"),  # London landline
    ],
)
@override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "DEFAULT_REGION": None})
def test_bad_numbers_get_a_clear_error(raw, region, code):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise_phone(raw, region)
    assert info.value.code == code
    assert info.value.messages[0]  # a human-readable message for the form field


def test_default_region_comes_from_settings():
    with override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "DEFAULT_REGION": "UZ"}):
        assert normalise_phone("90 123 45 67") == "+998901234567"
    with override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "X", "DEFAULT_REGION": "RU"}):
        assert normalise_phone("912 345 67 89") == "+79123456789"


def test_region_of():
    assert region_of("+998901234567") == "UZ"
    assert region_of("+966501234567") == "SA"
