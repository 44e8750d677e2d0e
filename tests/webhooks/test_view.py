"""The webhook endpoint: handshake, signature, storage, dedupe, and every real payload."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.test import Client

from wagtail_wa_consent.messaging.models import WebhookDelivery
from wagtail_wa_consent.webhooks.signature import sign

from ..messaging.helpers import APP_SECRET, text_message

pytestmark = pytest.mark.django_db
URL = "/whatsapp/webhook/"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pywa-payloads" / "updates"


def post(client: Client, body: bytes, signature: str | None = "auto"):
    headers = {}
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body, APP_SECRET)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(URL, data=body, content_type="application/json", **headers)


def test_verification_handshake(client):
    ok = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "42"}
    )
    assert ok.status_code == 200 and ok.content == b"42"
    bad = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"})
    assert bad.status_code == 403 and b"42" not in bad.content


def test_missing_and_bad_signatures_store_nothing(client):
    body = json.dumps(text_message("4915123456789", "hi", "wamid.1")).encode()
    missing = post(client, body, signature=None)
    assert missing.status_code == 401 and b"missing" in missing.content
    bad = post(client, body, signature="sha256=" + "0" * 64)
    assert bad.status_code == 403 and b"invalid" in bad.content
    other_body = post(client, body + b" ", signature=sign(body, APP_SECRET))
    assert other_body.status_code == 403
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]", b'{"object": "page", "entry": []}'])
def test_bad_bodies_get_400_with_a_reason(client, body):
    response = post(client, body)
    assert response.status_code == 400 and response.content
    assert WebhookDelivery.objects.count() == 0


def test_delivery_is_stored_once_and_processed(client, django_capture_on_commit_callbacks):
    body = json.dumps(text_message("4915123456789", "hello", "wamid.A")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body)
        again = post(client, body)  # Meta retries the same bytes
    assert (first.status_code, again.status_code) == (200, 200)
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None and delivery.error == ""


def test_csrf_does_not_block_meta(django_capture_on_commit_callbacks):
    client = Client(enforce_csrf_checks=True)
    body = json.dumps(text_message("4915123456789", "hello", "wamid.B")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body).status_code == 200


def _payload_cases():
    for path in sorted(FIXTURES.glob("*.json")):
        for scenario, payload in json.loads(path.read_text()).items():
            yield pytest.param(payload, id=f"{path.stem}:{scenario}")


@pytest.mark.parametrize("payload", list(_payload_cases()))
def test_every_real_payload_is_accepted_without_error(client, django_capture_on_commit_callbacks, payload):
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body)
    if isinstance(payload, dict) and payload.get("object") == "whatsapp_business_account":
        assert response.status_code == 200
        delivery = WebhookDelivery.objects.get()
        assert delivery.processed_at is not None
        assert not delivery.error.startswith(("KeyError", "TypeError", "AttributeError", "ValueError"))
    else:
        assert response.status_code == 400


def test_wsgi_fast_path_answers_like_the_view(monkeypatch, django_capture_on_commit_callbacks):
    import httpx
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    from wagtail_wa_consent.webhooks.views import WebhookFastPath

    # The test's own transaction must survive the per-request connection housekeeping.
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    signals.request_finished.disconnect(close_old_connections)
    try:
        client = httpx.Client(
            transport=httpx.WSGITransport(app=WebhookFastPath(get_wsgi_application())),
            base_url="http://testserver",
        )
        body = json.dumps(text_message("4915123456789", "hello", "wamid.FAST")).encode()
        assert client.post(URL, content=body).status_code == 401
        assert client.post(URL, content=body, headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 403
        bad = b"{nope"
        assert (
            client.post(URL, content=bad, headers={"X-Hub-Signature-256": sign(bad, APP_SECRET)}).status_code
            == 400
        )

        # Too large for Django's upload ceiling: refused before the body is read into memory.
        class Unread(io.BytesIO):
            def read(self, *args):
                raise AssertionError("an oversized body must not be read")

        environ_overrides = {"CONTENT_LENGTH": str(10**9), "wsgi.input": Unread()}
        assert WebhookFastPath._handle({**environ_overrides}) == (400, "request body too large")
        assert WebhookFastPath._handle({"CONTENT_LENGTH": "lots"}) == (400, "invalid Content-Length")
        assert WebhookDelivery.objects.count() == 0
        with django_capture_on_commit_callbacks(execute=True):
            ok = client.post(URL, content=body, headers={"X-Hub-Signature-256": sign(body, APP_SECRET)})
        assert ok.status_code == 200 and ok.text == "stored"
        assert WebhookDelivery.objects.get().processed_at is not None
        # Anything else still reaches Django.
        assert (
            client.get(
                URL,
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": "test-verify-token",
                    "hub.challenge": "7",
                },
            ).text
            == "7"
        )
    finally:
        signals.request_finished.connect(close_old_connections)
