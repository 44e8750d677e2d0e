"""A contact who withdrew everything loses the number WITHDRAWN_CONTACT_RETENTION_DAYS later,
unless an order of theirs is still open (checked against real Oscar orders)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from tests.conftest import wa_settings
from tests.orders.conftest import PHONE, Order, guest_checkout
from wagtail_wa_consent import retention
from wagtail_wa_consent.consent import service, suppression
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.models import Contact, SuppressionEntry
from wagtail_wa_consent.orders import retention as order_retention
from wagtail_wa_consent.orders.models import OrderSubscription
from wagtail_wa_consent.simulator.seed import copy_to_registry

from .helpers import STOP, WEB, frozen_clock, subscribed, withdrawn

pytestmark = pytest.mark.django_db


@pytest.fixture
def oscar_shop(db) -> None:
    call_command("sandbox_demo_data", verbosity=0)
    copy_to_registry()


def test_withdrawn_contact_is_erased_and_suppressed_after_the_period(clock):
    contact = withdrawn("marketing", "support")
    number = contact.phone_e164
    events = contact.consent_events.count()
    clock.travel(days=89)
    assert retention.apply(clock.now)["withdrawn_contacts"].count == 0
    clock.travel(days=2)

    report = retention.apply(clock.now)

    assert report["withdrawn_contacts"].contact_ids == [contact.pk]
    contact.refresh_from_db()
    assert contact.phone_e164 is None and contact.user_id is None
    # They withdrew: an import must never bring the number back.
    assert suppression.is_suppressed(number)
    assert SuppressionEntry.objects.get().reason == SuppressionEntry.Reason.RETENTION
    # Everything was withdrawn already: the ledger needs no new event, and its proof stays.
    assert contact.consent_events.count() == events
    assert verify_ledger().ok
    assert retention.apply(clock.now).total == 0


def test_one_standing_consent_keeps_the_number(clock):
    contact = subscribed("marketing", "transactional")
    service.withdraw(contact, STOP, ["marketing"])
    clock.travel(days=400)
    with wa_settings(DORMANT_CONSENT_MONTHS=None):
        assert retention.apply(clock.now)["withdrawn_contacts"].count == 0
    assert Contact.objects.get(pk=contact.pk).phone_e164


def test_pending_request_after_a_withdrawal_keeps_the_number(clock):
    contact = withdrawn("marketing")
    clock.travel(days=100)
    service.request_opt_in(contact, ["marketing"], WEB)
    clock.travel(days=2)
    assert retention.apply(clock.now)["withdrawn_contacts"].count == 0


def test_open_checkout_order_keeps_the_number_until_it_is_final(
    client, oscar_shop, django_capture_on_commit_callbacks
):
    order = guest_checkout(client, django_capture_on_commit_callbacks, wa_order_updates="1", wa_phone=PHONE)
    contact = service.find_contact(PHONE)
    assert OrderSubscription.objects.filter(order=order, contact=contact).exists()
    service.withdraw(contact, STOP)

    with frozen_clock() as clock:
        clock.travel(days=91)
        report = retention.apply(clock.now)
        assert report["withdrawn_contacts"].count == 0
        assert report["withdrawn_contacts"].held_contact_ids == [contact.pk]
        assert retention.plan(clock.now)["withdrawn_contacts"].held_contact_ids == [contact.pk]

        order.set_status("Being processed")
        assert retention.apply(clock.now)["withdrawn_contacts"].held_contact_ids == [contact.pk]

        order.set_status("Complete")
        report = retention.apply(clock.now)

    assert report["withdrawn_contacts"].contact_ids == [contact.pk]
    assert Contact.objects.get(pk=contact.pk).phone_e164 is None
    assert suppression.is_suppressed(PHONE)
    assert verify_ledger().ok


def test_order_shipped_to_the_number_counts_without_a_whatsapp_box(
    client, oscar_shop, django_capture_on_commit_callbacks
):
    order = guest_checkout(client, django_capture_on_commit_callbacks)  # no box ticked
    assert not OrderSubscription.objects.exists()
    contact = withdrawn("marketing", phone=PHONE)
    assert order_retention.has_open_order(contact)

    order.set_status("Cancelled")
    assert not order_retention.has_open_order(contact)
    with frozen_clock() as clock:
        clock.travel(days=91)
        assert retention.apply(clock.now)["withdrawn_contacts"].contact_ids == [contact.pk]


def test_order_of_the_contacts_user_counts(client, oscar_shop, django_capture_on_commit_callbacks):
    order = guest_checkout(client, django_capture_on_commit_callbacks)
    user = get_user_model().objects.create_user("lena", "lena@example.com", "pw")
    Order.objects.filter(pk=order.pk).update(user=user)
    other_number = withdrawn("marketing", phone="+4915223456781")
    assert not order_retention.has_open_order(other_number)
    Contact.objects.filter(pk=other_number.pk).update(user=user)
    other_number.refresh_from_db()
    assert order_retention.has_open_order(other_number)


def test_final_statuses_come_from_the_pipeline_or_the_setting():
    assert order_retention.final_order_statuses() == {"Cancelled", "Complete"}
    with override_settings(OSCAR_ORDER_STATUS_PIPELINE={"New": ("Paid",), "Paid": ("Shipped", "Void")}):
        # "Shipped" and "Void" lead nowhere, whether or not they are keys of the pipeline.
        assert order_retention.final_order_statuses() == {"Shipped", "Void"}
    with override_settings(OSCAR_ORDER_STATUS_PIPELINE={}):
        assert order_retention.final_order_statuses() == frozenset()
    with wa_settings(RETENTION_FINAL_ORDER_STATUSES=["Archived"]):
        assert order_retention.final_order_statuses() == {"Archived"}


def test_without_oscars_order_app_nothing_is_open(monkeypatch, db):
    contact = withdrawn("marketing", phone=PHONE)
    real = order_retention.apps.get_model

    def get_model(app_label: str, model_name: str | None = None, **kwargs):
        if app_label == "order":
            raise LookupError("No installed app with label 'order'.")
        return real(app_label, model_name, **kwargs)

    monkeypatch.setattr(order_retention.apps, "get_model", get_model)
    assert order_retention.order_model() is None
    assert order_retention.has_open_order(contact) is False


def test_open_order_check_is_pluggable(clock):
    contact = withdrawn("marketing")
    clock.travel(days=91)
    with wa_settings(RETENTION_OPEN_ORDER_CHECK="tests.retention.helpers.always_open"):
        assert retention.apply(clock.now)["withdrawn_contacts"].held_contact_ids == [contact.pk]
    with wa_settings(RETENTION_OPEN_ORDER_CHECK=None):
        assert retention.apply(clock.now)["withdrawn_contacts"].contact_ids == [contact.pk]
