"""App config of the local WhatsApp Cloud API stand-in (install it in development and tests only)."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorConfig(AppConfig):
    """``wagtail_wa_consent.simulator``, label ``wa_simulator``."""

    name = "wagtail_wa_consent.simulator"
    label = "wa_simulator"
    verbose_name = _("WhatsApp simulator")
    default_auto_field = "django.db.models.BigAutoField"
