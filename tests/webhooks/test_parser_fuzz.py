"""Totality of parse_webhook: any JSON value gives a list of events or MalformedWebhook, nothing else."""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.webhooks import events as ev
from wagtail_wa_consent.webhooks.parser import MalformedWebhook, parse_webhook

from . import payloads

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REAL = [body for _name, body in payloads.scenarios()]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["", " ", "messages", "text", "system", "1697043223", "wamid.x", "-1", "1e400", "NaN"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def assert_well_formed(result: object) -> None:
    """A list of events whose fields hold only the types events.py promises."""
    assert isinstance(result, list)
    for event in result:
        assert isinstance(event, ev.Event) and isinstance(event.raw, dict)
        assert isinstance(event.dedupe_key, str) and event.dedupe_key
        for item in dataclasses.fields(event):
            value = getattr(event, item.name)
            if item.name in ("raw", "referral"):
                assert value is None or isinstance(value, dict)
            elif item.name == "errors":
                assert isinstance(value, list) and all(isinstance(e, dict) for e in value)
            elif item.name == "restriction_types":
                assert isinstance(value, tuple) and all(isinstance(v, str) for v in value)
            else:
                assert value is None or isinstance(value, str | datetime | enum.Enum), (item.name, value)
            if isinstance(value, datetime):
                assert value.tzinfo is not None


def parse(value: object) -> None:
    try:
        result = parse_webhook(value)
    except MalformedWebhook:
        return
    assert_well_formed(result)


@FUZZ
@given(json_values)
def test_any_json_value(value):
    parse(value)


@FUZZ
@given(st.lists(json_values, max_size=3), st.sampled_from(["whatsapp_business_account", "page", None]))
def test_any_entries_in_an_envelope(entries, kind):
    parse({"object": kind, "entry": entries})


@FUZZ
@given(
    st.sampled_from(sorted({*payloads.files(), "messages", "user_id_update", "account_alerts"})), json_values
)
def test_any_value_under_any_field(field, value):
    parse(
        payloads.envelope(field, value) if isinstance(value, dict) else payloads.envelope(field, {"x": value})
    )
    parse(
        {"object": "whatsapp_business_account", "entry": [{"id": value, "time": value, "changes": [value]}]}
    )


def _paths(node, prefix=()):
    """Every (container path, key) inside a JSON document."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield (prefix, key)
        yield from _paths(child, (*prefix, key))


def _at(document, path):
    for key in path:
        document = document[key]
    return document


mutations = st.sampled_from(["drop", "replace", "string", "swap", "wrap"])


@FUZZ
@given(st.sampled_from(REAL), st.data())
def test_mutated_real_payloads(body, data):
    """Drop keys, swap value types, put random strings or values anywhere in a real payload."""
    document = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 4))):
        places = list(_paths(document))
        if not places:
            break
        path, key = data.draw(st.sampled_from(places))
        container = _at(document, path)
        old = container[key]
        how = data.draw(mutations)
        if how == "drop":
            del container[key]
        elif how == "replace":
            container[key] = data.draw(json_values)
        elif how == "string":
            container[key] = data.draw(st.text(max_size=30))
        elif how == "swap":  # same content, other JSON type
            container[key] = {"value": old} if not isinstance(old, dict) else list(old.values())
        else:
            container[key] = [old]
    json.dumps(document)  # still a JSON document, as Meta would send
    parse(document)


@FUZZ
@given(st.sampled_from(REAL), st.text(max_size=40), st.text(max_size=40))
def test_random_text_and_payload_in_real_messages(body, text, payload):
    document = copy.deepcopy(body)
    for entry in document["entry"]:
        for change in entry["changes"]:
            for message in change["value"].get("messages", []) if isinstance(change["value"], dict) else []:
                message["text"] = {"body": text}
                message["button"] = {"text": text, "payload": payload}
    parse(document)
