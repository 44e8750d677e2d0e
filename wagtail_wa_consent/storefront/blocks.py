"""The opt-in block editors place in any StreamField.

The block renders its own form. The form posts to ``wa_consent:opt_in`` with a signed token naming
the page, the block, the language and a digest of the wording shown; the view re-reads the block
from the live page, so neither the categories nor the wording can be forged. After the POST the
view redirects back to the page (PRG) with ``?wa_opt_in=<block id>``; only then does the block
read its one-time state (errors and ticks, or "sent") from the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings as django_settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.fields import StreamField
from wagtail.models import Page

from ..conf import get_setting
from ..consent import hashing
from ..consent.enums import Category
from .forms import HONEYPOT_FIELD, OptInForm, country_options_html, default_region, sign_token
from .wording import category_labels, default_opt_in_text

if TYPE_CHECKING:
    from .models import WhatsAppSettings

#: Session key of the one-time states the view leaves for the blocks, by block id.
SESSION_KEY = "wa_consent_opt_in"
#: Query parameter of the redirect after a POST: the block whose state waits in the session.
QUERY_PARAM = "wa_opt_in"


class WhatsAppOptInBlock(blocks.StructBlock):
    """Heading, intro, the categories offered and the button label; the form itself is rendered
    and handled by the plugin (unticked boxes, phone field, double opt-in)."""

    heading = blocks.CharBlock(
        label=_("Heading"), required=False, max_length=120, help_text=_("Empty: “Get updates on WhatsApp”.")
    )
    intro = blocks.TextBlock(
        label=_("Consent text"),
        required=False,
        help_text=_(
            "What the shopper agrees to. Empty: a default text that names your business, WhatsApp and "
            "your privacy policy. Every version shown is kept as evidence."
        ),
    )
    categories = blocks.MultipleChoiceBlock(
        label=_("Categories offered"),
        choices=Category.choices,
        default=[Category.MARKETING],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One unticked box is shown for each."),
    )
    button_label = blocks.CharBlock(
        label=_("Button label"), required=False, max_length=60, help_text=_("Empty: “Send confirmation”.")
    )
    substantial_change = blocks.BooleanBlock(
        label=_("This change is substantial"),
        required=False,
        help_text=_(
            "Tick it when your edit changes what people agree to (new kinds of messages, another "
            "business, another purpose). When you publish, people who agreed to the earlier text can "
            "be asked to confirm again (in the WhatsApp menu, under Consent wordings). Leave it "
            "unticked for typo fixes."
        ),
    )

    class Meta:
        icon = "comment"
        label = _("WhatsApp opt-in")
        template = "wagtail_wa_consent/blocks/opt_in.html"

    def get_context(self, value: Any, parent_context: dict[str, Any] | None = None) -> dict[str, Any]:
        context = super().get_context(value, parent_context=parent_context)
        context["opt_in"] = render_state(value, context)
        return context


@dataclass(frozen=True)
class OptInWording:
    """Everything the block says, in one language. :attr:`text` is what the evidence stores."""

    heading: str
    intro: str
    privacy_label: str
    privacy_url: str
    legend: str
    choices: tuple[tuple[str, str], ...]  # (category, label) of each box, in the order shown
    note: str
    button: str
    language: str

    @cached_property
    def text(self) -> str:
        """The text shown, line by line in page order; a link as ``label <url>``, a box as ``☐ label``."""
        lines = [self.heading, self.intro]
        if self.privacy_url:
            lines.append(f"{self.privacy_label} <{self.privacy_url}>")
        lines.append(self.legend)
        lines += [f"☐ {label}" for _category, label in self.choices]
        lines += [self.note, self.button]
        return "\n".join(line for line in lines if line)

    @cached_property
    def digest(self) -> str:
        return hashing.wording_digest(self.text, self.language)

    @property
    def categories(self) -> list[str]:
        return [category for category, _label in self.choices]


def build_wording(value: Any, request: HttpRequest | None) -> OptInWording:
    """The block's wording in the active language, from the editor's values and the site settings.

    Costs at most one query per request (the settings row with its privacy page), shared with
    anything else that reads the WhatsApp settings through :func:`site_settings_for`.
    """
    site_settings = site_settings_for(request) if request is not None else None
    business = site_settings.display_business_name() if site_settings else get_setting("BUSINESS_NAME")
    enabled = set(get_setting("CATEGORIES"))
    offered = [c for c in dict.fromkeys(value.get("categories") or []) if c in enabled]
    intro = (value.get("intro") or "").strip() or default_opt_in_text(business)
    return OptInWording(
        heading=(value.get("heading") or "").strip() or gettext("Get updates on WhatsApp"),
        intro="\n".join(line.strip() for line in intro.splitlines()),
        privacy_label=gettext("Privacy policy"),
        privacy_url=_privacy_url(site_settings, request),
        legend=gettext("What may we send you on WhatsApp?"),
        choices=tuple(zip(offered, category_labels(offered, site_settings), strict=True)),
        note=gettext(
            "After you send this form we ask you in WhatsApp to confirm. We send you nothing else "
            "before you tap “Yes”."
        ),
        button=(value.get("button_label") or "").strip() or gettext("Send confirmation"),
        language=get_language() or django_settings.LANGUAGE_CODE,
    )


def site_settings_for(request: HttpRequest) -> WhatsAppSettings | None:
    """The site's WhatsApp settings with the privacy page, in one query per request (shared with
    the chat bubble); None when the site has none."""
    from .models import WhatsAppSettings

    return WhatsAppSettings.for_request_if_saved(request)


def _privacy_url(site_settings: WhatsAppSettings | None, request: HttpRequest | None) -> str:
    return site_settings.privacy_url(request, absolute=True) if site_settings is not None else ""


# --- Finding the block on the live page ----------------------------------------------------


def find_opt_in_block(page: Page, block_id: str) -> Any | None:
    """The value of the opt-in block rendered with ``block_id`` on ``page``, or None.

    Wagtail puts the id of the outermost stream child into the render context, so a block nested
    in a struct or list is found through its outer child's id (if it is the only one there).
    """
    matches = [
        value
        for model_field in page._meta.get_fields()
        if isinstance(model_field, StreamField)
        for outer_id, value in _opt_in_values(model_field.stream_block, getattr(page, model_field.name), None)
        if outer_id == block_id
    ]
    return matches[0] if len(matches) == 1 else None


def _opt_in_values(block: blocks.Block, value: Any, outer_id: str | None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(block, WhatsAppOptInBlock):
        yield outer_id, value
    elif isinstance(block, blocks.StreamBlock):
        for child in value or []:
            yield from _opt_in_values(child.block, child.value, outer_id or child.id)
    elif isinstance(block, blocks.StructBlock):
        for name, child_block in block.child_blocks.items():
            yield from _opt_in_values(child_block, value.get(name), outer_id)
    elif isinstance(block, blocks.ListBlock):
        for item in value or []:
            yield from _opt_in_values(block.child_block, item, outer_id)


# --- What the template gets ----------------------------------------------------------------


@dataclass
class OptInRender:
    """The block's template context (``opt_in``)."""

    wording: OptInWording
    anchor: str
    form: OptInForm
    action: str = ""
    token: str = ""
    honeypot_field: str = HONEYPOT_FIELD
    sent: bool = False
    focus_id: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def country_options(self) -> str:
        """The country select's options, with the shopper's (or the default) country selected."""
        return country_options_html(get_language(), str(self.form["country"].value() or ""))

    @property
    def available(self) -> bool:
        """False outside a served page (admin previews): the form has nowhere to post."""
        return bool(self.token)

    @property
    def boxes(self) -> list[dict[str, Any]]:
        """One box per category offered. Ticked only if the shopper ticked it before an error came
        back: never by default (DESIGN invariant 5)."""
        ticked = self.form.ticked() if self.form.is_bound else []
        return [
            {
                "category": category,
                "label": label,
                "id": f"{self.anchor}-categories_{index}",
                "checked": category in ticked,
            }
            for index, (category, label) in enumerate(self.wording.choices)
        ]

    @property
    def errors_id(self) -> str:
        return f"{self.anchor}-errors"

    def id_for(self, name: str) -> str:
        return f"{self.anchor}-{name}"


