"""The simulated business account's templates, in Meta's list format."""

from __future__ import annotations

from typing import Any

from .models import SimTemplate


def _body(text: str) -> dict[str, Any]:
    return {"type": "BODY", "text": text}


def _quick_replies(*labels: str) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": label} for label in labels]}


_OPT_OUT = [
    {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
    _quick_replies("Stop promotions"),
]

DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "opt_in_confirmation",
        "language": "en",
        "category": "UTILITY",
        "components": [
            _body(
                "{{1}}: you asked to receive {{2}} on WhatsApp. Is that right? "
                "Send STOP at any time to end messages."
            ),
            _quick_replies("Yes", "No"),
        ],
    },
    {
        "name": "opt_in_confirmation",
        "language": "de",
        "category": "UTILITY",
        "components": [
            _body(
                "{{1}}: Sie möchten {{2}} per WhatsApp erhalten. Stimmt das? "
                "Mit STOPP beenden Sie die Nachrichten jederzeit."
            ),
            _quick_replies("Ja", "Nein"),
        ],
    },
    {
        "name": "order_confirmation",
        "language": "en",
        "category": "UTILITY",
        "components": [_body("Hello {{1}}, thank you for your order {{2}}. Total: {{3}}.")],
    },
    {
        "name": "order_confirmation",
        "language": "de",
        "category": "UTILITY",
        "components": [_body("Hallo {{1}}, danke für Ihre Bestellung {{2}}. Summe: {{3}}.")],
    },
    {
        "name": "order_shipped",
        "language": "en",
        "category": "UTILITY",
        "components": [_body("Good news {{1}}: order {{2}} is on its way. Track it: {{3}}")],
    },
    {
        "name": "order_status_update",
        "language": "en",
        "category": "UTILITY",
        "components": [_body("Order {{1}} is now: {{2}}.")],
    },
    {
        "name": "seasonal_promotion",
        "language": "en",
        "category": "MARKETING",
        "components": [_body("Shop now through {{1}} and use code {{2}} to get {{3}} off."), *_OPT_OUT],
    },
    {
        "name": "promo_without_opt_out",
        "language": "en",
        "category": "MARKETING",
        "components": [_body("Big sale: {{1}} off everything!")],
    },
    {
        "name": "paused_template",
        "language": "en",
        "category": "UTILITY",
        "status": "PAUSED",
        "components": [_body("This template is paused: {{1}}")],
    },
]


def ensure_default_templates() -> None:
    for index, spec in enumerate(DEFAULT_TEMPLATES, start=1):
        SimTemplate.objects.get_or_create(
            name=spec["name"],
            language=spec["language"],
            defaults={
                "category": spec["category"],
                "status": spec.get("status", "APPROVED"),
                "components": spec["components"],
                "meta_id": str(900000 + index),
            },
        )


def ensure_seeded() -> None:
    """Seed on first use (one cheap query afterwards)."""
    if not SimTemplate.objects.exists():
        ensure_default_templates()
