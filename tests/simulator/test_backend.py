"""SimulatorBackend: sends in-process, refuses with WhatsAppAPIError, and the statuses reach the outbox."""

from __future__ import annotations

import pytest
from django.db import transaction

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.graph.errors import ErrorAction, WhatsAppAPIError
from wagtail_wa_consent.messaging.backends import get_backend
from wagtail_wa_consent.messaging.models import WebhookDelivery
from wagtail_wa_consent.messaging.outbox import enqueue_template
from wagtail_wa_consent.messaging.templates import upsert_template
from wagtail_wa_consent.simulator import webhooks
from wagtail_wa_consent.simulator.backend import SimulatorBackend
from wagtail_wa_consent.simulator.models import SimMessage, SimPhone, SimTemplate, SimWebhook
from wagtail_wa_consent.simulator.seed import DEFAULT_TEMPLATES, ensure_default_templates
from wagtail_wa_consent.simulator.tasks import flush_webhooks

from ..messaging.helpers import WEB
from .conftest import PHONE, SIMULATOR, statuses, template, text

pytestmark = pytest.mark.django_db


def registry() -> None:
    """The site's template registry, as wa_sync_templates would fill it from the simulator."""
    for t in SimTemplate.objects.all():
        upsert_template(t.as_graph())


def test_default_templates_are_seeded_once(db):
    assert ensure_default_templates() == len(DEFAULT_TEMPLATES)
    assert ensure_default_templates() == 0
    names = set(SimTemplate.objects.values_list("name", "language"))
    assert {
        ("opt_in_confirmation", "en"),
        ("opt_in_confirmation", "de"),
        ("order_confirmation", "de"),
    } <= names
    opt_in = SimTemplate.objects.get(name="opt_in_confirmation", language="en")
    assert opt_in.category == "UTILITY"
    assert [b["text"] for b in opt_in.buttons()] == ["Yes", "No"]
    promo = SimTemplate.objects.get(name="seasonal_promotion")
    assert promo.category == "MARKETING" and promo.footer_text() == "Not interested? Tap Stop promotions"
    assert SimTemplate.objects.get(name="paused_template").status == "PAUSED"
    assert SimTemplate.objects.get(name="promo_without_opt_out").buttons() == []


def test_send_seeds_lazily_and_returns_the_wamid(db, posted):
    assert not SimTemplate.objects.exists()
    wamid = SimulatorBackend().send(template(biz_opaque_callback_data="order:1:placed"))
    assert SimTemplate.objects.count() == len(DEFAULT_TEMPLATES)
    stored = SimMessage.objects.get(wamid=wamid)
    assert stored.biz_opaque_callback_data == "order:1:placed" and stored.phone_number_id == "SIMPHONE"
    assert stored.payload["template"]["name"] == "order_confirmation"


def test_the_configured_backend_is_the_simulator(db):
    with SIMULATOR:
        assert isinstance(get_backend(), SimulatorBackend)


@pytest.mark.parametrize(
    ("setup", "payload", "code", "action"),
    [
        (None, template(name="nope"), 132001, ErrorAction.TEMPLATE_UNUSABLE),
        (None, template("paused_template", ("Monday",)), 132015, ErrorAction.TEMPLATE_UNUSABLE),
        (None, template(params=("one",)), 132000, ErrorAction.TEMPLATE_UNUSABLE),
        (None, text(), 131047, ErrorAction.OUTSIDE_WINDOW),
        ({"unreachable": True}, template(), 131026, ErrorAction.UNREACHABLE),
        (
            {"marketing_stopped": True},
            template("seasonal_promotion", ("Sunday", "SUN", "20%")),
            131050,
            ErrorAction.WITHDRAW_MARKETING,
        ),
    ],
)
def test_refusals_raise_classified_errors(seeded, setup, payload, code, action):
    if setup:
        SimPhone.objects.create(digits=PHONE, **setup)
    with pytest.raises(WhatsAppAPIError) as info:
        SimulatorBackend().send(payload)
    assert info.value.code == code and info.value.action == action
    assert info.value.fbtrace_id and not info.value.retryable


@SIMULATOR
def test_statuses_reach_the_outbox_through_the_real_ingest(seeded, django_capture_on_commit_callbacks):
    registry()
    contact = service.get_or_create_contact("+" + PHONE)
    service.grant_single_opt_in(contact, ["transactional"], WEB)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            message = enqueue_template(
                contact,
                "transactional",
                key="order:42:placed",
                template_name="order_confirmation",
                language="en",
                parameters=["Lena", "42", "€9.99"],
            )
    message.refresh_from_db()
    assert message.status == "delivered" and message.wamid
    sent = SimMessage.objects.get(direction="out")
    assert (sent.wamid, sent.callback_data) == (message.wamid, "order:42:placed")
    assert WebhookDelivery.objects.count() == 2
    assert not SimWebhook.objects.filter(delivered_at__isnull=True).exists()


@SIMULATOR
def test_refused_send_is_recorded_on_the_outbox_row(seeded, django_capture_on_commit_callbacks):
    registry()
    SimPhone.objects.create(digits=PHONE, unreachable=True)
    contact = service.get_or_create_contact("+" + PHONE)
    service.grant_single_opt_in(contact, ["transactional"], WEB)
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue_template(
            contact,
            "transactional",
            key="order:43:placed",
            template_name="order_confirmation",
            language="en",
            parameters=["Lena", "43", "€9.99"],
        )
    message.refresh_from_db()
    assert (message.status, message.error_code, message.reason) == ("failed", 131026, "unreachable")
    assert not SimMessage.objects.exists()


def test_owed_webhooks_are_retried_by_the_task(seeded, monkeypatch, posted):
    """A webhook whose delivery never ran (process died before commit) is sent by the periodic task."""
    monkeypatch.setattr(webhooks.transaction, "on_commit", lambda callback: None)
    SimulatorBackend().send(template())
    assert posted == [] and SimWebhook.objects.filter(delivered_at__isnull=True).count() == 2
    assert flush_webhooks() == 2
    assert [s["status"] for s in statuses(posted)] == ["sent", "delivered"]
