"""No phone number or message text in log lines: the filter on its own, and real code paths."""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import phonenumbers
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DE_MOBILE
from tests.messaging.helpers import consenting, text_message
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.erasure import erase_contact
from wagtail_wa_consent.consent.evidence import Evidence
from wagtail_wa_consent.graph.client import GraphAPIClient
from wagtail_wa_consent.graph.errors import WhatsAppAPIError
from wagtail_wa_consent.logging import BODY_MASK, RedactPersonalData, install, redact
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.dispatcher import dispatch
from wagtail_wa_consent.messaging.outbox import enqueue_text
from wagtail_wa_consent.messaging.window import record_inbound

PACKAGE = Path(__file__).resolve().parents[2] / "wagtail_wa_consent"
DIGITS = DE_MOBILE.lstrip("+")
SECRET_TEXT = "Bitte STOP meine Nummer ist geheim"

# --- the filter on its own -----------------------------------------------------------------------

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


def example_numbers() -> list[phonenumbers.PhoneNumber]:
    found = []
    for region in REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(number)
    return found


EXAMPLES = example_numbers()
#: Text around a number in a log line: no digits (they would join the number) and no "+".
AROUND = st.text(
    st.characters(exclude_categories=["Nd", "No", "Nl", "Cs"], exclude_characters="+"), max_size=30
)
BEFORE = st.sampled_from([" ", ": ", "=", " (", "\n", "\t", " to ", ' "', " '", "/"])
AFTER = st.sampled_from([" ", ".", ",", ")", "\n", '"', "'", ";", "!", "?"])


