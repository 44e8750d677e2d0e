"""App config of the marketing campaigns."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    """``wagtail_wa_consent.campaigns``, label ``wa_campaigns``."""

    name = "wagtail_wa_consent.campaigns"
    label = "wa_campaigns"
    verbose_name = _("WhatsApp campaigns")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registers the Celery tasks)
