"""Wagtail hooks of the campaigns: the campaign viewset (list, create, edit, report, actions) and
its permissions in Wagtail's group editor."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from wagtail import hooks

from .views import CampaignViewSet


@hooks.register("register_admin_viewset")
def register_campaign_viewset() -> CampaignViewSet:
    return CampaignViewSet()


@hooks.register("register_permissions")
def register_campaign_permissions() -> QuerySet[Permission]:
    """add / change / delete / view campaign; "change" also allows start, pause, resume, cancel."""
    return Permission.objects.filter(content_type__app_label="wa_campaigns")