def written_forms(number: phonenumbers.PhoneNumber) -> list[str]:
    """How a number shows up in logs: E.164, international, Meta's wa_id, 00-prefixed, national."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    forms = [
        e164,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "00" + e164[1:],
    ]
    if len(e164) - 1 >= 8:  # wa_id: digits without "+" (shorter ones cannot be told from an id)
        forms.append(e164[1:])
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = re.sub(r"\D", "", national)
    # Without a country code: 9+ digits, or 8 that start with the trunk 0 (the documented threshold).
    if len(national_digits) >= 9 or (len(national_digits) == 8 and national_digits.startswith("0")):
        forms.append(national)
    return forms


@settings(max_examples=400, deadline=None)
@given(
    number=st.sampled_from(EXAMPLES),
    data=st.data(),
    before=AROUND,
    after=AROUND,
    left=BEFORE,
    right=AFTER,
)
def test_example_numbers_of_every_region_are_masked(number, data, before, after, left, right):
    written = data.draw(st.sampled_from(written_forms(number)))
    line = f"{before}{left}{written}{right}{after}"
    out = redact(line)
    national = str(number.national_number)
    digits_left = re.sub(r"\D", "", out)
    assert national not in digits_left, (line, out)
    # At most the country code and the last two digits survive (the "+49…89" mask).
    assert len(digits_left) <= len(str(number.country_code)) + 2, (line, out)


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("sent to +4915123456789.", "sent to +49…89."),
        ("wa_id=4915123456789", "wa_id=[phone]"),
        ("from 4915123456789:", "from [phone]:"),
        ("call 0151 23456789 or (030) 901820-0", "call [phone] or [phone]"),
        ("us (650) 555-1234", "us [phone]"),
        ("+1 650-555-1234", "+1…34"),
        ("0049 151 23456789", "+49…89"),
        ("two +4915123456789 4915123456780 in a row", "two [phone] in a row"),
        (
            "https://wa.me/4915123456789?text=Hallo%20Shop&ref=x",
            "https://wa.me/[phone]?text=[redacted]&ref=x",
        ),
        ("(+4915123456789)", "(+49…89)"),
        ("unix time 1712345678", "unix time [phone]"),
    ],
)
def test_phone_numbers_are_masked(line, masked):
    assert redact(line) == masked


@pytest.mark.parametrize(
    "line",
    [
        "order 100023 placed, total 49.90 EUR",
        "order 1000023, 1.234,56 €, $1,234,567.89",
        "on 2025-03-15 12:30:45 and 15.03.2025 12:30 and 20250315, 03/15/2025 or 15-03-2025",
        "2025-03-15T12:30:45.123456+00:00",
        "contact 17: 3 event(s) recorded on page 42",
        "client 203.0.113.77 and 2001:db8::1",
        "Graph API POST /v21.0/106540352242922/messages -> HTTP 400, code 131047",
        "message id 1234567890123456789 and hash a3f49151234567890bc",
        "retry 2 in 0.50s (attempt 1)",
        "wamid.HBgLNDkxNTEyMzQ1Njc4OQA=",
        "template order_confirmation v2.1.3",
        "opt-in import imp-20261123-123456 by admin:7, imp-20261123-12ab34 and order-100023456",
    ],
)
def test_ordinary_text_stays_readable(line):
    assert redact(line) == line


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    order=st.integers(min_value=0, max_value=9_999_999),
    price=st.decimals(min_value=0, max_value=999_999, places=2, allow_nan=False, allow_infinity=False),
    moment=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
)
def test_dates_order_numbers_and_prices_stay_readable(day, order, price, moment):
    line = (
        f"order {order} of {day.isoformat()} ({day:%d.%m.%Y}, {day:%Y%m%d}) at {moment.isoformat()}, "
        f"total {price} EUR / {_german(price)} €"
    )
    assert redact(line) == line


def _german(price: Decimal) -> str:
    return f"{price:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["body", "text", "caption", "payload"]), value=st.text(max_size=200))
def test_message_bodies_are_dropped_from_json_and_reprs(key, value):
    document = {"id": "wamid.X", key: value, "type": "text"}
    as_json = json.loads(redact(json.dumps(document)))
    assert as_json == {**document, key: BODY_MASK}
    as_unicode_json = json.loads(redact(json.dumps(document, ensure_ascii=False)))
    assert as_unicode_json[key] == BODY_MASK
    as_repr = ast.literal_eval(redact(repr(document)))
    assert as_repr[key] == BODY_MASK
    nested = json.loads(redact(json.dumps({"text": {"body": value}, "n": 3})))
    assert nested == {"text": {"body": BODY_MASK}, "n": 3}
    double = json.loads(json.loads(redact(json.dumps(json.dumps(document)))))
    assert double[key] == BODY_MASK


def test_key_value_pairs_lose_their_value():
    assert redact("text=Hello%20there&x=1") == f"text={BODY_MASK}&x=1"
    assert redact("Message(text='STOP please', id=3)") == f"Message(text={BODY_MASK}, id=3)"
    assert redact('payload="YES_PLEASE" next') == f"payload={BODY_MASK} next"


def _record(msg, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("wagtail_wa_consent.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_the_filter_rewrites_message_arguments_and_traceback():
    try:
        raise ValueError(f"no contact for {DE_MOBILE} who wrote {json.dumps({'body': SECRET_TEXT})}")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record("delivery %s from %s: %r", 7, DIGITS, {"text": SECRET_TEXT}, exc_info=exc_info)
    assert RedactPersonalData().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert DIGITS not in formatted and SECRET_TEXT not in formatted
    assert "delivery 7 from [phone]" in formatted and "ValueError: no contact for +49…89" in formatted


def test_a_clean_record_keeps_its_arguments():
    record = _record("message %s: WhatsApp error %s", 17, 131047)
    RedactPersonalData().filter(record)
    assert record.args == (17, 131047) and record.msg == "message %s: WhatsApp error %s"


def test_stack_info_is_redacted():
    record = _record("x")
    record.stack_info = f'File "x.py", line 1, in f\n    send("{DE_MOBILE}")'
    RedactPersonalData().filter(record)
    assert DE_MOBILE not in record.stack_info


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    msg=st.one_of(st.text(), st.builds(Unprintable), st.integers(), st.none()),
    args=st.lists(
        st.one_of(st.text(), st.integers(), st.floats(), st.binary(), st.builds(Unprintable)), max_size=4
    ),
)
def test_the_filter_never_raises_and_never_drops_a_record(msg, args):
    record = _record(msg, *args)
    assert RedactPersonalData().filter(record) is True
    logging.Formatter().format(record)  # and the record can still be formatted


def test_arguments_that_do_not_fit_are_redacted_not_reported_raw():
    record = _record("two %s %s but one", DIGITS)
    RedactPersonalData().filter(record)
    assert DIGITS not in record.getMessage() and record.args == ()


# --- installed on the app's loggers ----------------------------------------------------------------


def test_every_logger_of_the_app_is_below_the_installed_one():
    """install() covers the ``wagtail_wa_consent`` tree: a logger elsewhere would escape it."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "logging.py" and path.parent == PACKAGE:
            continue  # install() itself
        for match in re.finditer(r"getLogger\(([^)]*)\)", path.read_text()):
            names.add(match.group(1))
    assert names, "no loggers found"
    outside = {
        name
        for name in names
        if name != "__name__" and not re.fullmatch(r"""["']wagtail_wa_consent(\.[\w.]+)?["']""", name)
    }
    assert not outside


