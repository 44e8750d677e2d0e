"""The opt-in block editors place in any StreamField."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from ..consent.enums import Category


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

    class Meta:
        icon = "comment"
        label = _("WhatsApp opt-in")
        template = "wagtail_wa_consent/blocks/opt_in.html"
