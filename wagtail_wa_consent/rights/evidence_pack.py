"""The printable evidence pack: everything held about a contact, with each consent's full proof
and the verdict of its hash chain, as one standalone HTML file (print it to PDF in a browser).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from ..consent import hashing
from ..consent.chain import BrokenLink, verify_ledger
from ..consent.enums import Category, EventType, OptInLevel, Source, Status
from ..consent.models import Contact
from ..messaging.models import MessageKind, OutboundMessage, OutboundStatus
from ..messaging.replies import business
from ..pages.export import export_contact
from .models import DataSubjectRequest, NumberChange

TEMPLATE = "wagtail_wa_consent/rights/evidence_pack.html"

#: Chain status of one event.
VERIFIED, BROKEN, UNVERIFIED = "verified", "broken", "unverified"


@dataclass(frozen=True)
class EventProof:
    """One consent event of the export, with what the verification found."""

    data: dict[str, Any]
    chain: str  # VERIFIED, BROKEN (the first broken link) or UNVERIFIED (after the break)
    reason: str  # why the link is broken, else ""
    wording_ok: bool | None  # the wording text still hashes to its digest; None without wording
    labels: dict[str, str] = field(default_factory=dict)


def evidence_pack_context(contact: Contact) -> dict[str, Any]:
    """The export of ``contact`` plus the verification of its chain, for the template."""
    export = export_contact(contact)
    report = verify_ledger([contact.pk])
    broken: BrokenLink | None = report.broken[0] if report.broken else None
    proofs = [_proof(event, broken) for event in export["consent_events"]]
    return {
        "business": business(),
        "export": export,
        "events": proofs,
        "chain_ok": broken is None,
        "broken": broken,
        "wordings_ok": all(p.wording_ok is not False for p in proofs),
        "states": _labelled(
            export["consent_states"],
            category=Category.choices,
            status=Status.choices,
            opt_in_level=OptInLevel.choices,
        ),
        "outbound": _labelled(
            export["outbound_messages"],
            category=OutboundMessage._meta.get_field("category").choices,
            kind=MessageKind.choices,
            status=OutboundStatus.choices,
        ),
        "number_changes": _labelled(export["number_changes"], source=NumberChange.Source.choices),
        "data_requests": _labelled(
            export["data_requests"],
            kind=DataSubjectRequest.Kind.choices,
            state=DataSubjectRequest.State.choices,
        ),
        "generated_at": timezone.now(),
    }


def render_evidence_pack(contact: Contact, request: HttpRequest | None = None) -> str:
    return render_to_string(TEMPLATE, evidence_pack_context(contact), request=request)


def evidence_pack_response(contact: Contact, request: HttpRequest | None = None) -> HttpResponse:
    """The pack as a file download: a document to keep or print, not a page of the site."""
    response = HttpResponse(render_evidence_pack(contact, request), content_type="text/html; charset=utf-8")
    filename = f"whatsapp-evidence-{timezone.localdate().isoformat()}.html"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Opened from the site by mistake, the file may run nothing and load nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def _proof(event: dict[str, Any], broken: BrokenLink | None) -> EventProof:
    if broken is None or event["sequence"] < broken.sequence:
        chain, reason = VERIFIED, ""
    elif event["sequence"] == broken.sequence:
        chain, reason = BROKEN, broken.reason
    else:
        chain, reason = UNVERIFIED, ""
    wording = event["wording"]
    wording_ok = None
    if wording:
        wording_ok = hashing.wording_digest(wording["text"], wording["language"]) == wording["sha256"]
    labels = {
        "category": _label(Category.choices, event["category"]),
        "event": _label(EventType.choices, event["event"]),
        "source": _label(Source.choices, event["source"]),
        "opt_in_level": _label(OptInLevel.choices, event["opt_in_level"]),
    }
    return EventProof(data=event, chain=chain, reason=reason, wording_ok=wording_ok, labels=labels)


def _labelled(rows: Iterable[dict[str, Any]], **choices: Any) -> list[dict[str, Any]]:
    """Each row with ``<key>_label`` beside every coded value (the codes stay for machines)."""
    return [
        {**row, **{f"{key}_label": _label(options, row[key]) for key, options in choices.items()}}
        for row in rows
    ]


def _label(choices: Any, value: str) -> str:
    return str(dict(choices).get(value, value)) if value else ""
