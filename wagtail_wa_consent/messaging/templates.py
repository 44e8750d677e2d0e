"""The template registry: a local copy of the WhatsApp Business Account's templates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import ChannelStatus, MessageTemplate

#: Footer words or quick-reply labels that count as a marketing opt-out (lower-cased).
OPT_OUT_MARKERS = ("stop promotions", "opt out", "opt-out", "unsubscribe", "stop")
_POSITIONAL = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_NAMED = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


def body_parameter_count(components: Iterable[dict[str, Any]]) -> int:
    """Number of distinct variables in the BODY component ({{1}}.. or {{named}})."""
    for component in components:
        if str(component.get("type", "")).upper() == "BODY":
            text = str(component.get("text", ""))
            return len(set(_POSITIONAL.findall(text))) or len(set(_NAMED.findall(text)))
    return 0


def has_opt_out(components: Iterable[dict[str, Any]]) -> bool:
    """An opt-out footer or a 'Stop promotions'-style quick reply (Meta's marketing rule)."""
    for component in components:
        kind = str(component.get("type", "")).upper()
        if kind == "FOOTER" and _mentions_opt_out(component.get("text", "")):
            return True
        if kind == "BUTTONS":
            for button in component.get("buttons", []) or []:
                if str(button.get("type", "")).upper() == "QUICK_REPLY" and _mentions_opt_out(
                    button.get("text", "")
                ):
                    return True
    return False


def _mentions_opt_out(text: Any) -> bool:
    lowered = str(text or "").casefold()
    return any(marker in lowered for marker in OPT_OUT_MARKERS)


def upsert_template(data: dict[str, Any]) -> MessageTemplate:
    """Store one template as Meta lists it."""
    components = data.get("components") or []
    quality = data.get("quality_score") or {}
    template, _ = MessageTemplate.objects.update_or_create(
        name=data["name"],
        language=data.get("language", ""),
        defaults={
            "category": str(data.get("category", "")).upper(),
            "status": str(data.get("status", "")).upper(),
            "meta_id": str(data.get("id", "")),
            "components": components,
            "parameter_count": body_parameter_count(components),
            "has_opt_out": has_opt_out(components),
            "quality_score": quality.get("score", "") if isinstance(quality, dict) else str(quality),
            "status_reason": "",
            "synced_at": timezone.now(),
        },
    )
    return template


def sync_templates(client: Any = None) -> int:
    """Fetch every template and the messaging-limit tier from the Graph API (or the simulator).

    Templates no longer listed by Meta are marked DELETED, never removed: old outbox rows name them.
    """
    from ..graph.client import GraphAPIClient

    owned = client is None
    client = client or GraphAPIClient.from_settings()
    try:
        listed = list(client.list_templates())
        tier = client.get_messaging_limit()
    finally:
        if owned:
            client.close()
    with transaction.atomic():
        seen = {upsert_template(item).pk for item in listed if item.get("name")}
        MessageTemplate.objects.exclude(pk__in=seen).update(status="DELETED", synced_at=timezone.now())
        if tier:
            status = ChannelStatus.load()
            status.messaging_limit_tier = tier
            status.save(update_fields=["messaging_limit_tier", "updated_at"])
    return len(seen)
