from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from wagtail_wa_consent.checks import check_settings

BASE = {"BUSINESS_NAME": "Shop GmbH"}


def ids(settings_dict):
    with override_settings(WAGTAIL_WA_CONSENT=settings_dict):
        return [(m.id, m.msg) for m in check_settings()]


def test_valid_settings_have_no_messages():
    assert ids(BASE) == []
    assert ids({**BASE, "DEFAULT_REGION": "SA", "CATEGORIES": ["marketing"]}) == []


@pytest.mark.parametrize(
    ("override", "check_id", "names"),
    [
        ({"BUSINESS_NAME": ""}, "wagtail_wa_consent.E002", "BUSINESS_NAME"),
        ({"CATEGORIES": ["marketing", "newsletters"]}, "wagtail_wa_consent.E003", "'newsletters'"),
        ({"CATEGORIES": []}, "wagtail_wa_consent.E003", "CATEGORIES"),
        ({"DEFAULT_REGION": "Germany"}, "wagtail_wa_consent.E004", "DEFAULT_REGION"),
        ({"DOUBLE_OPT_IN_EXPIRY_DAYS": 0}, "wagtail_wa_consent.E005", "DOUBLE_OPT_IN_EXPIRY_DAYS"),
        ({"IPV4_PREFIX": 40}, "wagtail_wa_consent.E006", "IPV4_PREFIX"),
        ({"BACKEND": "no.such.Backend"}, "wagtail_wa_consent.E007", "BACKEND"),
        ({"BACKEND": "wagtail_wa_consent.conf.get_setting"}, "wagtail_wa_consent.E007", "BACKEND"),
        ({"CATEGORY": ["marketing"]}, "wagtail_wa_consent.W001", "'CATEGORY'"),
        ({"ACCESS_TOKEN": "EAAG..."}, "wagtail_wa_consent.W002", "'ACCESS_TOKEN'"),
        ({"THROUGHPUT_PER_SECOND": 0}, "wagtail_wa_consent.E009", "THROUGHPUT_PER_SECOND"),
        ({"MESSAGING_LIMIT_TIER": "TIER_1K"}, "wagtail_wa_consent.E009", "MESSAGING_LIMIT_TIER"),
        (
            {
                "BACKEND": "wagtail_wa_consent.messaging.backends.cloud_api.CloudAPIBackend",
                "PHONE_NUMBER_ID": "1",
                "BUSINESS_ACCOUNT_ID": "2",
            },
            "wagtail_wa_consent.E008",
            "WA_ACCESS_TOKEN",
        ),
    ],
)
def test_each_bad_setting_is_reported_by_name(override, check_id, names, monkeypatch):
    monkeypatch.delenv("WA_ACCESS_TOKEN", raising=False)
    messages = ids({**BASE, **override})
    assert [m[0] for m in messages] == [check_id]
    assert "WAGTAIL_WA_CONSENT" in messages[0][1]
    assert names in messages[0][1]


def test_missing_business_name_when_dict_absent():
    with override_settings():
        from django.conf import settings

        del settings.WAGTAIL_WA_CONSENT
        assert [m.id for m in check_settings()] == ["wagtail_wa_consent.E002"]


def test_not_a_dict():
    assert [i for i, _ in ids(["BUSINESS_NAME"])] == ["wagtail_wa_consent.E001"]


def test_typo_hint_suggests_the_right_key():
    with override_settings(WAGTAIL_WA_CONSENT={**BASE, "BUISNESS_NAME": "x"}):
        warning = next(m for m in check_settings() if m.id == "wagtail_wa_consent.W001")
    assert "BUSINESS_NAME" in warning.hint


def test_manage_py_check_fails_on_an_error():
    with (
        override_settings(WAGTAIL_WA_CONSENT={**BASE, "CATEGORIES": ["sms"]}),
        pytest.raises(SystemCheckError, match="E003"),
    ):
        call_command("check")


def test_missing_app_secret_warns(monkeypatch):
    monkeypatch.delenv("WA_APP_SECRET")
    messages = ids(BASE)
    assert [m[0] for m in messages] == ["wagtail_wa_consent.W003"] and "WA_APP_SECRET" in messages[0][1]
