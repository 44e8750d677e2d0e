"""The Cloud API backend: returns the wamid, shares one client per process, lets errors through."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import httpx
import pytest
from django.test import override_settings

from wagtail_wa_consent.graph.client import GraphAPIClient
from wagtail_wa_consent.graph.errors import ErrorAction, WhatsAppAPIError
from wagtail_wa_consent.messaging.backends import cloud_api, get_backend
from wagtail_wa_consent.messaging.backends.cloud_api import (
    CloudAPIBackend,
    reset_shared_client,
    shared_client,
)

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
OK = {"messaging_product": "whatsapp", "contacts": [{"wa_id": "16505551234"}], "messages": [{"id": WAMID}]}
PAYLOAD = {"to": "16505551234", "type": "template", "template": {"name": "t", "language": {"code": "en"}}}
SETTINGS = {
    "BUSINESS_NAME": "Test Shop GmbH",
    "BACKEND": "wagtail_wa_consent.messaging.backends.cloud_api.CloudAPIBackend",
    "ACCESS_TOKEN": "EAAG-backend-token",
    "PHONE_NUMBER_ID": "PN1",
    "BUSINESS_ACCOUNT_ID": "WABA1",
}


def client_answering(response: httpx.Response, seen: list | None = None) -> GraphAPIClient:
    def handler(request):
        if seen is not None:
            seen.append(request)
        return response

    return GraphAPIClient(
        base_url="https://graph.example",
        api_version="v25.0",
        access_token="EAAG-backend-token",
        phone_number_id="PN1",
        transport=httpx.MockTransport(handler),
        sleep=lambda seconds: None,
    )


@pytest.fixture
def fresh_shared_client():
    reset_shared_client()
    yield
    reset_shared_client()


def test_the_backend_returns_the_wamid():
    assert CloudAPIBackend(client=client_answering(httpx.Response(200, json=OK))).send(PAYLOAD) == WAMID


def test_api_errors_propagate_with_their_action():
    backend = CloudAPIBackend(client=client_answering(httpx.Response(400, json={"error": {"code": 131050}})))
    with pytest.raises(WhatsAppAPIError) as info:
        backend.send(PAYLOAD)
    assert info.value.action == ErrorAction.WITHDRAW_MARKETING
    assert "EAAG-backend-token" not in str(info.value)


def test_get_backend_builds_it_from_settings():
    with override_settings(WAGTAIL_WA_CONSENT=SETTINGS):
        assert isinstance(get_backend(), CloudAPIBackend)


def test_sends_reuse_one_shared_client(fresh_shared_client, monkeypatch):
    seen: list[httpx.Request] = []
    built: list[GraphAPIClient] = []
    real = GraphAPIClient.from_settings

    def from_settings(**overrides):
        built.append(
            real(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json=OK)))
        )
        return built[-1]

    monkeypatch.setattr(GraphAPIClient, "from_settings", staticmethod(from_settings))
    with override_settings(WAGTAIL_WA_CONSENT=SETTINGS):
        assert [get_backend().send(PAYLOAD) for _ in range(3)] == [WAMID] * 3
    assert len(built) == 1 and len(seen) == 3
    assert seen[0].headers["Authorization"] == "Bearer EAAG-backend-token"


def test_the_shared_client_is_created_once_under_concurrency(fresh_shared_client, monkeypatch):
    calls = []
    gate = threading.Barrier(8)

    def slow_from_settings(**overrides):
        calls.append(1)
        time.sleep(0.05)  # widen the window in which a second thread could build one
        return SimpleNamespace(close=lambda: None)

    monkeypatch.setattr(GraphAPIClient, "from_settings", staticmethod(slow_from_settings))
    results = []

    def first_send():
        gate.wait()
        results.append(shared_client())

    threads = [threading.Thread(target=first_send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1


def test_changed_settings_drop_the_shared_client(fresh_shared_client):
    with override_settings(WAGTAIL_WA_CONSENT=SETTINGS):
        first = shared_client()
        assert shared_client() is first
    assert first._http.is_closed and cloud_api._shared is None
    with override_settings(WAGTAIL_WA_CONSENT={**SETTINGS, "PHONE_NUMBER_ID": "PN2"}):
        assert shared_client().phone_number_id == "PN2"


def test_a_forked_child_forgets_the_parent_client(fresh_shared_client):
    with override_settings(WAGTAIL_WA_CONSENT=SETTINGS):
        parent = shared_client()
        cloud_api._forget_in_child()
        assert cloud_api._shared is None and not parent._http.is_closed
        parent.close()
