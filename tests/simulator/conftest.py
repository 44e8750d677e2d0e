"""Fixtures for the simulator tests: seeded templates, captured webhooks, a send payload builder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from wagtail_wa_consent.simulator.seed import ensure_default_templates
from wagtail_wa_consent.webhooks.ingest import IngestResult

from ..conftest import wa_settings

PHONE = "4915123456789"
SECRET = "simulator-test-secret"
#: The simulator with a known app secret (override_settings keeps BUSINESS_NAME and the rest).
SIMULATOR = wa_settings(BACKEND="wagtail_wa_consent.simulator.backend.SimulatorBackend", APP_SECRET=SECRET)


@pytest.fixture
def seeded(db) -> None:
    ensure_default_templates()


@dataclass
class Posted:
    """One webhook as the site received it."""

    raw: bytes
    signature: str

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def field(self) -> str:
        return self.body["entry"][0]["changes"][0]["field"]

    @property
    def value(self) -> dict[str, Any]:
        return self.body["entry"][0]["changes"][0]["value"]


@pytest.fixture
def posted(monkeypatch) -> list[Posted]:
    """Every webhook the simulator delivers in-process, instead of the site's ingest."""
    captured: list[Posted] = []

    def fake_ingest(raw: bytes, signature: str) -> IngestResult:
        captured.append(Posted(raw, signature))
        return IngestResult(200, "captured")

    monkeypatch.setattr("wagtail_wa_consent.webhooks.ingest.ingest", fake_ingest)
    return captured


def statuses(posted: list[Posted]) -> list[dict[str, Any]]:
    return [s for p in posted for s in p.value.get("statuses", [])]


def inbound(posted: list[Posted]) -> list[dict[str, Any]]:
    return [m for p in posted for m in p.value.get("messages", [])]


def template(
    name: str = "order_confirmation",
    params: tuple[str, ...] = ("Lena", "100001", "€12.00"),
    language: str = "en",
    *,
    to: str = PHONE,
    quick_replies: tuple[str, ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """A template send payload shaped like messaging/payloads.py builds it."""
    components: list[dict[str, Any]] = []
    if params:
        components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in params]})
    for index, payload in enumerate(quick_replies):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    spec: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        spec["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": spec,
        **extra,
    }


def text(body: str = "Hello", *, to: str = PHONE) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def buttons(*titles: str, to: str = PHONE) -> dict[str, Any]:
    """An interactive reply-button message (session message, CLOUD-API.md 2.4)."""
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Do you want order updates on WhatsApp?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"id-{i}", "title": title}}
                    for i, title in enumerate(titles)
                ]
            },
        },
    }