def render_state(value: Any, context: dict[str, Any]) -> OptInRender | None:
    """Wording, form and one-time state of one block in a page render. None: nothing to offer."""
    request: HttpRequest | None = context.get("request")
    page = context.get("page")
    block_id = context.get("id")
    wording = build_wording(value, request)
    if not wording.choices:
        return None
    anchor = anchor_for(block_id)
    state = pop_state(request, block_id)
    data = state.get("data") if state else None
    form = OptInForm(
        _form_data(data) if data else None,
        offered=wording.choices,
        default_region=default_region(),
        auto_id=f"{anchor}-%s",
    )
    render = OptInRender(wording=wording, anchor=anchor, form=form, sent=bool(state and state.get("sent")))
    if data:
        errors = state.get("errors") or {}
        form.restore_errors({name: msgs for name, msgs in errors.items() if name != "__all__"})
        render.errors = list(errors.get("__all__", []))
        render.focus_id = first_error_id(anchor, errors)
    elif render.sent:
        render.focus_id = render.id_for("status")
    if request is not None and isinstance(page, Page) and page.pk and block_id:
        render.action = reverse("wa_consent:opt_in")
        render.token = sign_token(
            page_id=page.pk, block_id=block_id, language=wording.language, wording_digest=wording.digest
        )
    return render


def anchor_for(block_id: str | None) -> str:
    return f"wa-opt-in-{block_id or 'preview'}"


def first_error_id(anchor: str, errors: dict[str, list[str]]) -> str:
    """The id of the element that should get focus: the first thing to fix, in page order."""
    if errors.get("__all__"):
        return f"{anchor}-errors"
    for name in ("country", "phone"):
        if errors.get(name):
            return f"{anchor}-{name}"
    if errors.get("categories"):
        return f"{anchor}-categories_0"
    return anchor


def pop_state(request: HttpRequest | None, block_id: str | None) -> dict[str, Any] | None:
    """The state the view left for this block, read once. Only after our redirect, so an ordinary
    page view never touches the session (no query, and pages stay cacheable)."""
    if request is None or not block_id or request.GET.get(QUERY_PARAM) != block_id:
        return None
    session = getattr(request, "session", None)
    if session is None:
        return None
    states = session.get(SESSION_KEY) or {}
    state = states.pop(block_id, None)
    if state is not None:
        session[SESSION_KEY] = states
    return state


def _form_data(data: dict[str, Any]) -> MultiValueDict:
    return MultiValueDict(
        {
            "country": [data.get("country", "")],
            "phone": [data.get("phone", "")],
            "categories": list(data.get("categories", [])),
        }
    )
