"""Fuzzed posts to the public forms: the opt-in block, the chat bubble and the preference centre.

Never a 500: an answer is a redirect, the page again with the error at the field (4xx), or a
refusal (4xx). Never half an opt-in: a post either records a complete one or nothing at all.
Complete means, for the opt-in block, the contact, its ``requested`` events and exactly one
outbox row (the WhatsApp confirmation request) in one transaction; for the chat bubble, the
contact and its ``requested`` marketing event with the reference (the shopper's own message
confirms it, so nothing is queued). Every ledger chain verifies afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wagtail.models import Site

from tests.conftest import wa_settings
from tests.messaging.helpers import consenting, template
from tests.storefront import KNOWN, OPT_IN_URL, UNKNOWN, build_shop, section, token_of
from wagtail_wa_consent.consent.chain import state_cache_mismatches, verify_ledger
from wagtail_wa_consent.consent.models import ConsentEvent, Contact
from wagtail_wa_consent.messaging.models import OutboundMessage
from wagtail_wa_consent.pages import preference_links as links
from wagtail_wa_consent.pages.models import PreferenceCentrePage
from wagtail_wa_consent.storefront.forms import sign_token
from wagtail_wa_consent.storefront.models import WhatsAppSettings

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BUBBLE_URL = "/whatsapp/bubble/"

# --- strategies ---------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "+49\x00151",
    "\u200f+49 151 23456789",  # right-to-left mark
    "\u202e98765432151 94+",  # right-to-left override
    "+٤٩١٥١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits
    "\ufeff0151 23456789",
    "x" * 5_000,
    "9" * 400,
    "'; DROP TABLE wa_consent_contact; --",
    "<script>alert(1)</script>",
    "%00%0d%0a",
    "../../etc/passwd",
    "\U0001f600",
]
text = st.one_of(st.text(max_size=60), st.sampled_from(NASTY))
phones = st.one_of(
    st.sampled_from(
        [UNKNOWN, KNOWN, "0151 23456789", "+49 (0)151-2345 6780", "004915123456781", "+1 650 555 1234"]
    ),
    st.builds(lambda n: f"+49151{n:08d}", st.integers(0, 10**8 - 1)),
    text,
)
categories = st.lists(
    st.one_of(st.sampled_from(["marketing", "transactional", "support", "MARKETING", "bogus"]), text),
    max_size=4,
)
addresses = st.one_of(
    st.ip_addresses().map(str),
    st.sampled_from(["", "unknown", "::ffff:203.0.113.9", "203.0.113.7, 10.0.0.1"]),
)
# Header values as a server passes them on: latin-1 decoded (WSGI), without the control characters
# RFC 9110 forbids (gunicorn answers 400 to a NUL or a line break in a header before Django runs).
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f") | st.just("\t"),
    max_size=300,
)
referers = st.one_of(
    header_text,
    st.sampled_from(
        ["http://[::1", "http://[", "https://shop.example/offers/?token=abc", "javascript:alert(1)"]
    ),
    st.builds(lambda s: "https://shop.example/" + s, st.text(max_size=600)),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field value, or the field left out (None)."""
    return st.one_of(st.none(), strategy)


def form(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


# --- the invariant ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    contacts: int
    requested: int
    events: int
    outbox: int

    @classmethod
    def now(cls) -> Snapshot:
        return cls(
            Contact.objects.count(),
            ConsentEvent.objects.filter(event_type="requested").count(),
            ConsentEvent.objects.count(),
            OutboundMessage.objects.count(),
        )


def ledger_is_sound() -> None:
    report = verify_ledger()
    assert report.ok, report.broken
    mismatched = {c.pk: state_cache_mismatches(c) for c in Contact.objects.all()}
    assert not any(mismatched.values()), mismatched


def assert_no_500(response) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])


# --- the opt-in block ---------------------------------------------------------------------------


@pytest.fixture
def shop(db):
    shop = build_shop()
    template("opt_in_confirmation", params=2)
    consenting(KNOWN, "marketing")
    return shop


@pytest.fixture
def generous_limits():
    # The fuzzer posts hundreds of times from one address: the limits have their own tests.
    with wa_settings(
        OPT_IN_MIN_RESPONSE_SECONDS=0,
        OPT_IN_IP_LIMIT=10**6,
        OPT_IN_PHONE_LIMIT=10**6,
    ):
        yield


@pytest.fixture
def real_token(shop) -> str:
    return token_of(section(Client().get(shop.page.url).content, shop.block_id))


