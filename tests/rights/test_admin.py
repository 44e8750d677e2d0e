"""The data-request queue in the Wagtail admin: permissions, list and deadline clock, new
requests, downloads and the complete / refuse / extend actions."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import consenting
from tests.wagtail_admin import MASKED, VIEW_LEDGER, VIEW_PHONE, admin_user
from wagtail_wa_consent.consent import service, suppression
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.dates import add_months
from wagtail_wa_consent.rights import requests as rights
from wagtail_wa_consent.rights.models import DataSubjectRequest, NumberChange

pytestmark = pytest.mark.django_db

HANDLE = "wa_consent.handle_datasubjectrequest"
Kind, State, Channel = DataSubjectRequest.Kind, DataSubjectRequest.State, DataSubjectRequest.Channel
NEW_MOBILE = "+4917612345678"


@pytest.fixture
def dpo(client):
    user = admin_user(HANDLE)
    client.force_login(user)
    return user


@pytest.fixture
def erasure(contact):
    consenting(DE_MOBILE, "marketing")
    return rights.open_request(Kind.ERASURE, channel=Channel.ADMIN, contact=contact)


def detail_url(request: DataSubjectRequest, name: str = "detail") -> str:
    return reverse(f"wa_consent_admin:request_{name}", args=[request.pk])


# --- Permissions ----------------------------------------------------------------------------


def test_every_view_needs_the_permission(client, erasure):
    gets = [
        reverse("wa_consent_admin:requests"),
        reverse("wa_consent_admin:requests_results"),
        reverse("wa_consent_admin:request_new"),
        detail_url(erasure),
        detail_url(erasure, "export"),
        detail_url(erasure, "evidence_pack"),
    ]
    posts = {
        detail_url(erasure, "complete"): {"confirm": "True"},
        detail_url(erasure, "refuse"): {"reason": "no"},
        detail_url(erasure, "extend"): {"months": "2", "reason": "busy"},
        reverse("wa_consent_admin:request_new"): {
            "kind": "access",
            "phone": DE_MOBILE,
            "received_on": "2025-01-02",
        },
    }
    client.force_login(admin_user(VIEW_LEDGER, VIEW_PHONE))
    for url in gets:
        response = client.get(url)
        # Wagtail turns PermissionDenied into a redirect to the dashboard with an error message.
        assert response.status_code == 302 and response.url == reverse("wagtailadmin_home"), url
    for url, data in posts.items():
        assert client.post(url, data).status_code == 302, url
    erasure.refresh_from_db()
    assert erasure.state == State.OPEN and DataSubjectRequest.objects.count() == 1
    assert service.find_contact(DE_MOBILE).phone_e164 == DE_MOBILE

    client.force_login(admin_user(HANDLE))
    for url in gets:
        assert client.get(url).status_code == 200, url


def test_menu_item_is_shown_only_with_the_permission(client, dpo):
    home = reverse("wagtailadmin_home")
    assert reverse("wa_consent_admin:requests") in client.get(home).content.decode()
    client.force_login(admin_user(VIEW_LEDGER))
    assert reverse("wa_consent_admin:requests") not in client.get(home).content.decode()


# --- List ------------------------------------------------------------------------------------


def test_list_shows_the_deadline_clock_and_filters(client, dpo, contact):
    late = rights.open_request(
        Kind.ACCESS, channel=Channel.ADMIN, contact=contact, received_at=timezone.now() - timedelta(days=45)
    )
    fresh = rights.open_request(Kind.ERASURE, channel=Channel.ADMIN)
    extended = rights.open_request(Kind.OBJECTION, channel=Channel.ADMIN, contact=contact)
    rights.extend_deadline(extended, months=2, reason="complex")
    done = rights.open_request(Kind.PORTABILITY, channel=Channel.PREFERENCE_CENTRE, contact=contact)
    rights.complete_request(done)

    html = client.get(reverse("wa_consent_admin:requests")).content.decode()
    assert html.count('data-deadline="overdue"') == 1 and re.search(r"overdue by 1[4-7] days", html)
    assert re.search(r"(28|29|30|31) days left", html)  # the fresh one: whole days to the due date
    assert 'class="w-text-critical-200"' in html
    assert html.count('data-deadline="extended"') == 1
    assert "No data held" in html  # the request without a contact
    # Open requests first, the overdue one on top; the done one last.
    order = [html.index(f"#{r.pk} ") for r in (late, fresh, extended, done)]
    assert order == sorted(order)

    def listed(**params):
        page = client.get(reverse("wa_consent_admin:requests_results"), params).content.decode()
        return {r.pk for r in (late, fresh, extended, done) if f"#{r.pk} " in page}

    assert listed(deadline="overdue") == {late.pk}
    assert listed(state="done") == {done.pk}
    assert listed(kind=["erasure", "objection"]) == {fresh.pk, extended.pk}
    assert listed(contact=contact.pk) == {late.pk, extended.pk, done.pk}


# --- New request ----------------------------------------------------------------------------


def test_new_request_for_a_known_number_finds_the_contact(client, dpo, contact):
    response = client.post(
        reverse("wa_consent_admin:request_new"),
        {"kind": "access", "phone": "0151 23456789", "received_on": timezone.localdate().isoformat()},
    )
    request = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response.url == detail_url(request)
    assert (request.contact, request.channel, request.handled_by) == (contact, "admin", dpo)
    assert DE_MOBILE not in request.note


def test_new_request_for_an_unknown_number_keeps_no_number(client, dpo):
    received = timezone.localdate() - timedelta(days=3)
    client.post(
        reverse("wa_consent_admin:request_new"),
        {"kind": "erasure", "phone": NEW_MOBILE, "received_on": received.isoformat(), "note": "by letter"},
    )
    request = DataSubjectRequest.objects.get()
    assert request.contact is None and "No data held for this number." in request.note
    assert NEW_MOBILE not in str(DataSubjectRequest.objects.values().get())
    assert timezone.localtime(request.received_at).date() == received  # the clock runs from receipt
    assert not service.find_contact(NEW_MOBILE)  # no contact invented


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "access", "phone": "12"}, "phone"),
        ({"kind": "access", "phone": ""}, "phone"),
        ({"kind": "rectification", "phone": DE_MOBILE, "new_phone": ""}, "new_phone"),
        ({"kind": "rectification", "phone": DE_MOBILE, "new_phone": "not a number"}, "new_phone"),
        ({"kind": "access", "phone": DE_MOBILE, "received_on": "2999-01-01"}, "received_on"),
    ],
)
def test_new_request_errors_are_shown_at_the_field_and_keep_the_input(client, dpo, data, field):
    posted = {"received_on": timezone.localdate().isoformat(), "note": "keep me", **data}
    response = client.post(reverse("wa_consent_admin:request_new"), posted)
    assert response.status_code == 400 and not DataSubjectRequest.objects.exists()
    assert field in response.context["form"].errors
    assert "keep me" in response.content.decode()  # nothing typed is lost


def test_new_request_from_a_timeline_link_names_the_contact(client, dpo, contact):
    url = reverse("wa_consent_admin:request_new") + f"?contact={contact.pk}"
    assert f'value="{contact.pk}"' in client.get(url).content.decode()
    client.post(
        url, {"kind": "access", "contact": contact.pk, "received_on": timezone.localdate().isoformat()}
    )
    assert DataSubjectRequest.objects.get().contact == contact


def test_timeline_links_to_the_contacts_requests_for_handlers_only(client, contact):
    url = reverse("wa_consent_admin:contact_timeline", args=[contact.pk])
    queue = f"{reverse('wa_consent_admin:requests')}?contact={contact.pk}"
    client.force_login(admin_user(VIEW_LEDGER))
    assert queue not in client.get(url).content.decode()
    client.force_login(admin_user(VIEW_LEDGER, HANDLE))
    assert queue in client.get(url).content.decode()


# --- Detail, downloads ----------------------------------------------------------------------


def test_detail_masks_the_number_without_the_phone_permission(client, erasure):
    client.force_login(admin_user(HANDLE))
    html = client.get(detail_url(erasure)).content.decode()
    assert MASKED in html and DE_MOBILE not in html
    client.force_login(admin_user(HANDLE, VIEW_PHONE))
    assert DE_MOBILE in client.get(detail_url(erasure)).content.decode()


def test_downloads(client, dpo, erasure):
    export = client.get(detail_url(erasure, "export"))
    assert export["Content-Disposition"].startswith("attachment;")
    data = json.loads(export.content)
    assert data["contact"]["phone_number"] == DE_MOBILE and data["data_requests"][0]["kind"] == "erasure"
    pack = client.get(detail_url(erasure, "evidence_pack"))
    assert pack["Content-Disposition"].startswith("attachment;") and b"Chain verified" in pack.content


def test_downloads_of_a_request_without_contact_are_404(client, dpo):
    request = rights.open_request(Kind.ACCESS, channel=Channel.ADMIN)
    assert client.get(detail_url(request, "export")).status_code == 404
    assert client.get(detail_url(request, "evidence_pack")).status_code == 404


# --- Actions --------------------------------------------------------------------------------


def test_erasure_asks_for_confirmation_then_erases(client, dpo, erasure, contact):
    step = client.post(detail_url(erasure, "complete"), {"note": "asked by e-mail"})
    assert step.status_code == 200 and b"Yes, erase" in step.content
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE  # nothing erased before the confirmation

    done = client.post(detail_url(erasure, "complete"), {"confirm": "True", "note": "asked by e-mail"})
    assert done.status_code == 302 and done.url == detail_url(erasure)
    contact.refresh_from_db()
    erasure.refresh_from_db()
    assert contact.phone_e164 is None and contact.erased_at is not None
    assert erasure.state == State.DONE and erasure.handled_by == dpo and "asked by e-mail" in erasure.note
    assert suppression.is_suppressed(DE_MOBILE)
    last = contact.consent_events.order_by("-sequence").first()
    assert (last.source, last.actor) == ("admin", f"admin:{dpo.pk}")
    # Completing again is harmless and says so.
    again = client.post(detail_url(erasure, "complete"), {"confirm": "True"}, follow=True)
    assert b"closed already" in again.content


def test_rectification_from_the_admin(client, dpo, contact):
    request = rights.open_request(
        Kind.RECTIFICATION, channel=Channel.ADMIN, contact=contact, new_phone=NEW_MOBILE
    )
    assert client.post(detail_url(request, "complete")).status_code == 302
    contact.refresh_from_db()
    request.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE and request.state == State.DONE and request.new_phone == ""
    assert NumberChange.objects.get().source == NumberChange.Source.ADMIN


def test_rectification_onto_a_taken_number_shows_why_and_stays_open(client, dpo, contact):
    consenting(NEW_MOBILE, "support")
    request = rights.open_request(
        Kind.RECTIFICATION, channel=Channel.ADMIN, contact=contact, new_phone=NEW_MOBILE
    )
    response = client.post(detail_url(request, "complete"), follow=True)
    assert b"Another contact with its own history holds the new number" in response.content
    request.refresh_from_db()
    assert request.state == State.OPEN


def test_refuse_needs_a_reason(client, dpo, erasure, contact):
    missing = client.post(detail_url(erasure, "refuse"), {"reason": ""})
    assert missing.status_code == 400 and "reason" in missing.context["refuse_form"].errors
    client.post(detail_url(erasure, "refuse"), {"reason": "Identity not confirmed"})
    erasure.refresh_from_db()
    assert erasure.state == State.REFUSED and "Identity not confirmed" in erasure.note
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED


def test_extend_moves_the_deadline_within_the_limit(client, dpo, erasure):
    first_due = erasure.due_at
    assert client.post(detail_url(erasure, "extend"), {"months": "1", "reason": "complex"}).status_code == 302
    erasure.refresh_from_db()
    assert erasure.extended and erasure.due_at == add_months(first_due, 1)
    too_far = client.post(detail_url(erasure, "extend"), {"months": "2", "reason": "more"})
    assert too_far.status_code == 400 and "months" in too_far.context["extend_form"].errors
    assert client.post(detail_url(erasure, "extend"), {"months": "1", "reason": ""}).status_code == 400
    erasure.refresh_from_db()
    assert erasure.due_at == add_months(first_due, 1)
    html = client.get(detail_url(erasure)).content.decode()
    assert 'data-deadline="extended"' in html


def test_actions_need_post_and_the_csrf_token(erasure):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user(HANDLE))
    assert browser.get(detail_url(erasure, "complete")).status_code == 405
    assert browser.post(detail_url(erasure, "complete"), {"confirm": "True"}).status_code == 403
    erasure.refresh_from_db()
    assert erasure.state == State.OPEN
