"""Builders for the campaign tests."""

from __future__ import annotations

from wagtail_wa_consent.campaigns.models import Campaign
from wagtail_wa_consent.consent import service

from ..messaging.helpers import WEB, consenting, template

__all__ = ["WEB", "campaign", "consenting", "marketing_template", "phones"]


def phones(n: int, start: int = 0) -> list[str]:
    """``n`` valid German mobile numbers."""
    return [f"+49151{start + i:08d}" for i in range(n)]


def marketing_template(name: str = "spring_sale", **kwargs):
    kwargs.setdefault("opt_out", True)
    return template(name, "MARKETING", **kwargs)


def campaign(**fields) -> Campaign:
    fields.setdefault("name", "Spring sale")
    if "template" not in fields:
        fields["template"] = marketing_template()
    fields.setdefault("parameters", "Lena")
    fields.setdefault("status", "scheduled")
    return Campaign.objects.create(**fields)


def pending(phone: str):
    contact = service.get_or_create_contact(phone)
    service.request_opt_in(contact, ["marketing"], WEB)
    return contact
