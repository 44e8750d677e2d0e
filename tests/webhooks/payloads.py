"""pywa's captured webhook payloads (MIT; see tests/fixtures/pywa-payloads/updates/SOURCE.md).

The tests read the copy in ``tests/fixtures`` so they never need ``shared/``; ``SHARED`` is the
contract folder beside the checkout (here and in CI), used only to check that the copy is current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pywa-payloads" / "updates"
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "wa-contract" / "pywa-payloads" / "updates"


def files() -> list[str]:
    """Names (without .json) of every payload file."""
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    """``{case: body}`` of one file, freshly parsed so a test may mutate it."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def case(name: str, scenario: str) -> dict[str, Any]:
    """One webhook body, e.g. ``case("message", "text")``."""
    return load(name)[scenario]


def scenarios() -> list[tuple[str, dict[str, Any]]]:
    """Every ``("file:case", body)``.

    ``template_components_update.json#element`` also hides a second full body under the key
    ``all``; it is listed as ``template_components_update:element.all``.
    """
    found = []
    for name in files():
        for scenario, body in load(name).items():
            found.append((f"{name}:{scenario}", body))
            for key, nested in body.items():
                if isinstance(nested, dict) and nested.get("object") == "whatsapp_business_account":
                    found.append((f"{name}:{scenario}.{key}", nested))
    return found


def envelope(field: str, value: dict[str, Any], *, waba_id: str = "102290129340398", time: Any = None):
    """A body with one change, for payloads pywa has no capture of."""
    entry: dict[str, Any] = {"id": waba_id, "changes": [{"field": field, "value": value}]}
    if time is not None:
        entry["time"] = time
    return {"object": "whatsapp_business_account", "entry": [entry]}


METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
BSUID = "US.13491208655302741918"
NEW_BSUID = "US.24817305912873645029"


def value(**fields: Any) -> dict[str, Any]:
    """A change value with Meta's metadata."""
    return {"messaging_product": "whatsapp", "metadata": METADATA, **fields}


def message_field(*, messages: list[dict[str, Any]], contacts: list[dict[str, Any]] | None = None):
    """A ``messages`` body, e.g. from a username user who has no phone number in webhooks."""
    return envelope("messages", value(messages=messages, **({"contacts": contacts} if contacts else {})))


# The shapes below follow Meta's BSUID and field reference pages (2026); pywa has no capture yet.


def user_id_update() -> dict[str, Any]:
    """``user_id_update`` field: the person's BSUID changed."""
    item = {
        "wa_id": "15557654321",
        "detail": "User id for Test User has been updated.",
        "user_id": {"previous": BSUID, "current": NEW_BSUID},
        "parent_user_id": {"previous": "US.ENT.1", "current": "US.ENT.2"},
        "timestamp": "1700000003",
    }
    contacts = [{"profile": {"name": "Test User"}, "wa_id": "15557654321"}]
    return envelope("user_id_update", value(contacts=contacts, user_id_update=[item]))


def marketing_stop_without_phone() -> dict[str, Any]:
    """``user_preferences`` stop from a username user: BSUID, no wa_id."""
    item = {"user_id": BSUID, "category": "marketing_messages", "value": "STOP", "timestamp": 1731705721}
    contacts = [{"profile": {"name": "Sheena", "username": "@sheena"}, "user_id": BSUID}]
    return envelope("user_preferences", value(contacts=contacts, user_preferences=[item]))


def phone_number_quality(**fields: Any) -> dict[str, Any]:
    """``phone_number_quality_update`` (no metadata: Meta sends the display number instead)."""
    return envelope(
        "phone_number_quality_update", {"display_phone_number": "15550783881", **fields}, time=1751247548
    )


def first_value(body: dict[str, Any]) -> dict[str, Any]:
    """The first change's value of a body (to edit a capture in a test)."""
    return body["entry"][0]["changes"][0]["value"]


def first_message(body: dict[str, Any]) -> dict[str, Any]:
    return first_value(body)["messages"][0]


def username_message(text: str) -> dict[str, Any]:
    """A text from a username user: BSUID and username, no phone number anywhere."""
    message = {"from_user_id": BSUID, "id": "wamid.u", "timestamp": "1749416383", "type": "text"}
    contact = {"profile": {"name": "Sheena", "username": "@sheena"}, "user_id": BSUID}
    return message_field(messages=[{**message, "text": {"body": text}}], contacts=[contact])
