"""The outbox and the dispatcher: gate at dispatch time, window and template rules, limits, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.messaging import ratelimit
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.dispatcher import dispatch
from wagtail_wa_consent.messaging.models import ChannelStatus, MessageTemplate, OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_template, enqueue_text
from wagtail_wa_consent.messaging.sweep import sweep
from wagtail_wa_consent.messaging.window import record_inbound

from ..conftest import wa_settings
from .helpers import api_error, consenting, template

pytestmark = pytest.mark.django_db
DE = "+4915123456789"
SA = "+966501234567"


@pytest.fixture
def shop_templates(db):
    template("order_confirmation", params=2)
    template("seasonal_promotion", "MARKETING", params=1, opt_out=True)
    template("promo_without_opt_out", "MARKETING", params=1)
    template("paused_template", params=1, status="PAUSED")


def send_order_confirmation(contact, key="order:1:placed", params=("Lena", "100001")):
    with transaction.atomic():
        return enqueue_template(
            contact,
            "transactional",
            key=key,
            template_name="order_confirmation",
            language="en",
            parameters=params,
        )


def test_sent_after_commit_with_meta_payload(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_order_confirmation(contact)
    message.refresh_from_db()
    assert message.status == "sent" and message.wamid and message.sent_at
    (payload,) = locmem.outbox
    assert payload["to"] == "4915123456789" and payload["type"] == "template"
    assert payload["biz_opaque_callback_data"] == "order:1:placed"
    assert payload["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Lena"},
        {"type": "text", "text": "100001"},
    ]


def test_same_key_never_sends_twice(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        first = send_order_confirmation(contact)
        second = send_order_confirmation(contact)
    assert first.pk == second.pk and OutboundMessage.objects.count() == 1
    assert dispatch(first.pk) is None  # already sent: a second dispatch is a no-op
    assert len(locmem.outbox) == 1


def test_rolled_back_caller_leaves_no_message(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            send_order_confirmation(contact)
            raise RuntimeError("order failed")
    assert OutboundMessage.objects.count() == 0 and locmem.outbox == []


def test_stop_between_queueing_and_sending_wins(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_order_confirmation(contact)
    service.withdraw(contact, Evidence(source="whatsapp", user_action="sent STOP", message_id="wamid.stop"))
    for callback in callbacks:
        callback()
    message.refresh_from_db()
    assert (message.status, message.reason) == ("denied", "withdrawn")
    assert locmem.outbox == []


def test_no_consent_is_denied_with_a_reason(shop_templates, django_capture_on_commit_callbacks):
    contact = service.get_or_create_contact(DE)
    with django_capture_on_commit_callbacks(execute=True):
        message = send_order_confirmation(contact)
    message.refresh_from_db()
    assert (message.status, message.reason) == ("denied", "no_consent") and locmem.outbox == []


@pytest.mark.parametrize(
    ("category", "name", "params", "reason"),
    [
        ("transactional", "unknown_template", 1, "template_unknown"),
        ("transactional", "paused_template", 1, "template_paused"),
        ("marketing", "promo_without_opt_out", 1, "template_without_opt_out"),
        ("transactional", "seasonal_promotion", 1, "template_wrong_category"),
        ("marketing", "order_confirmation", 2, "template_wrong_category"),
        ("marketing", "seasonal_promotion", 2, "template_parameter_count"),
    ],
)
def test_template_rules(shop_templates, django_capture_on_commit_callbacks, category, name, params, reason):
    contact = consenting(DE, "marketing", "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_template(
            contact, category, key="k", template_name=name, language="en", parameters=["x"] * params
        )
    message.refresh_from_db()
    assert (message.status, message.reason) == ("denied", reason) and locmem.outbox == []


def test_marketing_template_with_opt_out_is_sent(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "marketing")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_template(
            contact,
            "marketing",
            key="promo",
            template_name="seasonal_promotion",
            language="en",
            parameters=["20%"],
        )
    message.refresh_from_db()
    assert message.status == "sent"


def test_free_form_only_inside_the_service_window(db, django_capture_on_commit_callbacks):
    contact = consenting(DE, "support", "marketing")
    with django_capture_on_commit_callbacks(execute=True):
        closed = enqueue_text(contact, "support", "Your parcel", key="t1")
    closed.refresh_from_db()
    assert (closed.status, closed.reason) == ("denied", "outside_service_window")
    record_inbound(contact, timezone.now() - timedelta(hours=23))
    with django_capture_on_commit_callbacks(execute=True):
        inside = enqueue_text(contact, "support", "Your parcel", key="t2")
    inside.refresh_from_db()
    assert inside.status == "sent" and locmem.outbox[0]["text"]["body"] == "Your parcel"
    ratelimit.reset()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_text(contact, "marketing", "20% off today", key="t3")
    assert "STOP PROMOTIONS" in locmem.outbox[1]["text"]["body"]  # every marketing message has the opt-out


@wa_settings(PAIR_LIMIT=1, PAIR_WINDOW_SECONDS=6)
def test_pair_rate_limit_defers_the_second_message(shop_templates, django_capture_on_commit_callbacks):
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        first = send_order_confirmation(contact, key="a")
        second = send_order_confirmation(contact, key="b")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "sent"
    assert (second.status, second.reason) == ("queued", "pair_rate_limit")
    assert second.next_attempt_at > timezone.now() and second.attempts == 0
    assert len(locmem.outbox) == 1


@wa_settings(THROUGHPUT_PER_SECOND=2)
def test_throughput_limit_is_shared(shop_templates, monkeypatch):
    contacts = [consenting(f"+491512345678{i}", "transactional") for i in range(3)]
    messages = [send_order_confirmation(c, key=f"k{i}") for i, c in enumerate(contacts)]
    now = 1_000_000.5
    monkeypatch.setattr("time.time", lambda: now)
    results = [dispatch(m.pk).status for m in messages]
    assert results == ["sent", "sent", "queued"]
    assert OutboundMessage.objects.get(pk=messages[2].pk).reason == "throughput_limit"


@wa_settings(PAIR_LIMIT=10)
def test_unique_recipient_limit_counts_new_people_only(shop_templates, monkeypatch):
    monkeypatch.setitem(ratelimit.TIER_LIMITS, "TIER_250", 2)
    contacts = [consenting(f"+491512345678{i}", "transactional") for i in range(3)]
    sent = [dispatch(send_order_confirmation(c, key=f"k{i}").pk) for i, c in enumerate(contacts)]
    assert [m.status for m in sent] == ["sent", "sent", "queued"]
    assert sent[2].reason == "messaging_limit"
    # A recipient already reached in the last 24 h costs nothing.
    again = dispatch(send_order_confirmation(contacts[0], key="again").pk)
    assert again.status == "sent"


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (131026, "failed", "UNREACHABLE"),
        (131047, "failed", "OUTSIDE_WINDOW"),
        (131049, "queued", "WAIT_24H"),
        (100, "failed", "FAILED"),
    ],
)
def test_api_errors_are_recorded_by_meta_code(shop_templates, code, status, reason):
    contact = consenting(DE, "transactional")
    locmem.failures.append(api_error(code))
    message = dispatch(send_order_confirmation(contact).pk)
    assert (message.status, message.reason.upper(), message.error_code) == (status, reason, code)


def test_retryable_errors_retry_then_fail_visibly(shop_templates):
    contact = consenting(DE, "transactional")
    message = send_order_confirmation(contact)
    with wa_settings(MAX_ATTEMPTS=3):
        for attempt in range(1, 4):
            locmem.failures.append(api_error(130429, status=429))
            OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
            ratelimit.reset()
            message = dispatch(message.pk)
            assert message.attempts == attempt
    assert (message.status, message.reason) == ("failed", "retries_exhausted")
    assert locmem.outbox == []


def test_retry_after_transient_error_sends_once(shop_templates):
    contact = consenting(DE, "transactional")
    locmem.failures.append(api_error(131000, status=500))
    message = dispatch(send_order_confirmation(contact).pk)
    assert message.status == "queued" and message.next_attempt_at > timezone.now()
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    ratelimit.reset()
    assert sweep()["dispatched"] == 1
    message.refresh_from_db()
    assert message.status == "sent" and len(locmem.outbox) == 1 and message.attempts == 2


def test_131050_withdraws_marketing(shop_templates):
    contact = consenting(DE, "marketing", "transactional")
    locmem.failures.append(api_error(131050))
    message = enqueue_template(
        contact, "marketing", key="p", template_name="seasonal_promotion", language="en", parameters=["x"]
    )
    message = dispatch(message.pk)
    assert message.status == "failed"
    assert service.current_status(contact, "marketing") == "unsubscribed"
    assert service.current_status(contact, "transactional") == "subscribed"


def test_template_error_marks_template_unusable(shop_templates):
    contact = consenting(DE, "transactional")
    locmem.failures.append(api_error(132015))
    dispatch(send_order_confirmation(contact).pk)
    assert MessageTemplate.objects.get(name="order_confirmation").status == "UNUSABLE"
    later = dispatch(send_order_confirmation(contact, key="later").pk)
    assert later.reason == "template_unusable"


def test_fatal_error_halts_sending_until_resumed(shop_templates, capsys):
    contact = consenting(DE, "transactional")
    locmem.failures.append(api_error(190, status=401))
    message = dispatch(send_order_confirmation(contact).pk)
    assert message.status == "queued" and ChannelStatus.load().halted
    other = dispatch(send_order_confirmation(consenting(SA, "transactional"), key="o").pk)
    assert (other.status, other.reason) == ("queued", "channel_halted") and locmem.outbox == []
    call_command("wa_resume_sending")
    assert "Sending resumed" in capsys.readouterr().out and not ChannelStatus.load().halted


def test_sweep_sends_rows_a_broker_outage_left_behind(
    shop_templates, monkeypatch, django_capture_on_commit_callbacks
):
    from wagtail_wa_consent import tasks

    def broker_down(*args, **kwargs):
        raise OSError("broker unreachable")

    monkeypatch.setattr(tasks.dispatch_outbound, "apply_async", broker_down)
    contact = consenting(DE, "transactional")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_order_confirmation(contact)
    message.refresh_from_db()
    assert message.status == "queued" and locmem.outbox == []
    monkeypatch.undo()
    assert sweep()["dispatched"] == 1
    message.refresh_from_db()
    assert message.status == "sent" and len(locmem.outbox) == 1


def test_stale_claim_is_requeued_only_after_the_timeout(shop_templates):
    contact = consenting(DE, "transactional")
    message = send_order_confirmation(contact)
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", claimed_at=timezone.now())
    assert sweep() == {"requeued": 0, "dispatched": 0}
    OutboundMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert sweep() == {"requeued": 1, "dispatched": 1}
    message.refresh_from_db()
    assert message.status == "sent"


def test_ambiguous_transport_failure_waits_for_metas_status(shop_templates):
    """A read timeout on the send may mean Meta has it: no resend until the claim goes stale."""
    from wagtail_wa_consent.graph.errors import TransportFailure

    contact = consenting(DE, "transactional")
    failure = TransportFailure("ReadTimeout")
    failure.ambiguous = True
    locmem.failures.append(failure)
    message = dispatch(send_order_confirmation(contact).pk)
    assert message.status == "sending" and locmem.outbox == []
    assert sweep() == {"requeued": 0, "dispatched": 0}  # not stale yet: nothing is sent twice


def test_missing_credentials_halt_instead_of_losing_the_message(shop_templates):
    from wagtail_wa_consent.exceptions import WaConsentConfigurationError

    contact = consenting(DE, "transactional")
    locmem.failures.append(WaConsentConfigurationError("Set WA_ACCESS_TOKEN"))
    message = dispatch(send_order_confirmation(contact).pk)
    assert (message.status, message.reason, message.attempts) == ("queued", "configuration_error", 0)
    assert ChannelStatus.load().halted
