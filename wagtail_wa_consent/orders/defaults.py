"""A starting set of notification rules for the templates most shops submit first (the sandbox
installs them; merchants change them in the Wagtail admin)."""

from __future__ import annotations

from .models import NotificationRule

#: (event, match) -> (template, its parameters in order, tracking-URL pattern)
DEFAULT_RULES: dict[tuple[str, str], tuple[str, list[str], str]] = {
    ("placed", ""): ("order_confirmation", ["customer_name", "order_number", "total"], ""),
    ("status", ""): ("order_status_update", ["order_number", "status"], ""),
    ("shipping", ""): (
        "order_shipped",
        ["customer_name", "order_number", "tracking_url"],
        "https://track.example/{reference}",
    ),
}


def install_default_rules(language: str = "en", events: list[str] | None = None) -> int:
    """Create the default rules (of ``events``, or all) that do not exist yet; an edited rule is
    left as it is. Returns how many were created."""
    created = 0
    for (event, match), (template, parameters, tracking) in DEFAULT_RULES.items():
        if events is not None and event not in events:
            continue
        created += NotificationRule.objects.get_or_create(
            event=event,
            match=match,
            defaults={
                "template_name": template,
                "language": language,
                "parameters": parameters,
                "tracking_url": tracking,
            },
        )[1]
    return created


def placed_rule() -> NotificationRule:
    """The default order-confirmation rule (created if missing), without the other defaults."""
    install_default_rules(events=["placed"])
    return NotificationRule.objects.get(event="placed", match="")
