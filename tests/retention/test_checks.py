"""System checks of the retention settings: each message names its key."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.test_checks import BASE, ids


@pytest.mark.parametrize(
    ("override", "check_id", "key"),
    [
        ({"MESSAGE_RETENTION_DAYS": 0}, "wagtail_wa_consent.E010", "MESSAGE_RETENTION_DAYS"),
        ({"INBOUND_MESSAGE_RETENTION_DAYS": -1}, "wagtail_wa_consent.E010", "INBOUND_MESSAGE_RETENTION_DAYS"),
        ({"WEBHOOK_BODY_RETENTION_DAYS": 1.5}, "wagtail_wa_consent.E010", "WEBHOOK_BODY_RETENTION_DAYS"),
        ({"PENDING_OPT_IN_RETENTION_DAYS": "30"}, "wagtail_wa_consent.E010", "PENDING_OPT_IN_RETENTION_DAYS"),
        (
            {"WITHDRAWN_CONTACT_RETENTION_DAYS": True},
            "wagtail_wa_consent.E010",
            "WITHDRAWN_CONTACT_RETENTION_DAYS",
        ),
        ({"DORMANT_CONSENT_MONTHS": 0}, "wagtail_wa_consent.E010", "DORMANT_CONSENT_MONTHS"),
        ({"DORMANT_CONSENT_ACTION": "delete"}, "wagtail_wa_consent.E010", "DORMANT_CONSENT_ACTION"),
        (
            {"RETENTION_OPEN_ORDER_CHECK": "no.such.check"},
            "wagtail_wa_consent.E011",
            "RETENTION_OPEN_ORDER_CHECK",
        ),
        (
            {"RETENTION_OPEN_ORDER_CHECK": "wagtail_wa_consent.conf.DEFAULTS"},
            "wagtail_wa_consent.E011",
            "RETENTION_OPEN_ORDER_CHECK",
        ),
        (
            {"RETENTION_FINAL_ORDER_STATUSES": "Complete"},
            "wagtail_wa_consent.E011",
            "RETENTION_FINAL_ORDER_STATUSES",
        ),
    ],
)
def test_bad_retention_setting_is_reported_by_name(override, check_id, key):
    messages = ids({**BASE, **override})
    assert [m[0] for m in messages] == [check_id]
    assert f"WAGTAIL_WA_CONSENT[{key!r}]" in messages[0][1]


def test_none_and_positive_values_pass():
    keep_all = {
        "MESSAGE_RETENTION_DAYS": None,
        "INBOUND_MESSAGE_RETENTION_DAYS": None,
        "WEBHOOK_BODY_RETENTION_DAYS": None,
        "PENDING_OPT_IN_RETENTION_DAYS": None,
        "WITHDRAWN_CONTACT_RETENTION_DAYS": None,
        "DORMANT_CONSENT_MONTHS": None,
        "RETENTION_OPEN_ORDER_CHECK": None,
    }
    assert ids({**BASE, **keep_all}) == []
    settled = {"MESSAGE_RETENTION_DAYS": 1, "DORMANT_CONSENT_ACTION": "expire"}
    assert ids({**BASE, **settled, "RETENTION_FINAL_ORDER_STATUSES": ["Complete"]}) == []


def test_warning_when_no_order_status_is_final():
    with override_settings(OSCAR_ORDER_STATUS_PIPELINE={}):
        messages = ids(BASE)
        assert [m[0] for m in messages] == ["wagtail_wa_consent.W004"]
        assert "RETENTION_FINAL_ORDER_STATUSES" in messages[0][1]
        assert ids({**BASE, "RETENTION_FINAL_ORDER_STATUSES": ["Complete"]}) == []
        assert ids({**BASE, "RETENTION_OPEN_ORDER_CHECK": None}) == []
