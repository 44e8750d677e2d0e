"""Signed, expiring links to the preference centre, sent over WhatsApp, and the short-lived
session that opening one starts.

Possession of the WhatsApp number is the proof of identity: the link only ever goes to the
number, and only opening it unlocks the contact in the browser's session.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from ..conf import get_setting
from ..consent.models import Contact
from ..messaging.models import CONSENT_NOTICE, OutboundMessage
from ..messaging.outbox import enqueue_template, enqueue_text
from ..messaging.replies import business
from ..messaging.window import window_is_open

if TYPE_CHECKING:
    from django.http import HttpRequest

#: Separates these signatures from every other use of SECRET_KEY.
SALT = "wagtail_wa_consent.pages.preference_link"
SESSION_KEY = "wa_consent_preferences"
#: Characters of the phone digest bound into the token (a token names its number, not only a row).
_DIGEST_CHARS = 16


class InvalidLink(Exception):
    """The link is forged, damaged, expired or names a contact that no longer exists."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "expired" or "invalid"


def link_max_age() -> int:
    return int(get_setting("PREFERENCE_LINK_MAX_AGE_MINUTES")) * 60


def make_token(contact: Contact, user_id: int | None = None) -> str:
    """A signed, timestamped token for ``contact``; ``user_id`` links the contact to that account
    when the same user opens it."""
    payload = {"c": contact.pk, "p": contact.phone_digest[:_DIGEST_CHARS], "u": user_id}
    return signing.dumps(payload, salt=SALT)


def token_to_path(token: str) -> str:
    """Wagtail serves only ``[\\w-]`` path segments, so the signer's ``:`` become ``/``."""
    return token.replace(":", "/")


def path_to_token(path: str) -> str:
    return path.strip("/").replace("/", ":")


def read_token(token: str) -> tuple[Contact, int | None]:
    """The contact (and requesting user id) of a valid token.

    Raises:
        InvalidLink: ``expired`` once older than :func:`link_max_age`, else ``invalid``.
    """
    try:
        data = signing.loads(token, salt=SALT, max_age=link_max_age())
    except signing.SignatureExpired as error:
        raise InvalidLink("expired") from error
    except (signing.BadSignature, ValueError) as error:
        raise InvalidLink("invalid") from error
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise InvalidLink("invalid")
    contact = Contact.objects.filter(pk=data["c"], erased_at__isnull=True, phone_e164__isnull=False).first()
    if contact is None or not constant_time_compare(
        contact.phone_digest[:_DIGEST_CHARS], str(data.get("p", ""))
    ):
        raise InvalidLink("invalid")
    user_id = data.get("u")
    return contact, user_id if isinstance(user_id, int) else None


def link_text(url: str, business_name: str = "") -> str:
    """The free-form message inside the service window (neutral: no advertising)."""
    minutes = link_max_age() // 60
    return _(
        "%(business)s: here is your link to manage your WhatsApp messages. It works for %(minutes)s "
        "minutes: %(url)s If you did not ask for it, you can ignore this message."
    ) % {"business": business_name or business(), "minutes": minutes, "url": url}


def send_link(contact: Contact, url: str, *, business_name: str = "") -> OutboundMessage:
    """Queue the link: a text inside the 24-hour window, else the approved UTILITY template."""
    return _queue_link(contact, url, "prefs-link", lambda: link_text(url, business_name))


def _queue_link(contact: Contact, url: str, kind: str, text: Callable[[], str]) -> OutboundMessage:
    """A text inside the 24-hour window, else the preference-link template (it carries any
    link of the centre as its one parameter)."""
    # The URL differs per request (timestamped token), so each request is its own outbox row.
    key = f"{kind}:{contact.pk}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"
    with translation.override(contact.language or translation.get_language()):
        if window_is_open(contact):
            return enqueue_text(contact, CONSENT_NOTICE, text(), key=key)
        return enqueue_template(
            contact,
            CONSENT_NOTICE,
            key=key,
            template_name=get_setting("PREFERENCE_LINK_TEMPLATE"),
            language=get_setting("PREFERENCE_LINK_TEMPLATE_LANGUAGE"),
            parameters=[url],
        )


