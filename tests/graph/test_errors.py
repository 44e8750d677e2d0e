"""Meta's error codes map onto actions by ``code``; errors parse leniently and never leak secrets."""

from __future__ import annotations

import pickle

import pytest

from wagtail_wa_consent.exceptions import WaConsentError
from wagtail_wa_consent.graph.errors import (
    ERROR_ACTIONS,
    ErrorAction,
    TransportFailure,
    WhatsAppAPIError,
    classify,
)

A = ErrorAction
#: The table of the brief, written out again so a change to ERROR_ACTIONS has to be deliberate.
EXPECTED = {
    **dict.fromkeys((130429, 131056, 131000, 131016, 131057, 4, 80007), A.RETRY_LATER),
    131049: A.WAIT_24H,
    131050: A.WITHDRAW_MARKETING,
    131026: A.UNREACHABLE,
    131047: A.OUTSIDE_WINDOW,
    **dict.fromkeys((132000, 132001, 132005, 132007, 132012, 132015, 132016), A.TEMPLATE_UNUSABLE),
    **dict.fromkeys((190, 368, 131031, 131042, 131048, 133010), A.HALT),
}
#: CLOUD-API.md section 3, error response shape.
RATE_LIMIT_BODY = {
    "error": {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because there were too many messages sent from this "
            "phone number in a short period of time",
        },
        "error_subcode": 2494055,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
}


def body(code, **extra):
    return {"error": {"message": f"(#{code}) x", "type": "OAuthException", "code": code, **extra}}


def test_the_table_is_the_documented_one():
    assert ERROR_ACTIONS == EXPECTED


@pytest.mark.parametrize(("code", "action"), sorted(EXPECTED.items()))
def test_every_listed_code_maps_to_its_action(code, action):
    assert classify(code, 400) == action
    assert WhatsAppAPIError.from_response(400, body(code)).action == action


@pytest.mark.parametrize(
    ("code", "status", "action"),
    [
        (999999, 500, A.RETRY_LATER),
        (999999, 503, A.RETRY_LATER),
        (999999, 429, A.RETRY_LATER),
        (999999, 400, A.FAILED),
        (100, 400, A.FAILED),
        (None, 502, A.RETRY_LATER),
        (None, 404, A.FAILED),
        (None, None, A.FAILED),
        (131026, 500, A.UNREACHABLE),  # Meta's code wins over the HTTP status
        (130429, 400, A.RETRY_LATER),  # rate limits come back as 400
    ],
)
def test_unknown_codes_fall_back_on_the_http_status(code, status, action):
    assert classify(code, status) == action


def test_meta_error_shape_is_parsed():
    error = WhatsAppAPIError.from_response(400, RATE_LIMIT_BODY)
    assert (error.code, error.subcode, error.http_status) == (130429, 2494055, 400)
    assert error.title == "(#130429) Rate limit hit"
    assert error.message == "(#130429) Rate limit hit"
    assert error.details.startswith("Message failed to send")
    assert error.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert error.action == A.RETRY_LATER and error.retryable
    assert isinstance(error, WaConsentError)


@pytest.mark.parametrize(
    ("status", "raw", "action"),
    [
        (502, None, A.RETRY_LATER),  # an HTML page from a proxy could not be decoded
        (502, "<html><body>Bad Gateway</body></html>", A.RETRY_LATER),
        (400, {"error": "not a dict"}, A.FAILED),
        (500, {"error": {"code": "junk", "error_data": "junk"}}, A.RETRY_LATER),
        (400, [], A.FAILED),
    ],
)
def test_odd_bodies_still_give_a_classified_error(status, raw, action):
    error = WhatsAppAPIError.from_response(status, raw)
    assert error.code is None and error.action == action and error.http_status == status


def test_string_codes_are_read_as_numbers():
    assert WhatsAppAPIError.from_response(400, body("131050")).action == A.WITHDRAW_MARKETING


def test_str_has_code_title_and_trace_but_no_number_or_token():
    error = WhatsAppAPIError.from_response(
        400,
        body(
            131030,
            message="(#131030) Recipient +16505551234 not in allowed list",
            error_data={"details": "16505551234 token EAAGm0PX4ZCpsBAKZCZBwZDZD-abcdefghijklmnop"},
            fbtrace_id="Trace-1",
        ),
    )
    text = str(error) + repr(error) + " ".join(map(str, error.args))
    assert "131030" in text and "Trace-1" in text and "allowed list" in text
    assert "16505551234" not in text and "EAAG" not in text
    assert error.details.startswith("16505551234")  # kept for logic, never shown


def test_title_falls_back_through_meta_fields():
    assert WhatsAppAPIError.from_response(400, {"error": {"title": "Rate limit hit", "code": 4}}).title == (
        "Rate limit hit"
    )
    assert (
        WhatsAppAPIError.from_response(400, {"error": {"type": "OAuthException"}}).title == "OAuthException"
    )


def test_transport_failure_is_retryable_without_a_code():
    error = TransportFailure("ReadTimeout")
    assert isinstance(error, WhatsAppAPIError)
    assert (error.code, error.http_status, error.action, error.retryable) == (None, None, A.RETRY_LATER, True)
    assert "ReadTimeout" in str(error)


@pytest.mark.parametrize(
    "error", [WhatsAppAPIError.from_response(400, RATE_LIMIT_BODY), TransportFailure("ConnectError")]
)
def test_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and copy.__dict__ == error.__dict__ and str(copy) == str(error)
