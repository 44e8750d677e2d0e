"""Self-service in the preference centre: downloads and deletion are recorded as requests, the
evidence pack download, and "My number changed" with its link to the new number."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import consenting
from wagtail_wa_consent.consent import service, suppression
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.models import Contact
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.pages import preference_links as links
from wagtail_wa_consent.rights.models import DataSubjectRequest, NumberChange

pytestmark = pytest.mark.django_db

Kind, State = DataSubjectRequest.Kind, DataSubjectRequest.State
NEW_MOBILE = "+4917612345678"
THIRD_MOBILE = "+4916098765432"
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def url(centre, route: str = "") -> str:
    return centre.url + route


def unlock(client: Client, centre, contact: Contact) -> None:
    response = client.get(url(centre, f"open/{links.token_to_path(links.make_token(contact))}/"))
    assert response.status_code == 302


def link_path(message: OutboundMessage) -> str:
    text = message.parameters[0] if message.parameters else message.content["body"]
    return urlsplit(re.search(r"https?://\S+/", text).group(0)).path


def only_request() -> DataSubjectRequest:
    return DataSubjectRequest.objects.get()


# --- Downloads and deletion are recorded -----------------------------------------------------


def test_json_download_is_recorded_as_a_done_portability_request(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    response = client.post(url(centre, "export/"), {"contact": contact.pk})
    assert response.status_code == 200
    request = only_request()
    assert (request.kind, request.state, request.channel) == ("portability", "done", "preference_centre")
    assert request.contact == contact and request.completed_at is not None


def test_evidence_pack_download(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    page = client.get(centre.url).content.decode()
    assert "Download evidence pack (printable)" in page
    response = client.post(url(centre, "evidence-pack/"), {"contact": contact.pk})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    html = response.content.decode()
    assert "Chain verified" in html and DE_MOBILE in html and "Yes, send me offers" in html
    assert (only_request().kind, only_request().state) == ("access", "done")


def test_evidence_pack_needs_the_link_not_just_an_account(client, centre, django_user_model):
    user = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    contact = service.get_or_create_contact(DE_MOBILE, user=user)
    client.force_login(user)
    assert client.post(url(centre, "evidence-pack/"), {"contact": contact.pk}).status_code == 403
    assert client.get(url(centre, "evidence-pack/")).status_code == 405
    assert not DataSubjectRequest.objects.exists()


def test_deletion_is_recorded_as_a_done_erasure_request(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    client.post(url(centre, "delete/"), {"contact": contact.pk})
    assert not DataSubjectRequest.objects.exists()  # the confirmation step records nothing
    client.post(url(centre, "delete/"), {"contact": contact.pk, "confirm": "True"})
    request = only_request()
    assert (request.kind, request.state, request.channel) == ("erasure", "done", "preference_centre")
    contact.refresh_from_db()
    assert contact.phone_e164 is None and suppression.is_suppressed(DE_MOBILE)
    assert verify_ledger([contact.pk]).ok


# --- "My number changed" -------------------------------------------------------------------


def ask_for_change(client, centre, contact, new_phone, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url(centre, "number/"), {"contact": contact.pk, "new_phone": new_phone})


def test_number_change_to_a_new_number(client, centre, django_capture_on_commit_callbacks):
    contact = consenting(DE_MOBILE, "marketing", "support")
    unlock(client, centre, contact)
    assert "My number changed" in client.get(centre.url).content.decode()

    asked = ask_for_change(client, centre, contact, "0176 12345678", django_capture_on_commit_callbacks)
    assert asked.status_code == 302
    message = OutboundMessage.objects.get(category="consent_notice")
    assert message.contact.phone_e164 == NEW_MOBILE  # the link goes to the NEW number
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE and not DataSubjectRequest.objects.exists()

    phone = Client()  # the person opens it on the phone with the new number
    question = phone.get(link_path(message))
    assert question.status_code == 200 and b"Yes, this is my new number" in question.content
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE  # a GET (or a link preview) changes nothing

    done = phone.post(link_path(message), follow=True)
    assert b"Your number is changed" in done.content
    contact.refresh_from_db()
    assert contact.phone_e164 == NEW_MOBILE
    assert Contact.objects.count() == 1  # the contact that carried the link was merged
    message.refresh_from_db()
    assert message.contact == contact
    request = only_request()
    assert (request.kind, request.state, request.channel) == ("rectification", "done", "preference_centre")
    assert request.new_phone == ""
    change = NumberChange.objects.get()
    assert (change.source, change.request, change.actor) == ("preference_centre", request, "subject")
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED
    assert verify_ledger([contact.pk]).ok
    # The link is used up: the old number it was made for is gone.
    assert phone.post(link_path(message)).status_code == 400


def test_the_answer_does_not_tell_whether_the_new_number_is_known(centre, django_capture_on_commit_callbacks):
    contact = consenting(DE_MOBILE, "marketing")
    consenting(NEW_MOBILE, "support")  # someone else's number, with a history
    answers = []
    for new_phone in (NEW_MOBILE, THIRD_MOBILE):
        browser = Client()
        unlock(browser, centre, contact)
        response = ask_for_change(browser, centre, contact, new_phone, django_capture_on_commit_callbacks)
        page = browser.get(response.url)
        answers.append((response.status_code, response.url, _CSRF.sub(b"", page.content)))
    assert answers[0] == answers[1]
    assert OutboundMessage.objects.filter(category="consent_notice").count() == 2


def test_number_of_another_contact_fails_neutrally_and_opens_a_request(
    client, centre, django_capture_on_commit_callbacks
):
    contact = consenting(DE_MOBILE, "marketing")
    other = consenting(NEW_MOBILE, "support")
    unlock(client, centre, contact)
    ask_for_change(client, centre, contact, NEW_MOBILE, django_capture_on_commit_callbacks)
    message = OutboundMessage.objects.get(category="consent_notice")
    assert message.contact == other  # the holder's number is the new number: it reaches the person

    phone = Client()
    failed = phone.post(link_path(message))
    assert failed.status_code == 200 and b"We could not change your number automatically" in failed.content
    assert b"another contact" not in failed.content.lower()
    phone.post(link_path(message))  # a second try does not open a second request
    request = only_request()
    assert (request.kind, request.state, request.channel) == ("rectification", "open", "preference_centre")
    assert request.contact == contact and request.new_phone == NEW_MOBILE and "in_use" in request.note
    contact.refresh_from_db()
    other.refresh_from_db()
    assert (contact.phone_e164, other.phone_e164) == (DE_MOBILE, NEW_MOBILE)
    assert not NumberChange.objects.exists()


def test_erased_new_number_gets_no_link_but_a_request_for_staff(
    client, centre, django_capture_on_commit_callbacks
):
    from wagtail_wa_consent.consent.erasure import erase_contact
    from wagtail_wa_consent.consent.evidence import Evidence

    erase_contact(service.get_or_create_contact(NEW_MOBILE), Evidence(source="admin", user_action="erased"))
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    response = ask_for_change(client, centre, contact, NEW_MOBILE, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert not OutboundMessage.objects.filter(category="consent_notice").exists()
    request = only_request()
    assert (request.state, request.new_phone, request.contact) == ("open", NEW_MOBILE, contact)


@pytest.mark.parametrize(
    ("new_phone", "error"),
    [("12", b"This phone number is not valid"), (DE_MOBILE, b"This is already your number")],
)
def test_bad_new_number_is_shown_at_the_field(client, centre, new_phone, error):
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    response = client.post(url(centre, "number/"), {"contact": contact.pk, "new_phone": new_phone})
    assert response.status_code == 400 and error in response.content
    html = response.content.decode()
    assert f'id="id_number_{contact.pk}_new_phone_error"' in html and 'aria-invalid="true"' in html
    assert f'value="{new_phone}"' in html  # what was typed is kept
    assert not OutboundMessage.objects.exists() and not DataSubjectRequest.objects.exists()


def test_number_change_needs_an_unlocked_contact_and_post(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    assert (
        client.post(url(centre, "number/"), {"contact": contact.pk, "new_phone": NEW_MOBILE}).status_code
        == 403
    )
    assert client.get(url(centre, "number/")).status_code == 405
    assert not OutboundMessage.objects.exists()


def test_number_change_links_and_centre_links_do_not_open_each_other(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    carrier = service.get_or_create_contact(NEW_MOBILE)
    change_token = links.token_to_path(links.make_number_change_token(contact, carrier))
    centre_token = links.token_to_path(links.make_token(contact))
    assert client.get(url(centre, f"open/{change_token}/")).status_code == 400
    assert client.get(url(centre, f"number/{centre_token}/")).status_code == 400
    assert client.post(url(centre, f"number/{centre_token}/")).status_code == 400
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE and links.SESSION_KEY not in client.session


def test_number_change_requests_are_rate_limited_per_new_number(
    client, centre, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(links, "send_number_change_link", lambda carrier, link, **kw: sent.append(link))
    contact = consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    for _ in range(3):
        response = ask_for_change(client, centre, contact, NEW_MOBILE, django_capture_on_commit_callbacks)
        assert response.status_code == 302
    blocked = ask_for_change(client, centre, contact, NEW_MOBILE, django_capture_on_commit_callbacks)
    assert blocked.status_code == 429 and b"Too many attempts" in blocked.content
    assert len(sent) == 3


def test_every_new_post_needs_the_csrf_token(centre):
    contact = consenting(DE_MOBILE, "marketing")
    browser = Client(enforce_csrf_checks=True)
    unlock(browser, centre, contact)
    carrier = service.get_or_create_contact(NEW_MOBILE)
    change_token = links.token_to_path(links.make_number_change_token(contact, carrier))
    for route, data in {
        "evidence-pack/": {"contact": contact.pk},
        "number/": {"contact": contact.pk, "new_phone": THIRD_MOBILE},
        f"number/{change_token}/": {},
    }.items():
        assert browser.post(url(centre, route), data).status_code == 403, route
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE and not DataSubjectRequest.objects.exists()
