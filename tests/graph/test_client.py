"""The Graph API client: request shape, bounded retries, paging, settings, no secrets in logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from django.test import override_settings

from wagtail_wa_consent import __version__
from wagtail_wa_consent.exceptions import WaConsentConfigurationError
from wagtail_wa_consent.graph.client import (
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    TEMPLATE_FIELDS,
    GraphAPIClient,
    SentMessage,
)
from wagtail_wa_consent.graph.errors import ErrorAction, TransportFailure, WhatsAppAPIError

TOKEN = "EAAG-secret-token-for-tests"
RECIPIENT = "16505551234"
#: CLOUD-API.md section 2.1, response example.
OK = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
    "messages": [
        {"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA", "message_status": "accepted"}
    ],
}
PAYLOAD = {"to": RECIPIENT, "type": "text", "text": {"preview_url": False, "body": "Your order shipped"}}


def meta_error(code: int, status: int = 400, **headers: str) -> httpx.Response:
    error = {
        "message": f"(#{code}) Something about +{RECIPIENT}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": f"recipient {RECIPIENT}"},
        "fbtrace_id": "AbC",
    }
    return httpx.Response(status, json={"error": error}, headers=headers)


class Recorder:
    """A MockTransport handler answering from a script; keeps every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(handler, sleeps=None, **kwargs) -> GraphAPIClient:
    options = {
        "base_url": "https://graph.example",
        "api_version": "v25.0",
        "access_token": TOKEN,
        "phone_number_id": "PN1",
        "business_account_id": "WABA1",
        "transport": httpx.MockTransport(handler),
        "sleep": sleeps.append if sleeps is not None else (lambda seconds: None),
        **kwargs,
    }
    return GraphAPIClient(**options)


def test_request_shape_and_response():
    handler = Recorder(httpx.Response(200, json=OK))
    sent = make(handler).send_message(PAYLOAD)
    (request,) = handler.requests
    assert request.method == "POST"
    assert str(request.url) == "https://graph.example/v25.0/PN1/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == f"wagtail-wa-consent/{__version__}"
    assert json.loads(request.content) == {"messaging_product": "whatsapp", **PAYLOAD}
    assert sent == SentMessage(OK["messages"][0]["id"], "accepted", "16505551234")
    assert "messaging_product" not in PAYLOAD  # the caller's dict is left alone


def test_free_form_answers_have_no_message_status():
    handler = Recorder(httpx.Response(200, json={"messages": [{"id": "wamid.X"}]}))
    assert make(handler).send_message(PAYLOAD) == SentMessage("wamid.X", None, None)


@pytest.mark.parametrize("answer", [{"messages": []}, [1, 2], "not json"])
def test_a_200_without_a_message_id_is_an_error(answer):
    response = (
        httpx.Response(200, text=answer) if isinstance(answer, str) else httpx.Response(200, json=answer)
    )
    with pytest.raises(WhatsAppAPIError) as info:
        make(Recorder(response)).send_message(PAYLOAD)
    assert info.value.action == ErrorAction.FAILED


def test_rate_limit_twice_then_success_is_retried_with_capped_jittered_backoff():
    handler = Recorder(meta_error(130429), meta_error(130429), httpx.Response(200, json=OK))
    sleeps: list[float] = []
    sent = make(handler, sleeps, max_retries=2).send_message(PAYLOAD)
    assert sent.message_id == OK["messages"][0]["id"]
    assert len(handler.requests) == 3
    assert len(sleeps) == 2 and all(0 <= s <= BACKOFF_CAP for s in sleeps)


def test_backoff_never_exceeds_the_cap_however_many_attempts():
    sleeps: list[float] = []
    with pytest.raises(WhatsAppAPIError):
        make(Recorder(meta_error(131016, 500)), sleeps, max_retries=12).send_message(PAYLOAD)
    assert len(sleeps) == 12 and max(sleeps) <= BACKOFF_CAP


def test_permanent_errors_are_raised_after_one_request():
    handler = Recorder(meta_error(131026))
    sleeps: list[float] = []
    with pytest.raises(WhatsAppAPIError) as info:
        make(handler, sleeps).send_message(PAYLOAD)
    assert len(handler.requests) == 1 and not sleeps
    assert info.value.action == ErrorAction.UNREACHABLE and info.value.fbtrace_id == "AbC"