def test_install_redacts_for_handlers_on_the_same_logger_and_above(caplog):
    name = "wagtail_wa_consent.hardening_probe"
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    package = logging.getLogger("wagtail_wa_consent")
    mine = Keep()
    package.addHandler(mine)  # configured in LOGGING after install(): still sees redacted text
    install()  # twice is harmless
    try:
        with caplog.at_level(logging.INFO, logger="wagtail_wa_consent"):
            logging.getLogger(name).info("number %s said %s", DE_MOBILE, json.dumps({"text": SECRET_TEXT}))
    finally:
        package.removeHandler(mine)
    assert sum(type(h).__name__ == "_RedactingHandler" for h in package.handlers) == 1
    assert seen and all(DE_MOBILE not in line and SECRET_TEXT not in line for line in seen)
    assert [r.getMessage() for r in caplog.records if r.name == name] == [
        'number +49…89 said {"text": "[redacted]"}'
    ]


def test_without_other_handlers_warnings_still_reach_stderr(capsys):
    tree = logging.getLogger("hardening_isolated")
    tree.propagate = False
    install("hardening_isolated")
    try:
        logging.getLogger("hardening_isolated.child").warning("call %s", DE_MOBILE)
        logging.getLogger("hardening_isolated.child").info("not shown")
    finally:
        tree.handlers.clear()
    err = capsys.readouterr().err
    assert "call +49…89" in err and DE_MOBILE not in err and "not shown" not in err


# --- real code paths -----------------------------------------------------------------------------


def _leaks(records: list[logging.LogRecord], *secrets: str) -> list[str]:
    """Secrets in the lines a standard formatter writes (message, traceback, stack)."""
    formatter = logging.Formatter()
    found = []
    for record in records:
        text = formatter.format(record)
        found += [f"{record.name}: {secret!r} in {text!r}" for secret in secrets if secret in text]
    return found


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture(params=["as installed", "without the safety net"])
def safety_net(request, monkeypatch):
    """Each path runs as installed, and once more without the filter: the app's own log lines
    must be clean by themselves, the filter is only the net under them."""
    if request.param == "without the safety net":
        package = logging.getLogger("wagtail_wa_consent")
        monkeypatch.setattr(
            package, "handlers", [h for h in package.handlers if type(h).__name__ != "_RedactingHandler"]
        )
    return request.param


@pytest.mark.django_db
def test_a_stop_webhook_logs_neither_number_nor_text(deliver, all_logs, safety_net):
    consenting(DE_MOBILE, "marketing")
    all_logs.clear()
    deliver(text_message(DIGITS, "STOP", "wamid.LOGSTOP"))
    deliver(text_message(DIGITS, SECRET_TEXT, "wamid.LOGPLAIN"))
    assert service.current_status(service.find_contact(DE_MOBILE), "marketing") == "unsubscribed"
    assert all_logs.records, "the path logs nothing: the test would prove nothing"
    assert not _leaks(all_logs.records, DE_MOBILE, DIGITS, SECRET_TEXT, "geheim")


