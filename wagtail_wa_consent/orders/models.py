"""Models of the order notifications: the merchant's rules, the checkout choice and the order's
WhatsApp recipient."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from wagtail.models import PreviewableMixin

from ..consent.models import Contact


class OrderEvent(models.TextChoices):
    PLACED = "placed", _("Order placed")
    STATUS = "status", _("Order status changed")
    LINE_STATUS = "line_status", _("Line status changed")
    SHIPPING = "shipping", _("Shipping event")
    PAYMENT = "payment", _("Payment event (e.g. refund)")


class Parameter(models.TextChoices):
    """The fixed vocabulary of order fields a template parameter can show."""

    ORDER_NUMBER = "order_number", _("Order number")
    CUSTOMER_NAME = "customer_name", _("Customer name")
    TOTAL = "total", _("Total with currency")
    STATUS = "status", _("Status")
    TRACKING_REFERENCE = "tracking_reference", _("Tracking reference")
    TRACKING_URL = "tracking_url", _("Tracking URL")


class NotificationRule(PreviewableMixin, models.Model):
    """An Oscar order event (optionally one status or event type) -> an approved UTILITY template."""

    event = models.CharField(_("event"), max_length=20, choices=OrderEvent.choices)
    match = models.CharField(
        _("status or event type"),
        max_length=128,
        blank=True,
        help_text=_(
            "Only for this order/line status, or this shipping/payment event type code "
            "(e.g. 'Complete', 'shipped', 'refund'). Empty: any. A rule for the exact value wins."
        ),
    )
    template_name = models.CharField(_("template"), max_length=512)
    language = models.CharField(
        _("fallback language"),
        max_length=15,
        help_text=_("Used when the template has no approved translation in the customer's language."),
    )
    parameters = models.JSONField(_("parameters"), default=list, blank=True)
    tracking_url = models.CharField(
        _("tracking URL pattern"),
        max_length=500,
        blank=True,
        help_text=_("For the tracking URL parameter, e.g. https://track.example/{reference}"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp order notification")
        verbose_name_plural = _("WhatsApp order notifications")
        ordering = ["event", "match"]
        constraints = [models.UniqueConstraint(fields=["event", "match"], name="wa_orders_rule_event_match")]

    def __str__(self) -> str:
        label = self.get_event_display()
        return (
            f"{label}: {self.match} -> {self.template_name}"
            if self.match
            else f"{label} -> {self.template_name}"
        )

    def template_status(self) -> str:
        """The template's status in the registry (the listing shows PAUSED and others as a warning)."""
        from ..messaging.models import MessageTemplate

        template = MessageTemplate.objects.filter(name=self.template_name, language=self.language).first()
        return template.status if template else "UNKNOWN"

    template_status.short_description = _("template status")  # type: ignore[attr-defined]

    # Wagtail's live preview in the editor: the template body rendered for a sample order.
    def get_preview_template(self, request: HttpRequest, mode_name: str, **kwargs: Any) -> str:
        return "wa_orders/rule_preview.html"

    def get_preview_context(self, request: HttpRequest, mode_name: str, **kwargs: Any) -> dict[str, Any]:
        from .rendering import preview_for_rule

        context = super().get_preview_context(request, mode_name, **kwargs)
        context.update(preview_for_rule(self))
        return context


class CheckoutChoice(models.Model):
    """What the shopper ticked on the checkout page, kept until the order is placed.

    Stored against the basket before payment (payment may redirect to another site and place the
    order in a later request); ``order_placed`` turns it into ledger events and deletes it.
    """

    basket_id = models.PositiveBigIntegerField(unique=True)
    order_updates = models.BooleanField(default=False)
    offers = models.BooleanField(default=False)
    phone_e164 = models.CharField(max_length=20)  # personal data: deleted once consumed
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("checkout WhatsApp choice")
        verbose_name_plural = _("checkout WhatsApp choices")

    def __str__(self) -> str:
        return f"basket {self.basket_id}"


class OrderSubscription(models.Model):
    """The order's WhatsApp recipient: the shopper ticked "order updates" for this order."""

    order = models.OneToOneField(
        "order.Order", on_delete=models.CASCADE, related_name="whatsapp_subscription", verbose_name=_("order")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="order_subscriptions", verbose_name=_("contact")
    )
    language = models.CharField(_("language"), max_length=35, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("WhatsApp order subscription")
        verbose_name_plural = _("WhatsApp order subscriptions")

    def __str__(self) -> str:
        return f"order {self.order_id} -> #{self.contact_id}"