@pytest.mark.parametrize("max_retries", [0, 2])
def test_retries_are_bounded(max_retries):
    handler = Recorder(meta_error(131000, 500))
    with pytest.raises(WhatsAppAPIError) as info:
        make(handler, max_retries=max_retries).send_message(PAYLOAD)
    assert len(handler.requests) == max_retries + 1
    assert info.value.retryable and info.value.code == 131000


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout, httpx.ConnectError])
def test_failures_before_sending_are_retried(exc):
    handler = Recorder(exc("boom"))
    with pytest.raises(TransportFailure) as info:
        make(handler, max_retries=1).send_message(PAYLOAD)
    assert len(handler.requests) == 2 and info.value.retryable and info.value.code is None
    assert not info.value.ambiguous


def test_a_connect_timeout_then_success_returns_the_message():
    handler = Recorder(httpx.ConnectTimeout("slow"), httpx.Response(200, json=OK))
    assert make(handler).send_message(PAYLOAD).message_id.startswith("wamid.")


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_send_that_may_have_arrived_is_never_repeated(exc):
    """Meta may already have the message: resending could deliver it twice."""
    handler = Recorder(exc("no answer"), httpx.Response(200, json=OK))
    with pytest.raises(TransportFailure) as info:
        make(handler, max_retries=2).send_message(PAYLOAD)
    assert len(handler.requests) == 1 and info.value.ambiguous


def test_a_read_timeout_on_a_read_only_call_is_retried():
    handler = Recorder(httpx.ReadTimeout("slow"), httpx.Response(200, json={"data": []}))
    assert list(make(handler).list_templates()) == [] and len(handler.requests) == 2


def test_an_html_502_is_retried_then_raised_as_retry_later():
    handler = Recorder(httpx.Response(502, text="<html><body>Bad Gateway</body></html>"))
    with pytest.raises(WhatsAppAPIError) as info:
        make(handler, max_retries=1).send_message(PAYLOAD)
    assert len(handler.requests) == 2
    assert (info.value.code, info.value.http_status, info.value.action) == (
        None,
        502,
        ErrorAction.RETRY_LATER,
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("86400", RETRY_AFTER_CAP), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None)],
)
def test_retry_after_is_honoured_and_capped(header, expected):
    handler = Recorder(meta_error(130429, **{"Retry-After": header}), httpx.Response(200, json=OK))
    sleeps: list[float] = []
    make(handler, sleeps).send_message(PAYLOAD)
    assert len(sleeps) == 1 and (sleeps[0] == expected or (expected is None and sleeps[0] <= BACKOFF_CAP))


def test_retry_after_does_not_make_a_permanent_error_retryable():
    handler = Recorder(meta_error(131047, **{"Retry-After": "1"}))
    with pytest.raises(WhatsAppAPIError) as info:
        make(handler).send_message(PAYLOAD)
    assert len(handler.requests) == 1 and info.value.action == ErrorAction.OUTSIDE_WINDOW


def test_list_templates_follows_the_after_cursor():
    handler = Recorder(
        httpx.Response(
            200,
            json={
                "data": [{"name": "a"}, {"name": "b"}],
                "paging": {"cursors": {"before": "c0", "after": "c1"}, "next": "https://graph.example/next"},
            },
        ),
        # The last page still has cursors but no "next".
        httpx.Response(
            200, json={"data": [{"name": "c"}], "paging": {"cursors": {"before": "c1", "after": "c2"}}}
        ),
    )
    names = [t["name"] for t in make(handler).list_templates(limit=2)]
    assert names == ["a", "b", "c"]
    first, second = handler.requests
    assert first.url.path == "/v25.0/WABA1/message_templates"
    assert first.url.params["fields"] == ",".join(TEMPLATE_FIELDS) and first.url.params["limit"] == "2"
    assert "after" not in first.url.params and second.url.params["after"] == "c1"


def test_list_templates_takes_fields_and_stops_on_an_empty_answer():
    handler = Recorder(httpx.Response(200, json={}))
    assert list(make(handler).list_templates(fields=["name", "status"])) == []
    assert handler.requests[0].url.params["fields"] == "name,status"


