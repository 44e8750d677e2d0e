from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorConfig(AppConfig):
    name = "wagtail_wa_consent.simulator"
    label = "wa_simulator"
    verbose_name = _("WhatsApp simulator")
    default_auto_field = "django.db.models.BigAutoField"