# --- Number change: a link to the NEW number proves it belongs to the person -----------------

#: A separate salt: a number-change token can never open the preference centre, nor the reverse.
NUMBER_CHANGE_SALT = "wagtail_wa_consent.pages.number_change_link"


def make_number_change_token(contact: Contact, target: Contact) -> str:
    """A signed token to move ``contact`` to the number of ``target`` (the contact the link is
    sent through: the new number's holder, or an empty one made to carry the link)."""
    payload = {
        "c": contact.pk,
        "p": contact.phone_digest[:_DIGEST_CHARS],
        "t": target.pk,
        "n": target.phone_digest[:_DIGEST_CHARS],
    }
    return signing.dumps(payload, salt=NUMBER_CHANGE_SALT)


def read_number_change_token(token: str) -> tuple[Contact, Contact]:
    """``(contact, target)`` of a valid number-change token; both must still hold the numbers
    the token was made for, so a used link stops working once the number has changed.

    Raises:
        InvalidLink: ``expired`` once older than :func:`link_max_age`, else ``invalid``.
    """
    try:
        data = signing.loads(token, salt=NUMBER_CHANGE_SALT, max_age=link_max_age())
    except signing.SignatureExpired as error:
        raise InvalidLink("expired") from error
    except (signing.BadSignature, ValueError) as error:
        raise InvalidLink("invalid") from error
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("t"), int):
        raise InvalidLink("invalid")
    contact = _holder(data["c"], data.get("p"))
    target = _holder(data["t"], data.get("n"))
    if contact is None or target is None or contact.pk == target.pk:
        raise InvalidLink("invalid")
    return contact, target


def _holder(pk: int, digest_prefix: object) -> Contact | None:
    contact = Contact.objects.filter(pk=pk, erased_at__isnull=True, phone_e164__isnull=False).first()
    if contact is None or not constant_time_compare(contact.phone_digest[:_DIGEST_CHARS], str(digest_prefix)):
        return None
    return contact


def number_change_text(url: str, business_name: str = "") -> str:
    """The free-form message to the new number inside the service window."""
    minutes = link_max_age() // 60
    return _(
        "%(business)s: to confirm that this is your new WhatsApp number, open this link within "
        "%(minutes)s minutes: %(url)s If you did not ask for it, you can ignore this message."
    ) % {"business": business_name or business(), "minutes": minutes, "url": url}


def send_number_change_link(target: Contact, url: str, *, business_name: str = "") -> OutboundMessage:
    """Queue the confirmation link to the new number (through ``target``), like :func:`send_link`."""
    return _queue_link(target, url, "prefs-number", lambda: number_change_text(url, business_name))


# --- The session a link unlocks --------------------------------------------------------------


def verified_contact_ids(request: HttpRequest) -> set[int]:
    """Contacts whose link was opened in this session and whose unlock has not run out."""
    data: dict[str, Any] = request.session.get(SESSION_KEY) or {}
    if not data or data.get("until", 0) < time.time():
        if data:
            del request.session[SESSION_KEY]
        return set()
    return {int(pk) for pk in data.get("ids", [])}


def remember_contact(request: HttpRequest, contact: Contact) -> None:
    """Unlock ``contact`` in this session for PREFERENCE_SESSION_MINUTES (not extended by use)."""
    ids = verified_contact_ids(request) | {contact.pk}
    # A new session key on every unlock: a planted session id cannot be upgraded (fixation).
    request.session.cycle_key()
    minutes = int(get_setting("PREFERENCE_SESSION_MINUTES"))
    request.session[SESSION_KEY] = {"ids": sorted(ids), "until": time.time() + minutes * 60}


def forget_contact(request: HttpRequest, contact_id: int) -> None:
    data = request.session.get(SESSION_KEY)
    if data:
        data["ids"] = [pk for pk in data.get("ids", []) if pk != contact_id]
        request.session[SESSION_KEY] = data