def test_get_messaging_limit_reads_the_portfolio_tier():
    field = "whatsapp_business_manager_messaging_limit"
    handler = Recorder(httpx.Response(200, json={field: "TIER_2K", "id": "PN1"}))
    assert make(handler).get_messaging_limit() == "TIER_2K"
    assert make(Recorder(httpx.Response(200, json={"id": "PN1"}))).get_messaging_limit() is None
    (request,) = handler.requests
    assert (request.method, request.url.path, request.url.params["fields"]) == ("GET", "/v25.0/PN1", field)


@pytest.mark.parametrize(
    ("kwargs", "call", "key"),
    [
        ({"access_token": ""}, lambda c: c.send_message(PAYLOAD), "ACCESS_TOKEN"),
        ({"phone_number_id": ""}, lambda c: c.send_message(PAYLOAD), "PHONE_NUMBER_ID"),
        ({"phone_number_id": ""}, lambda c: c.get_messaging_limit(), "PHONE_NUMBER_ID"),
        ({"business_account_id": ""}, lambda c: list(c.list_templates()), "BUSINESS_ACCOUNT_ID"),
    ],
)
def test_missing_credentials_fail_before_any_request(kwargs, call, key):
    handler = Recorder(httpx.Response(200, json=OK))
    with pytest.raises(WaConsentConfigurationError, match=key):
        call(make(handler, **kwargs))
    assert not handler.requests


def test_logs_and_errors_never_contain_the_token_or_the_number(caplog):
    caplog.set_level(logging.DEBUG, logger="wagtail_wa_consent")
    handler = Recorder(meta_error(131000, 500), httpx.ReadTimeout("slow"), meta_error(131026))
    with pytest.raises(WhatsAppAPIError) as info:
        make(handler, max_retries=2).send_message(PAYLOAD)
    make(Recorder(httpx.Response(200, json=OK))).send_message(PAYLOAD)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) >= 4 and any("fbtrace_id AbC" in m and "PN1/messages" in m for m in messages)
    text = "\n".join(messages) + str(info.value)
    for secret in (TOKEN, RECIPIENT, "Your order shipped"):
        assert secret not in text


def test_context_manager_closes_the_pool():
    with make(Recorder(httpx.Response(200, json=OK))) as client:
        client.send_message(PAYLOAD)
    assert client._http.is_closed


GRAPH_SETTINGS = {
    "BUSINESS_NAME": "Test Shop GmbH",
    "GRAPH_API_URL": "https://graph.example/",
    "GRAPH_API_VERSION": "v24.0",
    "ACCESS_TOKEN": "from-settings",
    "PHONE_NUMBER_ID": "PN-S",
    "BUSINESS_ACCOUNT_ID": "WABA-S",
    "HTTP_TIMEOUT": 3,
    "HTTP_CONNECT_TIMEOUT": 1,
    "HTTP_MAX_RETRIES": 0,
}


def test_from_settings_reads_the_settings_dict():
    handler = Recorder(meta_error(130429))
    with override_settings(WAGTAIL_WA_CONSENT=GRAPH_SETTINGS):
        client = GraphAPIClient.from_settings(transport=httpx.MockTransport(handler))
    with pytest.raises(WhatsAppAPIError):
        client.send_message(PAYLOAD)
    (request,) = handler.requests  # HTTP_MAX_RETRIES 0
    assert str(request.url) == "https://graph.example/v24.0/PN-S/messages"
    assert request.headers["Authorization"] == "Bearer from-settings"
    assert client.business_account_id == "WABA-S"
    assert client._http.timeout == httpx.Timeout(3.0, connect=1.0)


def test_from_settings_falls_back_on_the_environment(monkeypatch):
    monkeypatch.setenv("WA_ACCESS_TOKEN", "from-env")
    monkeypatch.setenv("WA_PHONE_NUMBER_ID", "PN-env")
    monkeypatch.setenv("WA_GRAPH_API_VERSION", "v23.0")
    monkeypatch.delenv("WA_GRAPH_API_URL", raising=False)
    with override_settings(WAGTAIL_WA_CONSENT={"BUSINESS_NAME": "Test Shop GmbH"}):
        client = GraphAPIClient.from_settings(max_retries=5)
    assert client.phone_number_id == "PN-env" and client.max_retries == 5
    assert client._http.headers["Authorization"] == "Bearer from-env"
    assert str(client._http.base_url) == "https://graph.facebook.com/v23.0/"
