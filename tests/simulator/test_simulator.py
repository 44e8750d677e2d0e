"""The simulator validates like Meta, answers in Meta's shapes, and posts signed webhooks back."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client, override_settings

from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.gate import can_send
from wagtail_wa_consent.graph.client import GraphAPIClient
from wagtail_wa_consent.graph.errors import ErrorAction, WhatsAppAPIError
from wagtail_wa_consent.messaging.double_opt_in import request_double_opt_in
from wagtail_wa_consent.messaging.models import OutboundMessage, WebhookDelivery
from wagtail_wa_consent.messaging.templates import sync_templates
from wagtail_wa_consent.simulator import core, webhooks
from wagtail_wa_consent.simulator.models import SimMessage, SimPhone
from wagtail_wa_consent.simulator.seed import ensure_default_templates
from wagtail_wa_consent.webhooks.ingest import IngestResult
from wagtail_wa_consent.webhooks.signature import signature_is_valid

from ..conftest import wa_settings
from ..messaging.helpers import WEB

pytestmark = pytest.mark.django_db
PHONE = "4915123456789"
SIMULATOR = wa_settings(BACKEND="wagtail_wa_consent.simulator.backend.SimulatorBackend")


@pytest.fixture
def seeded(db):
    ensure_default_templates()


def template(name="order_confirmation", params=("Lena", "100001", "€12.00"), language="en"):
    return {
        "messaging_product": "whatsapp",
        "to": PHONE,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}],
        },
    }


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({**template(), "to": "12"}, 100),
        (template(name="nope"), 132001),
        (template(language="fr"), 132001),
        (template(name="paused_template", params=("x",)), 132015),
        (template(params=("only one",)), 132000),
        ({"messaging_product": "whatsapp", "to": PHONE, "type": "text", "text": {"body": "hi"}}, 131047),
        ({**template(), "to": "4915123450000"}, 131026),
    ],
)
def test_validation_errors_in_meta_shape(seeded, payload, code):
    status, body = core.accept_message(payload)
    assert status == 400 and body["error"]["code"] == code
    assert body["error"]["type"] == "OAuthException" and body["error"]["fbtrace_id"]
    assert body["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert WhatsAppAPIError.from_response(status, body).code == code


def test_marketing_stop_in_whatsapp_gives_131050(seeded):
    SimPhone.objects.create(digits=PHONE, marketing_stopped=True)
    status, body = core.accept_message(template("seasonal_promotion", ("Sunday", "X", "20%")))
    assert body["error"]["code"] == 131050
    assert WhatsAppAPIError.from_response(status, body).action == ErrorAction.WITHDRAW_MARKETING


def test_accepted_send_answers_like_meta_and_posts_signed_statuses(
    seeded, django_capture_on_commit_callbacks
):
    payload = {**template(), "biz_opaque_callback_data": "order:1:placed"}
    with django_capture_on_commit_callbacks(execute=True):
        status, body = core.accept_message(payload)
    assert status == 200 and body["messages"][0]["message_status"] == "accepted"
    assert body["contacts"][0]["wa_id"] == PHONE
    deliveries = [json.loads(d.body) for d in WebhookDelivery.objects.order_by("pk")]
    statuses = [d["entry"][0]["changes"][0]["value"]["statuses"][0] for d in deliveries]
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"order:1:placed"}


def test_webhooks_are_signed_with_the_app_secret(monkeypatch, django_capture_on_commit_callbacks):
    captured = {}
    monkeypatch.setattr(
        "wagtail_wa_consent.webhooks.ingest.ingest",
        lambda raw, signature: captured.update(raw=raw, signature=signature) or IngestResult(200, "ok"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.deliver(webhooks.status_body("wamid.X", "read", PHONE))
    assert signature_is_valid(captured["raw"], captured["signature"], "test-app-secret")
    assert not signature_is_valid(captured["raw"], captured["signature"], "another-secret")


@override_settings(WA_SIMULATOR_ENABLED=True)
def test_graph_api_over_http_with_the_real_client(seeded, django_capture_on_commit_callbacks):
    """The Cloud API client talks to the simulator's Graph endpoints (through WSGI, no network)."""
    from django.core.wsgi import get_wsgi_application

    transport = httpx.WSGITransport(app=get_wsgi_application())
    client = GraphAPIClient(
        base_url="http://testserver/wa-simulator/graph",
        api_version="v25.0",
        access_token="t",
        phone_number_id="SIMPHONE",
        business_account_id="SIMWABA",
        transport=transport,
        sleep=lambda s: None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.send_message(template())
    assert sent.message_id.startswith("wamid.SIM") and sent.message_status == "accepted"
    with pytest.raises(WhatsAppAPIError) as info:
        client.send_message(template(name="nope"))
    assert info.value.code == 132001 and not info.value.retryable
    listed = list(
        GraphAPIClient(
            base_url="http://testserver/wa-simulator/graph",
            api_version="v25.0",
            access_token="t",
            phone_number_id="SIMPHONE",
            business_account_id="SIMWABA",
            transport=transport,
        ).list_templates(limit=4)
    )
    assert len(listed) == 9  # three pages of the seeded templates
    assert sync_templates(client) == 9


@override_settings(WA_SIMULATOR_ENABLED=True)
def test_graph_api_needs_a_bearer_token(seeded, client):
    response = client.post(
        "/wa-simulator/graph/v25.0/SIMPHONE/messages", data=template(), content_type="application/json"
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == 190


@override_settings(WA_SIMULATOR_ENABLED=False, DEBUG=False)
def test_switched_off_simulator_is_404(client):
    assert client.get("/wa-simulator/phone/").status_code == 404
    assert client.get("/wa-simulator/graph/v25.0/SIMWABA/message_templates").status_code == 404


@SIMULATOR
@override_settings(WA_SIMULATOR_ENABLED=True)
def test_double_opt_in_through_the_phone_page(seeded, django_capture_on_commit_callbacks):
    """Web opt-in -> template on the phone -> tap Yes -> confirmed consent with the reply's wamid."""
    from wagtail_wa_consent.messaging.templates import upsert_template
    from wagtail_wa_consent.simulator.models import SimTemplate

    for t in SimTemplate.objects.all():  # the registry as wa_sync_templates would fill it
        upsert_template(
            {
                "name": t.name,
                "language": t.language,
                "category": t.category,
                "status": t.status,
                "components": t.components,
                "id": t.meta_id,
            }
        )
    contact = service.get_or_create_contact("+" + PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        _, message = request_double_opt_in(contact, ["marketing"], WEB)
    message.refresh_from_db()
    assert message.status == "delivered"  # the simulator's status webhooks already arrived
    browser = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        page = browser.get(f"/wa-simulator/phone/{PHONE}/")
    assert page.status_code == 200 and "Sandbox Shop GmbH" in page.content.decode()
    assert OutboundMessage.objects.get(pk=message.pk).status == "read"
    assert (
        browser.post(f"/wa-simulator/phone/{PHONE}/act/", {"action": "text", "text": "x"}).status_code == 403
    )
    token = page.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        tapped = browser.post(
            f"/wa-simulator/phone/{PHONE}/act/",
            {
                "action": "button",
                "message": message.wamid,
                "id": "WA_CONSENT_YES",
                "title": "Yes",
                "csrfmiddlewaretoken": token,
            },
        )
    assert tapped.status_code == 302
    assert can_send(contact, "marketing")
    reply = SimMessage.objects.filter(direction="in", kind="button").get()
    confirmed = contact.consent_events.get(event_type="confirmed")
    assert confirmed.confirming_message_id == reply.wamid


@SIMULATOR
@override_settings(WA_SIMULATOR_ENABLED=True)
def test_typed_stop_on_the_phone_withdraws(seeded, django_capture_on_commit_callbacks, client):
    contact = service.get_or_create_contact("+" + PHONE)
    service.request_opt_in(contact, ["marketing"], WEB)
    client.get(f"/wa-simulator/phone/{PHONE}/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/wa-simulator/phone/{PHONE}/act/", {"action": "text", "text": "STOP"})
    assert can_send(contact, "marketing").reason == "withdrawn"
    texts = [m.payload["text"]["body"] for m in SimMessage.objects.filter(direction="out", kind="text")]
    assert texts and "no longer receive" in texts[0]
