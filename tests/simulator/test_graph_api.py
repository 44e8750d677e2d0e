"""The simulated Graph API: Meta's validation rules, error codes, body shapes, paging and webhooks."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone

from wagtail_wa_consent.graph.client import GraphAPIClient
from wagtail_wa_consent.graph.errors import ErrorAction, WhatsAppAPIError
from wagtail_wa_consent.messaging.templates import sync_templates
from wagtail_wa_consent.simulator import core, webhooks
from wagtail_wa_consent.simulator.models import SimMessage, SimPhone, SimTemplate, SimWebhook
from wagtail_wa_consent.webhooks.signature import signature_is_valid

from ..conftest import wa_settings
from .conftest import PHONE, SECRET, buttons, statuses, template, text

pytestmark = pytest.mark.django_db
GRAPH = "/wa-simulator/graph/v25.0"
TOKEN = "graph-test-token"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def _access_token():
    """A known ACCESS_TOKEN, whatever the environment (the sandbox settings may set one)."""
    with wa_settings(ACCESS_TOKEN=TOKEN):
        yield


def accept(payload):
    return core.accept_message(payload, phone_number_id="SIMPHONE")


def assert_meta_error(status, body, *, code, http=400):
    """The exact shape of Meta's error body (CLOUD-API.md 3)."""
    assert status == http
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}
    assert {"message", "type", "code", "error_data", "fbtrace_id"} <= set(error)
    assert error["code"] == code and error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp" and error["error_data"]["details"]
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    parsed = WhatsAppAPIError.from_response(status, body)
    assert parsed.code == code and parsed.http_status == http
    return parsed


def _status_template(name, status):
    SimTemplate.objects.create(
        name=name,
        language="en",
        category="UTILITY",
        status=status,
        components=[{"type": "BODY", "text": "Hi {{1}}"}],
        meta_id=f"id-{name}",
    )
    return template(name, ("x",))


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code", "http"),
    [
        pytest.param({k: v for k, v in template().items() if k != "to"}, 100, 400, id="missing-to"),
        pytest.param(template(to="12"), 100, 400, id="to-too-short"),
        pytest.param(template(to="49 151 abc"), 100, 400, id="to-not-digits"),
        pytest.param({**template(), "messaging_product": "sms"}, 100, 400, id="messaging-product"),
        pytest.param({**template(), "type": "carrier_pigeon"}, 100, 400, id="unknown-type"),
        pytest.param(template(biz_opaque_callback_data="x" * 513), 100, 400, id="callback-too-long"),
        pytest.param(template(name="no_such_template"), 132001, 404, id="unknown-name"),
        pytest.param(template(language="fr"), 132001, 404, id="unknown-language"),
        pytest.param(template(name="paused_template", params=("Monday",)), 132015, 400, id="paused"),
        pytest.param(template(params=("only one",)), 132000, 400, id="too-few-params"),
        pytest.param(template(params=("a", "b", "c", "d")), 132000, 400, id="too-many-params"),
        pytest.param(template(params=()), 132000, 400, id="no-params"),
        pytest.param(template(quick_replies=("A", "B")), 131009, 400, id="quick-reply-without-button"),
        pytest.param(text(), 131047, 400, id="text-never-wrote"),
        pytest.param(buttons("Yes", "No"), 131047, 400, id="interactive-never-wrote"),
        pytest.param(template(to="4915123450000"), 131026, 400, id="number-ending-0000"),
    ],
)
def test_refusals_use_meta_codes_and_body_shape(seeded, payload, code, http):
    status, body = accept(payload)
    assert_meta_error(status, body, code=code, http=http)
    assert not SimMessage.objects.exists() and not SimWebhook.objects.exists()


def test_disabled_and_rejected_templates(seeded):
    assert_meta_error(*accept(_status_template("gone_for_good", "DISABLED")), code=132016)
    assert_meta_error(*accept(_status_template("not_yet", "PENDING")), code=132001)
    assert_meta_error(*accept(_status_template("refused", "REJECTED")), code=132001)