def tokens(shop, real_token: str) -> st.SearchStrategy[str | None]:
    """The page's own token, tampered ones, and validly signed ones that name other things."""
    tampered = st.builds(
        lambda i, c: real_token[:i] + c + real_token[i + 1 :],
        st.integers(0, len(real_token) - 1),
        st.characters(),
    )
    forged = st.builds(
        lambda page, block, language, digest: sign_token(
            page_id=page, block_id=block, language=language, wording_digest=digest
        ),
        st.sampled_from([shop.page.pk, shop.privacy.pk, 0, -1, 10**12]),
        st.one_of(st.just(shop.block_id), text),
        st.one_of(st.sampled_from(["en", "de", "ar", "xx", ""]), text),
        st.one_of(st.just("x" * 64), text),
    )
    return st.one_of(
        st.just(real_token),
        st.just(real_token),
        tampered,
        forged,
        st.builds(lambda s: real_token + s, text),
        text,
        st.none(),
    )


@FUZZ
@given(data=st.data())
def test_opt_in_block(shop, real_token, generous_limits, data):
    client = Client(raise_request_exception=False)
    fields = form(
        token=data.draw(tokens(shop, real_token), label="token"),
        country=data.draw(
            maybe(st.one_of(st.sampled_from(["DE", "US", "EG", "de", "XX", ""]), text)), label="country"
        ),
        phone=data.draw(maybe(phones), label="phone"),
        categories=data.draw(maybe(categories), label="categories"),
        website=data.draw(st.one_of(st.none(), st.none(), st.none(), text), label="honeypot"),
        **data.draw(
            st.dictionaries(st.sampled_from(["extra", "csrfmiddlewaretoken", "p", "b"]), text, max_size=2)
        ),
    )
    meta = {
        "REMOTE_ADDR": data.draw(addresses, label="ip"),
        "HTTP_USER_AGENT": data.draw(header_text, label="ua"),
        "HTTP_REFERER": data.draw(referers, label="referer"),
        "HTTP_ACCEPT_LANGUAGE": data.draw(
            st.sampled_from(["en", "de", "ar", "*", "", "xx;q=x"]), label="lang"
        ),
    }
    before = Snapshot.now()
    response = client.post(OPT_IN_URL, fields, **meta)
    assert_no_500(response)
    assert response.status_code in (303, 400), response.status_code
    after = Snapshot.now()
    if after.requested > before.requested:
        # Complete: the contact, its requested events and one confirmation request.
        assert response.status_code == 303
        assert after.outbox == before.outbox + 1
        assert after.events - before.events == after.requested - before.requested
        message = OutboundMessage.objects.latest("pk")
        new_events = ConsentEvent.objects.filter(contact=message.contact).order_by("-pk")
        assert {e.source for e in new_events[: after.requested - before.requested]} == {"web_block"}
    else:
        assert (after.events, after.outbox) == (before.events, before.outbox)
        assert after.contacts == before.contacts, "a contact without its opt-in"
    if response.status_code == 303:
        assert response["Location"].startswith(shop.page.url)
    ledger_is_sound()


def test_opt_in_block_oversized_and_too_many_fields_are_refused(shop, real_token, generous_limits):
    client = Client(raise_request_exception=False)
    before = Snapshot.now()
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000):
        big = client.post(OPT_IN_URL, {"token": real_token, "phone": UNKNOWN, "extra": "x" * 20_000})
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=50):
        fields = {"token": real_token, "phone": UNKNOWN, **{f"f{i}": "1" for i in range(60)}}
        many = client.post(OPT_IN_URL, fields)
    assert (big.status_code, many.status_code) == (400, 400)
    assert Snapshot.now() == before


# --- the chat bubble ----------------------------------------------------------------------------


@pytest.fixture
def bubble(shop):
    site_settings = WhatsAppSettings.for_site(shop.site)
    site_settings.business_number = "+4930901820"
    site_settings.bubble_enabled = True
    site_settings.save()
    return site_settings


@FUZZ
@given(data=st.data())
def test_chat_bubble(bubble, generous_limits, data):
    client = Client(raise_request_exception=False)
    fields = form(
        language=data.draw(
            maybe(st.one_of(st.sampled_from(["en", "de", "ar", "ru", "uz"]), text)), label="language"
        ),
        next=data.draw(
            maybe(st.one_of(st.sampled_from(["/offers/", "//evil.example/", "https://x/"]), text))
        ),
        phone=data.draw(maybe(phones), label="phone"),
        marketing=data.draw(maybe(st.one_of(st.just("yes"), st.just("yes"), text)), label="marketing"),
        website=data.draw(st.one_of(st.none(), st.none(), st.none(), text), label="honeypot"),
    )
    meta = {
        "REMOTE_ADDR": data.draw(addresses, label="ip"),
        "HTTP_USER_AGENT": data.draw(header_text, label="ua"),
        "HTTP_REFERER": data.draw(referers, label="referer"),
    }
    before = Snapshot.now()
    response = client.post(BUBBLE_URL, fields, **meta)
    assert_no_500(response)
    assert response.status_code in (302, 400), response.status_code
    after = Snapshot.now()
    assert after.outbox == before.outbox  # the shopper writes first: nothing is queued
    if after.events > before.events:
        assert response.status_code == 302 and response["Location"].startswith(
            "https://wa.me/4930901820?text="
        )
        event = ConsentEvent.objects.latest("pk")
        assert (after.events - before.events, event.event_type, event.category) == (
            1,
            "requested",
            "marketing",
        )
        assert event.source == "chat_bubble" and event.reference
    else:
        assert after.contacts == before.contacts, "a contact without its opt-in"
    ledger_is_sound()


