"""Per-site WhatsApp settings that editors change in the Wagtail admin (Settings > WhatsApp)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Site

from ..conf import get_setting
from ..consent.enums import Category
from ..exceptions import InvalidPhoneNumber
from ..phone import normalise_phone

#: Marks a request whose site has no saved settings, so the lookup is not repeated.
_NO_ROW_ATTR = "_wa_consent_no_site_settings"
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def validate_hex_colour(value: str) -> None:
    if not _HEX_COLOUR.match(value):
        raise ValidationError(_("Enter a colour as # and six hexadecimal digits, e.g. #0B6E4F."))


class BubblePosition(models.TextChoices):
    # Logical sides, so the bubble moves to the left on right-to-left pages.
    END = "end", _("Bottom corner at the end of the line (right in English, left in Arabic)")
    START = "start", _("Bottom corner at the start of the line (left in English, right in Arabic)")


@register_setting(icon="comment")
class WhatsAppSettings(BaseSiteSetting):
    """The business's WhatsApp identity on one site, the chat bubble and the category labels."""

    business_name = models.CharField(
        _("business name"),
        max_length=120,
        blank=True,
        help_text=_("Named in every opt-in text. Empty: the BUSINESS_NAME setting."),
    )
    business_number = models.CharField(
        _("WhatsApp business number"),
        max_length=32,
        blank=True,
        help_text=_("In international format, e.g. +49 30 1234567. The chat bubble opens a chat with it."),
    )
    bubble_enabled = models.BooleanField(_("show the chat bubble"), default=False)
    bubble_greeting = models.CharField(
        _("bubble greeting"),
        max_length=140,
        blank=True,
        help_text=_("Shown at the top of the bubble's panel. Empty: a default greeting."),
    )
    bubble_position = models.CharField(
        _("bubble position"), max_length=8, choices=BubblePosition.choices, default=BubblePosition.END
    )
    bubble_colour = models.CharField(
        _("bubble colour"),
        max_length=7,
        default="#0B6E4F",
        validators=[validate_hex_colour],
        help_text=_("Background of the bubble button; its icon is white, so pick a dark colour."),
    )
    marketing_label = models.CharField(
        _("label for offers and news"), max_length=120, blank=True, help_text=_("Empty: the default label.")
    )
    transactional_label = models.CharField(
        _("label for order updates"), max_length=120, blank=True, help_text=_("Empty: the default label.")
    )
    support_label = models.CharField(
        _("label for customer support"), max_length=120, blank=True, help_text=_("Empty: the default label.")
    )
    privacy_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("privacy policy page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Linked from every opt-in text; its live revision is recorded with each consent."),
    )
    preference_centre_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("preference centre page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where shoppers manage their WhatsApp preferences."),
    )

    # Grouped as editors think about them; every field stays editable.
    panels = [
        MultiFieldPanel(
            [FieldPanel("business_name"), FieldPanel("business_number")],
            heading=_("Business"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("bubble_enabled"),
                FieldPanel("bubble_greeting"),
                FieldPanel("bubble_position"),
                FieldPanel("bubble_colour"),
            ],
            heading=_("Chat bubble"),
        ),
        MultiFieldPanel(
            [FieldPanel("marketing_label"), FieldPanel("transactional_label"), FieldPanel("support_label")],
            heading=_("Category labels"),
        ),
        MultiFieldPanel(
            [FieldPanel("privacy_page"), FieldPanel("preference_centre_page")],
            heading=_("Pages"),
        ),
    ]

    #: The privacy page comes with the row: the block and the bubble link it on every page.
    select_related = ["privacy_page"]

    class Meta:
        verbose_name = _("WhatsApp")

    @classmethod
    def for_request_if_saved(cls, request: HttpRequest) -> WhatsAppSettings | None:
        """The settings of the request's site in at most one query, cached where ``for_request``
        looks (so templates' ``settings`` lookups reuse it); None, and no row created, when the
        site never saved them (``for_request`` would create one on a page view)."""
        attr = cls.get_cache_attr_name()
        cached = getattr(request, attr, None)
        if cached is not None or getattr(request, _NO_ROW_ATTR, False):
            return cached
        site = Site.find_for_request(request)
        # [:1] instead of first(): site is unique, and no ORDER BY is cheaper to compile.
        row = next(iter(cls.base_queryset().filter(site=site)[:1]), None) if site is not None else None
        if row is None:
            setattr(request, _NO_ROW_ATTR, True)
            return None
        row._request = request  # as for_request does: page URLs reuse the request's caches
        setattr(request, attr, row)
        return row

    def privacy_url(self, request: HttpRequest | None = None, *, absolute: bool = False) -> str:
        """URL of the privacy page chosen here, if it is live ("" otherwise). Only the chosen page:
        searching the page tree would cost queries on every page view."""
        page = self.privacy_page
        if page is None or not page.live:
            return ""
        return (page.get_full_url(request) if absolute else page.get_url(request)) or ""

    def clean(self) -> None:
        super().clean()
        if self.business_number:
            try:
                self.business_number = normalise_phone(self.business_number, mobile_only=False)
            except InvalidPhoneNumber as error:
                raise ValidationError({"business_number": error.messages}) from error
        if self.bubble_enabled and not self.business_number:
            raise ValidationError({"business_number": _("The chat bubble needs the business number.")})

    def display_business_name(self) -> str:
        return self.business_name or get_setting("BUSINESS_NAME")

    def category_label(self, category: str) -> str:
        """The editor's label for ``category``, else the translated default."""
        custom = getattr(self, f"{category}_label", "")
        return custom or str(Category(category).label)