def test_marketing_stopped_in_whatsapp_blocks_marketing_only(seeded, posted):
    SimPhone.objects.create(digits=PHONE, marketing_stopped=True)
    parsed = assert_meta_error(*accept(template("seasonal_promotion", ("Sunday", "SUN", "20%"))), code=131050)
    assert parsed.action == ErrorAction.WITHDRAW_MARKETING
    assert accept(template())[0] == 200  # utility still goes out


def test_unreachable_phone(seeded):
    SimPhone.objects.create(digits=PHONE, unreachable=True)
    assert assert_meta_error(*accept(template()), code=131026).action == ErrorAction.UNREACHABLE


def test_free_form_needs_a_message_from_the_phone_in_the_last_24_hours(seeded, posted):
    phone = SimPhone.objects.create(digits=PHONE, last_inbound_at=timezone.now() - timedelta(hours=25))
    assert assert_meta_error(*accept(text()), code=131047).action == ErrorAction.OUTSIDE_WINDOW
    phone.last_inbound_at = timezone.now() - timedelta(hours=23)
    phone.save()
    status, body = accept(text())
    assert status == 200 and "message_status" not in body["messages"][0]
    assert accept(buttons("Yes", "No"))[0] == 200


@pytest.mark.parametrize(
    "payload",
    [buttons("A title longer than twenty"), buttons("Yes", "Yes"), buttons("1", "2", "3", "4")],
    ids=["title-too-long", "duplicate-title", "four-buttons"],
)
def test_reply_button_limits(seeded, payload):
    SimPhone.objects.create(digits=PHONE, last_inbound_at=timezone.now())
    assert_meta_error(*accept(payload), code=131009)


# --- success -------------------------------------------------------------------------------------------


def test_accepted_template_answers_exactly_like_meta(seeded, posted):
    status, body = accept(template(to="+" + PHONE))
    assert status == 200
    assert set(body) == {"messaging_product", "contacts", "messages"}
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+" + PHONE, "wa_id": PHONE}]
    [message] = body["messages"]
    assert set(message) == {"id", "message_status"} and message["message_status"] == "accepted"
    assert message["id"].startswith("wamid.")
    stored = SimMessage.objects.get()
    assert (stored.wamid, stored.phone, stored.direction, stored.kind) == (
        message["id"],
        PHONE,
        "out",
        "template",
    )


def test_status_webhooks_are_signed_meta_shaped_and_carry_the_callback(
    seeded, posted, django_capture_on_commit_callbacks
):
    with wa_settings(APP_SECRET=SECRET), django_capture_on_commit_callbacks(execute=True):
        _, body = accept(template(biz_opaque_callback_data="order:7:placed"))
    wamid = body["messages"][0]["id"]
    assert len(posted) == 2
    for webhook in posted:
        assert signature_is_valid(webhook.raw, webhook.signature, SECRET)
        assert not signature_is_valid(webhook.raw, webhook.signature, "another-secret")
        envelope = webhook.body
        assert envelope["object"] == "whatsapp_business_account"
        assert envelope["entry"][0]["id"] == "SIMWABA" and webhook.field == "messages"
        assert webhook.value["metadata"]["phone_number_id"] == "SIMPHONE"
        assert webhook.value["metadata"]["display_phone_number"]
    sent, delivered = statuses(posted)
    assert [sent["status"], delivered["status"]] == ["sent", "delivered"]
    for status in (sent, delivered):
        assert status["id"] == wamid and status["recipient_id"] == PHONE
        assert status["biz_opaque_callback_data"] == "order:7:placed"
        assert status["timestamp"].isdigit()
        assert status["pricing"] == {
            "billable": True,
            "pricing_model": "PMP",
            "category": "utility",
            "type": "regular",
        }
    assert SimWebhook.objects.filter(delivered_at__isnull=False).count() == 2


