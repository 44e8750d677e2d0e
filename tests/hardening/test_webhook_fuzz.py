"""Fuzzed webhook deliveries through HTTP, storage and processing: never a 500, never half a delivery.

"No partial write", precisely: every signed delivery is either refused with a 4xx and not stored,
or stored and then processed as a whole. Processed means ``processed_at`` is set and ``error`` is
empty or says ``malformed:`` (a body that is no webhook is stored, noted and never retried). A
delivery whose handler failed would keep ``error`` and no ``processed_at``, and then none of its
rows (inbound messages, consent events) may exist: the whole delivery rolled back. Either way
every ledger chain verifies and every cached consent state equals the one the ledger derives.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import wa_settings
from tests.messaging.helpers import (
    WEB,
    button_reply,
    consenting,
    envelope,
    marketing_preference,
    status_update,
    template,
    template_status,
    text_message,
)
from tests.webhooks import payloads
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.models import ConsentEvent, Contact
from wagtail_wa_consent.messaging.models import InboundMessage, WebhookDelivery
from wagtail_wa_consent.messaging.outbox import enqueue_text
from wagtail_wa_consent.webhooks import events as ev
from wagtail_wa_consent.webhooks.keywords import PAYLOAD_STOP_PROMOTIONS, PAYLOAD_YES
from wagtail_wa_consent.webhooks.parser import MalformedWebhook, parse_webhook
from wagtail_wa_consent.webhooks.signature import sign

from ..messaging.helpers import APP_SECRET

pytestmark = pytest.mark.django_db
URL = "/whatsapp/webhook/"
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
#: Senders the deliveries come from: pending, subscribed and unknown numbers (wa_id form).
PENDING = ["4915111111101", "4915111111102"]
SUBSCRIBED = ["4915111111103", "4915111111104"]
SENDERS = [*PENDING, *SUBSCRIBED, "4915111111105", "16505551234", "0", "+49 151", "not a number"]
REAL = [body for _name, body in payloads.scenarios()]
#: The idempotency key of a queued message whose worker died before it recorded the wamid.
CALLBACK = "fuzz-callback"

# --- strategies ---------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "STOP\x00",
    "\ud800",  # a lone surrogate (valid JSON as \ud800, not valid UTF-8)
    "\u202eSTOP",  # right-to-left override
    "\u200fنعم",  # RTL mark + Arabic "yes"
    "\ufeffYES",
    "\uff33\uff34\uff2f\uff30",  # STOP in fullwidth letters
    "🛑" * 50,
    "x" * 70_000,
    "9" * 5_000,  # an int too long for int() in a string
    "1e400",
    "-1",
    "NaN",
    "wamid." + "A" * 300,
]
text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=5),
    max_leaves=20,
)
keywords = st.sampled_from(
    [
        "STOP",
        "stop",
        "Stop promotions",
        "START",
        "HELP",
        "YES",
        "Yes",
        "no",
        "Ja",
        "نعم",
        "hello",
        "STOP please",
    ]
)


def consent_deliveries() -> st.SearchStrategy[dict[str, Any]]:
    """Deliveries that reach the consent handlers: keywords, button payloads, statuses, preferences."""
    sender = st.sampled_from(SENDERS)
    wamid = st.builds(lambda n: f"wamid.FUZZ{n}", st.integers(0, 10**9))
    return st.one_of(
        st.builds(text_message, sender, st.one_of(keywords, text), wamid),
        st.builds(
            button_reply,
            sender,
            st.sampled_from([PAYLOAD_YES, PAYLOAD_STOP_PROMOTIONS, "other", ""]),
            st.one_of(keywords, text),
            wamid,
        ),
        st.builds(
            status_update,
            wamid,
            st.sampled_from(["sent", "delivered", "read", "failed", "bogus"]),
            sender,
            callback=st.sampled_from([None, CALLBACK]),
            error_code=st.sampled_from([None, 131050, 131047, 0]),
        ),
        st.builds(
            lambda phone, value: envelope(
                "user_preferences",
                {"user_preferences": [{"wa_id": phone, "value": value, "category": "marketing_messages"}]},
            ),
            sender,
            st.sampled_from(["stop", "resume", "STOP", ""]),
        ),
    )


def _paths(node: Any, prefix: tuple = ()):
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix, key
        yield from _paths(child, (*prefix, key))


def _at(document: Any, path: tuple) -> Any:
    for key in path:
        document = document[key]
    return document


def mutate(document: Any, data: st.DataObject) -> Any:
    """Drop keys, give values another JSON type, numbers as strings, huge or odd strings, garbage."""
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(0, 4), label="mutations")):
        places = list(_paths(document))
        if not places:
            break
        path, key = data.draw(st.sampled_from(places), label="where")
        container = _at(document, path)
        old = container[key]
        how = data.draw(
            st.sampled_from(["drop", "replace", "text", "as_string", "wrap", "nest"]), label="how"
        )
        if how == "drop":
            del container[key]
        elif how == "replace":
            container[key] = data.draw(json_values, label="value")
        elif how == "text":
            container[key] = data.draw(text, label="text")
        elif how == "as_string":
            container[key] = json.dumps(old) if not isinstance(old, str) else old * 3
        elif how == "wrap":
            container[key] = [old, old]
        else:
            container[key] = {"value": old, "garbage": data.draw(json_values, label="garbage")}
    return document


# --- the invariant ------------------------------------------------------------------------------


@dataclass
class Counts:
    events: int
    inbound: int

    @classmethod
    def now(cls) -> Counts:
        return cls(ConsentEvent.objects.count(), InboundMessage.objects.count())


def post(client: Client, body: bytes, **headers: str):
    return client.post(URL, data=body, content_type="application/json", **headers)


def deliver_and_check(client: Client, capture, document: Any) -> int:
    """POST ``document`` signed, process it, and check the invariant. Returns the status code."""
    body = json.dumps(document).encode()
    before_rows, before = WebhookDelivery.objects.count(), Counts.now()
    with capture(execute=True):
        response = post(client, body, HTTP_X_HUB_SIGNATURE_256=sign(body, APP_SECRET))
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert response.content  # a reason
        assert WebhookDelivery.objects.count() == before_rows, "a refused delivery was stored"
        return 400
    delivery = WebhookDelivery.objects.get(dedupe_key=hashlib.sha256(body).hexdigest())
    failed = delivery.processed_at is None
    if failed:
        # The definition of "no partial write": a failed delivery left no row behind ...
        assert Counts.now() == before, "a failed delivery wrote part of its effects"
    # ... and none fails: a handler crash would be retried by the sweep forever.
    assert not failed, delivery.error
    assert delivery.error == "" or delivery.error.startswith("malformed:"), delivery.error
    if not delivery.error:
        _all_inbound_messages_recorded(document)
    report = verify_ledger()
    assert report.ok, report.broken
    mismatched = {c.pk: state_cache_mismatches(c) for c in Contact.objects.all()}
    assert not any(mismatched.values()), mismatched
    return 200


def _all_inbound_messages_recorded(document: Any) -> None:
    """Every inbound message the delivery holds has its row: all of its events were applied."""
    try:
        events = parse_webhook(document)
    except MalformedWebhook:
        return
    for event in events:
        if isinstance(event, ev.InboundMessage):
            assert InboundMessage.objects.filter(wamid=event.message_id).exists(), event.message_id


@pytest.fixture
def people(db):
    """Two numbers with a pending opt-in, two subscribed, as the handlers meet them in a shop."""
    for phone in PENDING:
        service.request_opt_in(
            service.get_or_create_contact("+" + phone), ["marketing", "transactional"], WEB
        )
    for phone in SUBSCRIBED:
        consenting("+" + phone, "marketing", "transactional")
    contact = service.find_contact("+" + SUBSCRIBED[0])
    enqueue_text(contact, "transactional", "Your parcel is on its way", key=CALLBACK)
    template("order_update", "UTILITY")


@pytest.fixture
def fuzz_client(people) -> Client:
    # A 500 must show up as a status, not as an exception raised into the test.
    with wa_settings(EXTRA_KEYWORDS={"STOP": ["HALT"]}):
        yield Client(raise_request_exception=False)


# --- the fuzzers ---------------------------------------------------------------------------------


@FUZZ
@given(document=st.sampled_from(REAL), data=st.data())
def test_mutated_real_payloads(fuzz_client, django_capture_on_commit_callbacks, document, data):
    deliver_and_check(fuzz_client, django_capture_on_commit_callbacks, mutate(document, data))


@FUZZ
@given(document=consent_deliveries(), data=st.data())
def test_mutated_consent_replies(fuzz_client, django_capture_on_commit_callbacks, document, data):
    deliver_and_check(fuzz_client, django_capture_on_commit_callbacks, mutate(document, data))


@FUZZ
@given(value=json_values)
def test_random_json(fuzz_client, django_capture_on_commit_callbacks, value):
    status = deliver_and_check(fuzz_client, django_capture_on_commit_callbacks, value)
    assert status == 400  # never a whatsapp_business_account envelope


@FUZZ
@given(entries=json_values, extra=st.dictionaries(text, json_values, max_size=3))
def test_random_json_in_an_envelope(fuzz_client, django_capture_on_commit_callbacks, entries, extra):
    document = {**extra, "object": "whatsapp_business_account", "entry": entries}
    assert deliver_and_check(fuzz_client, django_capture_on_commit_callbacks, document) == 200


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_signed_bytes(fuzz_client, django_capture_on_commit_callbacks, raw):
    before = WebhookDelivery.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(fuzz_client, raw, HTTP_X_HUB_SIGNATURE_256=sign(raw, APP_SECRET))
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert WebhookDelivery.objects.count() == before


#: Values that once broke storage on PostgreSQL or SQLite, put into every field of every shape.
STORAGE_BREAKERS = ["\x00", "a\x00b", "\ud800", "x" * 70_000, "wamid." + "A" * 300, "9" * 5_000, "\u202e", ""]


def shapes(n: int) -> list[dict[str, Any]]:
    """One delivery of each kind the handlers store something from; ``n`` keeps wamids fresh."""
    message = text_message(SUBSCRIBED[0], "hello", f"wamid.SHAPE{n}")
    message["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {"id": "wamid.ctx"}
    message["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"] = "US.123"
    return [
        message,
        button_reply(PENDING[0], PAYLOAD_YES, "Yes", f"wamid.SHAPEB{n}"),
        text_message(SUBSCRIBED[1], "STOP", f"wamid.SHAPES{n}"),
        status_update(f"wamid.SHAPEST{n}", "failed", SUBSCRIBED[0], callback=CALLBACK, error_code=131050),
        template_status("order_update", "en", "APPROVED", template_id="id-order_update-en"),
        envelope(
            "template_category_update", {"message_template_name": "order_update", "new_category": "UTILITY"}
        ),
        marketing_preference(SUBSCRIBED[1], "stop"),
        envelope(
            "user_id_update", {"user_id_update": [{"wa_id": SUBSCRIBED[0], "user_id": {"current": "US.9"}}]}
        ),
    ]


def _leaves(document: Any) -> list[tuple[tuple, Any]]:
    return [
        (path, key)
        for path, key in _paths(document)
        if not isinstance(_at(document, (*path, key)), dict | list)
    ]


def test_every_field_survives_values_that_break_storage(fuzz_client, django_capture_on_commit_callbacks):
    """Deterministic cover for what random search finds rarely: NUL, lone surrogates, huge strings."""
    n = 0
    for shape_index in range(len(shapes(0))):
        for where in _leaves(shapes(0)[shape_index]):
            for value in STORAGE_BREAKERS:
                n += 1
                document = shapes(n)[shape_index]
                path, key = where
                _at(document, path)[key] = value
                deliver_and_check(fuzz_client, django_capture_on_commit_callbacks, document)


# --- refusals: signature, content type, size, method --------------------------------------------


def test_each_kind_of_bad_request_gets_a_clear_4xx_and_stores_nothing(fuzz_client):
    body = json.dumps(text_message(SUBSCRIBED[0], "STOP", "wamid.REFUSED")).encode()
    good = sign(body, APP_SECRET)

    def signed(header: str, data: bytes = body):
        return post(fuzz_client, data, HTTP_X_HUB_SIGNATURE_256=header)

    def typed(data: bytes, content_type: str):
        return fuzz_client.post(
            URL, data=data, content_type=content_type, HTTP_X_HUB_SIGNATURE_256=sign(data, APP_SECRET)
        )

    cases = {
        "missing signature": (post(fuzz_client, body), 401, b"missing"),
        "empty signature": (signed(""), 401, b"missing"),
        "wrong secret": (signed(sign(body, "other")), 403, b"invalid"),
        "no prefix": (signed(good[7:]), 403, b"invalid"),
        "sha1 header": (signed("sha1=" + "0" * 40), 403, b"invalid"),
        "non-ASCII header": (signed("sha256=" + "\u00fc" * 64), 403, b"invalid"),
        "signed other bytes": (signed(good, body + b"\n"), 403, b"invalid"),
        "form-encoded": (typed(b"a=1", "application/x-www-form-urlencoded"), 400, b"not valid JSON"),
        "multipart": (fuzz_client.post(URL, data={"a": "1"}, HTTP_X_HUB_SIGNATURE_256=good), 403, b"invalid"),
        "text/plain, not JSON": (typed(b"STOP", "text/plain"), 400, b"not valid JSON"),
        "GET without handshake": (fuzz_client.get(URL), 403, b"verification failed"),
        "PUT": (fuzz_client.put(URL, data=body, HTTP_X_HUB_SIGNATURE_256=good), 405, b""),
    }
    for name, (response, status, reason) in cases.items():
        assert response.status_code == status, name
        assert reason in response.content, name
    assert not WebhookDelivery.objects.exists()


def test_a_signed_json_body_is_accepted_whatever_its_content_type(
    fuzz_client, django_capture_on_commit_callbacks
):
    """The signature covers the bytes, not the headers: a proxy that rewrites Content-Type must not
    lose Meta's deliveries (documented in docs/security.rst)."""
    body = json.dumps(text_message(SUBSCRIBED[0], "hello", "wamid.CTYPE")).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = fuzz_client.post(
            URL, data=body, content_type="text/plain", HTTP_X_HUB_SIGNATURE_256=sign(body, APP_SECRET)
        )
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().processed_at is not None


def test_an_oversized_body_is_refused_with_400_and_not_stored(fuzz_client):
    document = text_message(SUBSCRIBED[0], "x" * 70_000, "wamid.HUGE")
    body = json.dumps(document).encode()
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64 * 1024):  # Django's limit on request.body
        response = post(fuzz_client, body, HTTP_X_HUB_SIGNATURE_256=sign(body, APP_SECRET))
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()
