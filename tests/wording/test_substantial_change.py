"""Substantial wording changes: editors flag them when publishing, consents given to an older
text are found, and those people can be asked to confirm the current text; minor edits do nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from tests.conftest import wa_settings
from tests.messaging.helpers import template
from tests.storefront import UNKNOWN, build_shop, edit_block, post_opt_in
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.enums import EventType, Status
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentState, WordingSupersession
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.storefront.wording_changes import affected_states, request_reconfirmations

pytestmark = pytest.mark.django_db

OTHER = "+4915223456781"


@pytest.fixture(autouse=True)
def _fast():
    with wa_settings(OPT_IN_MIN_RESPONSE_SECONDS=0):
        yield


@pytest.fixture
def shop(db):
    template("opt_in_confirmation", params=2)
    return build_shop(intro="We send you offers on WhatsApp.")


def subscribe(client: Client, shop, phone: str = UNKNOWN):
    """A shopper opts in through the block and taps Yes."""
    assert post_opt_in(client, shop, phone=phone).status_code == 303
    contact = service.find_contact(phone)
    service.confirm(
        contact, Evidence(source="whatsapp", user_action="tapped Yes", message_id=f"wamid.{phone}")
    )
    return contact


def test_web_opt_in_names_its_block(shop, client):
    contact = subscribe(client, shop)
    request = contact.consent_events.get(event_type=EventType.REQUESTED)
    assert request.reference == f"block:{shop.page.pk}:{shop.block_id}"


def test_minor_edit_records_nothing(shop, client):
    subscribe(client, shop)
    edit_block(shop.page, intro="We send you offers on WhatsApp!")  # flag unticked
    assert not WordingSupersession.objects.exists()


def test_flag_left_on_an_unchanged_text_records_nothing(shop, client):
    subscribe(client, shop)
    page = edit_block(shop.page, substantial_change=True)  # text unchanged, flag ticked
    assert not WordingSupersession.objects.exists()
    edit_block(page, heading="")  # still the same text
    assert not WordingSupersession.objects.exists()


def test_substantial_change_supersedes_the_old_wording(shop, client, admin_user):
    contact = subscribe(client, shop)
    old_wording = contact.consent_events.get(event_type=EventType.REQUESTED).wording
    page = shop.page.specific
    child = page.body[0]
    page.body[0] = (
        "whatsapp_opt_in",
        {**dict(child.value), "intro": "We send offers and partner deals.", "substantial_change": True},
        child.id,
    )
    page.save_revision(user=admin_user).publish(user=admin_user)

    supersession = WordingSupersession.objects.get()
    assert supersession.wording == old_wording
    assert supersession.page_id == shop.page.pk and supersession.block_id == shop.block_id
    assert supersession.changed_by == admin_user
    affected = affected_states(WordingSupersession.objects.all())
    assert [(s.contact_id, s.category) for s in affected] == [(contact.pk, "marketing")]


def test_people_who_consented_to_the_new_text_are_not_affected(shop, client):
    subscribe(client, shop)
    edit_block(shop.page, intro="Offers and partner deals.", substantial_change=True)
    newcomer = subscribe(Client(), shop, phone=OTHER)
    affected = {s.contact_id for s in affected_states(WordingSupersession.objects.all())}
    assert newcomer.pk not in affected and len(affected) == 1


def test_reconfirmation_pauses_until_yes_then_resumes(shop, client, admin_user):
    contact = subscribe(client, shop)
    edit_block(shop.page, intro="Offers and partner deals.", substantial_change=True)
    supersession = WordingSupersession.objects.get()
    OutboundMessage.objects.all().delete()

    assert request_reconfirmations([supersession.pk], admin_user.pk) == 1

    event = contact.consent_events.order_by("-sequence").first()
    assert event.event_type == EventType.RECONFIRM_REQUESTED
    assert "Offers and partner deals." in event.wording.text  # the new text, as evidence
    assert event.actor == f"admin:{admin_user.pk}"
    assert ConsentState.objects.get(contact=contact, category="marketing").status == Status.PENDING
    assert not can_send(contact, "marketing")
    question = OutboundMessage.objects.get(contact=contact)
    assert question.template_name == "opt_in_confirmation"
    supersession.refresh_from_db()
    assert supersession.reconfirm_requested_at is not None
    # Asking twice changes nothing: the consent is pending now, not standing on the old text.
    assert request_reconfirmations([supersession.pk], admin_user.pk) == 0

    service.confirm(contact, Evidence(source="whatsapp", user_action="tapped Yes", message_id="wamid.re"))
    assert can_send(contact, "marketing")
    assert not affected_states(WordingSupersession.objects.all()).exists()
    assert verify_ledger().ok and not state_cache_mismatches(contact)


def test_unanswered_reconfirmation_expires(shop, client, admin_user):
    from datetime import timedelta

    from django.utils import timezone

    contact = subscribe(client, shop)
    edit_block(shop.page, intro="Offers and partner deals.", substantial_change=True)
    request_reconfirmations([WordingSupersession.objects.get().pk], admin_user.pk)
    assert service.expire_overdue(timezone.now() + timedelta(days=8)) == 1
    assert ConsentState.objects.get(contact=contact, category="marketing").status == Status.EXPIRED
    assert verify_ledger().ok


def test_reconfirm_request_only_from_subscribed():
    contact = service.get_or_create_contact(UNKNOWN)
    evidence = Evidence(source="admin", actor="admin:1", wording="New text", language="en")
    assert service.request_reconfirmation(contact, ["marketing"], evidence) == []
    assert not ConsentEvent.objects.exists()


# --- Admin screens ---------------------------------------------------------------------------


def editor(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("editor", password="pw")
    group = Group.objects.create(name="wa editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in codenames:
        group.permissions.add(Permission.objects.get(codename=codename, content_type__app_label="wa_consent"))
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def test_admin_list_and_send(shop, client, django_user_model):
    subscribe(client, shop)
    edit_block(shop.page, intro="Offers and partner deals.", substantial_change=True)
    supersession = WordingSupersession.objects.get()
    staff = editor(django_user_model, "request_reconfirmation")

    listing = staff.get(reverse("wa_consent_admin:wording_changes"))
    assert listing.status_code == 200
    assert "We send you offers on WhatsApp." in listing.content.decode()
    confirm_url = reverse("wa_consent_admin:wording_reconfirm", args=[supersession.pk])
    page = staff.get(confirm_url)
    assert "Offers and partner deals." in page.content.decode()
    OutboundMessage.objects.all().delete()
    response = staff.post(confirm_url)
    assert response.status_code == 302
    assert OutboundMessage.objects.count() == 1
    assert ConsentState.objects.get(category="marketing").status == Status.PENDING


def test_admin_screens_need_the_permission(shop, django_user_model):
    staff = editor(django_user_model, "view_ledger")
    assert staff.get(reverse("wa_consent_admin:wording_changes")).status_code in (302, 403)
    assert staff.post(reverse("wa_consent_admin:wording_reconfirm", args=[1])).status_code in (302, 403)
    assert not OutboundMessage.objects.exists()
