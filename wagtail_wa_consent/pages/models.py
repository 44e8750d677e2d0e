"""The preference centre page type.

Who may manage a contact: a browser that opened a signed link sent to the number over WhatsApp
(stored in the session for a short time), or the signed-in user the contact is linked to. Downloading
and deleting data, and changing the number, always need the link: an account link alone does not
prove the number is theirs. Each download, deletion and number change is also recorded as a
data-subject request (``rights``), so the data-protection officer sees it in the admin queue.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import phonenumbers
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page

from ..consent import hashing, service
from ..consent.enums import Source, Status
from ..consent.evidence import Evidence
from ..consent.models import Contact
from ..messaging.double_opt_in import request_double_opt_in
from ..rights import requests as data_requests
from ..rights.evidence_pack import evidence_pack_response
from ..rights.models import DataSubjectRequest
from ..rights.numbers import link_carrier
from ..storefront import throttle
from . import preference_links as links
from .export import export_contact
from .forms import (
    TURN_ON,
    ContactForm,
    EraseForm,
    LinkRequestForm,
    NumberChangeForm,
    ToggleForm,
    opt_in_wording,
)
from .privacy import policy_revision

#: Attempts per hour: link requests per IP address and per number, "Turn on" per contact.
LINK_LIMIT_PER_IP = 10
LINK_LIMIT_PER_NUMBER = 3
TURN_ON_LIMIT_PER_CONTACT = 5
_HOUR = 3600
_FLASH_KEY = "wa_consent_preferences_flash"


def _post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Actions change state, so they answer POST only (and the CSRF middleware guards POST)."""

    @functools.wraps(view)
    def wrapper(page: PreferenceCentrePage, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(page, request, *args, **kwargs)

    return wrapper


class PreferenceCentrePage(RoutablePageMixin, Page):
    """Where a shopper sees and changes their WhatsApp consent, history and data."""

    intro = RichTextField(gettext_lazy("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types: list[str] = []
    template = "wagtail_wa_consent/pages/preference_centre_page.html"
    erase_confirmation_template = "wagtail_wa_consent/pages/preference_centre_delete.html"
    number_confirmation_template = "wagtail_wa_consent/pages/preference_centre_number.html"

    class Meta:
        verbose_name = gettext_lazy("WhatsApp preference centre")

    def serve(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().serve(request, *args, **kwargs)
        # Personal data: never stored by a shared cache or kept in the browser's history cache.
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        patch_vary_headers(response, ["Cookie"])
        return response

    # --- Routes ----------------------------------------------------------------------------

    @path("", name="index")
    def index(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, status_message=request.session.pop(_FLASH_KEY, ""))

    @path("link/", name="link")
    @_post_only
    def request_link(self, request: HttpRequest) -> HttpResponse:
        """Send a link to a number. The answer never tells whether the number is known."""
        if not throttle.allow("prefs_link_ip", _client_ip(request), limit=LINK_LIMIT_PER_IP, window=_HOUR):
            return self._too_many(request)
        form = LinkRequestForm(request.POST)
        if form.is_bot():
            return self._link_sent(request)  # look like success, do nothing
        if not form.is_valid():
            return self._page(request, link_form=form, status=400)
        phone = form.cleaned_data["phone"]
        # Counted before the lookup, so known and unknown numbers are throttled alike.
        if not throttle.allow("prefs_link_phone", phone, limit=LINK_LIMIT_PER_NUMBER, window=_HOUR):
            return self._too_many(request)
        contact = service.find_contact(phone)
        if contact is not None and contact.phone_e164 and contact.erased_at is None:
            self._send_link(request, contact)
        return self._link_sent(request)

    @path("verify/", name="verify")
    @_post_only
    def verify_linked(self, request: HttpRequest) -> HttpResponse:
        """A signed-in user asks for a link to a number linked to their account (to unlock data)."""
        contacts, _verified = self._manageable(request)
        form = ContactForm(request.POST, contact_ids=[c.pk for c in contacts])
        if not form.is_valid():
            return self._session_over(request)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        if not (
            throttle.allow("prefs_link_ip", _client_ip(request), limit=LINK_LIMIT_PER_IP, window=_HOUR)
            and throttle.allow(
                "prefs_link_phone", contact.phone_e164 or "", limit=LINK_LIMIT_PER_NUMBER, window=_HOUR
            )
        ):
            return self._too_many(request)
        self._send_link(request, contact)
        return self._link_sent(request)

    @path("open/<path:token>/", name="open")
    def open_link(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            contact, user_id = links.read_token(links.path_to_token(token))
        except links.InvalidLink as error:
            message = (
                _("This link has expired. Links work for %(minutes)s minutes: ask for a new one below.")
                % {"minutes": links.link_max_age() // 60}
                if error.code == "expired"
                else _("This link is not valid. Ask for a new one below.")
            )
            return self._page(request, error_message=message, status=400)
        user = request.user
        if user_id is not None and user.is_authenticated and user.pk == user_id and contact.user_id is None:
            service.get_or_create_contact(contact.phone_e164, user=user)  # links it to the account
        links.remember_contact(request, contact)
        return self._redirect(request, _("Your number is confirmed. You can now manage your messages."))

    @path("toggle/", name="toggle")
    @_post_only
    def toggle(self, request: HttpRequest) -> HttpResponse:
        contacts, _verified = self._manageable(request)
        form = ToggleForm(request.POST, contact_ids=[c.pk for c in contacts])
        if not form.is_valid():
            return self._invalid(request, form)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        category = form.cleaned_data["category"]
        label = self._settings(request).category_label(category)
        if form.cleaned_data["action"] == TURN_ON:
            return self._turn_on(request, contact, category, label)
        service.withdraw(contact, self._evidence(request, f"pressed Turn off ({category})"), [category])
        return self._redirect(
            request, _("%(category)s: turned off. We will not send you these messages.") % {"category": label}
        )

    @path("withdraw-all/", name="withdraw_all")
    @_post_only
    def withdraw_all(self, request: HttpRequest) -> HttpResponse:
        """One click, no confirmation: withdrawing is as easy as giving."""
        contacts, _verified = self._manageable(request)
        form = ContactForm(request.POST, contact_ids=[c.pk for c in contacts])
        if not form.is_valid():
            return self._session_over(request)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        service.withdraw(contact, self._evidence(request, "pressed Withdraw everything"))
        return self._redirect(
            request, _("Everything is turned off. We will not send you any WhatsApp messages.")
        )

    @path("export/", name="export")
    @_post_only
    def export(self, request: HttpRequest) -> HttpResponse:
        """Art. 20: the data as JSON; recorded as a done request for the data-protection officer."""
        form = ContactForm(request.POST, contact_ids=self._verified_contacts(request))
        if not form.is_valid():
            return self._session_over(request)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        data_requests.record_self_service(
            DataSubjectRequest.Kind.PORTABILITY, contact, self._evidence(request, "downloaded my data (JSON)")
        )
        response = JsonResponse(
            export_contact(contact), json_dumps_params={"indent": 2, "ensure_ascii": False}
        )
        filename = f"whatsapp-data-{timezone.localdate().isoformat()}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @path("evidence-pack/", name="evidence_pack")
    @_post_only
    def evidence_pack(self, request: HttpRequest) -> HttpResponse:
        """Art. 15: everything held, with each consent's proof, as a printable HTML file."""
        form = ContactForm(request.POST, contact_ids=self._verified_contacts(request))
        if not form.is_valid():
            return self._session_over(request)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        data_requests.record_self_service(
            DataSubjectRequest.Kind.ACCESS, contact, self._evidence(request, "downloaded my evidence pack")
        )
        return evidence_pack_response(contact, request)

    @path("delete/", name="delete")
    @_post_only
    def delete_data(self, request: HttpRequest) -> HttpResponse:
        """First POST: the confirmation step. Second POST (``confirm``): the erasure."""
        form = EraseForm(request.POST, contact_ids=self._verified_contacts(request))
        if not form.is_valid():
            return self._invalid(request, form)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        if not form.cleaned_data["confirm"]:
            return self.render(
                request,
                template=self.erase_confirmation_template,
                context_overrides={
                    "wa_contact": contact,
                    "wa_masked": _masked(contact.phone_e164),
                    "wa_urls": self._urls(request),
                },
            )
        data_requests.record_self_service(
            DataSubjectRequest.Kind.ERASURE, contact, self._evidence(request, "confirmed Delete my data")
        )
        links.forget_contact(request, contact.pk)
        return self._redirect(
            request,
            _(
                "Your data is deleted and every WhatsApp message to you is stopped. We keep only an "
                "anonymised record that you withdrew your consent."
            ),
        )

    @path("number/", name="number_change")
    @_post_only
    def number_change(self, request: HttpRequest) -> HttpResponse:
        """Art. 16: send a confirmation link to the new number. The answer is the same whether
        or not the new number is known to the shop."""
        form = NumberChangeForm(request.POST, contact_ids=self._verified_contacts(request))
        if not form.is_valid():
            if "contact" in form.errors:
                return self._session_over(request)
            return self._page(request, number_form=form, status=400)
        contact = Contact.objects.get(pk=form.cleaned_data["contact"])
        new_phone = form.cleaned_data["new_phone"]
        if hashing.phone_digest(new_phone) == contact.phone_digest:
            form.add_error("new_phone", _("This is already your number. Enter the new one."))
            return self._page(request, number_form=form, status=400)
        if not (
            throttle.allow("prefs_link_ip", _client_ip(request), limit=LINK_LIMIT_PER_IP, window=_HOUR)
            and throttle.allow("prefs_link_phone", new_phone, limit=LINK_LIMIT_PER_NUMBER, window=_HOUR)
        ):
            return self._too_many(request)
        carrier = link_carrier(new_phone)
        if carrier is None:
            # The number cannot be messaged (erased): staff look at it, the answer stays the same.
            data_requests.open_request(
                DataSubjectRequest.Kind.RECTIFICATION,
                channel=DataSubjectRequest.Channel.PREFERENCE_CENTRE,
                contact=contact,
                new_phone=new_phone,
                note=_("The new number could not be sent a confirmation link."),
            )
        else:
            token = links.make_number_change_token(contact, carrier)
            url = (self.get_full_url(request) or "") + self.reverse_subpage(
                "number_confirm", args=(links.token_to_path(token),)
            )
            links.send_number_change_link(
                carrier, url, business_name=self._settings(request).display_business_name()
            )
        return self._redirect(
            request,
            _(
                "We have sent a link to your new number on WhatsApp. Open it on the phone with the new "
                "number to confirm the change; until then, your messages go to your current number."
            ),
        )

    @path("number/<path:token>/", name="number_confirm")
    def number_confirm(self, request: HttpRequest, token: str) -> HttpResponse:
        """GET: ask to confirm (link previews must not change anything). POST: make the change."""
        try:
            contact, carrier = links.read_number_change_token(links.path_to_token(token))
        except links.InvalidLink as error:
            message = (
                _("This link has expired. Ask for a new one in the preference centre.")
                if error.code == "expired"
                else _("This link is not valid. Ask for a new one in the preference centre.")
            )
            return self._page(request, error_message=message, status=400)
        if request.method != "POST":
            return self.render(
                request,
                template=self.number_confirmation_template,
                context_overrides={
                    "wa_old_masked": _masked(contact.phone_e164),
                    "wa_new_masked": _masked(carrier.phone_e164),
                    "wa_urls": self._urls(request),
                },
            )
        evidence = self._evidence(request, "confirmed my new number from the link sent to it")
        outcome = data_requests.change_number_by_self_service(contact, carrier.phone_e164 or "", evidence)
        if outcome.state != DataSubjectRequest.State.DONE:
            # Neutral: whoever holds the link learns nothing about other contacts.
            return self._page(
                request,
                error_message=_(
                    "We could not change your number automatically. Our team will look into it and "
                    "get back to you; until then, your messages go to your previous number."
                ),
            )
        links.remember_contact(request, contact)
        return self._redirect(request, _("Your number is changed. Your messages now go to this number."))

    # --- Helpers ---------------------------------------------------------------------------

    def _turn_on(self, request: HttpRequest, contact: Contact, category: str, label: str) -> HttpResponse:
        """A fresh double opt-in: pending until the person taps Yes in WhatsApp, never granted here."""
        if not throttle.allow(
            "prefs_turn_on", f"contact:{contact.pk}", limit=TURN_ON_LIMIT_PER_CONTACT, window=_HOUR
        ):
            return self._too_many(request)
        wa = self._settings(request)
        evidence = self._evidence(
            request,
            f"pressed Turn on ({category})",
            wording=opt_in_wording(wa.display_business_name(), label),
            policy_revision=policy_revision(self.get_site()),
        )
        events, _message = request_double_opt_in(contact, [category], evidence)
        if not events:
            return self._redirect(request, _("%(category)s: already turned on.") % {"category": label})
        return self._redirect(
            request,
            _(
                "%(category)s: we have sent you a question on WhatsApp. The messages start once you "
                "tap Yes there."
            )
            % {"category": label},
        )

    def _evidence(self, request: HttpRequest, action: str, **fields: str) -> Evidence:
        # page_url is the centre itself: the Referer could be a link that carries a token.
        return Evidence.from_request(
            request,
            source=Source.PREFERENCE_CENTRE,
            user_action=action,
            page_url=self.get_full_url(request) or "",
            **fields,
        )

    def _send_link(self, request: HttpRequest, contact: Contact) -> None:
        user_id = request.user.pk if request.user.is_authenticated else None
        token = links.make_token(contact, user_id)
        url = (self.get_full_url(request) or "") + self.reverse_subpage(
            "open", args=(links.token_to_path(token),)
        )
        links.send_link(contact, url, business_name=self._settings(request).display_business_name())

    def _manageable(self, request: HttpRequest) -> tuple[list[Contact], set[int]]:
        """Contacts this browser may manage, and which of them it proved by opening a link."""
        verified = links.verified_contact_ids(request)
        query = Q(pk__in=verified)
        if request.user.is_authenticated:
            query |= Q(user_id=request.user.pk)
        contacts = Contact.objects.filter(query, erased_at__isnull=True, phone_e164__isnull=False)
        return list(contacts.order_by("pk")), verified

    def _verified_contacts(self, request: HttpRequest) -> list[int]:
        contacts, verified = self._manageable(request)
        return [c.pk for c in contacts if c.pk in verified]

    def _urls(self, request: HttpRequest) -> dict[str, str]:
        base = self.get_url(request) or "/"
        names = ("link", "verify", "toggle", "withdraw_all", "export", "evidence_pack", "delete")
        names += ("number_change",)
        return {"index": base, **{name: base + self.reverse_subpage(name) for name in names}}

    def _settings(self, request: HttpRequest) -> Any:
        from ..storefront.models import WhatsAppSettings

        return WhatsAppSettings.for_request(request)

    def _page(
        self,
        request: HttpRequest,
        *,
        link_form: LinkRequestForm | None = None,
        number_form: NumberChangeForm | None = None,
        status: int = 200,
        **messages: str,
    ) -> HttpResponse:
        contacts, verified = self._manageable(request)
        wa = self._settings(request)
        response = self.render(
            request,
            context_overrides={
                "wa_contacts": [_contact_view(c, wa, c.pk in verified, number_form) for c in contacts],
                "wa_link_form": link_form or LinkRequestForm(),
                "wa_link_minutes": links.link_max_age() // 60,
                "wa_business": wa.display_business_name(),
                "wa_urls": self._urls(request),
                **messages,
            },
        )
        response.status_code = status
        return response

    def _link_sent(self, request: HttpRequest) -> HttpResponse:
        return self._page(
            request,
            status_message=_(
                "If this number uses WhatsApp with us, we have just sent it a link. Open it on this "
                "device to manage your messages."
            ),
        )

    def _too_many(self, request: HttpRequest) -> HttpResponse:
        message = _("Too many attempts. Please wait an hour and try again.")
        return self._page(request, error_message=message, status=429)

    def _invalid(self, request: HttpRequest, form: ContactForm) -> HttpResponse:
        """A contact this browser may not manage (403), else a damaged form (400)."""
        if "contact" in form.errors:
            return self._session_over(request)
        return self._page(request, error_message=_("Something went wrong. Please try again."), status=400)

    def _session_over(self, request: HttpRequest) -> HttpResponse:
        message = _("Your session has run out. Ask for a new link below to continue.")
        return self._page(request, error_message=message, status=403)

    def _redirect(self, request: HttpRequest, message: str) -> HttpResponse:
        # Post/redirect/get: reloading the page never repeats the action.
        request.session[_FLASH_KEY] = str(message)
        response = HttpResponseRedirect(self.get_url(request) or "/")
        response["Referrer-Policy"] = "no-referrer"
        return response


def _contact_view(
    contact: Contact, wa: Any, verified: bool, number_form: NumberChangeForm | None = None
) -> dict[str, Any]:
    """What the centre shows for one contact: each category's state, the ledger history, and the
    "My number changed" form (the posted one, with its errors, for the contact it named)."""
    business = wa.display_business_name()
    states = {s.category: Status(s.status) for s in contact.consent_states.all()}
    categories = []
    for key in service.enabled_categories():
        status = states.get(key, Status.NOT_SUBSCRIBED)
        label = wa.category_label(key)
        categories.append(
            {
                "key": key,
                "label": label,
                "status": status.value,
                "status_label": status.label,
                "on": status in (Status.SUBSCRIBED, Status.PENDING),
                "pending": status == Status.PENDING,
                "wording": opt_in_wording(business, label),
            }
        )
    history = [
        {
            "occurred_at": event.occurred_at,
            "category": wa.category_label(event.category),
            "event": event.get_event_type_display(),
            "source": event.get_source_display(),
        }
        for event in contact.consent_events.order_by("-sequence")
    ]
    if number_form is None or number_form.data.get("contact") != str(contact.pk):
        number_form = NumberChangeForm(initial={"contact": contact.pk}, contact_ids=[contact.pk])
    # Field ids stay unique when the page lists several contacts.
    number_form.auto_id = f"id_number_{contact.pk}_%s"
    return {
        "pk": contact.pk,
        "masked": _masked(contact.phone_e164),
        "categories": categories,
        "history": history,
        "verified": verified,
        "number_form": number_form,
    }


def _masked(e164: str | None) -> str:
    """Enough of the number to recognise it, not enough to read it over a shoulder."""
    if not e164:
        return ""
    country = phonenumbers.parse(e164, None).country_code
    return f"+{country} … {e164[-4:]}"


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")
