"""The parser on Meta's real payloads (pywa's captured fixtures), on BSUID-era payloads built from
Meta's documentation, and on broken envelopes. Fuzzing lives in test_parser_fuzz.py."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import UTC, datetime

import pytest

from wagtail_wa_consent.webhooks import events as ev
from wagtail_wa_consent.webhooks.keywords import KeywordIntent
from wagtail_wa_consent.webhooks.parser import MalformedWebhook, parse_webhook

from . import payloads
from .payloads import BSUID, NEW_BSUID, case, envelope, first_message, first_value

LOGGER = "wagtail_wa_consent.webhooks"

MSG, STATUS, UNKNOWN = ev.InboundMessage, ev.StatusUpdate, ev.UnknownUpdate
#: Event types each pywa file must give, per case (default: one event of the file's type).
EXPECTED: dict[str, type | dict[str, list[type]]] = {
    "account_update": ev.AccountUpdate,
    "call_connect": UNKNOWN,
    "call_permission_update": MSG,  # an interactive call_permission_reply is a message
    "call_status": UNKNOWN,  # statuses on the "calls" field are call states, not message statuses
    "call_terminate": UNKNOWN,
    "callback_button": MSG,
    "callback_selection": MSG,
    "deleted_message": UNKNOWN,
    "edited_message": UNKNOWN,
    "flow_completion": MSG,
    "message": MSG,
    "message_status": STATUS,
    "outgoing_message": UNKNOWN,
    "system": {"phone_number_change": [ev.NumberChange], "identity_change": [UNKNOWN]},
    "template_category_update": ev.TemplateCategoryUpdate,
    "template_components_update": UNKNOWN,
    "template_quality_update": ev.TemplateQualityUpdate,
    "template_status_update": ev.TemplateStatusUpdate,
    "user_marketing_preferences": ev.MarketingPreferenceUpdate,
}
ALL = payloads.scenarios()


def one(body, kind=None):
    (event,) = parse_webhook(body)
    assert kind is None or isinstance(event, kind)
    return event


def test_every_payload_file_is_classified():
    assert sorted(EXPECTED) == payloads.files()


def test_fixture_copy_matches_shared_contract():
    """The copy is byte for byte what shared/ held when it was taken (SHA256SUMS, written then), and
    still equals shared/ wherever that directory sits beside the checkout."""
    manifest = dict(
        reversed(line.split("  ", 1))
        for line in (payloads.FIXTURES.parent / "SHA256SUMS").read_text().splitlines()
    )
    copy = {path.name: _sha256(path) for path in payloads.FIXTURES.glob("*.json")}
    assert copy == manifest
    if payloads.SHARED.is_dir():
        assert {path.name: _sha256(path) for path in payloads.SHARED.glob("*.json")} == manifest


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("name", "body"), ALL, ids=[n for n, _ in ALL])
def test_every_real_payload_parses_to_the_expected_events(name, body):
    events = parse_webhook(body)
    file, scenario = name.split(":")
    expected = EXPECTED[file]
    if isinstance(expected, dict):
        expected = expected[scenario]
    else:
        expected = [expected]
    assert [type(e) for e in events] == expected
    for event in events:
        assert isinstance(event.raw, dict) and event.raw
        assert event.waba_id == body["entry"][0]["id"]
        assert isinstance(event.dedupe_key, str) and event.dedupe_key


def test_text_message():
    event = one(case("message", "text"), ev.InboundMessage)
    assert (event.message_id, event.from_phone, event.type) == ("wamid.xyzxyz", "972987654321", "text")
    assert (event.text, event.payload) == ("Body Text", None)
    assert event.from_user_id == BSUID  # from contacts[].user_id: the message has no from_user_id
    assert event.from_parent_user_id == "US.ENT.11815799212886844830"
    assert event.profile_name == "Test Name" and event.username is None
    assert event.timestamp == datetime(2023, 10, 11, 16, 53, 43, tzinfo=UTC)
    assert (event.phone_number_id, event.waba_id) == ("1122334455667", "1234567890987654321")
    assert event.raw == first_message(case("message", "text"))
    assert event.keyword is None and event.referral is None and event.context_message_id is None
    assert event.dedupe_key == "msg:wamid.xyzxyz"


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [
        ("image", "image"),
        ("voice", "audio"),
        ("animated_sticker", "sticker"),
        ("reaction", "reaction"),
        ("chosen_location", "location"),
        ("contacts", "contacts"),  # a shared contact card: must not be read as value.contacts
        ("order", "order"),
        ("unsupported", "unsupported"),
    ],
)
def test_other_message_types_have_no_text_and_no_keyword(scenario, kind):
    event = one(case("message", scenario), ev.InboundMessage)
    assert event.type == kind and event.text is None and event.keyword is None
    assert event.from_user_id == BSUID


def test_reply_context_and_errors():
    assert one(case("message", "reply")).context_message_id == "wamid.xyzxyz=="
    unsupported = one(case("message", "unsupported"))
    assert unsupported.errors[0]["code"] == 131051
    # interactive_message_with_err: no interactive object, the error sits at value level.
    broken = one(case("message", "interactive_message_with_err"))
    assert broken.type == "interactive" and broken.text is None and broken.payload is None
    (error,) = broken.errors
    assert error["code"] == 131000 and error["title"] == "Something went wrong"
    assert error["details"] == "Unsupported webhook payload"
    assert set(error) == {"code", "title", "message", "details"}


def test_quick_reply_button_on_a_template():
    event = one(case("callback_button", "quick_reply"), ev.InboundMessage)
    assert (event.type, event.text, event.payload) == ("button", "title", "callback_data")
    assert event.context_message_id == "wamid.xyzxyz=="
    bare = one(case("callback_button", "quick_reply_without_context"))
    assert bare.context_message_id is None and bare.from_user_id == BSUID  # from message.from_user_id


def test_interactive_button_and_list_replies():
    button = one(case("callback_button", "button"), ev.InboundMessage)
    assert (button.type, button.text, button.payload) == ("interactive", "title", "callback_data")
    for scenario in ("callback", "description"):
        listed = one(case("callback_selection", scenario), ev.InboundMessage)
        assert (listed.type, listed.text, listed.payload) == ("interactive", "title", "callback_data")


def test_flow_and_call_permission_replies_are_messages_without_keywords():
    flow = one(case("flow_completion", "completion"), ev.InboundMessage)
    call = one(case("call_permission_update", "accept"), ev.InboundMessage)
    assert flow.type == call.type == "interactive"
    assert flow.text is flow.payload is flow.keyword is None and call.keyword is None


def test_referral_is_kept_but_is_not_a_keyword():
    event = one(case("message", "referral"), ev.InboundMessage)
    assert event.referral["ctwa_clid"] == "CTWA_CLID" and event.referral["source_id"] == "ADID"
    assert event.text == "BODY" and event.keyword is None


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "played", "failed"])
def test_statuses(status):
    event = one(case("message_status", status), ev.StatusUpdate)
    assert event.status == status and event.message_id == "wamid.xyzxyz"
    assert event.recipient_phone == "972987654321" and event.recipient_user_id == BSUID
    assert event.timestamp.tzinfo is UTC and event.dedupe_key == f"status:wamid.xyzxyz:{status}"
    if status == "failed":
        assert event.error_code == 130472 and event.errors[0]["title"].startswith("User's number")
        assert event.errors[0]["details"].startswith("Failed to send") and event.pricing_category is None
    else:
        assert event.errors == [] and event.pricing_category == "service"


def test_status_tracker_and_group_recipient():
    tracked = one(case("message_status", "with_tracker"), ev.StatusUpdate)
    assert tracked.biz_opaque_callback_data == "some data"
    group = one(case("message_status", "group"), ev.StatusUpdate)
    assert group.recipient_type == "group"
    assert group.recipient_phone == "<GROUP_PARTICIPANT_USER_PHONE_NUMBER>"  # not the group id
    assert group.recipient_user_id == "US.123456"


def test_unknown_and_upper_case_statuses(caplog):
    body = case("message_status", "sent")
    status = first_value(body)["statuses"][0]
    status["status"] = "SENT"
    assert one(body).status is ev.DeliveryStatus.SENT
    status["status"] = "teleported"
    with caplog.at_level(logging.WARNING, LOGGER):
        assert one(body).status is ev.DeliveryStatus.UNKNOWN
    assert "teleported" in caplog.text


def test_a_new_message_type_is_unknown_not_an_error(caplog):
    body = case("message", "text")
    first_message(body)["type"] = "hologram"
    with caplog.at_level(logging.WARNING, LOGGER):
        event = one(body, ev.InboundMessage)
    assert event.type is ev.MessageType.UNKNOWN and event.raw["type"] == "hologram"


def test_template_status_update():
    approved = one(case("template_status_update", "approved"), ev.TemplateStatusUpdate)
    assert (approved.event, approved.template_id) == ("APPROVED", "1689556908129832")  # id: a JSON number
    assert (approved.template_name, approved.language) == ("order_confirmation", "en_US")
    assert (approved.reason, approved.category) == ("NONE", "UTILITY")
    assert approved.entry_time == datetime.fromtimestamp(1751247548, UTC) and approved.phone_number_id is None
    rejected = one(case("template_status_update", "rejected"), ev.TemplateStatusUpdate)
    assert (rejected.event, rejected.reason) == ("REJECTED", "INVALID_FORMAT")
    assert "recommendation" in rejected.raw["rejection_info"]


def test_template_category_and_quality_updates():
    category = one(case("template_category_update", "marketing"), ev.TemplateCategoryUpdate)
    assert category.template_id == "12345678" and category.template_name == "my_message_template"
    assert category.language == "he"
    assert (category.previous_category, category.new_category) == (None, "MARKETING")
    quality = one(case("template_quality_update", "yellow"), ev.TemplateQualityUpdate)
    assert (quality.previous_quality_score, quality.new_quality_score) == ("GREEN", "YELLOW")
    assert quality.template_name == "welcome_template"


def test_template_dedupe_key_follows_entry_time():
    first = one(case("template_status_update", "approved"))
    again = one(case("template_status_update", "approved"))
    later = case("template_status_update", "approved")
    later["entry"][0]["time"] += 3600
    assert first.dedupe_key == again.dedupe_key != one(later).dedupe_key
    assert first.dedupe_key.startswith("TemplateStatusUpdate:")


@pytest.mark.parametrize("value", ["resume", "signup"])
def test_user_marketing_preferences(value):
    event = one(case("user_marketing_preferences", value), ev.MarketingPreferenceUpdate)
    assert (event.value, event.category, event.phone) == (value, "marketing_messages", "16505551234")
    assert event.timestamp == datetime.fromtimestamp(1731705721, UTC)
    # contacts[] names another wa_id (972…) in these fixtures: its BSUID must not be borrowed.
    assert event.user_id is None
    assert event.raw["detail"].startswith("User ")


def test_marketing_stop_with_bsuid_and_no_phone():
    event = one(payloads.marketing_stop_without_phone(), ev.MarketingPreferenceUpdate)
    assert (event.phone, event.user_id, event.value) == (None, BSUID, "stop")


def test_system_number_change():
    change = one(case("system", "phone_number_change"), ev.NumberChange)
    assert change.old_phone == "972987654321" and change.new_phone == "972912345678"
    assert change.message_id == "wamid.xyzxyz=="
    assert change.old_user_id is change.new_user_id is None
    identity = one(case("system", "identity_change"), ev.UnknownUpdate)
    assert identity.field_name == "messages.system.customer_identity_changed"


def test_bsuid_era_number_change_also_reports_the_new_user_id():
    body = case("system", "phone_number_change")
    message = first_message(body)
    message["from_user_id"] = BSUID
    message["system"].update(type="user_changed_user_id", user_id=NEW_BSUID, parent_user_id="US.ENT.2")
    change, user_id = parse_webhook(body)
    assert isinstance(change, ev.NumberChange) and isinstance(user_id, ev.UserIdUpdate)
    assert (change.old_phone, change.new_phone) == ("972987654321", "972912345678")
    assert (change.old_user_id, change.new_user_id) == (BSUID, NEW_BSUID)
    assert user_id.old_user_id == BSUID and user_id.new_user_id == NEW_BSUID
    assert user_id.new_parent_user_id == "US.ENT.2"
    assert change.dedupe_key != user_id.dedupe_key


def test_user_id_update_field():
    event = one(payloads.user_id_update(), ev.UserIdUpdate)
    assert (event.phone, event.old_user_id, event.new_user_id) == ("15557654321", BSUID, NEW_BSUID)
    assert (event.old_parent_user_id, event.new_parent_user_id) == ("US.ENT.1", "US.ENT.2")
    assert event.phone_number_id == "106540352242922" and event.timestamp.year == 2023


def test_username_user_without_a_phone_number():
    event = one(payloads.username_message("STOP"), ev.InboundMessage)
    assert (event.from_phone, event.from_user_id, event.username) == (None, BSUID, "@sheena")
    assert event.keyword is KeywordIntent.STOP


def test_a_contact_of_another_number_lends_no_bsuid():
    body = case("message", "text")
    first_value(body)["contacts"][0]["wa_id"] = "4915123456789"
    event = one(body, ev.InboundMessage)
    assert event.from_phone == "972987654321" and event.from_user_id is None and event.profile_name is None


def test_phone_number_quality_update():
    limits = {"old_limit": "TIER_2K", "current_limit": "TIER_10K"}
    body = payloads.phone_number_quality(
        event="upgrade", max_daily_conversations_per_business="TIER_100K", **limits
    )
    event = one(body, ev.PhoneNumberQualityUpdate)
    assert event.display_phone_number == "15550783881" and event.event == "UPGRADE"
    assert event.old_limit == "TIER_2K" and event.current_limit == "TIER_10K"
    assert event.max_daily_conversations_per_business == event.messaging_limit_tier == "TIER_100K"
    assert one(payloads.phone_number_quality(current_limit="TIER_10K")).messaging_limit_tier == "TIER_10K"


def test_account_updates():
    restriction = one(case("account_update", "account_restriction"), ev.AccountUpdate)
    assert (restriction.event, restriction.field_name) == ("ACCOUNT_RESTRICTION", "account_update")
    kinds = restriction.restriction_types
    assert kinds == ("RESTRICTED_BIZ_INITIATED_MESSAGING", "RESTRICTED_ADD_PHONE_NUMBER_ACTION")
    for name, body in payloads.load("account_update").items():
        event = one(body, ev.AccountUpdate)
        assert event.event == first_value(body)["event"], name
    alert = {"alert_info": {"alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED"}}
    event = one(envelope("account_alerts", alert), ev.AccountUpdate)
    assert event.field_name == "account_alerts"
    assert event.event == "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED"


@pytest.mark.parametrize(
    ("file", "scenario", "field_name"),
    [
        ("call_connect", "user_initiated", "calls"),
        ("call_status", "call_status", "calls"),
        ("outgoing_message", "text", "smb_message_echoes"),
        ("template_components_update", "element", "message_template_components_update"),
        ("deleted_message", "revoke", "messages.revoke"),
        ("edited_message", "image", "messages.edit"),
    ],
)
def test_unknown_fields_and_message_changes_become_unknown_updates(file, scenario, field_name):
    event = one(case(file, scenario), ev.UnknownUpdate)
    assert event.field_name == field_name and event.raw


def test_a_field_invented_tomorrow():
    event = one(envelope("hologram_update", {"anything": [1, {"x": None}]}), ev.UnknownUpdate)
    assert event.field_name == "hologram_update" and event.raw == {"anything": [1, {"x": None}]}
    errors_only = one(envelope("messages", {"errors": [{"code": 131000}]}), ev.UnknownUpdate)
    assert errors_only.field_name == "messages.errors"


def test_keywords_are_recognised_in_messages():
    body = case("message", "text")
    first_message(body)["text"]["body"] = " Stopp! "
    assert one(body).keyword is KeywordIntent.STOP
    button = case("callback_button", "quick_reply")
    first_message(button)["button"] = {"payload": "WA_CONSENT_STOP_PROMOTIONS", "text": "Stop promotions"}
    assert one(button).keyword is KeywordIntent.STOP_PROMOTIONS
    reply = case("callback_button", "button")
    # The payload wins over the title.
    first_message(reply)["interactive"]["button_reply"] = {"id": "WA_CONSENT_YES", "title": "Nein"}
    assert one(reply).keyword is KeywordIntent.YES


def test_extra_keywords_reach_the_matcher():
    body = case("message", "text")
    first_message(body)["text"]["body"] = "HALT"
    assert one(body).keyword is None
    (event,) = parse_webhook(body, extra_keywords={"STOP": ["halt"]})
    assert event.keyword is KeywordIntent.STOP


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        [case("message", "text")],
        "x",
        3,
        {},
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": {"id": "1"}},
    ],
)
def test_not_an_envelope_is_malformed(body):
    with pytest.raises(MalformedWebhook):
        parse_webhook(body)


def test_empty_envelope_is_no_events():
    assert parse_webhook({"object": "whatsapp_business_account", "entry": []}) == []


def test_one_bad_item_does_not_lose_the_others(caplog):
    body = case("message", "text")
    value = first_value(body)
    value["messages"][:0] = [{"id": {"x": 1}}, 7, None, {"type": "text", "text": {"body": "no id"}}]
    value["messages"].append({**value["messages"][-1], "id": "wamid.two", "timestamp": {"bad": 1}})
    value["statuses"] = ["junk", {"id": "wamid.s", "status": 5, "errors": "none"}]
    body["entry"][0]["changes"][:0] = ["garbage", {"field": "messages", "value": []}]
    body["entry"][:0] = [None, {"changes": {}}]
    with caplog.at_level(logging.WARNING, LOGGER):
        events = parse_webhook(body)
    assert [e.message_id for e in events if isinstance(e, ev.InboundMessage)] == ["wamid.xyzxyz", "wamid.two"]
    assert events[1].timestamp is None
    (status,) = [e for e in events if isinstance(e, ev.StatusUpdate)]
    assert status.status is ev.DeliveryStatus.UNKNOWN and status.errors == []
    # Warnings say what was skipped, never who or what they wrote.
    assert caplog.records and "972987654321" not in caplog.text and "no id" not in caplog.text


def test_events_are_frozen():
    event = one(case("message", "text"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.text = "STOP"
