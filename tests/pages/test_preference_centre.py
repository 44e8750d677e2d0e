"""The preference centre: signed WhatsApp links, the session they unlock, toggles, history,
export and deletion; CSRF on every POST."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from home.models import PrivacyPolicyPage
from wagtail.models import Site

from tests.conftest import DE_MOBILE, wa_settings
from tests.messaging.helpers import WEB, YES, consenting
from wagtail_wa_consent.conf import get_setting
from wagtail_wa_consent.consent import service
from wagtail_wa_consent.consent.chain import verify_ledger
from wagtail_wa_consent.consent.enums import Status
from wagtail_wa_consent.consent.models import ConsentEvent, ConsentEvidence, Contact
from wagtail_wa_consent.messaging.backends import locmem
from wagtail_wa_consent.messaging.models import CONSENT_NOTICE, InboundMessage, OutboundMessage
from wagtail_wa_consent.messaging.outbox import enqueue_text
from wagtail_wa_consent.messaging.templates import upsert_template
from wagtail_wa_consent.pages import preference_links as links
from wagtail_wa_consent.pages.models import PreferenceCentrePage
from wagtail_wa_consent.simulator.models import SimTemplate
from wagtail_wa_consent.simulator.seed import ensure_default_templates
from wagtail_wa_consent.storefront.models import WhatsAppSettings

pytestmark = pytest.mark.django_db

OTHER_MOBILE = "+4917612345678"
UNKNOWN_MOBILE = "+4916098765432"
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def _fresh_throttles():
    caches[get_setting("RATE_LIMIT_CACHE")].clear()
    yield
    caches[get_setting("RATE_LIMIT_CACHE")].clear()


@pytest.fixture
def site():
    return Site.objects.get(is_default_site=True)


@pytest.fixture
def centre(site) -> PreferenceCentrePage:
    page = PreferenceCentrePage(title="WhatsApp preferences", slug="preferences")
    site.root_page.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def privacy(site) -> PrivacyPolicyPage:
    page = PrivacyPolicyPage(title="Privacy policy", slug="privacy")
    site.root_page.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def registry(db):
    """The simulator's default templates in the site's registry, as wa_sync_templates leaves them."""
    ensure_default_templates()
    for sim in SimTemplate.objects.all():
        upsert_template(sim.as_graph())


def url(centre: PreferenceCentrePage, route: str = "") -> str:
    return centre.url + route


def unlock(client: Client, centre: PreferenceCentrePage, contact: Contact) -> None:
    """Open a freshly signed link in ``client``, as the person would from WhatsApp."""
    response = client.get(url(centre, f"open/{links.token_to_path(links.make_token(contact))}/"))
    assert response.status_code == 302 and response.url == centre.url


def sent_link_path(message: OutboundMessage) -> str:
    link = message.parameters[0] if message.parameters else message.content["body"].split(": ")[-1]
    return urlsplit(re.search(r"https?://\S+/", link).group(0)).path


# --- Asking for a link ----------------------------------------------------------------------


def test_known_number_is_sent_a_link_that_opens_the_centre(
    client, centre, contact, registry, django_capture_on_commit_callbacks
):
    service.request_opt_in(contact, ["marketing"], WEB)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(centre, "link/"), {"phone": "0151 23456789"})
    assert response.status_code == 200 and b"we have just sent it a link" in response.content
    message = OutboundMessage.objects.get(contact=contact)
    assert message.category == CONSENT_NOTICE and message.template_name == "preference_centre_link"
    assert message.parameters[0].startswith("http://localhost/preferences/open/")
    # It went out through the dispatcher: the seeded template is a UTILITY template with one param.
    assert message.status == "sent" and message.parameters[0] in json.dumps(locmem.outbox[-1])

    phone = Client()
    opened = phone.get(sent_link_path(message), follow=True)
    assert opened.status_code == 200
    assert b"+49 \xe2\x80\xa6 6789" in opened.content  # the masked number
    assert b"Waiting for confirmation" in opened.content
    assert b"Your number is confirmed" in opened.content


def test_unknown_number_gets_the_same_answer_and_nothing_is_sent(
    centre, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = Client().post(url(centre, "link/"), {"phone": DE_MOBILE})
        unknown = Client().post(url(centre, "link/"), {"phone": UNKNOWN_MOBILE})
    assert known.status_code == unknown.status_code == 200
    assert _CSRF.sub(b"", known.content) == _CSRF.sub(b"", unknown.content)
    assert sorted(known.headers) == sorted(unknown.headers)
    assert OutboundMessage.objects.count() == 1 and OutboundMessage.objects.get().contact == contact
    assert not Contact.objects.filter(phone_e164=UNKNOWN_MOBILE).exists()  # no contact invented


def test_inside_the_service_window_the_link_is_a_text(client, centre, contact):
    Contact.objects.filter(pk=contact.pk).update(last_inbound_at=timezone.now())
    client.post(url(centre, "link/"), {"phone": DE_MOBILE})
    message = OutboundMessage.objects.get()
    assert message.kind == "text" and message.category == CONSENT_NOTICE
    assert "/preferences/open/" in message.content["body"] and "Sandbox Shop GmbH" in message.content["body"]


def test_honeypot_answers_like_success_and_sends_nothing(centre, contact):
    human = Client().post(url(centre, "link/"), {"phone": UNKNOWN_MOBILE})
    bot = Client().post(url(centre, "link/"), {"phone": DE_MOBILE, "website": "http://spam.example"})
    assert _CSRF.sub(b"", bot.content) == _CSRF.sub(b"", human.content)
    assert not OutboundMessage.objects.exists()


def test_invalid_number_shows_the_error_at_the_field(client, centre):
    response = client.post(url(centre, "link/"), {"phone": "12"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_phone_error"' in html and 'aria-invalid="true"' in html
    assert not OutboundMessage.objects.exists()


def test_link_requests_are_rate_limited_per_number_and_per_ip(client, centre, contact):
    for _ in range(3):
        assert client.post(url(centre, "link/"), {"phone": DE_MOBILE}).status_code == 200
    queued = OutboundMessage.objects.count()
    blocked = client.post(url(centre, "link/"), {"phone": DE_MOBILE}, REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 429 and b"Too many attempts" in blocked.content
    assert OutboundMessage.objects.count() == queued >= 1
    # Unknown numbers are counted alike, so a 429 tells nothing about whether a number is known.
    for _ in range(3):
        client.post(url(centre, "link/"), {"phone": UNKNOWN_MOBILE}, REMOTE_ADDR="198.51.100.10")
    unknown = client.post(url(centre, "link/"), {"phone": UNKNOWN_MOBILE}, REMOTE_ADDR="198.51.100.11")
    assert unknown.status_code == 429

    other_ip = {"REMOTE_ADDR": "192.0.2.50"}
    for n in range(10):
        response = client.post(url(centre, "link/"), {"phone": f"+49151234567{n:02d}"}, **other_ip)
        assert response.status_code == 200
    assert client.post(url(centre, "link/"), {"phone": OTHER_MOBILE}, **other_ip).status_code == 429


def test_get_on_an_action_is_not_allowed(client, centre):
    for route in ("link/", "verify/", "toggle/", "withdraw-all/", "export/", "delete/"):
        assert client.get(url(centre, route)).status_code == 405


# --- Opening a link -------------------------------------------------------------------------


def test_expired_link_is_rejected_with_a_clear_message(client, centre, contact, monkeypatch):
    class HalfAnHourAgo:
        @staticmethod
        def time() -> float:
            return time.time() - 31 * 60

    monkeypatch.setattr(signing, "time", HalfAnHourAgo)
    token = links.make_token(contact)
    monkeypatch.undo()
    response = client.get(url(centre, f"open/{links.token_to_path(token)}/"))
    assert response.status_code == 400 and b"This link has expired" in response.content
    assert links.SESSION_KEY not in client.session
    assert b"Turn on" not in client.get(centre.url).content


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: links.make_token(c)[:-2] + "xx",  # damaged signature
        lambda c: signing.dumps({"c": c.pk, "p": c.phone_digest[:16], "u": None}, salt="other"),
        lambda c: signing.dumps({"c": c.pk, "p": "0" * 16, "u": None}, salt=links.SALT),  # wrong number
        lambda c: "not-a-token",
    ],
)
def test_forged_link_is_rejected(client, centre, contact, forge):
    response = client.get(url(centre, f"open/{links.token_to_path(forge(contact))}/"))
    assert response.status_code == 400 and b"This link is not valid" in response.content
    assert links.SESSION_KEY not in client.session


def test_unlock_runs_out(client, centre, contact):
    consenting(DE_MOBILE, "marketing")
    unlock(client, centre, contact)
    session = client.session
    session[links.SESSION_KEY] = {**session[links.SESSION_KEY], "until": time.time() - 1}
    session.save()
    response = client.post(
        url(centre, "toggle/"), {"contact": contact.pk, "category": "marketing", "action": "off"}
    )
    assert response.status_code == 403 and b"Your session has run out" in response.content
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED


def test_opening_a_link_requested_while_signed_in_links_the_account(
    client, centre, contact, django_user_model
):
    user = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    client.force_login(user)
    client.post(url(centre, "link/"), {"phone": DE_MOBILE})
    client.get(sent_link_path(OutboundMessage.objects.get()))
    contact.refresh_from_db()
    assert contact.user == user


# --- Who sees what --------------------------------------------------------------------------


def test_signed_in_customer_sees_own_contact_not_others(client, centre, django_user_model):
    lena = django_user_model.objects.create_user("lena", "lena@example.com", "pw")
    omar = django_user_model.objects.create_user("omar", "omar@example.com", "pw")
    mine = service.get_or_create_contact(DE_MOBILE, user=lena)
    theirs = service.get_or_create_contact(OTHER_MOBILE, user=omar)
    service.request_opt_in(theirs, ["marketing"], WEB)
    service.confirm(theirs, YES)
    client.force_login(lena)

    page = client.get(centre.url).content
    assert b"+49 \xe2\x80\xa6 6789" in page and f'value="{mine.pk}"'.encode() in page
    assert b"+49 \xe2\x80\xa6 5678" not in page and f'value="{theirs.pk}"'.encode() not in page
    # Acting on someone else's contact is refused, and so is data access without the link.
    off = {"contact": theirs.pk, "category": "marketing", "action": "off"}
    assert client.post(url(centre, "toggle/"), off).status_code == 403
    assert service.current_status(theirs, "marketing") == Status.SUBSCRIBED
    assert client.post(url(centre, "export/"), {"contact": mine.pk}).status_code == 403
    assert b"Send me a link on WhatsApp" in page


def test_signed_in_customer_without_a_contact_is_offered_the_link(client, centre, django_user_model):
    client.force_login(django_user_model.objects.create_user("lena", "lena@example.com", "pw"))
    page = client.get(centre.url).content
    assert b"Get your link on WhatsApp" in page and b"links the number to your account" in page


def test_anonymous_visitor_sees_only_the_link_form(client, centre, contact):
    page = client.get(centre.url)
    assert page.status_code == 200 and b"Get your link on WhatsApp" in page.content
    assert b"Turn on" not in page.content
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]


# --- Changing consent -----------------------------------------------------------------------


def test_turning_off_withdraws_at_once(client, centre):
    contact = consenting(DE_MOBILE, "marketing", "support")
    unlock(client, centre, contact)
    response = client.post(
        url(centre, "toggle/"), {"contact": contact.pk, "category": "marketing", "action": "off"}, follow=True
    )
    assert service.current_status(contact, "marketing") == Status.UNSUBSCRIBED
    assert service.current_status(contact, "support") == Status.SUBSCRIBED
    event = contact.consent_events.order_by("-sequence").first()
    assert (event.event_type, event.source, event.category) == ("withdrawn", "preference_centre", "marketing")
    assert re.search(rb'role="status" aria-live="polite"><p>Offers and news: turned off', response.content)


def test_turning_on_asks_for_confirmation_in_whatsapp(
    client, centre, contact, privacy, django_capture_on_commit_callbacks
):
    unlock(client, centre, contact)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(centre, "toggle/"), {"contact": contact.pk, "category": "marketing", "action": "on"}
        )
    assert response.status_code == 302
    assert service.current_status(contact, "marketing") == Status.PENDING  # not a silent grant
    message = OutboundMessage.objects.get(contact=contact)
    assert message.category == CONSENT_NOTICE and message.template_name == "opt_in_confirmation"
    event = contact.consent_events.get()
    assert event.event_type == "requested" and event.source == "preference_centre"
    assert "Sandbox Shop GmbH may send me Offers and news on WhatsApp" in event.wording.text
    assert event.ip_digest and event.personal_evidence.ip_address == "127.0.0.0"
    assert event.page_url == "http://localhost/preferences/"


def test_consent_records_the_policy_revision_live_at_the_time(client, centre, contact, privacy):
    unlock(client, centre, contact)
    on = {"contact": contact.pk, "action": "on"}
    client.post(url(centre, "toggle/"), {**on, "category": "marketing"})
    first = privacy.live_revision_id
    privacy.title = "Privacy policy (updated)"
    privacy.save_revision().publish()
    privacy.refresh_from_db()
    client.post(url(centre, "toggle/"), {**on, "category": "support"})
    marketing, support = contact.consent_events.order_by("sequence")
    assert privacy.live_revision_id != first
    assert marketing.policy_revision == f"page:{privacy.pk}/revision:{first}"
    assert support.policy_revision == f"page:{privacy.pk}/revision:{privacy.live_revision_id}"


def test_a_disabled_category_cannot_be_turned_on(client, centre, contact):
    unlock(client, centre, contact)
    with wa_settings(CATEGORIES=["marketing"]):
        on = {"contact": contact.pk, "category": "support", "action": "on"}
        response = client.post(url(centre, "toggle/"), on)
    assert response.status_code == 400 and b"Something went wrong" in response.content
    assert not contact.consent_events.exists() and not OutboundMessage.objects.exists()


def test_withdraw_everything_is_one_post(client, centre):
    contact = consenting(DE_MOBILE, "marketing", "transactional", "support")
    unlock(client, centre, contact)
    response = client.post(url(centre, "withdraw-all/"), {"contact": contact.pk})
    assert response.status_code == 302
    for category in service.enabled_categories():
        assert service.current_status(contact, category) == Status.UNSUBSCRIBED


def test_history_lists_the_ledger_events(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    service.withdraw(contact, WEB, ["marketing"])
    unlock(client, centre, contact)
    html = client.get(centre.url).content.decode()
    history = html[html.index("Your consent history") :]
    for text in ("Requested", "Confirmed", "Withdrawn", "Opt-in block on a web page", "WhatsApp message"):
        assert text in history
    assert history.count("<tr>") == 4  # header + three events


# --- Data ------------------------------------------------------------------------------------


def test_download_contains_own_data_only(client, centre):
    contact = consenting(DE_MOBILE, "marketing")
    other = consenting(OTHER_MOBILE, "support")
    enqueue_text(contact, "marketing", "Lena's sale starts", key="k-mine")
    enqueue_text(other, "support", "Omar's parcel is late", key="k-theirs")
    now = timezone.now()
    InboundMessage.objects.create(
        contact=contact, wamid="wamid.mine", type="text", text="Hi!", received_at=now
    )
    InboundMessage.objects.create(
        contact=other, wamid="wamid.theirs", type="text", text="Where?", received_at=now
    )
    unlock(client, centre, contact)

    response = client.post(url(centre, "export/"), {"contact": contact.pk})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["contact"]["phone_number"] == DE_MOBILE
    assert [e["event"] for e in data["consent_events"]] == ["requested", "confirmed"]
    requested = data["consent_events"][0]
    assert requested["wording"]["text"] == WEB.wording and requested["user_action"] == WEB.user_action
    assert [m["content"]["body"] for m in data["outbound_messages"]] == ["Lena's sale starts"]
    assert data["outbound_messages"][0]["status"] == "queued"
    assert [m["text"] for m in data["inbound_messages"]] == ["Hi!"]
    assert OTHER_MOBILE.encode() not in response.content and b"Omar" not in response.content
    assert b"Where?" not in response.content
    # Another contact's id in the form is refused.
    assert client.post(url(centre, "export/"), {"contact": other.pk}).status_code == 403


def test_delete_my_data_confirms_then_erases(client, centre, web_evidence):
    contact = service.get_or_create_contact(DE_MOBILE)
    service.request_opt_in(contact, ["marketing"], web_evidence)
    service.confirm(contact, YES)
    InboundMessage.objects.create(
        contact=contact, wamid="wamid.1", type="text", text="my address is…", received_at=timezone.now()
    )
    unlock(client, centre, contact)

    step = client.post(url(centre, "delete/"), {"contact": contact.pk})
    assert step.status_code == 200 and b"Yes, delete my data" in step.content
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE  # nothing erased before the confirmation

    done = client.post(url(centre, "delete/"), {"contact": contact.pk, "confirm": "True"}, follow=True)
    assert b"Your data is deleted" in done.content and b"Turn on" not in done.content
    contact.refresh_from_db()
    assert contact.phone_e164 is None and contact.erased_at is not None
    assert not ConsentEvidence.objects.filter(event__contact=contact).exists()
    assert InboundMessage.objects.get(wamid="wamid.1").text == ""
    assert all(
        service.current_status(contact, c) == Status.UNSUBSCRIBED for c in service.enabled_categories()
    )
    assert ConsentEvent.objects.filter(contact=contact, event_type="withdrawn").count() == 3
    assert verify_ledger(contact_ids=[contact.pk]).ok
    # The old link no longer opens anything.
    assert (
        client.get(url(centre, f"open/{links.token_to_path(links.make_token(contact))}/")).status_code == 400
    )


# --- CSRF -----------------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(centre):
    contact = consenting(DE_MOBILE, "marketing")
    browser = Client(enforce_csrf_checks=True)
    unlock(browser, centre, contact)
    forms = {
        "link/": {"phone": DE_MOBILE},
        "verify/": {"contact": contact.pk},
        "toggle/": {"contact": contact.pk, "category": "marketing", "action": "off"},
        "withdraw-all/": {"contact": contact.pk},
        "export/": {"contact": contact.pk},
        "delete/": {"contact": contact.pk, "confirm": "True"},
    }
    for route, data in forms.items():
        assert browser.post(url(centre, route), data).status_code == 403, route
    contact.refresh_from_db()
    assert contact.phone_e164 == DE_MOBILE and not OutboundMessage.objects.exists()
    assert service.current_status(contact, "marketing") == Status.SUBSCRIBED

    browser.get(centre.url)  # sets the CSRF cookie, as the page's forms do
    token = browser.cookies["csrftoken"].value
    response = browser.post(url(centre, "toggle/"), {**forms["toggle/"], "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert service.current_status(contact, "marketing") == Status.UNSUBSCRIBED


def test_site_labels_and_business_name_are_used(client, centre, site):
    wa = WhatsAppSettings.for_site(site)
    wa.business_name, wa.marketing_label = "Berg Handel GmbH", "Weekly deals"
    wa.save()
    contact = service.get_or_create_contact(DE_MOBILE)
    unlock(client, centre, contact)
    html = client.get(centre.url).content.decode()
    assert "Yes, Berg Handel GmbH may send me Weekly deals on WhatsApp." in html
    assert "Turn on Weekly deals" in html