def test_webhooks_are_owed_until_the_site_accepts_them(
    seeded, monkeypatch, django_capture_on_commit_callbacks
):
    from wagtail_wa_consent.webhooks.ingest import IngestResult

    answers = iter([IngestResult(500, "down"), IngestResult(500, "down")])
    monkeypatch.setattr("wagtail_wa_consent.webhooks.ingest.ingest", lambda raw, sig: next(answers))
    with django_capture_on_commit_callbacks(execute=True):
        accept(template())
    assert SimWebhook.objects.filter(delivered_at__isnull=True).count() == 2
    received = []
    monkeypatch.setattr(
        "wagtail_wa_consent.webhooks.ingest.ingest",
        lambda raw, sig: received.append(raw) or IngestResult(200, "stored"),
    )
    assert webhooks.flush() == 2 and webhooks.flush() == 0
    assert [json.loads(r)["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for r in received] == [
        "sent",
        "delivered",
    ]


@override_settings(WA_SIMULATOR_WEBHOOK_URL="http://shop.test/whatsapp/webhook/")
def test_http_delivery_posts_signed_bytes_from_the_background(
    seeded, monkeypatch, django_capture_on_commit_callbacks
):
    requests, handed_over = [], []
    monkeypatch.setattr(webhooks, "_in_background", handed_over.append)
    monkeypatch.setattr(
        httpx, "post", lambda url, **kw: requests.append((url, kw)) or httpx.Response(200, text="ok")
    )
    with wa_settings(APP_SECRET=SECRET):
        with django_capture_on_commit_callbacks(execute=True):
            accept(template(biz_opaque_callback_data="k"))
            assert handed_over == []  # nothing leaves before the send is committed
        assert requests == [] and len(handed_over) == 2  # handed to the thread: the answer goes first
        for pk in handed_over:
            assert webhooks.deliver_owed(pk)
    for url, kwargs in requests:
        assert url == "http://shop.test/whatsapp/webhook/"
        assert kwargs["headers"]["Content-Type"] == "application/json"
        assert signature_is_valid(kwargs["content"], kwargs["headers"]["X-Hub-Signature-256"], SECRET)
    assert not SimWebhook.objects.filter(delivered_at__isnull=True).exists()


def test_webhook_bytes_escape_like_meta(seeded):
    raw, _signature = webhooks.serialise({"text": "Grüße / ✓"})
    assert raw == b'{"text":"Gr\\u00fc\\u00dfe \\/ \\u2713"}' and json.loads(raw) == {"text": "Grüße / ✓"}


# --- over HTTP ----------------------------------------------------------------------------------------


def test_messages_endpoint(seeded, client, posted):
    response = client.post(
        f"{GRAPH}/SIMPHONE/messages", data=template(), content_type="application/json", **AUTH
    )
    assert response.status_code == 200 and response.json()["messages"][0]["message_status"] == "accepted"
    refused = client.post(
        f"{GRAPH}/SIMPHONE/messages", data=template(name="nope"), content_type="application/json", **AUTH
    )
    assert_meta_error(refused.status_code, refused.json(), code=132001, http=404)
    broken = client.post(f"{GRAPH}/SIMPHONE/messages", data="{", content_type="application/json", **AUTH)
    assert_meta_error(broken.status_code, broken.json(), code=100)


def test_bearer_token_is_required(seeded, client):
    url = f"{GRAPH}/SIMPHONE/messages"
    missing = client.post(url, data=template(), content_type="application/json")
    assert_meta_error(missing.status_code, missing.json(), code=190, http=401)
    assert missing.json()["error"]["type"] == "OAuthException"
    basic = client.post(
        url, data=template(), content_type="application/json", HTTP_AUTHORIZATION="Basic eA=="
    )
    assert basic.status_code == 401
    wrong = client.get(f"{GRAPH}/SIMWABA/message_templates", HTTP_AUTHORIZATION="Bearer not-it")
    assert_meta_error(wrong.status_code, wrong.json(), code=190, http=401)
    assert client.get(f"{GRAPH}/SIMWABA/message_templates", **AUTH).status_code == 200
    with wa_settings(ACCESS_TOKEN=""):  # no token configured: any bearer token will do
        any_token = client.get(f"{GRAPH}/SIMWABA/message_templates", HTTP_AUTHORIZATION="Bearer whatever")
        assert any_token.status_code == 200
    assert client.get(f"{GRAPH}/SIMPHONE?fields=whatsapp_business_manager_messaging_limit").status_code == 401


def test_a_configured_phone_number_id_must_match(seeded, client):
    with wa_settings(PHONE_NUMBER_ID="1234567890"):
        other = client.post(f"{GRAPH}/999/messages", data=template(), content_type="application/json", **AUTH)
        parsed = assert_meta_error(other.status_code, other.json(), code=100)
        assert parsed.subcode == 33


def test_template_list_pages_with_cursors(seeded, client):
    total = SimTemplate.objects.count()
    first = client.get(
        f"{GRAPH}/SIMWABA/message_templates", {"limit": 6, "fields": "name,status"}, **AUTH
    ).json()
    assert len(first["data"]) == 6
    assert set(first["data"][0]) == {"name", "status", "id"}
    cursors = first["paging"]["cursors"]
    assert cursors["before"] and cursors["after"] and "after=" in first["paging"]["next"]
    second = client.get(
        f"{GRAPH}/SIMWABA/message_templates", {"limit": 6, "after": cursors["after"]}, **AUTH
    ).json()
    assert len(second["data"]) == total - 6 and "next" not in second["paging"]
    assert set(second["paging"]["cursors"]) == {"before", "after"}
    ids = [t["id"] for t in first["data"] + second["data"]]
    assert sorted(ids) == sorted(SimTemplate.objects.values_list("meta_id", flat=True))
    assert {"category", "components", "quality_score", "language"} <= set(second["data"][0])
    bad = client.get(f"{GRAPH}/SIMWABA/message_templates", {"after": "not-a-cursor"}, **AUTH)
    assert_meta_error(bad.status_code, bad.json(), code=100)


def test_messaging_limit_tier(seeded, client):
    url = f"{GRAPH}/SIMPHONE"
    query = {"fields": "whatsapp_business_manager_messaging_limit"}
    assert client.get(url, query, **AUTH).json() == {
        "whatsapp_business_manager_messaging_limit": "TIER_2K",
        "id": "SIMPHONE",
    }
    with override_settings(WA_SIMULATOR_TIER="TIER_250"):
        assert (
            client.get(url, query, **AUTH).json()["whatsapp_business_manager_messaging_limit"] == "TIER_250"
        )


@override_settings(WA_SIMULATOR_ENABLED=False, DEBUG=False)
def test_graph_api_is_404_when_switched_off(seeded, client):
    assert (
        client.post(
            f"{GRAPH}/SIMPHONE/messages", data=template(), content_type="application/json", **AUTH
        ).status_code
        == 404
    )
    assert client.get(f"{GRAPH}/SIMWABA/message_templates", **AUTH).status_code == 404
    assert client.get(f"{GRAPH}/SIMPHONE", **AUTH).status_code == 404


@pytest.fixture
def wsgi_transport():
    """The real WSGI app without network; like Django's test client, keep the test's DB connection open."""
    from django.core.wsgi import get_wsgi_application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield httpx.WSGITransport(app=get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_real_graph_client_works_against_the_simulator(
    seeded, posted, wsgi_transport, django_capture_on_commit_callbacks
):
    client = GraphAPIClient(
        base_url="http://testserver/wa-simulator/graph",
        api_version="v25.0",
        access_token=TOKEN,
        phone_number_id="SIMPHONE",
        business_account_id="SIMWABA",
        transport=wsgi_transport,
        sleep=lambda seconds: None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.send_message(template())
    assert sent.message_id.startswith("wamid.SIM") and sent.message_status == "accepted"
    with pytest.raises(WhatsAppAPIError) as info:
        client.send_message(template(name="nope"))
    assert info.value.code == 132001 and info.value.action == ErrorAction.TEMPLATE_UNUSABLE
    assert len(list(client.list_templates(limit=4))) == SimTemplate.objects.count()  # three pages
    assert client.get_messaging_limit() == "TIER_2K"
    assert sync_templates(client) == SimTemplate.objects.count()