# --- the preference centre ----------------------------------------------------------------------


@pytest.fixture
def centre(shop) -> PreferenceCentrePage:
    page = PreferenceCentrePage(title="WhatsApp preferences", slug="preferences")
    Site.objects.get(is_default_site=True).root_page.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@FUZZ
@given(data=st.data())
def test_preference_centre_link_request(centre, data):
    client = Client(raise_request_exception=False)
    fields = form(
        phone=data.draw(maybe(phones), label="phone"),
        website=data.draw(st.one_of(st.none(), st.none(), text), label="honeypot"),
        contact=data.draw(maybe(text), label="contact"),
    )
    before = Snapshot.now()
    response = client.post(
        centre.url + "link/",
        fields,
        REMOTE_ADDR=data.draw(st.ip_addresses().map(str), label="ip"),  # the per-IP limit has its own test
        HTTP_USER_AGENT=data.draw(header_text, label="ua"),
    )
    assert_no_500(response)
    assert response.status_code in (200, 400, 429), response.status_code
    after = Snapshot.now()
    # A link request changes no consent and invents no contact; at most one link is queued.
    assert (after.contacts, after.events) == (before.contacts, before.events)
    assert after.outbox - before.outbox in (0, 1)
    if after.outbox > before.outbox:
        assert OutboundMessage.objects.latest("pk").contact.phone_e164 == KNOWN


@pytest.fixture
def unlocked(centre) -> tuple[Client, Contact, Contact]:
    """A browser that opened the link of one contact; another contact it must never touch."""
    mine = consenting("+4915199999901", "marketing", "transactional")
    other = consenting("+4915199999902", "marketing")
    client = Client(raise_request_exception=False)
    response = client.get(centre.url + f"open/{links.token_to_path(links.make_token(mine))}/")
    assert response.status_code == 302
    return client, mine, other


ROUTES = ["toggle/", "withdraw-all/", "export/", "delete/", "verify/", "link/", "open/x/", ""]


@FUZZ
@given(data=st.data())
def test_preference_centre_actions(centre, unlocked, data):
    client, mine, other = unlocked
    contact_ids = st.one_of(
        st.sampled_from([mine.pk, other.pk, 0, -1, 10**20]).map(str), text, st.lists(st.just(str(mine.pk)))
    )
    fields = form(
        contact=data.draw(maybe(contact_ids), label="contact"),
        category=data.draw(
            maybe(st.one_of(st.sampled_from(["marketing", "transactional", "support"]), text))
        ),
        action=data.draw(maybe(st.one_of(st.sampled_from(["on", "off"]), text)), label="action"),
        confirm=data.draw(maybe(st.one_of(st.sampled_from(["1", "true", "on", ""]), text)), label="confirm"),
    )
    route = data.draw(st.sampled_from(ROUTES), label="route")
    method = data.draw(st.sampled_from(["post", "post", "get"]), label="method")
    other_events = other.consent_events.count()
    response = getattr(client, method)(
        centre.url + route, fields, REMOTE_ADDR=data.draw(st.ip_addresses().map(str), label="ip")
    )
    assert_no_500(response)
    assert response.status_code in (200, 302, 400, 403, 405, 429), response.status_code
    assert other.consent_events.count() == other_events, "acted on a contact this browser did not unlock"
    other.refresh_from_db()
    assert other.phone_e164 and other.erased_at is None
    ledger_is_sound()


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        ("toggle/", {"category": "marketing", "action": "off"}),
        ("toggle/", {"category": "transactional", "action": "on"}),
        ("withdraw-all/", {}),
        ("export/", {}),
        ("delete/", {}),
        ("delete/", {"confirm": "1"}),
    ],
)
def test_each_action_on_the_unlocked_contact_succeeds(centre, unlocked, route, fields):
    """The happy path of every action, so the fuzzer's rare hits on it are not the only cover."""
    client, mine, _other = unlocked
    response = client.post(centre.url + route, {"contact": str(mine.pk), **fields})
    assert response.status_code in (200, 302), response.status_code
    ledger_is_sound()


@FUZZ
@given(path=st.text(min_size=1, max_size=200))
def test_preference_centre_random_links(centre, path):
    from urllib.parse import quote

    client = Client(raise_request_exception=False)
    response = client.get(centre.url + "open/" + quote(path, safe="/") + "/")
    assert_no_500(response)
    assert response.status_code in (200, 302, 400, 404), response.status_code
    assert links.SESSION_KEY not in client.session  # nothing unlocked
