"""The Graph API client: request shape, error classification, bounded retries, no secrets in logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from wagtail_wa_consent.graph.client import BACKOFF_CAP, GraphAPIClient
from wagtail_wa_consent.graph.errors import (
    ERROR_ACTIONS,
    ErrorAction,
    TransportFailure,
    WhatsAppAPIError,
    classify,
)
from wagtail_wa_consent.messaging.backends.cloud_api import CloudAPIBackend

from ..conftest import wa_settings

TOKEN = "EAAG-secret-token"
OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
    "messages": [
        {"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA", "message_status": "accepted"}
    ],
}
PAYLOAD = {"to": "16505551234", "type": "template", "template": {"name": "t", "language": {"code": "en"}}}


def meta_error(code: int, status: int = 400) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "error": {"message": f"(#{code}) x", "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
        },
    )


def make(handler, sleeps=None, **kwargs) -> GraphAPIClient:
    return GraphAPIClient(
        base_url="https://graph.example",
        api_version="v25.0",
        access_token=TOKEN,
        phone_number_id="PN1",
        business_account_id="WABA1",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **kwargs,
    )


@pytest.mark.parametrize(("code", "action"), sorted(ERROR_ACTIONS.items()))
def test_every_listed_code_maps_to_its_action(code, action):
    assert classify(code, 400) == action
    assert WhatsAppAPIError.from_response(400, meta_error(code).json()).action == action


@pytest.mark.parametrize(
    ("code", "status", "action"),
    [
        (999999, 500, ErrorAction.RETRY_LATER),
        (999999, 429, ErrorAction.RETRY_LATER),
        (999999, 400, ErrorAction.FAILED),
        (None, 502, ErrorAction.RETRY_LATER),
        (131026, 500, ErrorAction.UNREACHABLE),  # Meta's code wins over the HTTP status
    ],
)
def test_unknown_codes_fall_back_on_http_status(code, status, action):
    assert classify(code, status) == action


def test_request_shape_and_response():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    sent = make(handler).send_message(PAYLOAD)
    (request,) = seen
    assert str(request.url) == "https://graph.example/v25.0/PN1/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("wagtail-wa-consent/")
    assert json.loads(request.content)["messaging_product"] == "whatsapp"
    assert (sent.message_id, sent.message_status, sent.wa_id) == (
        OK["messages"][0]["id"],
        "accepted",
        "16505551234",
    )


def test_retryable_errors_are_retried_with_bounded_jittered_backoff():
    answers = [meta_error(130429, 429), meta_error(131056), httpx.Response(200, json=OK)]
    sleeps: list[float] = []
    calls = []

    def handler(request):
        calls.append(request)
        return answers.pop(0)

    assert make(handler, sleeps, max_retries=2).send_message(PAYLOAD).message_id
    assert len(calls) == 3 and len(sleeps) == 2 and all(0 <= s <= BACKOFF_CAP for s in sleeps)


def test_permanent_errors_are_not_retried():
    calls = []
    with pytest.raises(WhatsAppAPIError) as info:
        make(lambda r: calls.append(r) or meta_error(131026)).send_message(PAYLOAD)
    assert len(calls) == 1 and info.value.action == ErrorAction.UNREACHABLE
    assert info.value.fbtrace_id == "AbC"


def test_retries_are_bounded():
    calls = []
    with pytest.raises(WhatsAppAPIError) as info:
        make(lambda r: calls.append(r) or meta_error(131000, 500), max_retries=2).send_message(PAYLOAD)
    assert len(calls) == 3 and info.value.retryable


def test_timeouts_become_retryable_transport_failures():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(TransportFailure) as info:
        make(handler, max_retries=1).send_message(PAYLOAD)
    assert len(calls) == 2 and info.value.retryable


def test_retry_after_is_honoured():
    answers = [
        httpx.Response(503, headers={"Retry-After": "3"}, text="<html>busy</html>"),
        httpx.Response(200, json=OK),
    ]
    sleeps: list[float] = []
    make(lambda r: answers.pop(0), sleeps).send_message(PAYLOAD)
    assert sleeps == [3.0]


def test_html_error_page_is_classified():
    with pytest.raises(WhatsAppAPIError) as info:
        make(lambda r: httpx.Response(400, text="<html>bad</html>"), max_retries=0).send_message(PAYLOAD)
    assert info.value.code is None and info.value.action == ErrorAction.FAILED


def test_template_list_follows_paging_and_reads_the_tier():
    def handler(request):
        if request.url.path.endswith("/PN1"):
            return httpx.Response(
                200, json={"whatsapp_business_manager_messaging_limit": "TIER_10K", "id": "PN1"}
            )
        if request.url.params.get("after") == "c1":
            return httpx.Response(200, json={"data": [{"name": "b"}], "paging": {"cursors": {"after": "c2"}}})
        return httpx.Response(
            200,
            json={"data": [{"name": "a"}], "paging": {"cursors": {"after": "c1"}, "next": "https://x/next"}},
        )

    client = make(handler)
    assert [t["name"] for t in client.list_templates()] == ["a", "b"]
    assert client.get_messaging_limit() == "TIER_10K"


def test_logs_and_errors_never_contain_the_token_or_number(caplog):
    caplog.set_level(logging.DEBUG, logger="wagtail_wa_consent")
    with pytest.raises(WhatsAppAPIError) as info:
        make(lambda r: meta_error(131000, 500), max_retries=1).send_message(PAYLOAD)
    text = caplog.text + str(info.value)
    assert caplog.records and TOKEN not in text and "16505551234" not in text


def test_cloud_api_backend_returns_the_wamid():
    client = make(lambda r: httpx.Response(200, json=OK))
    assert CloudAPIBackend(client=client).send(PAYLOAD) == OK["messages"][0]["id"]


def test_from_settings_reads_the_environment(monkeypatch):
    monkeypatch.setenv("WA_ACCESS_TOKEN", "from-env")
    monkeypatch.setenv("WA_PHONE_NUMBER_ID", "PN-env")
    monkeypatch.setenv("WA_GRAPH_API_VERSION", "v24.0")
    with wa_settings():
        client = GraphAPIClient.from_settings(
            transport=httpx.MockTransport(lambda r: httpx.Response(200, json=OK))
        )
    assert client.phone_number_id == "PN-env"
    assert client._http.headers["Authorization"] == "Bearer from-env"
    assert str(client._http.base_url).endswith("/v24.0/")
