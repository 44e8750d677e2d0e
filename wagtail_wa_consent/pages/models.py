"""The preference centre page type."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin
from wagtail.fields import RichTextField
from wagtail.models import Page


class PreferenceCentrePage(RoutablePageMixin, Page):
    """Where a shopper sees and changes their WhatsApp consent, history and data."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types: list[str] = []
    template = "wagtail_wa_consent/pages/preference_centre_page.html"

    class Meta:
        verbose_name = _("WhatsApp preference centre")
