"""The simulated business account's templates, in Meta's list format (CLOUD-API.md 2.6).

Template content is what a merchant would submit to Meta, not text of this app, so it is not
translated; the German rows are the German translations Meta would hold.
"""

from __future__ import annotations

import threading
from typing import Any

from .models import SimTemplate, TemplateCategory, TemplateStatus


def _body(text: str, *example: str) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "BODY", "text": text}
    if example:
        component["example"] = {"body_text": [list(example)]}
    return component


def _quick_replies(*labels: str) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": label} for label in labels]}


UTILITY, MARKETING = TemplateCategory.UTILITY, TemplateCategory.MARKETING

#: Every template the simulator knows out of the box. ``meta_id`` is fixed per row so ids are stable.
DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "opt_in_confirmation",
        "language": "en",
        "category": UTILITY,
        "components": [
            _body(
                "{{1}}: you asked to receive {{2}} on WhatsApp. Is that right? "
                "Send STOP at any time to end messages.",
                "Sandbox Shop GmbH",
                "offers",
            ),
            _quick_replies("Yes", "No"),
        ],
    },
    {
        "name": "opt_in_confirmation",
        "language": "de",
        "category": UTILITY,
        "components": [
            _body(
                "{{1}}: Sie möchten {{2}} per WhatsApp erhalten. Stimmt das? "
                "Mit STOPP beenden Sie die Nachrichten jederzeit.",
                "Sandbox Shop GmbH",
                "Angebote",
            ),
            _quick_replies("Ja", "Nein"),
        ],
    },
    {
        "name": "order_confirmation",
        "language": "en",
        "category": UTILITY,
        "components": [
            _body("Hello {{1}}, thank you for your order {{2}}. Total: {{3}}.", "Lena", "100042", "€49.90")
        ],
    },
    {
        "name": "order_confirmation",
        "language": "de",
        "category": UTILITY,
        "components": [
            _body("Hallo {{1}}, danke für Ihre Bestellung {{2}}. Summe: {{3}}.", "Lena", "100042", "49,90 €")
        ],
    },
    {
        "name": "order_shipped",
        "language": "en",
        "category": UTILITY,
        "components": [
            _body(
                "Good news {{1}}: order {{2}} is on its way. Track it here: {{3}}",
                "Lena",
                "100042",
                "https://track.example/100042",
            )
        ],
    },
    {
        "name": "order_status_update",
        "language": "en",
        "category": UTILITY,
        "components": [_body("Your order {{1}} is now: {{2}}.", "100042", "Being processed")],
    },
    {
        "name": "seasonal_promotion",
        "language": "en",
        "category": MARKETING,
        "components": [
            _body(
                "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
                "the end of August",
                "25OFF",
                "25%",
            ),
            {"type": "FOOTER", "text": "Not interested? Tap Stop promotions"},
            _quick_replies("Stop promotions"),
        ],
    },
    {
        "name": "promo_without_opt_out",
        "language": "en",
        "category": MARKETING,
        "components": [_body("Big sale: {{1}} off everything this weekend!", "30%")],
    },
    {
        "name": "paused_template",
        "language": "en",
        "category": UTILITY,
        "status": TemplateStatus.PAUSED,
        "components": [_body("Your appointment is on {{1}}.", "Monday")],
    },
    {
        # Appended, not inserted: meta_id follows the position. The preference centre's signed
        # link outside the service window (pages/preference_links.py).
        "name": "preference_centre_link",
        "language": "en",
        "category": UTILITY,
        "components": [
            _body(
                "Here is your link to manage your WhatsApp messages: {{1}} It works for a short time "
                "only. If you did not ask for it, you can ignore this message.",
                "https://shop.example/preferences/open/abc123/",
            )
        ],
    },
    {
        "name": "preference_centre_link",
        "language": "de",
        "category": UTILITY,
        "components": [
            _body(
                "Hier ist Ihr Link, um Ihre WhatsApp-Nachrichten zu verwalten: {{1}} Er gilt nur kurze "
                "Zeit. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht.",
                "https://shop.example/preferences/open/abc123/",
            )
        ],
    },
]

_seeded_lock = threading.Lock()


def ensure_default_templates() -> int:
    """Create any missing default template (existing rows are left as they are). Returns how many."""
    created = 0
    for index, spec in enumerate(DEFAULT_TEMPLATES, start=1):
        _template, was_created = SimTemplate.objects.get_or_create(
            name=spec["name"],
            language=spec["language"],
            defaults={
                "category": spec["category"],
                "status": spec.get("status", TemplateStatus.APPROVED),
                "components": spec["components"],
                "meta_id": str(900_000_000 + index),
            },
        )
        created += was_created
    return created


def ensure_seeded() -> bool:
    """Seed the defaults if the simulator has no templates at all; True if it seeded them.

    Not cached in the process: test databases are emptied between tests, and a template deleted on
    purpose (to provoke 132001) must stay deleted, so only an empty table is seeded.
    """
    if SimTemplate.objects.exists():
        return False
    with _seeded_lock:  # two threads of one runserver must not race on get_or_create
        ensure_default_templates()
    return True


def copy_to_registry(names: list[str] | None = None) -> int:
    """Copy the simulator's templates (all, or those named) into the plugin's template registry,
    as ``wa_sync_templates`` would, without going over HTTP (demo data, tests, benchmarks)."""
    from ..messaging.templates import upsert_template

    ensure_default_templates()
    rows = SimTemplate.objects.all()
    if names is not None:
        rows = rows.filter(name__in=names)
    return sum(1 for template in rows if upsert_template(template.as_graph()))
