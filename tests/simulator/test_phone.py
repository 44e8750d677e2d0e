"""The phone pages: what the person sees, and the webhooks their taps and words produce."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.messaging.double_opt_in import request_double_opt_in
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.simulator import core
from wagtail_wa_consent.simulator.models import SimMessage, SimPhone
from wagtail_wa_consent.webhooks.keywords import PAYLOAD_STOP_PROMOTIONS, PAYLOAD_YES

from ..messaging.helpers import WEB
from .conftest import PHONE, SIMULATOR, buttons, inbound, statuses, template
from .test_backend import registry

pytestmark = pytest.mark.django_db
CHAT = f"/wa-simulator/phone/{PHONE}/"
ACT = f"{CHAT}act/"


def send(payload: dict) -> str:
    status, body = core.accept_message(payload, phone_number_id="SIMPHONE")
    assert status == 200, body
    return body["messages"][0]["id"]


def tap(client: Client, wamid: str, index: int = 0):
    return client.post(ACT, {"action": "tap", "message": wamid, "index": str(index)})


def test_list_shows_numbers_with_messages_and_opens_a_chat(seeded, client, posted):
    send(template())
    page = client.get("/wa-simulator/phone/")
    html = page.content.decode()
    assert page.status_code == 200 and f'href="{CHAT}"' in html and '<label for="sim-number">' in html
    opened = client.get("/wa-simulator/phone/", {"number": "+49 151 2345-6789"})
    assert opened.status_code == 302 and opened["Location"] == CHAT
    invalid = client.get("/wa-simulator/phone/", {"number": "call me"})
    assert invalid.status_code == 400 and 'aria-invalid="true"' in invalid.content.decode()
    assert client.get("/wa-simulator/phone/123/").status_code == 404


def test_chat_shows_a_template_with_its_parameters_footer_and_buttons(seeded, client, posted):
    send(template("seasonal_promotion", ("Sunday", "SUN25", "25%")))
    html = client.get(CHAT).content.decode()
    assert "Shop now through Sunday and use code SUN25 to get 25% off of all merchandise." in html
    assert "Not interested? Tap Stop promotions" in html
    assert re.search(r'<form method="post" action="[^"]*act/"', html)
    assert re.search(r'<button type="submit" name="index" value="0">Stop promotions</button>', html)
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<html lang="en" dir="ltr">' in html


def test_chat_honours_right_to_left_languages(seeded, client):
    html = client.get(CHAT, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_opening_the_chat_reads_delivered_messages(
    seeded, client, posted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wamid = send(template(biz_opaque_callback_data="order:9:placed"))
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(CHAT)
    assert "Read" in page.content.decode()
    assert [s["status"] for s in statuses(posted)] == ["sent", "delivered", "read"]
    read = statuses(posted)[-1]
    assert read["id"] == wamid and read["biz_opaque_callback_data"] == "order:9:placed"
    assert SimMessage.objects.get(wamid=wamid).status == "read"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(CHAT)
    assert len(statuses(posted)) == 3  # read once only


def test_tapping_yes_sends_the_dispatchers_payload_with_context(
    seeded, posted, django_capture_on_commit_callbacks
):
    wamid = send(
        template("opt_in_confirmation", ("Shop", "offers"), quick_replies=(PAYLOAD_YES, "WA_CONSENT_NO"))
    )
    browser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = tap(browser, wamid, 0)
    assert response.status_code == 302 and response["Location"] == CHAT  # Post/Redirect/Get
    [message] = inbound(posted)
    assert message["type"] == "button"
    assert message["button"] == {"payload": PAYLOAD_YES, "text": "Yes"}
    assert message["context"]["id"] == wamid and message["from"] == PHONE
    assert posted[-1].value["contacts"][0]["wa_id"] == PHONE
    assert SimPhone.objects.get(digits=PHONE).window_open()  # a tap opens the service window


def test_quick_reply_without_a_payload_sends_the_button_text(
    seeded, client, posted, django_capture_on_commit_callbacks
):
    plain = send(template("seasonal_promotion", ("Sunday", "SUN25", "25%")))
    with_payload = send(
        template("seasonal_promotion", ("Sunday", "SUN25", "25%"), quick_replies=(PAYLOAD_STOP_PROMOTIONS,))
    )
    with django_capture_on_commit_callbacks(execute=True):
        tap(client, plain)
        tap(client, with_payload)
    assert [m["button"] for m in inbound(posted)] == [
        {"payload": "Stop promotions", "text": "Stop promotions"},
        {"payload": PAYLOAD_STOP_PROMOTIONS, "text": "Stop promotions"},
    ]


def test_tapping_an_interactive_reply_button(seeded, client, posted, django_capture_on_commit_callbacks):
    SimPhone.objects.create(digits=PHONE, last_inbound_at=timezone.now())
    wamid = send(buttons("Yes", "No"))
    assert '<button type="submit" name="index" value="1">No</button>' in client.get(CHAT).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        tap(client, wamid, 1)
    [message] = inbound(posted)
    assert message["type"] == "interactive"
    assert message["interactive"] == {"type": "button_reply", "button_reply": {"id": "id-1", "title": "No"}}
    assert message["context"]["id"] == wamid


def test_a_button_that_is_not_in_the_chat_is_refused(seeded, client, posted):
    wamid = send(template())  # no buttons
    assert tap(client, wamid).status_code == 400
    assert tap(client, "wamid.unknown").status_code == 400
    assert client.post(ACT, {"action": "dance"}).status_code == 400


def test_typed_stop_becomes_a_text_webhook_and_opens_the_window(
    seeded, client, posted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ACT, {"action": "text", "text": "STOP"})
    assert response.status_code == 302
    [message] = inbound(posted)
    assert message["type"] == "text" and message["text"] == {"body": "STOP"} and "context" not in message
    assert message["timestamp"].isdigit() and message["id"].startswith("wamid.")
    assert send({"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": "Done"}})
    assert client.post(ACT, {"action": "text", "text": "  "}).status_code == 400


def test_stopping_offers_in_whatsapp_settings(seeded, client, posted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ACT, {"action": "marketing", "value": "stop"})
    [webhook] = posted
    assert webhook.field == "user_preferences"
    [preference] = webhook.value["user_preferences"]
    assert (preference["wa_id"], preference["category"], preference["value"]) == (
        PHONE,
        "marketing_messages",
        "stop",
    )
    assert SimPhone.objects.get(digits=PHONE).marketing_stopped
    _status, body = core.accept_message(
        template("seasonal_promotion", ("a", "b", "c")), phone_number_id="SIMPHONE"
    )
    assert body["error"]["code"] == 131050
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ACT, {"action": "marketing", "value": "resume"})
    assert posted[-1].value["user_preferences"][0]["value"] == "resume"
    assert not SimPhone.objects.get(digits=PHONE).marketing_stopped


def test_unreachable_toggle(seeded, client):
    client.post(ACT, {"action": "toggle_unreachable"})
    assert core.accept_message(template(), phone_number_id="SIMPHONE")[1]["error"]["code"] == 131026
    client.post(ACT, {"action": "toggle_unreachable"})
    assert core.accept_message(template(), phone_number_id="SIMPHONE")[0] == 200


def test_forms_need_the_csrf_token(seeded, posted):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(CHAT)
    assert browser.post(ACT, {"action": "text", "text": "STOP"}).status_code == 403
    token = page.cookies["csrftoken"].value
    ok = browser.post(ACT, {"action": "text", "text": "STOP", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


@override_settings(WA_SIMULATOR_ENABLED=False, DEBUG=False)
def test_pages_are_404_when_switched_off(seeded, client):
    assert client.get("/wa-simulator/phone/").status_code == 404
    assert client.get(CHAT).status_code == 404
    assert client.post(ACT, {"action": "text", "text": "hi"}).status_code == 404
    with override_settings(DEBUG=True):
        assert client.get("/wa-simulator/phone/").status_code == 200


# --- end to end, through the site's real webhook ingest -------------------------------------------------


@SIMULATOR
def test_double_opt_in_confirmed_by_tapping_yes(seeded, django_capture_on_commit_callbacks):
    """Web opt-in -> template on the phone -> tap Yes -> confirmed consent citing the reply's wamid."""
    registry()
    contact = service.get_or_create_contact("+" + PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        _, message = request_double_opt_in(contact, ["marketing"], WEB)
    message.refresh_from_db()
    assert message.status == "delivered"  # the status webhooks have come back
    browser = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        page = browser.get(CHAT)
    assert "Sandbox Shop GmbH" in page.content.decode()
    assert OutboundMessage.objects.get(pk=message.pk).status == "read"
    token = page.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        tapped = browser.post(
            ACT, {"action": "tap", "message": message.wamid, "index": "0", "csrfmiddlewaretoken": token}
        )
    assert tapped.status_code == 302
    assert can_send(contact, "marketing")
    reply = SimMessage.objects.get(direction="in", kind="button")
    assert reply.payload["button"]["payload"] == PAYLOAD_YES
    assert contact.consent_events.get(event_type="confirmed").confirming_message_id == reply.wamid


@SIMULATOR
def test_typed_stop_withdraws_and_is_answered(seeded, client, django_capture_on_commit_callbacks):
    contact = service.get_or_create_contact("+" + PHONE)
    service.request_opt_in(contact, ["marketing"], WEB)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ACT, {"action": "text", "text": "STOP"})
    assert can_send(contact, "marketing").reason == "withdrawn"
    replies = [m.payload["text"]["body"] for m in SimMessage.objects.filter(direction="out", kind="text")]
    assert replies  # the confirmation of the STOP, inside the window the STOP opened
    assert replies[0] in client.get(CHAT).content.decode()
