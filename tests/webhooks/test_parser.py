"""The parser on Meta's real payloads (pywa's captured fixtures) and on garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wagtail_wa_consent.webhooks import events as ev
from wagtail_wa_consent.webhooks.keywords import KeywordIntent
from wagtail_wa_consent.webhooks.parser import MalformedWebhook, parse_webhook

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pywa-payloads" / "updates"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


ALL = [
    (f"{p.stem}:{k}", v)
    for p in sorted(FIXTURES.glob("*.json"))
    for k, v in json.loads(p.read_text()).items()
]


@pytest.mark.parametrize(("name", "payload"), ALL, ids=[n for n, _ in ALL])
def test_every_real_payload_parses(name, payload):
    events = parse_webhook(payload)
    assert events and all(isinstance(e, ev.Event) and e.raw for e in events)


def test_text_message():
    (event,) = parse_webhook(load("message")["text"])
    assert isinstance(event, ev.InboundMessage)
    assert (event.message_id, event.from_phone, event.text, event.type) == (
        "wamid.xyzxyz",
        "972987654321",
        "Body Text",
        "text",
    )
    assert event.from_user_id == "US.13491208655302741918"  # BSUID from contacts[].user_id
    assert event.timestamp.year == 2023 and event.phone_number_id == "1122334455667"


def test_quick_reply_button_and_interactive_reply():
    button = next(
        e for e in parse_webhook(load("callback_button")["quick_reply"]) if isinstance(e, ev.InboundMessage)
    )
    assert button.type == "button" and button.payload and button.context_message_id
    selections = [e for payload in load("callback_selection").values() for e in parse_webhook(payload)]
    assert any(e.type == "interactive" and e.payload for e in selections)


def test_referral_is_kept_but_is_not_a_keyword():
    (event,) = parse_webhook(load("message")["referral"])
    assert event.referral and event.referral.get("ctwa_clid") == "CTWA_CLID" and event.keyword is None


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_statuses(status):
    (event,) = parse_webhook(load("message_status")[status])
    assert isinstance(event, ev.StatusUpdate) and event.status == status
    if status == "failed":
        assert event.errors and event.errors[0]["code"]


def test_template_and_preference_updates():
    (approved,) = parse_webhook(load("template_status_update")["approved"])
    assert (approved.event, approved.template_name, approved.language) == (
        "APPROVED",
        "order_confirmation",
        "en_US",
    )
    (category,) = parse_webhook(load("template_category_update")["marketing"])
    assert category.new_category == "MARKETING"
    (quality,) = parse_webhook(load("template_quality_update")["yellow"])
    assert (quality.previous_quality_score, quality.new_quality_score) == ("GREEN", "YELLOW")
    (resume,) = parse_webhook(load("user_marketing_preferences")["resume"])
    assert isinstance(resume, ev.MarketingPreferenceUpdate) and resume.value == "resume"


def test_number_change_and_unknown_fields():
    (change,) = parse_webhook(load("system")["phone_number_change"])
    assert isinstance(change, ev.NumberChange)
    assert (change.old_phone, change.new_phone) == ("972987654321", "972912345678")
    calls = [e for p in load("call_connect").values() for e in parse_webhook(p)]
    assert calls and all(isinstance(e, ev.UnknownUpdate) and e.field_name == "calls" for e in calls)


def test_keywords_are_recognised_in_messages():
    payload = load("message")["text"]
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = " Stopp "
    assert parse_webhook(payload)[0].keyword == KeywordIntent.STOP


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "x",
        3,
        {},
        {"object": "page"},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "nope"},
    ],
)
def test_not_an_envelope_is_malformed(body):
    with pytest.raises(MalformedWebhook):
        parse_webhook(body)


def test_one_bad_item_does_not_lose_the_others():
    good = load("message")["text"]
    changes = good["entry"][0]["changes"]
    changes.insert(0, {"field": "messages", "value": {"messages": [{"id": {"x": 1}}, 7, None]}})
    changes.insert(0, "garbage")
    events = parse_webhook(good)
    assert [e.message_id for e in events if isinstance(e, ev.InboundMessage)] == ["wamid.xyzxyz"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_fuzz_random_json_never_escapes(value):
    try:
        result = parse_webhook(value)
    except MalformedWebhook:
        return
    assert isinstance(result, list)


def _mutate(payload, path, replacement):
    """Replace the value at a random path inside a real payload."""
    node = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = replacement
    return payload


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_real_payloads_never_escape(data):
    _name, payload = data.draw(st.sampled_from(ALL))
    payload = json.loads(json.dumps(payload))
    paths = list(_paths(payload))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            _mutate(payload, path, data.draw(json_values))
        except (KeyError, IndexError, TypeError):
            continue
    try:
        events = parse_webhook(payload)
    except MalformedWebhook:
        return
    assert all(isinstance(e, ev.Event) for e in events)
