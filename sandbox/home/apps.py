from __future__ import annotations

from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    label = "home"
    verbose_name = "Sandbox site"
    default_auto_field = "django.db.models.BigAutoField"
