"""Page types of the sandbox site."""

from __future__ import annotations

from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from wagtail_wa_consent.pages.privacy import WhatsAppPrivacyBlock, WhatsAppPrivacyPolicyMixin
from wagtail_wa_consent.storefront.blocks import WhatsAppOptInBlock


class BodyBlock(blocks.StreamBlock):
    heading = blocks.CharBlock(
        form_classname="title",
        icon="title",
        max_length=255,
        template="home/blocks/heading.html",
    )
    paragraph = blocks.RichTextBlock(icon="pilcrow")
    whatsapp_opt_in = WhatsAppOptInBlock()
    whatsapp_privacy = WhatsAppPrivacyBlock()


class HomePage(Page):
    body = StreamField(BodyBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]

    # Only directly under the tree root, and one per tree: it is the site's root page.
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = "home page"


class StandardPage(Page):
    body = StreamField(BodyBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]

    parent_page_types = ["home.HomePage", "home.StandardPage"]

    class Meta:
        verbose_name = "standard page"


class PrivacyPolicyPage(WhatsAppPrivacyPolicyMixin, Page):
    """The shop's privacy policy; the plugin adds its WhatsApp section below the body."""

    body = StreamField(BodyBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]

    parent_page_types = ["home.HomePage"]
    max_count = 1

    class Meta:
        verbose_name = "privacy policy page"