@pytest.mark.django_db
def test_an_opt_in_form_post_logs_neither_number_nor_wording(client, all_logs, safety_net):
    from tests.messaging.helpers import template
    from tests.storefront import build_shop, post_opt_in

    from ..conftest import wa_settings

    shop = build_shop()
    template("opt_in_confirmation", params=2)
    with wa_settings(OPT_IN_MIN_RESPONSE_SECONDS=0):
        all_logs.clear()
        response = post_opt_in(client, shop, phone="0151 23456789", categories=("marketing",))
    assert response.status_code == 303
    assert any("opt-in block" in r.getMessage() for r in all_logs.records)
    assert not _leaks(all_logs.records, DE_MOBILE, DIGITS, "0151 23456789", "23456789")


def meta_error(status: int = 400) -> httpx.Response:
    error = {
        "message": f"(#131026) Message undeliverable to {DE_MOBILE}",
        "type": "OAuthException",
        "code": 131026,
        "error_data": {"messaging_product": "whatsapp", "details": f"recipient {DIGITS} wrote {SECRET_TEXT}"},
        "fbtrace_id": "AbC",
    }
    return httpx.Response(status, json={"error": error})


@pytest.mark.django_db
def test_a_graph_api_error_logs_neither_number_nor_text(
    all_logs, safety_net, django_capture_on_commit_callbacks
):
    client = GraphAPIClient(
        base_url="https://graph.example",
        api_version="v25.0",
        access_token="EAAG-token",
        phone_number_id="PN1",
        transport=httpx.MockTransport(lambda request: meta_error()),
        sleep=lambda seconds: None,
    )
    with pytest.raises(WhatsAppAPIError) as raised:
        client.send_message({"to": DIGITS, "type": "text", "text": {"body": SECRET_TEXT}})
    # The same error met by the dispatcher (backend raised it), and logged by an app as usual.
    contact = consenting(DE_MOBILE, "marketing")
    record_inbound(contact, timezone.now())  # a free-form text needs the open service window
    message = enqueue_text(contact, "marketing", SECRET_TEXT, key="log-test")
    locmem.failures.append(raised.value)
    dispatch(message.pk)
    logging.getLogger("wagtail_wa_consent.graph").exception("send failed: %s", raised.value)
    assert any(r.name == "wagtail_wa_consent.graph" and "131026" in r.getMessage() for r in all_logs.records)
    assert not _leaks(all_logs.records, DE_MOBILE, DIGITS, SECRET_TEXT)


@pytest.mark.django_db
def test_an_erasure_logs_neither_number_nor_text(deliver, all_logs, safety_net):
    consenting(DE_MOBILE, "marketing")
    deliver(text_message(DIGITS, SECRET_TEXT, "wamid.LOGERASE"))
    all_logs.clear()
    erase_contact(service.find_contact(DE_MOBILE), Evidence(source="admin", user_action="erased on request"))
    assert any("erased" in r.getMessage() for r in all_logs.records)
    assert not _leaks(all_logs.records, DE_MOBILE, DIGITS, SECRET_TEXT)


@pytest.mark.django_db
def test_a_failing_webhook_handler_logs_its_traceback_redacted(deliver, all_logs, monkeypatch):
    """The net at work: an exception that quotes the number, logged with logger.exception."""
    from wagtail_wa_consent.webhooks import handlers

    def explode(event):
        raise RuntimeError(f"cannot handle {event.from_phone}: {json.dumps({'body': event.text})}")

    monkeypatch.setitem(handlers._HANDLERS, handlers.ev.InboundMessage, explode)
    all_logs.clear()
    deliver(text_message(DIGITS, SECRET_TEXT, "wamid.LOGFAIL"))  # stored; processing fails
    failed = [r for r in all_logs.records if r.exc_info]
    assert failed and "stays queued" in failed[0].getMessage()
    assert "RuntimeError: cannot handle [phone]" in failed[0].exc_text
    assert not _leaks(failed, DIGITS, SECRET_TEXT)
