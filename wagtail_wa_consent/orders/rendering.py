"""Order fields -> template parameters, template language choice and the rendered body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from oscar.templatetags.currency_filters import currency

from ..messaging.models import MessageTemplate, TemplateCategory
from .models import NotificationRule, Parameter

_POSITIONAL = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass
class EventContext:
    """What an order event knows besides the order: the status reached, a tracking reference."""

    status: str = ""
    tracking_reference: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def customer_name(order: Any) -> str:
    address = getattr(order, "shipping_address", None) or getattr(order, "billing_address", None)
    for source in (address, getattr(order, "user", None)):
        if source is not None and (name := (getattr(source, "first_name", "") or "").strip()):
            return name
    return _("customer")


def parameter_values(rule: NotificationRule, order: Any, event: EventContext, language: str) -> list[str]:
    """The rule's parameters for ``order``, formatted in ``language`` (the total's currency style)."""
    with translation.override(language or None):
        values = {
            Parameter.ORDER_NUMBER: str(order.number),
            Parameter.CUSTOMER_NAME: customer_name(order),
            Parameter.TOTAL: currency(order.total_incl_tax, order.currency),
            Parameter.STATUS: event.status or str(getattr(order, "status", "") or ""),
            Parameter.TRACKING_REFERENCE: event.tracking_reference or "-",
            Parameter.TRACKING_URL: tracking_url(rule, order, event.tracking_reference),
        }
        return [str(values.get(key, "")) or "-" for key in rule.parameters]


def tracking_url(rule: NotificationRule, order: Any, reference: str) -> str:
    if not rule.tracking_url or not reference:
        return reference or "-"
    return rule.tracking_url.replace("{reference}", reference).replace("{order}", str(order.number))


def usable_template(name: str, language: str) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(name=name, language=language).first()


def choose_language(rule: NotificationRule, preferred: list[str]) -> str:
    """The first of the customer's languages the template is approved in, else the rule's."""
    available = set(
        MessageTemplate.objects.filter(
            name=rule.template_name, status="APPROVED", category=TemplateCategory.UTILITY
        ).values_list("language", flat=True)
    )
    for language in preferred:
        if not language:
            continue
        candidates = [language, language.replace("-", "_"), re.split(r"[-_]", language)[0]]
        for candidate in candidates:
            if candidate in available:
                return candidate
    return rule.language


def body_text(template: MessageTemplate | None) -> str:
    for component in (template.components if template else []) or []:
        if str(component.get("type", "")).upper() == "BODY":
            return str(component.get("text", ""))
    return ""


def render_body(template: MessageTemplate | None, parameters: list[str]) -> str:
    """The body as the customer will read it ({{n}} replaced by the n-th parameter)."""

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return parameters[index] if 0 <= index < len(parameters) else match.group(0)

    return _POSITIONAL.sub(value, body_text(template))


class SampleOrder:
    """A stand-in order for the preview when the shop has none yet."""

    number = "100042"
    status = "Being processed"
    total_incl_tax = Decimal("49.90")
    currency = getattr(settings, "OSCAR_DEFAULT_CURRENCY", "EUR")
    shipping_address = None
    billing_address = None

    user = SimpleNamespace(first_name="Lena")


def sample_order() -> Any:
    from oscar.core.loading import get_model

    order = get_model("order", "Order").objects.order_by("-pk").first()
    return order or SampleOrder()


def preview_for_rule(rule: NotificationRule) -> dict[str, Any]:
    """Context of the live preview: the body rendered for the newest order (or a sample one)."""
    order = sample_order()
    template = usable_template(rule.template_name, rule.language)
    event = EventContext(
        status=rule.match or str(getattr(order, "status", "")), tracking_reference="TRK123456"
    )
    parameters = parameter_values(rule, order, event, rule.language)
    return {
        "rule": rule,
        "template": template,
        "order": order,
        "parameters": parameters,
        "body": render_body(template, parameters),
        "problem": template.unusable_reason("transactional") if template else "template_unknown",
    }
