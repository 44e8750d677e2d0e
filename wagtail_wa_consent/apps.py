from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaConsentConfig(AppConfig):
    name = "wagtail_wa_consent"
    # A unique label: Oscar already owns labels such as "search" and "order".
    label = "wa_consent"
    verbose_name = _("WhatsApp consent")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, conf  # noqa: F401  (registers checks and the settings reload hook)
        from .logging import install
        from .storefront import wording_changes  # noqa: F401  (connects the page_published receiver)

        install()  # no phone number or message text in the app's own log lines, whatever LOGGING says
