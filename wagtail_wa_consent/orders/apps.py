"""App config of the Oscar order notifications."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """``wagtail_wa_consent.orders``, label ``wa_orders``."""

    name = "wagtail_wa_consent.orders"
    label = "wa_orders"
    verbose_name = _("WhatsApp order notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
